// MMAction2's test-time reduction over the views of one video (Recognizer base.average_clip):
//   'prob'  : softmax over classes per view, then the mean over views
//   'score' : the mean of the logits over views
//   null    : no reduction (per-view logits are the result)
// and the top-k that MMAction2's demo prints. With test_cfg.feature_extraction, Recognizer3D
// skips the head and average_clip and returns the pooled features' mean over views instead.

import type { AverageClips } from "../models/model-spec.ts";

/** logits [views, classes] -> averaged scores [classes] (or a copy of the logits when null) */
export function averageClips(logits: Float32Array, views: number, mode: AverageClips): Float32Array {
  const classes = logits.length / views;
  if (mode === null) return Float32Array.from(logits);
  const acc = new Float64Array(classes);
  for (let v = 0; v < views; v++) {
    const row = logits.subarray(v * classes, (v + 1) * classes);
    if (mode === "score") {
      for (let c = 0; c < classes; c++) acc[c] += row[c];
      continue;
    }
    let max = -Infinity;
    for (let c = 0; c < classes; c++) max = Math.max(max, row[c]);
    let sum = 0;
    for (let c = 0; c < classes; c++) sum += Math.exp(row[c] - max);
    for (let c = 0; c < classes; c++) acc[c] += Math.exp(row[c] - max) / sum;
  }
  return Float32Array.from(acc, (x) => x / views);
}

/**
 * Recognizer3D._do_test with test_cfg.feature_extraction: the per-view pooled backbone
 * features [views][C] averaged over the views (feat.reshape(batches, num_segs, -1).mean(1)).
 */
export function meanOverViews(rows: readonly Float32Array[]): Float32Array {
  const acc = new Float64Array(rows[0]?.length ?? 0);
  for (const row of rows) for (let c = 0; c < acc.length; c++) acc[c] += row[c];
  return Float32Array.from(acc, (x) => x / rows.length);
}

/**
 * One video's result from its per-view logits [views][classes]: the scores averaged as
 * `mode` says, and their top k named by `labels`. With no averaging (null) the scores are the
 * flattened per-view logits and the ranking is the first view's: MMAction2 then returns
 * per-view scores and inference_recognizer ranks row 0.
 */
export function reduceViews(
  clsScore: readonly Float32Array[], mode: AverageClips, k: number, labels: readonly string[],
): { scores: Float32Array; topk: (TopEntry & { label: string })[] } {
  const classes = clsScore[0]?.length ?? 0;
  const flat = new Float32Array(clsScore.length * classes);
  clsScore.forEach((row, i) => flat.set(row, i * classes));
  const scores = averageClips(flat, clsScore.length, mode);
  const ranked = mode === null ? scores.subarray(0, classes) : scores;
  return { scores, topk: topK(ranked, k).map((t) => ({ ...t, label: labels[t.index] })) };
}

export interface TopEntry {
  index: number;
  score: number;
}

/** the k highest scores, highest first; ties keep the lower class index first (a stable sort, as torch.topk on CPU gives in practice) */
export function topK(scores: ArrayLike<number>, k: number): TopEntry[] {
  const idx = Array.from({ length: scores.length }, (_, i) => i);
  idx.sort((a, b) => scores[b] - scores[a] || a - b);
  return idx.slice(0, Math.min(k, idx.length)).map((index) => ({ index, score: scores[index] }));
}
