// Binding a checkpoint onto a graph's parameters: exact fit, strict errors that list every
// missing / unexpected / mismatched key by name, non-strict partial loads.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { bindCheckpoint } from "../../models/checkpoint/bind.ts";
import { readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import type { Graph, ParamInfo } from "../../models/graph.ts";
import { bitsOf, expected, fixturePath, i3dError } from "./fixtures.ts";

/** the graph the training fixture was made for: its keys and shapes, num_batches_tracked ignored */
function fixtureGraph(): Pick<Graph, "params" | "ignoredKeys"> {
  const params: Record<string, ParamInfo> = {};
  const ignoredKeys: string[] = [];
  for (const [key, t] of Object.entries(expected.train.stateDict)) {
    if (key.endsWith("num_batches_tracked")) ignoredKeys.push(key);
    else params[key] = { shape: t.shape, kind: /running_(mean|var)$/.test(key) ? "buffer" : "parameter" };
  }
  return { params, ignoredKeys };
}

test("an exact fit loads every parameter and BN running stat as float32, bit-exact", async () => {
  for (const file of ["train-zip.pth", "train-legacy.pth"]) {
    const reads: string[] = [];
    const c = await readCheckpoint(fixturePath(file), { onStorageRead: (k) => reads.push(k) });
    const bound = bindCheckpoint(fixtureGraph(), c);
    assert.equal(bound.missing, []);
    assert.equal(bound.unexpected, []);
    assert.equal(bound.mismatched, []);
    const keys = Object.keys(fixtureGraph().params);
    assert.equal([...bound.weights.keys()].sort(), keys.sort());
    for (const key of keys) {
      const w = bound.weights.get(key)!;
      assert.equal(w.shape, expected.train.stateDict[key].shape);
      assert.ok(w.data instanceof Float32Array);
      assert.equal(bitsOf(w.data), expected.train.stateDict[key].bits, key);
    }
    // num_batches_tracked (two int64 scalars) was never converted
    assert.is(reads.length, expected.train.stateDictStorages - 2, file);
  }
});

test("strict: missing, unexpected and mismatched keys are all reported together, by name", async () => {
  const c = await readCheckpoint(fixturePath("train-zip.pth"));
  const graph = fixtureGraph();
  delete graph.params["cls_head.fc_cls.bias"]; // -> unexpected in the checkpoint
  graph.params["backbone.extra.weight"] = { shape: [3], kind: "parameter" }; // -> missing
  graph.params["cls_head.fc_cls.weight"] = { shape: [400, 4], kind: "parameter" }; // -> mismatch
  const message = i3dError(() => bindCheckpoint(graph, c, { source: "train-zip.pth" }), "weights");
  assert.match(message, /^checkpoint train-zip\.pth does not fit the model: /);
  assert.match(message, /1 missing \(backbone\.extra\.weight\)/);
  assert.match(message, /1 unexpected \(cls_head\.fc_cls\.bias\)/);
  assert.match(message, /1 with the wrong shape \(cls_head\.fc_cls\.weight: checkpoint \[5, 4\] vs model \[400, 4\]\)/);
});

test("strict: long lists are summarised with counts", async () => {
  const c = await readCheckpoint(fixturePath("train-zip.pth"));
  const graph = { params: {} as Record<string, ParamInfo>, ignoredKeys: [] };
  for (let i = 0; i < 9; i++) graph.params[`head.w${i}`] = { shape: [1], kind: "parameter" };
  const message = i3dError(() => bindCheckpoint(graph, c), "weights");
  assert.match(message, /9 missing \(head\.w0, head\.w1, head\.w2, head\.w3, head\.w4, … 4 more\)/);
  assert.match(message, /14 unexpected \(backbone\.conv1\.conv\.weight, .*… 9 more\)/);
});

test("num_batches_tracked may be absent (converted files) or present", async () => {
  const c = await readCheckpoint(fixturePath("train-zip.pth"));
  const without = new Map([...c.stateDict].filter(([k]) => !k.endsWith("num_batches_tracked")));
  assert.equal(bindCheckpoint(fixtureGraph(), { stateDict: without }).missing, []);
  // but a num_batches_tracked of a layer the graph does not have is unexpected
  const graph = fixtureGraph();
  graph.ignoredKeys = graph.ignoredKeys.slice(1);
  const message = i3dError(() => bindCheckpoint(graph, c), "weights");
  assert.match(message, /1 unexpected \(backbone\.conv1\.bn\.num_batches_tracked\)/);
});

test("num_batches_tracked: [] or [n] fits (PyTorch indexes a 1-dim entry for a 0-dim buffer), any other shape is a mismatch", async () => {
  const c = await readCheckpoint(fixturePath("train-zip.pth"));
  const key = "backbone.conv1.bn.num_batches_tracked";
  const withShape = (shape: number[]) => new Map([...c.stateDict].map(([k, t]) => [k, k === key ? { ...t, shape } : t]));
  assert.equal(c.stateDict.get(key)!.shape, []);
  for (const shape of [[], [1], [3]]) {
    assert.equal(bindCheckpoint(fixtureGraph(), { stateDict: withShape(shape) }).mismatched, [], String(shape));
  }
  const message = i3dError(() => bindCheckpoint(fixtureGraph(), { stateDict: withShape([2, 1]) }), "weights");
  assert.match(message, /1 with the wrong shape \(backbone\.conv1\.bn\.num_batches_tracked: checkpoint \[2, 1\] vs model \[\]\)/);
  const bound = bindCheckpoint(fixtureGraph(), { stateDict: withShape([0]) }, { strict: false });
  assert.equal(bound.mismatched, [{ key, expected: [], actual: [0] }]);
  assert.equal(bound.missing, []);
  assert.equal(bound.unexpected, []);
});

test("non-strict loads what matches and returns the rest", async () => {
  const c = await readCheckpoint(fixturePath("train-zip.pth"));
  const graph = fixtureGraph();
  delete graph.params["cls_head.fc_cls.bias"];
  graph.params["backbone.extra.weight"] = { shape: [3], kind: "parameter" };
  graph.params["cls_head.fc_cls.weight"] = { shape: [400, 4], kind: "parameter" };
  const bound = bindCheckpoint(graph, c, { strict: false });
  assert.equal(bound.missing, ["backbone.extra.weight"]);
  assert.equal(bound.unexpected, ["cls_head.fc_cls.bias"]);
  assert.equal(bound.mismatched, [{ key: "cls_head.fc_cls.weight", expected: [400, 4], actual: [5, 4] }]);
  assert.is(bound.weights.size, Object.keys(graph.params).length - 2);
  assert.not.ok(bound.weights.has("cls_head.fc_cls.weight"));
  assert.ok(bound.weights.has("backbone.conv1.conv.weight"));
});

test.run();
