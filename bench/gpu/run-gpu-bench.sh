#!/bin/sh
# Runs on the GPU machine (no Node, no network), from a copy of the repository with the carry that
# bench/gpu/prepare.sh builds (.device/ and .gl/):
#
#   sh .device/run-gpu-bench.sh
#
# Unpacks the Vulkan loader if the machine lacks one (the device README's recipe), points Vulkan at
# NVIDIA's ICD if no driver is registered, unpacks Node and the bundled bench into /tmp, prints the
# WebGPU adapter, then runs bench/run.ts's bundle: tfjs on WebGPU and the PyTorch reference on CUDA,
# net by net, in the same run; then one profiled reference64 step on WebGPU.
# Env: OUT (results; the device tool sets it), STEPS (10), WARMUP (3), NETS (reference64,cpu),
# KINDS (cvaegan), PROFILE (1), TORCH_PYTHON (python3). Writes to $OUT: gpu-bench.log,
# adapter.json, bench-gpu.json, bench-gpu-profile.json.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
OUT=${OUT:-/tmp/cvaegan-gpu-out}
mkdir -p "$OUT"
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-3}
NETS=${NETS:-reference64,cpu}
KINDS=${KINDS:-cvaegan}
py=${TORCH_PYTHON:-python3}
rt=${RUNTIME_DIR:-/tmp/cvaegan-gpu-runtime}

main() {
  t0=$(date +%s)
  echo "== machine"
  nvidia-smi --query-gpu=name,driver_version,memory.total --format=csv,noheader 2>&1 || true
  echo "cpu:$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2) x $(nproc); $(uname -sm); $(ldd --version 2>&1 | head -1)"
  echo "carry built from commit $(cat .device/commit 2>/dev/null || echo unknown)"

  echo "== Vulkan loader and driver"
  if ldconfig -p | grep -q 'libvulkan.so.1 '; then
    echo "libvulkan.so.1 is installed"
  elif [ -d .gl ]; then
    for f in .gl/*.deb; do dpkg -x "$f" /; done
    ldconfig
    echo "unpacked .gl: $(ls .gl | tr '\n' ' ')"
  else
    echo "no libvulkan.so.1 here and no .gl/ carried: WebGPU will find no adapter"
  fi
  nv=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
  if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nv" ] && ! ls /usr/share/vulkan/icd.d/nvidia* /etc/vulkan/icd.d/nvidia* >/dev/null 2>&1; then
    export VK_DRIVER_FILES="$nv"
  fi
  echo "VK_DRIVER_FILES=${VK_DRIVER_FILES:-unset}"

  echo "== Node and the bundled bench"
  rm -rf "$rt"
  mkdir -p "$rt"
  if ! tar -xJf .device/runtime.tar.xz -C "$rt" 2>/dev/null; then
    "$py" -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' .device/runtime.tar.xz "$rt"
  fi
  node="$rt/bin/node"
  echo "node $("$node" --version) in $(( $(date +%s) - t0 )) s"

  echo "== WebGPU adapter"
  "$node" "$rt/bench/probe.js" | tee "$OUT/adapter.json"

  CVAEGAN_ROOT=$(pwd)
  export CVAEGAN_ROOT
  echo "== tfjs on WebGPU and PyTorch on CUDA: $NETS, $KINDS, $WARMUP warm-up + $STEPS timed steps"
  "$node" "$rt/bench/run.js" --backends webgpu --nets "$NETS" --kinds "$KINDS" --steps "$STEPS" --warmup "$WARMUP" \
    --reference-device cuda --python "$py" --timeout 240 --out "$OUT/bench-gpu.json"
  if [ "${PROFILE:-1}" = 1 ]; then
    echo "== one profiled reference64 step on WebGPU (tf.profile; kernel times from timestamp queries)"
    "$node" "$rt/bench/run.js" --backends webgpu --nets reference64 --kinds cvaegan --steps 1 --warmup 1 --no-reference \
      --profile --timeout 150 --quiet --out "$OUT/bench-gpu-profile.json"
    "$node" -e '
      const r = require(process.argv[1]).runs[0];
      if (!r.ok) { console.log("profile failed:", r.error); process.exit(0); }
      console.log(`profiled step: ${r.profileTotalMs} ms of kernel time; top kernels:`);
      for (const k of r.profile.slice(0, 12)) console.log(`  ${k.kernel.padEnd(24)} ${String(k.ms).padStart(8)} ms  ${k.calls} calls`);
    ' "$OUT/bench-gpu-profile.json"
  fi
  echo "== done in $(( $(date +%s) - t0 )) s"
}

main 2>&1 | tee "$OUT/gpu-bench.log"
