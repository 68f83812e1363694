"""Runs a command in a pseudo-terminal, presses Ctrl-C in it, and reports what happened as JSON.

usage: pty_ctrl_c.py WATCH_FILE LINES DELAY_S TIMEOUT_S SECOND_AFTER_S -- COMMAND ARGS...

The command runs as the foreground process group of a new pseudo-terminal, as in a user's
terminal: `npm run train -- ...` there is npm, its shell and node, all in that group. When
WATCH_FILE (a JSONL loss log) has at least LINES lines, and DELAY_S seconds later (in the middle
of the next training step, where the process is busy and its signal handlers wait), the script
writes the Ctrl-C character (0x03) to the terminal; the terminal's line discipline then sends SIGINT to every process of the
foreground group, exactly as a keypress does (no signal is sent by this script). With
SECOND_AFTER_S > 0 a second Ctrl-C follows that many seconds after the first. Prints one JSON
object: exit code or signal, the lines of WATCH_FILE when Ctrl-C was pressed, the seconds from the
first Ctrl-C to the exit, and everything the command wrote to the terminal.
"""
import json
import os
import pty
import select
import signal
import sys
import time


def lines(path):
    try:
        with open(path, "rb") as f:
            return sum(1 for line in f if line.strip())
    except FileNotFoundError:
        return 0


def main():
    watch, want, delay, timeout, second_after = sys.argv[1], int(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4]), float(sys.argv[5])
    cmd = sys.argv[sys.argv.index("--") + 1 :]
    pid, fd = pty.fork()
    if pid == 0:
        os.execvp(cmd[0], cmd)
    out = b""
    start = time.time()
    pressed = None
    seen = None
    pressed_second = False
    at_lines = None
    status = None
    while True:
        if time.time() - start > timeout:
            os.killpg(pid, signal.SIGKILL)
        r, _, _ = select.select([fd], [], [], 0.05)
        if r:
            try:
                data = os.read(fd, 65536)
            except OSError:  # EIO: the terminal's last process has gone
                data = b""
            if not data:
                break
            out += data
        if seen is None and lines(watch) >= want:
            seen = time.time()
        if pressed is None and seen is not None and time.time() - seen >= delay:
            at_lines = lines(watch)
            os.write(fd, b"\x03")
            pressed = time.time()
        elif pressed is not None and second_after > 0 and not pressed_second and time.time() - pressed >= second_after:
            os.write(fd, b"\x03")
            pressed_second = True
        done, st = os.waitpid(pid, os.WNOHANG)
        if done:
            status = st
            # drain what is left
            while True:
                r, _, _ = select.select([fd], [], [], 0.2)
                if not r:
                    break
                try:
                    data = os.read(fd, 65536)
                except OSError:
                    break
                if not data:
                    break
                out += data
            break
    if status is None:
        _, status = os.waitpid(pid, 0)
    result = {
        "exit": os.WEXITSTATUS(status) if os.WIFEXITED(status) else None,
        "signal": os.WTERMSIG(status) if os.WIFSIGNALED(status) else None,
        "linesAtCtrlC": at_lines,
        "secondsAfterCtrlC": None if pressed is None else round(time.time() - pressed, 2),
        "timedOut": time.time() - start > timeout,
        "output": out.decode("utf8", "replace"),
    }
    print(json.dumps(result))


if __name__ == "__main__":
    main()
