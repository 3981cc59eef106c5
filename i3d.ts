#!/usr/bin/env -S deno run -A
// i3d — video action recognition with MMAction2's I3D Kinetics-400 models.
//   i3d infer <video|rawframes dir|.npy>... [options]   top-k actions per input
// Run `i3d --help` for every command.

import process from "node:process";
import { I3DError } from "./models/errors.ts";
import { BENCH_USAGE, benchCommand } from "./runtime/cli/bench-command.ts";
import { INFER_USAGE, inferCommand } from "./runtime/cli/infer-command.ts";
import { runMain } from "./runtime/cli/main.ts";
import { TEST_USAGE, testCommand } from "./runtime/cli/test-command.ts";

const USAGE = `i3d <command> [options]

commands:
  ${INFER_USAGE}
  ${TEST_USAGE}
  ${BENCH_USAGE}

model options (every command): --config NAME|FILE (default i3d_r50_video_32x2x1_100e_kinetics400_rgb),
  --checkpoint PATH|URL (default: the config's zoo checkpoint, downloaded once into $I3D_CACHE),
  --backend auto|webgpu|wasm, --threads N, --batch N (views per model run), --non-strict,
  --label-map FILE, --precision f32|f16 (WebGPU weights)`;

const COMMANDS: Record<string, (argv: string[]) => Promise<number>> = { infer: inferCommand, test: testCommand, bench: benchCommand };

await runMain(async (argv) => {
  const [command, ...rest] = argv;
  if (!command || command === "--help" || command === "-h" || command === "help") {
    process.stdout.write(`${USAGE}\n`);
    return command ? 0 : 2;
  }
  const run = COMMANDS[command];
  if (!run) throw new I3DError("usage", `unknown command "${command}" (see i3d --help)`);
  return run(rest);
});
