// The committed MMAction2 references for `i3d infer` (spec/e2e/fixtures/reference/, made by
// spec/e2e/reference/make_infer_reference.py) and the comparisons the e2e tests make with them.
//
// Tolerances. The float64 reference is the oracle; the backends compute in float32. For
// i3d_r50 the project's standing float32 tolerances apply (spec/reference/README.md: logits
// 2e-3, features 5e-4, averaged probabilities 1e-4); torch's own float32 is 10-40x inside them
// on these videos (~5e-5 on logits). The small golden non-local models were calibrated on
// synthetic 56x48 clips; on real 256x256 video their logits reach 1e3 (embedded_gaussian,
// gaussian) to 1e17 (dot_product), and torch's own float32 is off by up to 0.7% of the largest
// logit. For those the tolerance is 4x the error torch's float32 shows on the same input (the
// worst of CPU and CUDA, recorded in each case): two independent float32 implementations
// differ by about the sum of their errors, and the other 2x is margin.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

export const E2E_FIXTURES = fileURLToPath(new URL("./fixtures/", import.meta.url));
export const CONFIGS = `${E2E_FIXTURES}configs/`;

interface B64Array {
  shape: number[];
  dtype: "float32";
  base64: string;
}

interface Averaged {
  top5: number[];
  /** gaps[i] = value of rank i minus value of rank i+1 */
  gaps: number[];
  values: B64Array;
}

interface Float32Error {
  logits: number;
  logits_rel: number;
  features: number;
  prob: number;
  score: number;
}

interface CaseJson {
  id: string;
  media: string;
  model: string;
  config: string;
  kind: "video" | "rawframes";
  clips: number | null;
  crops: number | null;
  with_features: boolean;
  window: [number, number] | null;
  total_frames: number;
  frame_indices: number[][];
  shape: number[];
  input_sha256: string;
  prob: Averaged;
  score: Averaged;
  cls_score: B64Array;
  features?: B64Array;
  torch_float32_error: Record<string, Float32Error>;
}

export interface ReferenceCase extends Omit<CaseJson, "cls_score" | "features"> {
  /** [views][classes], float64-derived, stored as float32 */
  clsScore: Float32Array[];
  features?: Float32Array[];
  probValues: Float32Array;
  scoreValues: Float32Array;
  tol: Tolerances;
}

export interface Tolerances {
  logits: number;
  features: number;
  prob: number;
  score: number;
}

/** the project's float32 tolerances against a float64 oracle (spec/reference/README.md) */
export const FLOAT32_TOLERANCES: Tolerances = { logits: 2e-3, features: 5e-4, prob: 1e-4, score: 2e-3 };
/** how many times torch's own float32 error another float32 implementation may show */
export const TORCH_ERROR_FACTOR = 4;

function decode(a: B64Array): Float32Array {
  const bytes = Buffer.from(a.base64, "base64");
  const out = new Float32Array(bytes.length / 4);
  new Uint8Array(out.buffer).set(bytes);
  return out;
}

function rows(data: Float32Array, width: number): Float32Array[] {
  return Array.from({ length: data.length / width }, (_, i) => data.slice(i * width, (i + 1) * width));
}

export function tolerancesFor(errors: Record<string, Float32Error>): Tolerances {
  const tol = (k: keyof Tolerances) =>
    Math.max(FLOAT32_TOLERANCES[k], TORCH_ERROR_FACTOR * Math.max(...Object.values(errors).map((e) => e[k])));
  return { logits: tol("logits"), features: tol("features"), prob: tol("prob"), score: tol("score") };
}

export function loadCase(id: string): ReferenceCase {
  const json = JSON.parse(readFileSync(`${E2E_FIXTURES}reference/${id}.json`, "utf8")) as CaseJson;
  const { cls_score, features, ...rest } = json;
  const classes = cls_score.shape[1];
  return {
    ...rest,
    clsScore: rows(decode(cls_score), classes),
    features: features ? rows(decode(features), features.shape[1]) : undefined,
    probValues: decode(json.prob.values),
    scoreValues: decode(json.score.values),
    tol: tolerancesFor(json.torch_float32_error),
  };
}

export function configPath(c: { config: string }): string {
  return `${CONFIGS}${c.config}.json`;
}

/** max |got - want| over every element of two [rows][cols] tables (shapes must agree) */
export function maxAbsDiff(got: ArrayLike<number>[], want: ArrayLike<number>[]): number {
  if (got.length !== want.length) throw new Error(`${got.length} rows, expected ${want.length}`);
  let max = 0;
  got.forEach((row, i) => {
    if (row.length !== want[i].length) throw new Error(`row ${i} has ${row.length} values, expected ${want[i].length}`);
    for (let j = 0; j < row.length; j++) max = Math.max(max, Math.abs(row[j] - want[i][j]));
  });
  return max;
}

/**
 * The reference top-5 as groups of ranks whose order the tolerance determines: ranks i and i+1
 * may swap when their gap is within twice the tolerance (each value may move by tol), so they
 * share a group; the last group counts only if rank 6 cannot enter the top-5.
 */
export function rankingGroups(avg: { top5: number[]; gaps: number[] }, tol: number): number[][] {
  const groups: number[][] = [];
  let current = [avg.top5[0]];
  for (let i = 0; i < 4; i++) {
    if (avg.gaps[i] > 2 * tol) {
      groups.push(current);
      current = [];
    }
    current.push(avg.top5[i + 1]);
  }
  if (avg.gaps[4] > 2 * tol) groups.push(current);
  return groups;
}

/** Checks `got` (class indices, best first) against the groups; returns how many ranks it checked. */
export function sameRanking(got: number[], avg: { top5: number[]; gaps: number[] }, tol: number): { checked: number; error?: string } {
  let start = 0;
  for (const group of rankingGroups(avg, tol)) {
    const end = start + group.length;
    if (end > got.length) break;
    const have = got.slice(start, end).sort((a, b) => a - b);
    const want = [...group].sort((a, b) => a - b);
    if (have.join() !== want.join()) {
      return { checked: start, error: `ranks ${start + 1}-${end} are classes ${got.slice(start, end)}, the reference has ${group}` };
    }
    start = end;
  }
  return { checked: start };
}
