"""Interrupts training cells in a live tslab kernel and reports what survived, as one JSON line.

usage: kernel_interrupt.py   (JUPYTER_PATH must include the repository's jupyter/ folder)

Jupyter's stop button sends interrupt_request, which for this kernelspec (no interrupt_mode) is a
SIGINT; km.interrupt_kernel() does the same. The script:
  1. starts the repository's tslab kernel and runs a setup cell (a tiny tfjs model, counters);
  2. twice: runs a training cell (TrainingMonitor + a fake async training loop that updates the
     model every step), lets it train for a few seconds, interrupts it, and counts the
     update_display_data messages the cell produced meanwhile;
  3. runs a check cell: did the loop stop, is the model usable, can a checkpoint be written.
Two interrupts, because a SIGINT listener added at the wrong moment kills the kernel on the
*next* interrupt (toolchain.md section 1).
"""
import json
import os
import sys
import time

from jupyter_client.manager import KernelManager

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TRAIN_SECONDS = float(os.environ.get("INTERRUPT_TRAIN_SECONDS", "3"))

SETUP = r"""
import * as tf from '@tensorflow/tfjs';
import { initBackend } from './lib/backend/index';
import { TrainingMonitor, latestMonitor } from './lib/train/monitor';
import { activeInterruptFlags } from './lib/train/interrupt';
import * as fs from 'fs';
import * as os from 'os';
import * as path from 'path';

await initBackend();
// A one-weight "model" trained to y = 3x, so "still usable" has a checkable meaning.
const w = tf.variable(tf.scalar(0));
const optimizer = tf.train.sgd(0.05);
const xs = tf.tensor1d([1, 2, 3, 4]);
const ys = xs.mul(3);
const state = { steps: 0, runs: 0 };
async function fakeTrain(steps: number, hooks: { onStep: (r: { step: number; losses: Record<string, number> }) => void; shouldStop: () => boolean }) {
  let step = 0;
  for (; step < steps && !hooks.shouldStop(); step++) {
    const loss = optimizer.minimize(() => tf.losses.meanSquaredError(ys, xs.mul(w)), true) as tf.Scalar;
    const value = loss.dataSync()[0];
    loss.dispose();
    const until = Date.now() + 2;
    while (Date.now() < until) {}
    state.steps++;
    hooks.onStep({ step: step + 1, losses: { L_mse: value, L_other: 1 / (step + 1) } });
    await new Promise(setImmediate);
  }
  return step;
}
console.log('setup done');
"""

TRAIN = r"""
state.runs++;
const monitor = new TrainingMonitor({ steps: 10_000_000, plot: { maxPerSecond: 2 }, progress: { maxPerSecond: 4 } });
const training = monitor.track(fakeTrain(10_000_000, monitor.hooks));
await training;
"""

CHECK = r"""
// The training cell failed ("Interrupted asynchronously"), so tslab forgot its declarations.
const monitor = latestMonitor()!;
await monitor.done;
const stepsAtCheck = state.steps;
await new Promise((r) => setTimeout(r, 500));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ckpt-'));
const checkpoint = path.join(dir, 'w.json');
fs.writeFileSync(checkpoint, JSON.stringify({ w: w.dataSync()[0] }));
const restored = JSON.parse(fs.readFileSync(checkpoint, 'utf8')).w;
fs.rmSync(dir, { recursive: true, force: true });
const prediction = xs.mul(w).dataSync();
console.log('RESULT ' + JSON.stringify({
  runs: state.runs,
  steps: state.steps,
  stoppedStepping: state.steps === stepsAtCheck,
  interrupted: monitor.interrupted,
  w: w.dataSync()[0],
  restored,
  prediction: Array.from(prediction),
  activeFlags: activeInterruptFlags(),
  sigintListeners: process.listenerCount('SIGINT'),
}));
"""


def run_cell(kc, code, timeout=120, interrupt_after=None, km=None):
    """Executes code; returns (reply status, stdout+stderr text, iopub message type counts, seconds)."""
    time.sleep(0.3)  # tslab aborts requests that arrive within 200 ms after a failed cell
    msg_id = kc.execute(code)
    started = time.time()
    interrupted = False
    counts = {}
    text = []
    idle = False
    reply = None
    while not (idle and reply is not None):
        if time.time() - started > timeout:
            raise TimeoutError(f"cell did not finish in {timeout}s; output so far: {''.join(text)[-2000:]}")
        if interrupt_after is not None and not interrupted and time.time() - started > interrupt_after:
            km.interrupt_kernel()
            interrupted = True
        try:
            msg = kc.get_iopub_msg(timeout=0.2)
            if msg["parent_header"].get("msg_id") == msg_id:
                kind = msg["msg_type"]
                counts[kind] = counts.get(kind, 0) + 1
                if kind == "stream":
                    text.append(msg["content"]["text"])
                if kind == "status" and msg["content"]["execution_state"] == "idle":
                    idle = True
        except Exception:  # queue.Empty
            pass
        if reply is None:
            try:
                shell = kc.get_shell_msg(timeout=0.01)
                if shell["parent_header"].get("msg_id") == msg_id:
                    reply = shell["content"]["status"]
            except Exception:
                pass
    return reply, "".join(text), counts, time.time() - started


def main() -> int:
    km = KernelManager(kernel_name="tslab")
    km.start_kernel(cwd=ROOT)
    kc = km.blocking_client()
    kc.start_channels()
    result = {"trainingCells": []}
    try:
        kc.wait_for_ready(timeout=120)
        status, text, _, _ = run_cell(kc, SETUP)
        if status != "ok":
            raise RuntimeError(f"setup cell failed: {text}")
        for _ in range(2):
            status, text, counts, seconds = run_cell(kc, TRAIN, interrupt_after=TRAIN_SECONDS, km=km)
            result["trainingCells"].append({"status": status, "text": text[-1500:], "counts": counts, "seconds": seconds, "alive": km.is_alive()})
        status, text, _, _ = run_cell(kc, CHECK, timeout=60)
        result["check"] = {"status": status, "text": text[-3000:]}
        result["aliveAtEnd"] = km.is_alive()
    finally:
        kc.stop_channels()
        km.shutdown_kernel(now=True)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
