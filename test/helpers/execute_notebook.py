"""Executes a notebook headless with the repository's tslab kernel and writes the executed notebook.

usage: execute_notebook.py IN.ipynb OUT.ipynb [--timeout SECONDS]

The kernel's working directory is the repository root (the kernel launcher cds there anyway).
Exit status 1 with the failing cell's source and output on stderr when any cell fails; the
partially executed notebook is still written to OUT so a test can show what happened.

A cell the kernel did not run is a failure too. tslab drops every execute request that arrives
within 200 ms after a failed cell (it answers status "abort", without an execution count), and
nbclient counts only status "error" as a failure and numbers every cell itself, so a notebook
whose failing cell is allowed (tag raises-exception) would otherwise "succeed" with the cells after
it empty. Such cells get execution_count null in OUT and are listed on stderr.
"""
import argparse
import os
import sys

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError, DeadKernelError

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("src")
    ap.add_argument("dst")
    ap.add_argument("--timeout", type=int, default=600, help="per-cell timeout in seconds")
    a = ap.parse_args()
    nb = nbformat.read(a.src, as_version=4)
    not_run = []

    def on_cell_executed(cell, cell_index, execute_reply):
        content = (execute_reply or {}).get("content", {})
        if content.get("status") not in ("ok", "error") or content.get("execution_count") is None:
            not_run.append((cell_index, content.get("status"), cell))

    client = NotebookClient(
        nb,
        kernel_name="tslab",
        timeout=a.timeout,
        startup_timeout=120,
        resources={"metadata": {"path": ROOT}},
        on_cell_executed=on_cell_executed,
    )
    status = 0
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        sys.stderr.write(f"notebook {a.src} failed: {type(e).__name__}: {e}\n")
        status = 1
    for index, reply_status, cell in not_run:
        cell["execution_count"] = None
        first = (cell.get("source") or "").strip().splitlines()[:1]
        sys.stderr.write(
            f"notebook {a.src}: cell {index} was not executed (the kernel answered status {reply_status!r} without an execution count; "
            f"tslab drops requests that arrive within 200 ms after a failed cell): {first[0] if first else ''}\n"
        )
        status = 1
    nbformat.write(nb, a.dst)
    return status


if __name__ == "__main__":
    sys.exit(main())
