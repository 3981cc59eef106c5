// An ffmpeg `select` expression that keeps exactly the frames n in a sorted set. A flat sum of
// eq(n,k) terms stops parsing beyond ~100 terms, so the set is split into arithmetic runs
// (between + mod) and the runs are summed as a balanced tree: the nesting depth grows with
// log2(runs), not with the number of frames.

export interface FrameRun {
  start: number;
  step: number;
  count: number;
}

/** Greedy split of sorted distinct integers into runs of constant step. */
export function arithmeticRuns(sorted: readonly number[]): FrameRun[] {
  const runs: FrameRun[] = [];
  let i = 0;
  while (i < sorted.length) {
    const start = sorted[i];
    if (i + 1 === sorted.length) {
      runs.push({ start, step: 1, count: 1 });
      break;
    }
    const step = sorted[i + 1] - start;
    let count = 2;
    while (i + count < sorted.length && sorted[i + count] - sorted[i + count - 1] === step) count++;
    runs.push({ start, step, count });
    i += count;
  }
  return runs;
}

function runTerm(r: FrameRun): string {
  if (r.count === 1) return `eq(n,${r.start})`;
  const end = r.start + r.step * (r.count - 1);
  if (r.step === 1) return `between(n,${r.start},${end})`;
  return `between(n,${r.start},${end})*not(mod(n-${r.start},${r.step}))`;
}

function balancedSum(terms: readonly string[]): string {
  if (terms.length === 1) return terms[0];
  const mid = terms.length >> 1;
  return `(${balancedSum(terms.slice(0, mid))}+${balancedSum(terms.slice(mid))})`;
}

/** The select expression for 0-based frame numbers (sorted, distinct, non-empty). */
export function selectExpression(frameNumbers: readonly number[]): string {
  if (frameNumbers.length === 0) throw new Error("selectExpression: no frames");
  return balancedSum(arithmeticRuns(frameNumbers).map(runTerm));
}

/** Evaluate the runs for a frame number (what ffmpeg computes; used by tests). */
export function runsContain(runs: readonly FrameRun[], n: number): boolean {
  return runs.some((r) => n >= r.start && n <= r.start + r.step * (r.count - 1) && (n - r.start) % r.step === 0);
}
