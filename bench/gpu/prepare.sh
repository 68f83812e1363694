#!/bin/sh
# Builds the carry that lets a GPU machine without Node and without network (the lent H100/H200)
# run the tfjs WebGPU benchmark beside PyTorch on CUDA. Run here, from anywhere:
#
#   sh bench/gpu/prepare.sh            # writes .device/ and .gl/ (both git-ignored), prints their size
#
# .device/runtime.tar.xz: this machine's Node (x86-64, glibc >= 2.28), bench/run.ts, bench/child.ts
#   and bench/gpu/probe.ts bundled with esbuild (tfjs, tfjs-backend-webgpu and lib/ inside; only
#   `webgpu` stays outside), and the `webgpu` package with its linux-x64 dawn.node only.
# .device/run-gpu-bench.sh: a copy of bench/gpu/run-gpu-bench.sh, which runs there.
# .gl/: Debian's Vulkan loader and GLVND libraries (the device README's recipe): the GPU machine has
#   the NVIDIA driver and its Vulkan ICD but no libvulkan.so.1.
#
# Needs: npm packages installed (esbuild comes with tsx; `webgpu` is an optional dependency), xz,
# apt-get (downloads only).
set -eu
cd "$(dirname "$0")/../.."
root=$(pwd)
[ -f node_modules/webgpu/dist/linux-x64/dawn.node ] || { echo "node_modules/webgpu is missing (npm install)"; exit 1; }
node=$(command -v node)
case "$(node -p 'process.versions.node.split(".")[0]')" in
  20|22) ;;
  *) echo "warning: bundling Node $(node --version); the bundle targets Node 20" ;;
esac
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT

node_modules/.bin/esbuild bench/run.ts bench/child.ts bench/gpu/probe.ts --bundle --platform=node --target=node20 \
  --format=cjs --outdir="$stage/bench" --entry-names='[name]' --external:webgpu --log-level=error
mkdir -p "$stage/node_modules/webgpu/dist/linux-x64" "$stage/bin"
cp node_modules/webgpu/package.json node_modules/webgpu/index.js node_modules/webgpu/LICENSE.md "$stage/node_modules/webgpu/"
cp node_modules/webgpu/dist/linux-x64/dawn.node "$stage/node_modules/webgpu/dist/linux-x64/"
cp "$node" "$stage/bin/node"
echo "bundled: $(cd "$stage" && find . -type f | sort | tr '\n' ' ')"

rm -rf .device
mkdir -p .device
tar -C "$stage" -cf - . | xz -9e -T1 > .device/runtime.tar.xz
cp bench/gpu/run-gpu-bench.sh .device/run-gpu-bench.sh
git rev-parse HEAD > .device/commit 2>/dev/null || true

# The device README's recipe for the Vulkan/GL loaders (amd64 packages of this Debian).
mkdir -p .gl /tmp/amd64/partial
o='-oAPT::Architecture=amd64 -oAPT::Architectures=amd64 -oDir::State::Lists=/tmp/amd64'
# shellcheck disable=SC2086
apt-get $o update >/dev/null
rm -f .gl/*.deb
# shellcheck disable=SC2086
(cd .gl && apt-get $o download libvulkan1 libegl1 libglvnd0 libopengl0 libgl1 libglx0 libgles2 >/dev/null 2>&1)
ls .gl
du -sh .device .gl
du -cb .device .gl | awk 'END { printf "carry: %.1f MiB (limit for the device call: 64 MiB with the working tree)\n", $1 / 1048576 }'
echo "prepared from $root"
