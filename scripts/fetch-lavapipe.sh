#!/bin/sh
# Unpacks Mesa's lavapipe (Vulkan on the CPU) into .native/lavapipe, so that the WebGPU backend
# (lib/backend/webgpu-node.ts: Dawn on Vulkan) can be tested on a machine without a GPU. Nothing is installed
# system-wide: test/webgpu.test.ts (and `. .native/lavapipe/env.sh` in a shell) point the Vulkan
# loader at it with VK_DRIVER_FILES and LD_LIBRARY_PATH.
#
# Debian 12's own lavapipe (Mesa 22.3) is too old for Dawn ("Vulkan shaderUniform*ArrayDynamicIndexing
# required"), so on bookworm this takes mesa-vulkan-drivers from bookworm-backports (Mesa 25.0),
# through a private apt list: the system's sources stay as they are. Also unpacks the Vulkan loader
# (libvulkan1) and the LLVM library lavapipe links. Needs Debian's package archive.
set -eu
cd "$(dirname "$0")/.."
mkdir -p .native
[ -f .native/.gitignore ] || echo '*' > .native/.gitignore
tmp=$(mktemp -d)
chmod 755 "$tmp"
trap 'rm -rf "$tmp"' EXIT
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
mkdir -p "$tmp/lists/partial"
o="-oDir::State::Lists=$tmp/lists -oDebug::NoLocking=1"
if [ "$codename" = bookworm ]; then
  echo 'deb http://deb.debian.org/debian bookworm-backports main' > "$tmp/backports.list"
  o="$o -oDir::Etc::SourceList=$tmp/backports.list -oDir::Etc::SourceParts=/dev/null"
fi
# shellcheck disable=SC2086
apt-get $o update >/dev/null
cd "$tmp"
# shellcheck disable=SC2086
apt-get $o download mesa-vulkan-drivers >/dev/null 2>&1
llvm=$(dpkg-deb -f mesa-vulkan-drivers_*.deb Depends | tr ',' '\n' | grep -o 'libllvm[0-9]*' | head -1)
if [ "$codename" = bookworm ]; then
  # The loader and LLVM come from the main archive (the private list above holds backports only).
  o="-oDebug::NoLocking=1"
fi
# shellcheck disable=SC2086
apt-get $o download libvulkan1 "$llvm" >/dev/null 2>&1
cd - >/dev/null
rm -rf .native/lavapipe
mkdir -p .native/lavapipe/root
for f in "$tmp"/*.deb; do dpkg -x "$f" .native/lavapipe/root; done
lib=$(pwd)/.native/lavapipe/root/usr/lib/x86_64-linux-gnu
icd=$(pwd)/.native/lavapipe/lvp_icd.json
api=$(sed -n 's/.*"api_version": *"\([^"]*\)".*/\1/p' .native/lavapipe/root/usr/share/vulkan/icd.d/lvp_icd*.json | head -1)
printf '{ "file_format_version": "1.0.0", "ICD": { "library_path": "%s/libvulkan_lvp.so", "api_version": "%s" } }\n' "$lib" "$api" > "$icd"
printf 'export VK_DRIVER_FILES=%s\nexport LD_LIBRARY_PATH=%s${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\n' "$icd" "$lib" > .native/lavapipe/env.sh
missing=$(LD_LIBRARY_PATH=$lib ldd "$lib/libvulkan_lvp.so" | grep 'not found' || true)
if [ -n "$missing" ]; then
  echo "lavapipe needs libraries this system lacks:"
  echo "$missing"
  exit 1
fi
echo "lavapipe ($(dpkg-deb -f "$tmp"/mesa-vulkan-drivers_*.deb Version)) is in .native/lavapipe; use it with: . .native/lavapipe/env.sh"
