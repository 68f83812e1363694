#!/bin/sh
# Runs on the GPU machine (no Node, no network), from a copy of the repository with the carry that
# bench/gpu/prepare.sh builds (.device/ and .gl/):
#
#   sh .device/run-gpu-bench.sh
#
# Unpacks the Vulkan loader if the machine lacks one (the device README's recipe), points Vulkan at
# NVIDIA's ICD if no driver is registered, unpacks Node and the bundled bench into /tmp, prints the
# WebGPU adapter, then runs bench/run.ts's bundle: tfjs on WebGPU and the PyTorch reference on CUDA,
# net by net, in the same run; then one profiled step (reference64) on WebGPU.
# Env: OUT (results; the device tool sets it), STEPS (10), WARMUP (3), NETS (reference64,cpu),
# KINDS (cvaegan), PROFILE (1), PROFILE_NET (reference64), TORCH_PYTHON (python3), CAP_S (150 s per
# net), CHILD_S (120 s per process). Writes to $OUT: gpu-bench.log, adapter.json,
# bench-gpu-<net>.json per net, bench-gpu-profile.json.
set -u
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/.."
OUT=${OUT:-/tmp/cvaegan-gpu-out}
mkdir -p "$OUT"
STEPS=${STEPS:-10}
WARMUP=${WARMUP:-3}
NETS=${NETS:-reference64,cpu}
KINDS=${KINDS:-cvaegan}
PROFILE_NET=${PROFILE_NET:-reference64}
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
  # One run.ts per net, each under a hard cap (CAP_S seconds; the profile CAP_S/2), so that what
  # finished is kept when something hangs; each run's children are capped at CHILD_S seconds.
  cap=${CAP_S:-150}
  child=${CHILD_S:-120}
  capped() { if command -v timeout >/dev/null; then timeout -k 5 "$@"; else shift; "$@"; fi; }
  for net in $(echo "$NETS" | tr ',' ' '); do
    echo "== $net: tfjs on WebGPU and PyTorch on CUDA, $KINDS, $WARMUP warm-up + $STEPS timed steps"
    capped "$cap" "$node" "$rt/bench/run.js" --backends webgpu --nets "$net" --kinds "$KINDS" --steps "$STEPS" --warmup "$WARMUP" \
      --reference-device cuda --python "$py" --timeout "$child" --out "$OUT/bench-gpu-$net.json" || echo "run.js for $net: exit $?"
  done
  if [ "${PROFILE:-1}" = 1 ]; then
    echo "== one profiled $PROFILE_NET step on WebGPU (tf.profile; kernel times from timestamp queries)"
    capped $((cap / 2)) "$node" "$rt/bench/run.js" --backends webgpu --nets "$PROFILE_NET" --kinds cvaegan --steps 1 --warmup 1 --no-reference \
      --profile --timeout "$child" --quiet --out "$OUT/bench-gpu-profile.json" || echo "profile run: exit $?"
    [ -f "$OUT/bench-gpu-profile.json" ] && "$node" -e '
      const r = require(process.argv[1]).runs[0];
      if (!r.ok) { console.log("profile failed:", r.error); process.exit(0); }
      console.log(`profiled step: ${r.profileTotalMs} ms of kernel time; top kernels:`);
      for (const k of r.profile.slice(0, 12)) console.log(`  ${k.kernel.padEnd(24)} ${String(k.ms).padStart(8)} ms  ${k.calls} calls`);
    ' "$OUT/bench-gpu-profile.json"
  fi
  echo "== done in $(( $(date +%s) - t0 )) s"
}

main 2>&1 | tee "$OUT/gpu-bench.log"
