// The reference interpreter on tiny graphs whose answers are worked out by hand: it is the
// oracle for everything else, so its own edge cases (padding, strides, -inf pool padding,
// softmax overflow, transposes) are pinned here. End-to-end agreement with PyTorch is in
// spec/checkpoint-goldens (the committed goldens).

import { suite } from "uvu";
import * as assert from "uvu/assert";
import type { Graph, Node, ParamInfo, Shape } from "../../models/graph.ts";
import { interpret } from "../../models/interpreter.ts";
import type { WeightMap } from "../../models/tensor.ts";

const test = suite("reference interpreter");

/** a graph of one node whose output feeds both outputs */
function single(node: Node, tensors: Record<string, Shape>, params: Record<string, ParamInfo> = {}): Graph {
  return { input: "x", tensors, nodes: [node], params, ignoredKeys: [], outputs: { features: node.output, clsScore: node.output } };
}

const w = (entries: [string, number[], number[]][]): WeightMap =>
  new Map(entries.map(([k, shape, data]) => [k, { shape, data: Float32Array.from(data) }]));

test("conv3d: zero padding, per-axis stride, bias", () => {
  // 1x1x1x3x3 input 1..9, kernel 1x3x3 of ones, padding (0,1,1), stride (1,2,2): corner sums
  const g = single(
    { op: "conv3d", name: "c", inputs: ["x"], output: "y", kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1], dilation: [1, 1, 1], weight: "w", bias: "b" },
    { x: [1, 1, 1, 3, 3], y: [1, 1, 1, 2, 2] },
    { w: { shape: [1, 1, 1, 3, 3], kind: "parameter" }, b: { shape: [1], kind: "parameter" } },
  );
  const out = interpret(g, w([["w", [1, 1, 1, 3, 3], Array(9).fill(1)], ["b", [1], [0.5]]]), Float32Array.from([1, 2, 3, 4, 5, 6, 7, 8, 9]));
  // (0,0): 1+2+4+5; (0,1): 2+3+5+6; (1,0): 4+5+7+8; (1,1): 5+6+8+9
  assert.equal(Array.from(out.clsScore.data), [12.5, 16.5, 24.5, 28.5]);
});

test("conv3d: temporal kernel (3,1,1) with padding (1,0,0) and two channels", () => {
  const g = single(
    { op: "conv3d", name: "c", inputs: ["x"], output: "y", kernel: [3, 1, 1], stride: [1, 1, 1], padding: [1, 0, 0], dilation: [1, 1, 1], weight: "w" },
    { x: [1, 2, 3, 1, 1], y: [1, 1, 3, 1, 1] },
    { w: { shape: [1, 2, 3, 1, 1], kind: "parameter" } },
  );
  // channel 0 = [1,2,3], channel 1 = [10,20,30]; weights c0 = [1,0,0] (previous frame), c1 = [0,0,1] (next)
  const out = interpret(g, w([["w", [1, 2, 3, 1, 1], [1, 0, 0, 0, 0, 1]]]), Float32Array.from([1, 2, 3, 10, 20, 30]));
  assert.equal(Array.from(out.clsScore.data), [0 + 20, 1 + 30, 2 + 0]);
});

test("max_pool3d: padding acts as -inf, floor mode", () => {
  const g = single(
    { op: "max_pool3d", name: "p", inputs: ["x"], output: "y", kernel: [1, 3, 3], stride: [1, 2, 2], padding: [0, 1, 1] },
    { x: [1, 1, 1, 3, 3], y: [1, 1, 1, 2, 2] },
  );
  const out = interpret(g, new Map(), Float32Array.from([-9, -8, -7, -6, -5, -4, -3, -2, -1]));
  assert.equal(Array.from(out.clsScore.data), [-5, -4, -2, -1]);
});

test("softmax subtracts the row max (no overflow at 1e4)", () => {
  const g = single({ op: "softmax", name: "s", inputs: ["x"], output: "y" }, { x: [1, 1, 3], y: [1, 1, 3] });
  const out = interpret(g, new Map(), Float32Array.from([10000, 10000, 9990])).clsScore.data;
  const e = Math.exp(-10);
  assert.ok(Math.abs(out[0] - 1 / (2 + e)) < 1e-7 && Math.abs(out[2] - e / (2 + e)) < 1e-9, String(out));
});

test("transpose, matmul, batch_norm, linear, global average pool", () => {
  const tensors = { x: [1, 2, 3], t: [1, 3, 2], m: [1, 2, 2] } as Record<string, Shape>;
  const g: Graph = {
    input: "x", tensors,
    nodes: [
      { op: "transpose", name: "t", inputs: ["x"], output: "t", perm: [0, 2, 1] },
      { op: "matmul", name: "m", inputs: ["x", "t"], output: "m" },
    ],
    params: {}, ignoredKeys: [], outputs: { features: "t", clsScore: "m" },
  };
  const out = interpret(g, new Map(), Float32Array.from([1, 2, 3, 4, 5, 6]));
  assert.equal(Array.from(out.features.data), [1, 4, 2, 5, 3, 6]);
  assert.equal(Array.from(out.clsScore.data), [14, 32, 32, 77]);

  const bn = single(
    { op: "batch_norm", name: "bn", inputs: ["x"], output: "y", weight: "g", bias: "b", runningMean: "m", runningVar: "v", eps: 0 },
    { x: [1, 2, 1, 1, 2], y: [1, 2, 1, 1, 2] },
  );
  const bnOut = interpret(bn, w([["g", [2], [2, 1]], ["b", [2], [1, 0]], ["m", [2], [1, 0]], ["v", [2], [4, 1]]]), Float32Array.from([1, 3, 5, 7]));
  assert.equal(Array.from(bnOut.clsScore.data), [1, 3, 5, 7].map((x, i) => (i < 2 ? ((x - 1) / 2) * 2 + 1 : x)));

  const head: Graph = {
    input: "x", tensors: { x: [2, 2, 1, 1, 2], f: [2, 2], y: [2, 1] },
    nodes: [
      { op: "global_avg_pool", name: "pool", inputs: ["x"], output: "f" },
      { op: "linear", name: "fc", inputs: ["f"], output: "y", weight: "w", bias: "b" },
    ],
    params: { w: { shape: [1, 2], kind: "parameter" }, b: { shape: [1], kind: "parameter" } },
    ignoredKeys: [], outputs: { features: "f", clsScore: "y" },
  };
  const h = interpret(head, w([["w", [1, 2], [1, -1]], ["b", [1], [0.25]]]), Float32Array.from([1, 3, 10, 20, 0, 0, 4, 4]));
  assert.equal(Array.from(h.features.data), [2, 15, 0, 4]);
  assert.equal(Array.from(h.clsScore.data), [2 - 15 + 0.25, 0 - 4 + 0.25]);
});

test("missing or mis-shaped weights are I3DErrors naming the key", () => {
  const g = single(
    { op: "linear", name: "fc", inputs: ["x"], output: "y", weight: "fc.weight", bias: "fc.bias" },
    { x: [1, 2], y: [1, 1] },
    { "fc.weight": { shape: [1, 2], kind: "parameter" }, "fc.bias": { shape: [1], kind: "parameter" } },
  );
  assert.throws(() => interpret(g, w([["fc.bias", [1], [0]]]), Float32Array.from([1, 2])), /missing weight fc\.weight/);
  assert.throws(
    () => interpret(g, w([["fc.weight", [2, 1], [1, 1]], ["fc.bias", [1], [0]]]), Float32Array.from([1, 2])),
    /fc\.weight has shape \[2, 1\], expected \[1, 2\]/,
  );
});

test.run();
