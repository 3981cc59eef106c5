// Many views through a runner compiled for a fixed batch: batches of at most `batch` views in
// order, each result split into per-view rows (what the Recognizer and the --esm bundle's
// frames classifier both average over).

export interface ViewRows {
  /** per-view logits [views][classes] */
  clsScore: Float32Array[];
  /** per-view pooled backbone features [views][C] */
  features: Float32Array[];
}

export async function runViews(
  batch: number, views: number, classes: number,
  runBatch: (first: number, count: number) => Promise<{ features: Float32Array; clsScore: Float32Array }>,
): Promise<ViewRows> {
  const clsScore: Float32Array[] = [];
  const features: Float32Array[] = [];
  for (let v = 0; v < views; v += batch) {
    const n = Math.min(batch, views - v);
    const result = await runBatch(v, n);
    const featureDim = result.features.length / n;
    for (let i = 0; i < n; i++) {
      clsScore.push(result.clsScore.slice(i * classes, (i + 1) * classes));
      features.push(result.features.slice(i * featureDim, (i + 1) * featureDim));
    }
  }
  return { clsScore, features };
}
