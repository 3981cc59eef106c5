// Bugs the fuzzer found that are not fixed yet, each with the signature of its BUG outcomes.
// The short fuzz run in the default suite (fuzz.test.ts) counts matching outcomes as KNOWN
// instead of failing, so that it keeps catching new bugs meanwhile. Each has a reproducer among
// the hostile cases (hostile-cases.ts, `knownBug: id`), run by known-bugs.test.ts with
// I3D_FUZZ_KNOWN=1. When a bug is fixed: delete its entry here and the `knownBug` mark of its
// case, so that both the hostile case and any fuzz outcome that still matches fail loudly.

import type { FuzzInput, TargetName } from "./fuzz-input.ts";
import type { Outcome } from "./oracle.ts";

export interface KnownBug {
  id: string;
  /** where it is and what goes wrong */
  summary: string;
  matches(target: TargetName, input: FuzzInput, outcome: Outcome): boolean;
}

// (all fourteen bugs the first campaigns found are fixed; their reproducers now run in the
// default suite as ordinary hostile cases, and spec/{config,checkpoint,eval} have regression
// tests for each)
export const knownBugs: KnownBug[] = [];

export function knownBugFor(target: TargetName, input: FuzzInput, outcome: Outcome): string | undefined {
  return knownBugs.find((b) => b.matches(target, input, outcome))?.id;
}
