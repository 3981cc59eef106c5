#!/usr/bin/env -S deno run -A
// i3d — video action recognition with MMAction2's I3D Kinetics-400 models.
//   i3d infer <video|rawframes dir|.npy>... [options]   top-k actions per input
// Run `i3d --help` for every command.

import { BENCH_USAGE, benchCommand } from "./runtime/cli/bench-command.ts";
import { INFER_USAGE, inferCommand } from "./runtime/cli/infer-command.ts";
import { runCommands } from "./runtime/cli/main.ts";
import { TEST_USAGE, testCommand } from "./runtime/cli/test-command.ts";
import { TUNE_USAGE, tuneCommand } from "./runtime/cli/tune-command.ts";

const USAGE = `i3d <command> [options]

commands:
  ${INFER_USAGE}
  ${TEST_USAGE}
  ${BENCH_USAGE}
  ${TUNE_USAGE}

model options (infer and test; bench takes the first five): --config NAME|FILE (default i3d_r50_video_32x2x1_100e_kinetics400_rgb),
  --checkpoint PATH|URL (default: the config's zoo checkpoint, downloaded once into $I3D_CACHE),
  --backend auto|webgpu|wasm, --threads N, --batch N (views per model run), --non-strict,
  --label-map FILE, --precision f32|f16 (WebGPU weights)`;

await runCommands("i3d", USAGE, { infer: inferCommand, test: testCommand, bench: benchCommand, tune: tuneCommand });
