// Maps a checkpoint's state_dict onto a graph's parameters by MMAction2 key. Strict by default
// (as `load_state_dict(strict=True)`): every missing key, unexpected key and shape mismatch is
// collected and reported together in one error. Non-strict loads what matches and returns the
// rest, like mmcv's load_checkpoint(strict=False) which only warns. BatchNorm running stats
// are loaded like any parameter; `num_batches_tracked` entries (graph.ignoredKeys) may be
// present or not and are never converted, but one that is present still has its shape checked
// as PyTorch checks that 0-dim buffer's (see `fitsScalarBuffer`).

import { I3DError } from "../errors.ts";
import type { Graph } from "../graph.ts";
import type { WeightMap } from "../tensor.ts";
import type { Checkpoint } from "./pth-reader.ts";
import { printable } from "./printable.ts";

export interface ShapeMismatch {
  key: string;
  expected: number[];
  actual: number[];
}

export interface BoundWeights {
  weights: WeightMap;
  /** graph parameters the checkpoint lacks */
  missing: string[];
  /** checkpoint entries the graph does not use (num_batches_tracked of the graph excluded) */
  unexpected: string[];
  mismatched: ShapeMismatch[];
}

export interface BindOptions {
  /** default true: any missing / unexpected / mismatched entry is an error */
  strict?: boolean;
  /** names the checkpoint in the error message */
  source?: string;
}

const LISTED = 5;

function sameShape(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/**
 * Module._load_from_state_dict on a 0-dim buffer (BatchNorm's num_batches_tracked): a 1-dim
 * entry is indexed ([0]) first, so [] and [n] fit; anything else is a size mismatch, which
 * load_state_dict reports (and strict loading raises) even though the value is never used.
 */
function fitsScalarBuffer(shape: readonly number[]): boolean {
  return shape.length === 0 || (shape.length === 1 && shape[0] > 0);
}

function listSome(items: string[]): string {
  const shown = items.slice(0, LISTED).map((k) => printable(k)).join(", ");
  return items.length > LISTED ? `${shown}, … ${items.length - LISTED} more` : shown;
}

export function bindCheckpoint(
  graph: Pick<Graph, "params" | "ignoredKeys">,
  checkpoint: Pick<Checkpoint, "stateDict">,
  options: BindOptions = {},
): BoundWeights {
  const strict = options.strict ?? true;
  const ignored = new Set(graph.ignoredKeys);
  const missing: string[] = [];
  const mismatched: ShapeMismatch[] = [];
  const matched: string[] = [];

  for (const [key, info] of Object.entries(graph.params)) {
    const stored = checkpoint.stateDict.get(key);
    if (!stored) missing.push(key);
    else if (!sameShape(stored.shape, info.shape)) mismatched.push({ key, expected: [...info.shape], actual: stored.shape });
    else matched.push(key);
  }
  const unexpected = [...checkpoint.stateDict.keys()].filter((k) => !Object.hasOwn(graph.params, k) && !ignored.has(k));
  for (const key of ignored) {
    const stored = checkpoint.stateDict.get(key);
    if (stored && !fitsScalarBuffer(stored.shape)) mismatched.push({ key, expected: [], actual: stored.shape });
  }

  if (strict && (missing.length || unexpected.length || mismatched.length)) {
    const parts: string[] = [];
    if (missing.length) parts.push(`${missing.length} missing (${listSome(missing)})`);
    if (unexpected.length) parts.push(`${unexpected.length} unexpected (${listSome(unexpected)})`);
    if (mismatched.length) {
      const described = mismatched.map((m) => `${m.key}: checkpoint [${m.actual.join(", ")}] vs model [${m.expected.join(", ")}]`);
      parts.push(`${mismatched.length} with the wrong shape (${listSome(described)})`);
    }
    const name = options.source ? `checkpoint ${options.source}` : "the checkpoint";
    throw new I3DError("weights", `${name} does not fit the model: ${parts.join("; ")}`);
  }

  // convert only after the check: a checkpoint that does not fit costs no conversion
  const weights: WeightMap = new Map();
  for (const key of matched) {
    const stored = checkpoint.stateDict.get(key)!;
    weights.set(key, { shape: [...stored.shape], data: stored.toFloat32() });
  }
  return { weights, missing, unexpected, mismatched };
}
