// `i3d test <config> <checkpoint> --ann-file LIST --data-prefix DIR` — MMAction2's tools/test.py:
// every video of an annotation list through the config's test pipeline and the model, metrics as
// MMAction2 0.x computes them, per-video averaged scores in --out.

import process from "node:process";
import { I3DError } from "../../models/errors.ts";
import type { AverageClips } from "../../models/model-spec.ts";
import { createProgressBar } from "../download/progress-bar.ts";
import { type AnnotationItem, loadAnnotations } from "../eval/annotations.ts";
import { runEvaluation } from "../eval/run-evaluation.ts";
import { runPipeline, runPipelineBytes } from "../prepare-input.ts";
import { openVideo } from "../video/open-video.ts";
import { intOption, parseCommand } from "./args.ts";
import { loadRecognizerFromFlags, MODEL_OPTIONS } from "./load-recognizer.ts";

export const TEST_USAGE =
  "i3d test <config> <checkpoint> --ann-file LIST --data-prefix DIR [--eval top_k_accuracy mean_class_accuracy] " +
  "[--out result.json] [--average-clips prob|score] [--backend auto|webgpu|wasm] [--limit N]";

const METRICS = ["top_k_accuracy", "mean_class_accuracy"];

/** argparse's nargs='+' for --eval: the words after it up to the next flag */
function takeEval(argv: string[]): { rest: string[]; metrics: string[] | undefined } {
  const i = argv.indexOf("--eval");
  if (i < 0) return { rest: argv, metrics: undefined };
  let j = i + 1;
  while (j < argv.length && !argv[j].startsWith("--")) j++;
  const metrics = argv.slice(i + 1, j);
  if (metrics.length === 0) throw new I3DError("usage", `--eval needs one or more of ${METRICS.join(", ")}`);
  for (const m of metrics) {
    if (!METRICS.includes(m)) throw new I3DError("usage", `--eval: unsupported metric "${m}" (${METRICS.join(", ")})`);
  }
  return { rest: [...argv.slice(0, i), ...argv.slice(j)], metrics };
}

export async function testCommand(argvIn: string[]): Promise<number> {
  const { rest, metrics } = takeEval(argvIn);
  const { values, positionals } = parseCommand(rest, {
    ...MODEL_OPTIONS,
    "ann-file": { type: "string" },
    "data-prefix": { type: "string" },
    out: { type: "string" },
    "average-clips": { type: "string" },
    limit: { type: "string" },
    clips: { type: "string" },
    crops: { type: "string" },
    decoder: { type: "string" },
  }, TEST_USAGE);
  if (positionals.length !== 2) throw new I3DError("usage", `expected <config> <checkpoint> (usage: ${TEST_USAGE})`);
  if (!values["ann-file"]) throw new I3DError("usage", `--ann-file is required (usage: ${TEST_USAGE})`);
  const averageClips = values["average-clips"];
  if (averageClips !== undefined && averageClips !== "prob" && averageClips !== "score") {
    throw new I3DError("usage", `--average-clips must be prob or score, got "${averageClips}"`);
  }
  const limit = intOption(values.limit, "limit");
  const clips = intOption(values.clips, "clips");
  const crops = intOption(values.crops, "crops");
  if (crops !== undefined && crops !== 1 && crops !== 3) throw new I3DError("usage", `--crops must be 1 or 3, got ${crops}`);
  const decoder = values.decoder as "auto" | "system" | "wasm" | undefined;

  const recognizer = await loadRecognizerFromFlags({ ...values, config: positionals[0], checkpoint: positionals[1] });
  const config = recognizer.config;
  const ds = config.testDataset as { start_index?: number | null; filename_tmpl?: string | null; multi_class?: boolean | null; num_classes?: number | null; with_offset?: boolean | null };
  const format = config.datasetType === "RawframeDataset" ? "rawframes" : "video";
  const items = await loadAnnotations(values["ann-file"], {
    format,
    dataPrefix: values["data-prefix"],
    startIndex: ds.start_index ?? undefined,
    filenameTmpl: ds.filename_tmpl ?? undefined,
    multiClass: ds.multi_class ?? undefined,
    numClasses: ds.num_classes ?? undefined,
    withOffset: ds.with_offset ?? undefined,
  });

  const controller = new AbortController();
  const onSigint = () => {
    process.stderr.write("\ninterrupted: saving the results so far\n");
    controller.abort();
  };
  process.once("SIGINT", onSigint);
  try {
    const summary = await runEvaluation({
      items,
      limit,
      outFile: values.out,
      signal: controller.signal,
      progress: createProgressBar({ label: "test", unit: "videos" }),
      evalMetrics: metrics as ("top_k_accuracy" | "mean_class_accuracy")[] | undefined,
      log: (line) => process.stdout.write(`${line}\n`),
      prepare: async (item: AnnotationItem) => {
        const source = await openVideo(item.path, {
          decoder,
          startIndex: item.startIndex,
          totalFrames: item.totalFrames,
          filenameTmpl: item.filenameTmpl,
        });
        try {
          const opts = { clips, crops: crops as 1 | 3 | undefined };
          // WebGPU takes the frames as bytes and normalises them on the GPU
          return recognizer.backend === "webgpu" ? await runPipelineBytes(source, config, opts) : await runPipeline(source, config, opts);
        } finally {
          await source.close();
        }
      },
      infer: async (prepared) => {
        const result = await recognizer.classifyPrepared(prepared, {
          averageClips: (averageClips as AverageClips | undefined),
        });
        return result.scores;
      },
    });
    return summary.failures.length > 0 || summary.interrupted ? 1 : 0;
  } finally {
    process.off("SIGINT", onSigint);
    await recognizer.dispose();
  }
}
