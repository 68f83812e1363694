#!/bin/sh
# The PyTorch reference on a GPU machine (and, for comparison, on 2 of its CPU cores), without Node:
#   sh bench/reference/gpu.sh [outdir]
# Needs python3 with torch (CUDA). Writes gpu-reference.json (one JSON object per line) to outdir.
# bench/reference/reference64.json is benchConfig('reference64') (test/bench.test.ts keeps it in sync).
set -u
cd "$(dirname "$0")/../.."
out=${1:-.}
mkdir -p "$out"
py=${PYTHON:-python3}
cfg=bench/reference/reference64.json
{
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 | sed 's/^/# gpu: /'
  echo "# node: $(node --version 2>&1 | head -1)"
  echo "# cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x $(nproc)"
} | tee "$out/gpu-env.txt"
: > "$out/gpu-reference.json"
for b in 32 64; do
  $py bench/reference/cvaegan_ref.py --config $cfg --device cuda --batch $b --threads 2 --steps 20 --warmup 5 | tee -a "$out/gpu-reference.json"
done
# The same step on 2 CPU cores of this (quiet) machine: a lower bound for a quiet 2-core run here.
taskset -c 0,1 $py bench/reference/cvaegan_ref.py --config $cfg --device cpu --threads 2 --steps 5 --warmup 2 | tee -a "$out/gpu-reference.json"
