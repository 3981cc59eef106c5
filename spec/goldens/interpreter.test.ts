// Checkpoints issue acceptance: the reference interpreter, fed each committed PyTorch checkpoint
// through the .pth loader, reproduces the float64 goldens (i3d_r50 and the three non-local
// modes), zip and legacy formats, and `i3dc convert` round-trips the weights bit-identically.
//
// Tolerance: the interpreter keeps float32 activations between ops and accumulates in float64,
// so it sits between torch's float32 and float64 results; 1e-3 absolute on logits (O(1-10))
// is the bar every backend is held to. Top-5 per view must be identical.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { bindCheckpoint } from "../../models/checkpoint/bind.ts";
import { convertCheckpoint } from "../../models/checkpoint/convert.ts";
import { readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { interpret } from "../../models/interpreter.ts";
import { compareLogits, goldenNames, loadGolden } from "../helpers/goldens.ts";

const test = suite("goldens: reference interpreter");
const TOLERANCE = 1e-3;

const names = goldenNames();

test("the four zoo structures are covered", () => {
  assert.equal(names, ["i3d_nl_dot_product_r50", "i3d_nl_embedded_gaussian_r50", "i3d_nl_gaussian_r50", "i3d_r50"]);
  const formats = new Set(names.flatMap((n) => loadGolden(n).checkpoints.map((c) => c.format)));
  assert.ok(formats.has("zip") && formats.has("legacy"), [...formats].join());
});

for (const name of names) {
  const golden = loadGolden(name);
  const [views, ...clip] = golden.inputShape;
  const graph = buildGraph(golden.spec, clip as [number, number, number, number], views);
  const classes = golden.spec.head.numClasses;

  for (const ckpt of golden.checkpoints) {
    test(`${name} (${ckpt.format}): logits within ${TOLERANCE}, same top-5`, async () => {
      const loaded = await readCheckpoint(ckpt.path);
      assert.is(loaded.format, ckpt.format);
      const { weights } = bindCheckpoint(graph, loaded);
      const out = interpret(graph, weights, golden.input);
      const { maxAbs, top5Agree } = compareLogits(out.clsScore.data, golden.clsScore, classes);
      assert.ok(maxAbs < TOLERANCE, `max |logit - golden| = ${maxAbs}`);
      assert.ok(top5Agree, "top-5 differs");
      const f = compareLogits(out.features.data, golden.features, golden.features.length / views);
      assert.ok(f.maxAbs < TOLERANCE, `features differ by ${f.maxAbs}`);
    });
  }
}

test("i3dc convert round-trips every golden checkpoint bit-identically", async () => {
  const dir = mkdtempSync(join(tmpdir(), "i3d-convert-"));
  try {
    for (const name of names) {
      for (const ckpt of loadGolden(name).checkpoints) {
        const out = join(dir, `${name}-${ckpt.format}.safetensors`);
        await convertCheckpoint(ckpt.path, out);
        const [a, b] = [await readCheckpoint(ckpt.path), await readCheckpoint(out)];
        assert.is(b.format, "safetensors");
        for (const [key, t] of b.stateDict) {
          const x = a.stateDict.get(key)!.toFloat32(), y = t.toFloat32();
          assert.equal(t.shape, a.stateDict.get(key)!.shape, key);
          assert.ok(Buffer.from(x.buffer, x.byteOffset, x.byteLength).equals(Buffer.from(y.buffer, y.byteOffset, y.byteLength)), key);
        }
        const used = [...a.stateDict.keys()].filter((k) => !k.endsWith("num_batches_tracked"));
        assert.equal([...b.stateDict.keys()].sort(), used.sort());
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
