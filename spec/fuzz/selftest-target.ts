// A target that misbehaves on purpose, one way per input name, so that the tests can show the
// harness catches each kind of BUG (a hang, a dead worker, an oversized allocation, a foreign
// exception, a multi-line message, an inconsistent result) and passes OK / EXPECTED through.
// It touches no package code except I3DError; campaigns never fuzz it.

import { inflateRawSync } from "node:zlib";
import { I3DError } from "../../models/errors.ts";
import type { FuzzInput } from "./fuzz-input.ts";
import { fail } from "./result-checks.ts";

/** (the two that cost a worker restart come last) */
export const selftestBehaviours = [
  "ok", "expected", "big-allocation", "big-inflate", "type-error", "multiline-message", "inconsistent", "hang", "out-of-memory",
] as const;

export async function runSelftest(input: FuzzInput): Promise<string> {
  switch (input.name) {
    case "ok":
      return "fine";
    case "expected":
      throw new I3DError("input", "selftest: refused in one line");
    case "hang":
      for (;;) {
        // a synchronous infinite loop: only the watchdog can end it
      }
    case "out-of-memory": {
      const hoard: string[][] = [];
      for (let i = 0; ; i++) hoard.push(new Array(1 << 16).fill(`x${i}`));
    }
    case "big-allocation":
      return String(new Float64Array(1 << 24).length);
    case "big-inflate":
      // the input is a deflate stream of many zeros (made by the test, outside the watch)
      return String(inflateRawSync(input.bytes).length);
    case "type-error":
      return (null as unknown as { x: string }).x;
    case "multiline-message": {
      // I3DError's constructor makes every message one line; the oracle must still catch a
      // message changed after construction (code that appends to e.message)
      const e = new I3DError("input", "selftest: two");
      e.message += "\nlines";
      throw e;
    }
    case "inconsistent":
      return fail("selftest: a wrong answer");
    default:
      throw new Error(`unknown selftest behaviour ${input.name}`);
  }
}
