// `i3d test <config> <checkpoint> [--ann-file LIST] [--data-prefix DIR]` — MMAction2's tools/test.py:
// every video of an annotation list through the config's test pipeline and the model, metrics as
// MMAction2 0.x computes them, per-video averaged scores in --out.
//
// As in tools/test.py: --ann-file and --data-prefix default to the config's data.test.ann_file
// and data_prefix (the flags are shorthands for --cfg-options data.test.ann_file=...); --eval
// names the metrics in the order they run (--eval-options alone: top_k_accuracy, evaluate()'s
// default); --out's extension picks the format (json, pkl/pickle, yaml/yml). One difference, on
// purpose: without --eval, tools/test.py computes no metrics (and refuses to run without --out
// either); `i3d test` then computes top_k_accuracy and mean_class_accuracy, the zoo's metrics
// (none for a multi-class list), so a bare run reports something. --fuse-conv-bn is accepted and
// changes nothing: the compiler always folds BatchNorm into the convs (fold-batch-norm).

import process from "node:process";
import { I3DError } from "../../models/errors.ts";
import type { AverageClips } from "../../models/model-spec.ts";
import { createProgressBar } from "../download/progress-bar.ts";
import { type AnnotationItem, loadAnnotations } from "../eval/annotations.ts";
import { parseEvalOptions } from "../eval/eval-options.ts";
import { ALLOWED_METRICS } from "../eval/evaluate.ts";
import { resultsFormat } from "../eval/results-file.ts";
import { runEvaluation } from "../eval/run-evaluation.ts";
import { runPipeline, runPipelineBytes } from "../prepare-input.ts";
import { openVideo } from "../video/open-video.ts";
import { intOption, parseCommand, takeCfgOptions, takeWords } from "./args.ts";
import { loadRecognizerFromFlags, MODEL_OPTIONS } from "./load-recognizer.ts";

export const TEST_USAGE =
  "i3d test <config> <checkpoint> [--ann-file LIST] [--data-prefix DIR] [--eval top_k_accuracy mean_class_accuracy ...] " +
  "[--eval-options topk=\"(1,5)\"] [--out result.json|.pkl|.yaml] [--average-clips prob|score] [--backend auto|webgpu|wasm] [--limit N] [--fuse-conv-bn] [--cfg-options KEY=VALUE...]";

const METRICS: readonly string[] = ALLOWED_METRICS;

/** --eval and --eval-options (or its deprecated name --options) as tools/test.py merges them */
function takeEval(argvIn: string[]): { rest: string[]; metrics: string[] | undefined; topk: number[] | undefined } {
  const { rest: afterEval, words: evalWords } = takeWords(argvIn, "--eval", TEST_USAGE);
  const { rest: afterOptions, words: optionWords } = takeWords(afterEval, "--eval-options", TEST_USAGE);
  const { rest, words: legacyWords } = takeWords(afterOptions, "--options", TEST_USAGE);
  if (optionWords && legacyWords) {
    throw new I3DError("usage", "--options and --eval-options cannot be both specified, --options is deprecated in favor of --eval-options");
  }
  const options = parseEvalOptions(optionWords ?? legacyWords ?? []);
  for (const key of options.ignored) process.stderr.write(`warning: --eval-options ${key} is not used by any metric\n`);
  // eval_config = {metrics: --eval} merged with the options; evaluate()'s own default metric is
  // top_k_accuracy; with neither, undefined: runEvaluation's defaults (see the header)
  const given = optionWords !== undefined || legacyWords !== undefined;
  const metrics = options.metrics ?? evalWords ?? (given ? ["top_k_accuracy"] : undefined);
  for (const m of metrics ?? []) {
    if (!METRICS.includes(m)) throw new I3DError("usage", `--eval: unsupported metric "${m}" (${METRICS.join(", ")})`);
  }
  return { rest, metrics, topk: options.topk };
}

export async function testCommand(argvIn: string[]): Promise<number> {
  const { rest: afterCfg, cfgOptions } = takeCfgOptions(argvIn, TEST_USAGE);
  const { rest, metrics, topk } = takeEval(afterCfg);
  const { values, positionals } = parseCommand(rest, {
    ...MODEL_OPTIONS,
    "ann-file": { type: "string" },
    "data-prefix": { type: "string" },
    out: { type: "string" },
    "average-clips": { type: "string" },
    "fuse-conv-bn": { type: "boolean" },
    limit: { type: "string" },
    clips: { type: "string" },
    crops: { type: "string" },
    decoder: { type: "string" },
  }, TEST_USAGE);
  if (positionals.length !== 2) throw new I3DError("usage", `expected <config> <checkpoint> (usage: ${TEST_USAGE})`);
  // the format comes from the extension: an unknown one fails now, not after the run
  if (values.out !== undefined) resultsFormat(values.out);
  const averageClips = values["average-clips"];
  if (averageClips !== undefined && averageClips !== "prob" && averageClips !== "score") {
    throw new I3DError("usage", `--average-clips must be prob or score, got "${averageClips}"`);
  }
  const limit = intOption(values.limit, "limit");
  const clips = intOption(values.clips, "clips");
  const crops = intOption(values.crops, "crops");
  if (crops !== undefined && crops !== 1 && crops !== 3) throw new I3DError("usage", `--crops must be 1 or 3, got ${crops}`);
  const decoder = values.decoder as "auto" | "system" | "wasm" | undefined;

  const recognizer = await loadRecognizerFromFlags({ ...values, config: positionals[0], checkpoint: positionals[1], cfgOptions });
  const config = recognizer.config;
  const ds = config.testDataset as {
    ann_file?: string | null; data_prefix?: string | null; start_index?: number | null; filename_tmpl?: string | null;
    multi_class?: boolean | null; num_classes?: number | null; with_offset?: boolean | null;
  };
  // without the flag, the config's data.test.ann_file (relative to the working directory), as
  // tools/test.py builds its dataset from the config alone
  const annFile = values["ann-file"] ?? ds.ann_file;
  if (!annFile) {
    await recognizer.dispose();
    throw new I3DError("usage", `no annotation list: the config's data.test.ann_file is None; give --ann-file (usage: ${TEST_USAGE})`);
  }
  const format = config.datasetType === "RawframeDataset" ? "rawframes" : "video";
  const items = await loadAnnotations(annFile, {
    format,
    // without the flag, the config's data_prefix, as MMAction2 builds data.test
    dataPrefix: values["data-prefix"] ?? ds.data_prefix ?? undefined,
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
      evalMetrics: metrics,
      topk,
      numClasses: ds.num_classes ?? undefined,
      log: (line) => process.stdout.write(`${line}\n`),
      prepare: async (item: AnnotationItem) => {
        const source = await openVideo(item.path, {
          decoder,
          startIndex: item.startIndex,
          totalFrames: item.totalFrames,
          filenameTmpl: item.filenameTmpl,
        });
        try {
          // the dataset's start_index is added to the sampled indices for videos too (VideoDataset
          // passes it on to SampleFrames as RawframeDataset does), not only for rawframes
          const opts = { clips, crops: crops as 1 | 3 | undefined, startIndex: item.startIndex };
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
