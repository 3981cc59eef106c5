import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { formatScoreRow, ResultsFile } from "../../runtime/eval/results-file.ts";

const test = suite("eval results file");
const dir = mkdtempSync(join(tmpdir(), "i3d-out-"));

test("rows as json.dump writes ndarray.tolist(): Python float repr, ', ' separators", () => {
  assert.is(formatScoreRow(Float32Array.from([0.1, 1, 0.5])), "[0.10000000149011612, 1.0, 0.5]");
  assert.is(formatScoreRow([1e-5, 3e20, -0, 1e16, 1e15]), "[1e-05, 3e+20, -0.0, 1e+16, 1000000000000000.0]");
  // not representable in JSON: null (Python would write a bare NaN)
  assert.is(formatScoreRow([NaN, Infinity, 2]), "[null, null, 2.0]");
  assert.is(formatScoreRow(null), "null");
});

test("saves replace the file whole and leave no temporary files", async () => {
  const path = join(dir, "deep/er/out.json");
  const file = new ResultsFile(path);
  await file.save();
  assert.is(readFileSync(path, "utf8"), "[]");
  file.add(Float32Array.from([0.25, 0.75]));
  file.add(null);
  assert.is(file.unsaved, 2);
  await file.save();
  assert.is(readFileSync(path, "utf8"), "[[0.25, 0.75], null]");
  assert.is(file.unsaved, 0);
  // enough rows to take several gathered writes
  for (let i = 0; i < 700; i++) file.add(Float32Array.from([i, 0.5]));
  await file.save();
  const rows = JSON.parse(readFileSync(path, "utf8"));
  assert.is(rows.length, 702);
  assert.equal(rows[701], [699, 0.5]);
  assert.equal(readdirSync(join(dir, "deep/er")), ["out.json"]);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
