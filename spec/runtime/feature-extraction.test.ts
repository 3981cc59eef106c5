// test_cfg.feature_extraction=True: MMAction2's Recognizer3D._do_test returns the pooled
// backbone features averaged over the views (no head, no average_clip), and
// inference_recognizer ranks those. Checked against the golden model's PyTorch features.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { resolveConfigDict } from "../../models/config/resolve.ts";
import { readNpy } from "../../models/npy.ts";
import { Recognizer } from "../../runtime/recognizer.ts";
import { checkpointOf, GOLDENS, smallConfigDict } from "../reliability/small-config.ts";

const test = suite("feature_extraction");

test("scores are the view-mean of the pooled features, ranked as inference_recognizer does", async () => {
  const dict = smallConfigDict("i3d_r50") as { model: { test_cfg: Record<string, unknown> } };
  // average_clips stays 'prob': feature_extraction takes precedence in _do_test
  dict.model.test_cfg = { average_clips: "prob", feature_extraction: true };
  const config = resolveConfigDict(dict, { name: "i3d_r50-features", source: "json" });
  const input = await readNpy(`${GOLDENS}i3d_r50/input.npy`);
  const features = await readNpy(`${GOLDENS}i3d_r50/features.npy`); // [2, 256] float64
  const [views, dim] = features.shape;
  const want = Array.from({ length: dim }, (_, c) => (Number(features.data[c]) + Number(features.data[dim + c])) / views);
  const rec = await Recognizer.load({ config, checkpointPath: checkpointOf("i3d_r50"), backend: "wasm", threads: 1 });
  try {
    const out = await rec.classifyTensor(input.data as Float32Array, input.shape as [number, number, number, number, number]);
    assert.is(out.scores.length, dim);
    const err = Math.max(...want.map((w, c) => Math.abs(w - out.scores[c])));
    assert.ok(err < 1e-4, `max |features - golden| ${err}`);
    const order = want.map((w, c) => [w, c]).sort((a, b) => b[0] - a[0] || a[1] - b[1]).slice(0, 5).map((x) => x[1]);
    assert.equal(out.topk.map((t) => t.index), order);
    assert.equal(out.topk[0].label, `feature ${order[0]}`);
  } finally {
    await rec.dispose();
  }
});

test.run();
