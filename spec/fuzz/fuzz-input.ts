// What one fuzz iteration feeds a target, in a form that can cross to the worker process and be
// saved to disk as a reproducer: the bytes of one file, the file name it is loaded under (its
// extension selects the reader), and the target's options (annotation list settings, which
// config to resolve).

export type TargetName = "pth" | "safetensors" | "npy" | "bind" | "config" | "annotations" | "selftest";

/** the package's parsers; "selftest" (selftest-target.ts) only checks the harness itself */
export const targetNames: readonly TargetName[] = ["pth", "safetensors", "npy", "bind", "config", "annotations"];

export interface FuzzInput {
  target: TargetName;
  /** file name (config target: the path inside the config tree, e.g. "mini/i3d_r50_video.py") */
  name: string;
  bytes: Uint8Array;
  /** target-specific settings, JSON data */
  options?: Record<string, unknown>;
  /** how the input was made: the seed and each mutation */
  how: string;
  /** set for a meaning-preserving rewrite: the index of the seed it must load like */
  sameAsSeed?: number;
}
