#!/usr/bin/env bash
# Fetch Mesa's lavapipe (software Vulkan) from bookworm-backports into a folder OUTSIDE the repo, without touching
# the system's apt state, so that onnxruntime-node's WebGPU provider can run on the CPU (TOOLCHAIN-NOTES.md:
# Debian 12's own Mesa 22.3 lavapipe is rejected by Dawn). Then run the WebGPU test with the printed variables:
#   eval "$(test/integration/inference/fetch-lavapipe.sh /work/lavapipe)"
#   npx vitest run test/integration/inference/webgpu.test.ts
# Usage: fetch-lavapipe.sh [dest]   (default /work/lavapipe). Prints the export lines on stdout.
set -euo pipefail
DEST=${1:-/work/lavapipe}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
mkdir -p "$DEST/apt/lists/partial" "$DEST/apt/cache/archives/partial" "$DEST/debs" "$DEST/root"
cat > "$DEST/apt/sources.list" <<SRC
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR bookworm main
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $MIRROR bookworm-backports main
SRC
APT_OPTS=(-o "Dir::Etc::SourceList=$DEST/apt/sources.list" -o "Dir::Etc::SourceParts=-" -o "Dir::State::Lists=$DEST/apt/lists"
  -o "Dir::Cache=$DEST/apt/cache" -o "Debug::NoLocking=1")
if [ ! -f "$DEST/root/usr/share/vulkan/icd.d/lvp_icd.json" ] || [ ! -e "$DEST/root/usr/lib/x86_64-linux-gnu/libvulkan.so.1" ]; then
  apt-get "${APT_OPTS[@]}" update -qq >&2
  (cd "$DEST/debs" && apt-get "${APT_OPTS[@]}" download -qq mesa-vulkan-drivers/bookworm-backports \
      libdrm2/bookworm-backports libdrm-amdgpu1/bookworm-backports libvulkan1 >&2)
  for d in "$DEST"/debs/*.deb; do dpkg -x "$d" "$DEST/root"; done
fi
ICD="$DEST/root/usr/share/vulkan/icd.d/lvp_icd.json"
# The ICD names its library by absolute system path: point it into the folder.
sed -i "s#\"library_path\": \"[^\"]*libvulkan_lvp.so\"#\"library_path\": \"$DEST/root/usr/lib/x86_64-linux-gnu/libvulkan_lvp.so\"#" "$ICD"
echo "export VK_ICD_FILENAMES=$ICD"
echo "export LD_LIBRARY_PATH=$DEST/root/usr/lib/x86_64-linux-gnu\${LD_LIBRARY_PATH:+:\$LD_LIBRARY_PATH}"
