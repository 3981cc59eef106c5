// --label-map read as MMAction2's demo/demo.py reads it: open(label).readlines() (universal
// newlines, utf-8) and x.strip() per line. Expected values are what Python 3 gives.

import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { loadLabelMap, parseLabelMap } from "../../runtime/labels/label-map.ts";

const test = suite("label map");

async function rejects(run: () => Promise<unknown>, pattern: RegExp): Promise<void> {
  const error = await run().then(() => null, (e: unknown) => e);
  assert.ok(error instanceof Error && pattern.test(error.message), `expected ${pattern}, got ${String(error)}`);
}

const dir = mkdtempSync(join(tmpdir(), "i3d-labels-"));

test("readlines + strip: lone \\r ends a line, Python's whitespace set, BOM kept", () => {
  const text = "\ufeffabseiling \r air drumming\x1f\r\nanswering\x85questions\u00a0\n\n\t\n";
  assert.equal(parseLabelMap(text), ["\ufeffabseiling", "air drumming", "answering\x85questions", "", ""]);
  assert.equal(parseLabelMap("a\nb"), ["a", "b"]);
  assert.equal(parseLabelMap(""), []);
});

test("lines past the model's classes are unused, too few are refused", async () => {
  const path = join(dir, "labels.txt");
  writeFileSync(path, "zero\none\ntwo\n\n\n");
  assert.equal(await loadLabelMap(path, 3), ["zero", "one", "two"]);
  assert.equal(await loadLabelMap(path, 5), ["zero", "one", "two", "", ""]);
  await rejects(() => loadLabelMap(path, 6), /has 5 names but the model has 6 classes/);
});

test("a file that is not UTF-8 is an error, as Python's utf-8 codec makes it", async () => {
  const path = join(dir, "latin1.txt");
  writeFileSync(path, Buffer.from([0x63, 0x61, 0x66, 0xe9, 0x0a]));
  await rejects(() => loadLabelMap(path, 1), /not UTF-8/);
});

test.run();
