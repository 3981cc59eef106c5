// MMAction2 0.x's BaseDataset.evaluate (mmaction/datasets/base.py) and the summary tools/test.py
// prints after it, as one function over the score rows and labels:
//
//   for metric in metrics:                       # the order given, a repeated name runs again
//       print_log(f'\nEvaluating {metric} ...')
//       top_k_accuracy:  eval_results[f'top{k}_acc'] = acc for each k of metric_options'
//                        topk (default (1, 5));  print_log(''.join(f'\ntop{k}_acc\t{acc:.4f}'))
//       mean_class_accuracy: eval_results['mean_class_accuracy'];  '\nmean_acc\t{:.4f}'
//       mean_average_precision / mmit_mean_average_precision: over label2array(num_classes,
//                        label) one-hot vectors;  '\n{metric}\t{:.4f}'
//   test.py:  for name, val in eval_results.items(): print(f'{name}: {val:.04f}')
//
// eval_results is an OrderedDict: a key set again (a repeated metric or k) keeps its first
// place, as a JavaScript object's string keys do. print(msg) prints msg and a line break, so a
// message starting with "\n" shows as an empty line before its text.
//
// What MMAction2 only finds out after the whole test run (an unknown metric name, top-k on a
// multi-class list, mAP without num_classes, a label outside num_classes) checkEvaluation
// reports before it starts.

import { I3DError } from "../../models/errors.ts";
import { labelToArray, meanAveragePrecision, mmitMeanAveragePrecision } from "./average-precision.ts";
import { checkTopk, DEFAULT_TOPK, type EvaluationMetrics, meanClassAccuracy, topKAccuracy } from "./metrics.ts";
import { formatFixedLikePython } from "./python-float-format.ts";

/** BaseDataset.evaluate's allowed_metrics, in its order */
export const ALLOWED_METRICS = ["top_k_accuracy", "mean_class_accuracy", "mean_average_precision", "mmit_mean_average_precision"] as const;
export type MetricName = (typeof ALLOWED_METRICS)[number];

export interface EvaluateOptions {
  /** the metrics, in the order evaluate() runs them */
  metrics: readonly string[];
  /** metric_options.top_k_accuracy.topk (default [1, 5]) */
  topk?: readonly number[];
  /** the dataset's num_classes: the one-hot width of the mAP metrics' labels */
  numClasses?: number;
}

export interface Evaluation {
  /** eval_results, keys in MMAction2's order */
  results: EvaluationMetrics;
  /** what evaluate()'s print_log calls print, one array element per line */
  log: string[];
}

type Label = number | readonly number[];

function isMetric(name: string): name is MetricName {
  return (ALLOWED_METRICS as readonly string[]).includes(name);
}

/** Everything evaluate() would reject, checked before any video is run (I3DError "usage"/"input"). */
export function checkEvaluation(opts: EvaluateOptions, labels: readonly Label[]): void {
  for (const metric of opts.metrics) {
    if (!isMetric(metric)) throw new I3DError("usage", `metric ${metric} is not supported (${ALLOWED_METRICS.join(", ")})`);
  }
  checkTopk(opts.topk ?? DEFAULT_TOPK);
  const wants = (names: MetricName[]) => opts.metrics.filter((m) => (names as string[]).includes(m));
  const singleLabel = wants(["top_k_accuracy", "mean_class_accuracy"]);
  if (singleLabel.length > 0 && labels.some((l) => typeof l !== "number")) {
    // MMAction2 fails inside numpy here (ragged label arrays)
    throw new I3DError("usage", `${singleLabel[0]} needs one label per video; this annotation list is multi-class (use mean_average_precision)`);
  }
  const multiLabel = wants(["mean_average_precision", "mmit_mean_average_precision"]);
  if (multiLabel.length > 0) {
    const numClasses = opts.numClasses;
    if (numClasses === undefined) throw new I3DError("usage", `${multiLabel[0]} needs the dataset's num_classes (data.test.num_classes in the config)`);
    labels.forEach((label) => labelToArray(numClasses, label));
  }
}

/** evaluate() over `scores` (one row per video) and their labels. */
export function evaluate(scores: readonly ArrayLike<number>[], labels: readonly Label[], opts: EvaluateOptions): Evaluation {
  checkEvaluation(opts, labels);
  const topk = opts.topk ?? DEFAULT_TOPK;
  const results: EvaluationMetrics = {};
  const log: string[] = [];
  // print(msg): msg's own lines, the first empty when msg starts with "\n"
  const print = (msg: string) => log.push(...msg.split("\n"));
  const fixed = (x: number) => formatFixedLikePython(x, 4);
  let oneHot: Float32Array[] | undefined;
  for (const metric of opts.metrics as MetricName[]) {
    print(`\nEvaluating ${metric} ...`);
    if (metric === "top_k_accuracy") {
      const accs = topKAccuracy(scores, labels as number[], topk);
      topk.forEach((k, t) => {
        results[`top${k}_acc`] = accs[t];
      });
      print(topk.map((k, t) => `\ntop${k}_acc\t${fixed(accs[t])}`).join(""));
    } else if (metric === "mean_class_accuracy") {
      const mean = meanClassAccuracy(scores, labels as number[]);
      results.mean_class_accuracy = mean;
      print(`\nmean_acc\t${fixed(mean)}`);
    } else {
      oneHot ??= labels.map((label) => labelToArray(opts.numClasses!, label));
      const map = metric === "mean_average_precision" ? meanAveragePrecision(scores, oneHot) : mmitMeanAveragePrecision(scores, oneHot);
      results[metric] = map;
      print(`\n${metric}\t${fixed(map)}`);
    }
  }
  return { results, log };
}

/** tools/test.py's summary: `{name}: {val:.04f}` for each entry of eval_results */
export function formatResults(results: EvaluationMetrics): string[] {
  return Object.entries(results).map(([name, value]) => `${name}: ${formatFixedLikePython(value, 4)}`);
}
