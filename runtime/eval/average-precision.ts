// MMAction2 0.x's multi-label metrics (mmaction/core/evaluation/accuracy.py), step for step, so
// the values match numpy's to the last bit:
//
// binary_precision_recall_curve(y_score, y_true):
//     order = np.argsort(y_score, kind='mergesort')[::-1]      # stable, then reversed: ties
//                                                              # in DESCENDING index order
//     distinct = np.where(np.diff(y_score[order]))[0]          # NaN differences count as distinct
//     threshold_inds = [*distinct, n - 1]
//     tps = np.cumsum(y_true[order] == 1)[threshold_inds];  fps = 1 + threshold_inds - tps
//     precision = tps / (tps + fps);  recall = tps / tps[-1]   # 0/0 = NaN without positives
//     last_ind = tps.searchsorted(tps[-1]);  sl = slice(last_ind, None, -1)
//     return [*precision[sl], 1], [*recall[sl], 0]
// average precision = -np.sum(np.diff(recall) * precision[:-1])
//
// mean_average_precision(scores, labels): one AP per class (a column of the score matrix), the
//     NaN ones (classes no video has) dropped, np.mean of the rest; np.nan if none is left.
// mmit_mean_average_precision(scores, labels): one AP per video (a row), np.mean of all of them
//     (NaN as soon as one video has no label).
// labels are BaseDataset.label2array's float32 one-hot vectors of num_classes: `arr[label] = 1`.

import { I3DError } from "../../models/errors.ts";
import { numpyMean, numpySum } from "./numpy-reductions.ts";

/** numpy's FLOAT_LT: a < b, with NaN sorting last */
function lessThan(a: number, b: number): boolean {
  return a < b || (b !== b && a === a);
}

/** The average precision of one score vector against its 0/1 truth vector. */
export function binaryAveragePrecision(yScore: ArrayLike<number>, yTrue: ArrayLike<number>): number {
  const n = yScore.length;
  if (n === 0 || yTrue.length !== n) throw new I3DError("internal", `average precision: ${n} scores but ${yTrue.length} truth values`);
  // np.argsort(kind='mergesort') is stable: equal scores keep index order; reversed afterwards
  const ascending = Array.from({ length: n }, (_, i) => i).sort((a, b) =>
    lessThan(yScore[a], yScore[b]) ? -1 : lessThan(yScore[b], yScore[a]) ? 1 : a - b
  );
  const order = ascending.reverse();
  // thresholds: every place where the next (descending) score differs, then the last place
  const thresholdInds: number[] = [];
  for (let i = 0; i + 1 < n; i++) {
    // np.diff in float32; a - b is 0 exactly when the two equal (inf - inf and NaN are "distinct")
    if (yScore[order[i + 1]] - yScore[order[i]] !== 0) thresholdInds.push(i);
  }
  thresholdInds.push(n - 1);
  const cumulative: number[] = [];
  let running = 0;
  for (let i = 0; i < n; i++) {
    if (yTrue[order[i]] === 1) running++;
    cumulative.push(running);
  }
  const tps = thresholdInds.map((t) => cumulative[t]);
  const precision = thresholdInds.map((t, i) => tps[i] / (tps[i] + (1 + t - tps[i])));
  const total = tps[tps.length - 1];
  const recall = tps.map((tp) => tp / total);
  // searchsorted (left): the first place where all positives are found
  let lastInd = 0;
  while (tps[lastInd] < total) lastInd++;
  const p: number[] = [];
  const r: number[] = [];
  for (let i = lastInd; i >= 0; i--) {
    p.push(precision[i]);
    r.push(recall[i]);
  }
  p.push(1);
  r.push(0);
  const terms = new Float64Array(r.length - 1);
  for (let i = 0; i < terms.length; i++) terms[i] = (r[i + 1] - r[i]) * p[i];
  return -numpySum(terms);
}

/** BaseDataset.label2array: the float32 one-hot (many-hot) vector of a label or label list */
export function labelToArray(numClasses: number, label: number | readonly number[]): Float32Array {
  const arr = new Float32Array(numClasses);
  for (const c of typeof label === "number" ? [label] : label) {
    // numpy would raise IndexError
    if (!Number.isInteger(c) || c < 0 || c >= numClasses) throw new I3DError("input", `label ${c} is not below num_classes ${numClasses}`);
    arr[c] = 1;
  }
  return arr;
}

function checkShapes(scores: readonly ArrayLike<number>[], labels: readonly ArrayLike<number>[], sameWidth: boolean): void {
  if (scores.length !== labels.length) throw new I3DError("internal", `average precision: ${scores.length} score rows but ${labels.length} labels`);
  for (let v = 0; sameWidth && v < scores.length; v++) {
    if (scores[v].length !== labels[v].length) {
      throw new I3DError("input", `average precision: video ${v} has ${scores[v].length} class scores but num_classes is ${labels[v].length}`);
    }
  }
}

/** mean_average_precision: per-class AP over the videos, NaN classes left out */
export function meanAveragePrecision(scores: readonly ArrayLike<number>[], labels: readonly ArrayLike<number>[]): number {
  checkShapes(scores, labels, false);
  if (scores.length === 0) return NaN;
  // MMAction2 zips the transposed matrices: a num_classes unlike the score width evaluates only
  // the classes both have
  const classes = Math.min(scores[0].length, labels[0].length);
  const aps: number[] = [];
  for (let c = 0; c < classes; c++) {
    const column = Float32Array.from(scores, (row) => row[c]);
    const truth = Float32Array.from(labels, (row) => row[c]);
    const ap = binaryAveragePrecision(column, truth);
    if (!Number.isNaN(ap)) aps.push(ap);
  }
  return aps.length === 0 ? NaN : numpyMean(aps);
}

/** mmit_mean_average_precision: per-video AP over the classes, averaged */
export function mmitMeanAveragePrecision(scores: readonly ArrayLike<number>[], labels: readonly ArrayLike<number>[]): number {
  checkShapes(scores, labels, true);
  return numpyMean(scores.map((row, v) => binaryAveragePrecision(row, labels[v])));
}
