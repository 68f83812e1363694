#!/bin/sh
# Unpacks Debian's OpenBLAS (pthreads build) into .native/openblas, for the PyTorch reference only.
#
# Debian's python3-torch calls the system libblas.so.3, which is the slow reference BLAS unless
# OpenBLAS is installed: its transposed convolutions and linear layers then run 10-40x slower, which
# would make the tfjs/PyTorch ratio meaningless. bench/run.ts puts this folder on the reference's
# LD_LIBRARY_PATH (nothing else sees it). `apt-get install libopenblas0-pthread` system-wide does
# the same for every program. Needs Debian's package archive (apt-get download, no root needed
# beyond reading the apt lists).
set -eu
cd "$(dirname "$0")/../.."
mkdir -p .native
[ -f .native/.gitignore ] || echo '*' > .native/.gitignore
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && apt-get download libopenblas0-pthread)
rm -rf .native/openblas
dpkg -x "$tmp"/libopenblas0-pthread_*.deb .native/openblas
ls .native/openblas/usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3
echo "OpenBLAS for the PyTorch reference is in .native/openblas"
