#!/bin/sh
# Videos/s of the 30-view protocol on this machine's GPU (Dawn through the `webgpu` package).
# Usage: bench/webgpu/gpu-check.sh [--weights f16] [--profile 1] [--videos 5] [--input u8,f32] [--upload write,staging] ...
# (see bench/webgpu/gpu-check.ts for every option)
set -e
cd "$(dirname "$0")/../.."
: "${XDG_RUNTIME_DIR:=/tmp}"
export XDG_RUNTIME_DIR
exec node tools/node-ts.js bench/webgpu/gpu-check.ts "$@"
