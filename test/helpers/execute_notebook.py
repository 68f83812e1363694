"""Executes a notebook headless with the repository's tslab kernel and writes the executed notebook.

usage: execute_notebook.py IN.ipynb OUT.ipynb [--timeout SECONDS]

The kernel's working directory is the repository root (the kernel launcher cds there anyway).
Exit status 1 with the failing cell's source and output on stderr when any cell fails; the
partially executed notebook is still written to OUT so a test can show what happened.
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
    client = NotebookClient(
        nb,
        kernel_name="tslab",
        timeout=a.timeout,
        startup_timeout=120,
        resources={"metadata": {"path": ROOT}},
    )
    status = 0
    try:
        client.execute()
    except (CellExecutionError, CellTimeoutError, DeadKernelError) as e:
        sys.stderr.write(f"notebook {a.src} failed: {type(e).__name__}: {e}\n")
        status = 1
    nbformat.write(nb, a.dst)
    return status


if __name__ == "__main__":
    sys.exit(main())
