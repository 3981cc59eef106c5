#!/bin/sh
# The WebGPU speed-ups one by one on this machine's GPU: the 30-view protocol (gpu-check.ts,
# u8 input through staging, 5 videos) with the runtime's defaults for a hardware adapter, with
# each layer's GEMM tile and algorithm tuned on this GPU first (what `i3d tune` caches), the
# goldens, then each change switched off alone, the configuration of the first H200 run (all
# off), other Winograd choices, and the goldens again tuned and all direct; the f16 path
# (--precision f16) beside the defaults, the experimental matrix-unit convs (--matrix 1: errors out
# at once where Dawn offers no subgroup matrices), and Dawn's robustness switched off. Most telling first:
# on a device lent by the minute, a run cut short still returns the head of the log.
# Usage: bench/webgpu/gpu-ablation.sh [LOG]   (LOG: where the full gpu-check output goes)
# GPU_CHECK / GOLDEN_CHECK override how the two scripts run (e.g. esbuild bundles under another
# node, where the repository's node_modules are absent); GPU_CHECK_ARGS is appended to every
# gpu-check run (a smoke test on lavapipe: "--frames 8 --size 64 --clips 2 --crops 1 --videos 1").
cd "$(dirname "$0")/../.."
: "${XDG_RUNTIME_DIR:=/tmp}"
export XDG_RUNTIME_DIR
GPU_CHECK=${GPU_CHECK:-"node tools/node-ts.js bench/webgpu/gpu-check.ts"}
GOLDEN_CHECK=${GOLDEN_CHECK:-"node tools/node-ts.js bench/webgpu/golden-check.ts"}
LOG=${1:-/dev/null}
run() {
  echo "== $1"; shift
  timeout "${LIMIT:-100}" $GPU_CHECK --videos 5 --input u8 --upload staging "$@" $GPU_CHECK_ARGS 2>&1 | grep -v "^Warning" | tee -a "$LOG" |
    grep -E "plan:|memory|videos/s|stem|ms .*GFLOP|slowest|rror|^tune|^  backbone|kernel"
}
run "defaults (Winograd stem / 1x3x3 / 3x1x1, unrolled K loops, large tiles, 2 batches in flight)" --profile 1
run "--precision f16 (f16 weights, direct convs' GEMM products in f16: Dawn's shader-f16 on NVIDIA needs its vulkan_enable_f16_on_nvidia toggle, which the runtime sets)" --precision f16 --profile 1
run "--precision f16, all direct (every conv's products in f16)" --precision f16 --winograd 0,0,0
run "EXPERIMENTAL: every conv on the matrix units (Dawn subgroup matrices, f16 operands, f32 sums)" --matrix 1 --profile 1
run "EXPERIMENTAL: matrix units, 128x128x32 tiles (4 subgroups of 64x64)" --matrix 1:128x128x32
run "EXPERIMENTAL: matrix units, 128x64x32 tiles" --matrix 1:128x64x32
LIMIT=240
run "defaults tuned per layer (5 tiles, each also with the convs direct, and the heuristic's; best of 2)" --tune 1 \
  --tune-tiles 128x128x8x8x8,128x64x8x8,128x128x16x8x8,64x128x8x4x8,64x64x16
LIMIT=100
goldens() {
  echo "== goldens, $1"; shift
  timeout "${LIMIT:-100}" $GOLDEN_CHECK "$@" 2>&1 | grep -v "^Warning" | grep -E "f32|f16|rror"
}
goldens "defaults (f32 and f16)"
goldens "EXPERIMENTAL matrix units" --matrix 1 --precision f32
run "Dawn's robustness off (is the bounds-clamping of every access costly here?)" --dawn-toggles disable_robustness
run "no Winograd" --winograd 0,0,0
run "the first H200 run's configuration" --winograd 0,0,0 --large-tiles 0 --unroll 0 --depth 1
run "no large tiles" --large-tiles 0
run "no unrolled K loops" --unroll 0
run "1 batch in flight" --depth 1
run "no stem Winograd" --winograd 4,4,0
run "Winograd 2,2,2" --winograd 2,2,2
LIMIT=240
goldens "tuned per layer (2 tiles, with and without direct convs)" --precision f32 --tune 1 --tune-tiles 128x128x8x8x8,64x64x16 --tune-iterations 1
LIMIT=100
goldens "all direct" --winograd 0,0,0
LIMIT=240
run "--precision f16 tuned per layer" --precision f16 --tune 1 --tune-tiles 128x128x8x8x8,128x128x16x8x8,64x64x16
LIMIT=100
run "128x128x8 tm8 tn8 forced everywhere" --tile 128x128x8x8x8
run "Winograd 1x3x3 only" --winograd 4,0,0
run "stem F(3x3,4x4)" --winograd 4,4,3
goldens "stem F(3x3,4x4)" --winograd 4,4,3
run "NL embedded gaussian, defaults (the softmax through subgroups)" --model i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb --profile 1
run "NL embedded gaussian, no subgroups" --model i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb --subgroups 0
