// The known bugs' reproducers (the hostile cases marked `knownBug`). By default this only
// checks that the list and the cases agree; with I3D_FUZZ_KNOWN=1 it runs every reproducer and
// expects the FIXED behaviour (refused with a one-line I3DError), so it fails until each bug is
// fixed -- run it to see which still reproduce:
//   I3D_FUZZ_KNOWN=1 node tools/node-ts.js spec/run.ts known-bugs

import process from "node:process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { runInputs } from "./campaign.ts";
import { hostileCases } from "./hostile-cases.ts";
import { knownBugs } from "./known-bugs.ts";

const test = suite("fuzz known bugs");

test("every known bug has a reproducer and every reproducer names a known bug", () => {
  const ids = knownBugs.map((b) => b.id);
  const marked = hostileCases().flatMap((c) => (c.knownBug ? [c.knownBug] : []));
  assert.equal([...new Set(ids)].sort(), [...new Set(marked)].sort());
  assert.is(new Set(ids).size, ids.length, "ids are unique");
});

if (process.env.I3D_FUZZ_KNOWN === "1") {
  test("known bugs: each reproducer is refused cleanly (fails while the bug is there)", async () => {
    const cases = hostileCases().filter((c) => c.knownBug);
    const outcomes = await runInputs(cases.map((c) => c.input), { boundMs: 3000 });
    const still = cases.flatMap((c, i) => {
      const o = outcomes[i];
      const fixed = o.verdict === "EXPECTED" && c.expect.test(o.detail);
      console.log(`  ${fixed ? "fixed " : "FAILS "} ${c.knownBug}: ${c.id}: ${o.verdict} ${o.bug ?? ""} ${o.detail.slice(0, 160)}`);
      return fixed ? [] : [c.knownBug];
    });
    assert.equal(still, [], `still reproducing: ${still.join(", ")}`);
  });
}

test.run();
