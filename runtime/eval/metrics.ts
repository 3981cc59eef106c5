// MMAction2 0.x's recognition metrics (mmaction/core/evaluation/accuracy.py), reproduced exactly
// (evaluate.ts runs them, and prints their lines, as mmaction/datasets/base.py evaluate() does):
//
// top_k_accuracy(scores, labels, topk):
//     max_k_preds = np.argsort(scores, axis=1)[:, -k:][:, ::-1]
//     match_array = np.logical_or.reduce(max_k_preds == labels, axis=1)
//     topk_acc_score = match_array.sum() / match_array.shape[0]
//   -> ties at the k-th place are resolved by numpy's (unstable) quicksort: see numpy-argsort.ts.
//      k larger than the number of classes takes every class.
//
// mean_class_accuracy(scores, labels):
//     pred = np.argmax(scores, axis=1)                        # FIRST max on ties
//     cf_mat = confusion_matrix(pred, labels).astype(float)
//     cls_cnt = cf_mat.sum(axis=1); cls_hit = np.diag(cf_mat)
//     np.mean([hit / cnt if cnt else 0.0 for cnt, hit in zip(cls_cnt, cls_hit)])
//   where confusion_matrix's rows/columns are np.unique(concat(pred, labels)). So the mean runs
//   over every class that occurs as a label OR as a prediction; a class that is only ever
//   predicted (no video has it as label) contributes 0.0; classes that occur in neither are left
//   out. Note top-1 (argsort, last of the ties) and the argmax here (first of the ties) can pick
//   different classes for the same tied row: that is MMAction2's behaviour and kept.

import { I3DError } from "../../models/errors.ts";
import { numpyArgsort } from "./numpy-argsort.ts";
import { numpyArgmax, numpyMean } from "./numpy-reductions.ts";

/** MMAction2's default metric options: top_k_accuracy with topk=(1, 5) */
export const DEFAULT_TOPK: readonly number[] = [1, 5];

/** top-k accuracy for each k, as fractions in [0, 1] (NaN for no videos, where numpy fails) */
export function topKAccuracy(scores: readonly ArrayLike<number>[], labels: readonly number[], topk: readonly number[] = DEFAULT_TOPK): number[] {
  checkShapes(scores, labels);
  checkTopk(topk);
  const hits = topk.map(() => 0);
  for (let v = 0; v < scores.length; v++) {
    const order = numpyArgsort(scores[v]);
    topk.forEach((k, t) => {
      for (let p = order.length - 1; p >= Math.max(0, order.length - k); p--) {
        if (order[p] === labels[v]) {
          hits[t]++;
          break;
        }
      }
    });
  }
  return hits.map((h) => h / scores.length);
}

/** mean class accuracy as MMAction2 0.x computes it (see the header for the class set) */
export function meanClassAccuracy(scores: readonly ArrayLike<number>[], labels: readonly number[]): number {
  checkShapes(scores, labels);
  const count = new Map<number, number>(); // class -> videos with that label
  const hit = new Map<number, number>(); // class -> of those, predicted right
  for (let v = 0; v < scores.length; v++) {
    const pred = numpyArgmax(scores[v]);
    const label = labels[v];
    count.set(label, (count.get(label) ?? 0) + 1);
    if (!count.has(pred)) count.set(pred, 0);
    if (pred === label) hit.set(label, (hit.get(label) ?? 0) + 1);
  }
  // np.unique order (ascending class), though only the summation order depends on it
  const classes = [...count.keys()].sort((a, b) => a - b);
  const ratios = classes.map((c) => {
    const cnt = count.get(c)!;
    return cnt ? (hit.get(c) ?? 0) / cnt : 0.0;
  });
  return numpyMean(ratios);
}

/** each k a positive integer (MMAction2 would read k = 0 as "every class", a `[:, -0:]` slice) */
export function checkTopk(topk: readonly number[]): void {
  for (const k of topk) {
    if (!Number.isInteger(k) || k < 1) throw new I3DError("usage", `top-k: k must be a positive integer, got ${k}`);
  }
}

function checkShapes(scores: readonly ArrayLike<number>[], labels: readonly number[]): void {
  if (scores.length !== labels.length) {
    throw new I3DError("internal", `metrics: ${scores.length} score rows but ${labels.length} labels`);
  }
  for (const label of labels) {
    if (!Number.isInteger(label) || label < 0) throw new I3DError("internal", `metrics: label ${label} is not a class index`);
  }
}

/** MMAction2's eval_results: `top{k}_acc` for each k, then `mean_class_accuracy`, in that order */
export type EvaluationMetrics = Record<string, number>;

/** Both of MMAction2's recognition metrics, keyed as its evaluate() returns them. */
export function computeMetrics(scores: readonly ArrayLike<number>[], labels: readonly number[], topk: readonly number[] = DEFAULT_TOPK): EvaluationMetrics {
  const metrics: EvaluationMetrics = {};
  topKAccuracy(scores, labels, topk).forEach((acc, t) => {
    metrics[`top${topk[t]}_acc`] = acc;
  });
  metrics.mean_class_accuracy = meanClassAccuracy(scores, labels);
  return metrics;
}
