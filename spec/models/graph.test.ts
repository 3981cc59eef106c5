// The graph builder against the facts in MMAction2's structure: state_dict keys and counts,
// exact parameter and multiply-add figures, output shapes.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { buildGraph, outputSize, parseInputShape } from "../../models/build-graph.ts";
import { countMacs, countParams } from "../../models/count.ts";
import { I3DError } from "../../models/errors.ts";
import type { ModelSpec, NonLocalMode } from "../../models/model-spec.ts";
import { smallSpec } from "../helpers/small-spec.ts";

const test = suite("graph builder");

function zooSpec(mode?: NonLocalMode): ModelSpec {
  const s = smallSpec(mode, 64, 400);
  return s;
}

const FIGURES: [NonLocalMode | undefined, number, number, number, number][] = [
  [undefined, 28043472, 33128218624, 43269259264, 320],
  ["embedded_gaussian", 35397840, 41349054464, 54006677504, 380],
  ["dot_product", 35397840, 41349054464, 54006677504, 380],
  ["gaussian", 31723728, 37238636544, 48637968384, 360],
];

for (const [mode, params, macs224, macs256, keys] of FIGURES) {
  test(`exact counts: ${mode ?? "i3d_r50"}`, () => {
    const g224 = buildGraph(zooSpec(mode), [3, 32, 224, 224]);
    const g256 = buildGraph(zooSpec(mode), [3, 32, 256, 256]);
    assert.is(countParams(g224), params);
    assert.is(countMacs(g224), macs224);
    assert.is(countMacs(g256), macs256);
    assert.is(Object.keys(g224.params).length + g224.ignoredKeys.length, keys);
    // MACs scale with views; params do not
    const g2 = buildGraph(zooSpec(mode), [3, 32, 224, 224], 2);
    assert.is(countMacs(g2), 2 * macs224);
    assert.is(countParams(g2), params);
  });
}

test("state_dict key names and shapes follow MMAction2", () => {
  const g = buildGraph(zooSpec("embedded_gaussian"), [3, 32, 224, 224]);
  const p = g.params;
  assert.equal(p["backbone.conv1.conv.weight"].shape, [64, 3, 5, 7, 7]);
  assert.equal(p["backbone.layer1.0.conv1.conv.weight"].shape, [64, 64, 3, 1, 1]);
  assert.equal(p["backbone.layer1.0.conv2.conv.weight"].shape, [64, 64, 1, 3, 3]);
  assert.equal(p["backbone.layer1.0.downsample.conv.weight"].shape, [256, 64, 1, 1, 1]);
  assert.equal(p["backbone.layer4.0.conv1.conv.weight"].shape, [512, 1024, 1, 1, 1]); // not inflated
  assert.equal(p["backbone.layer4.1.conv1.conv.weight"].shape, [512, 2048, 3, 1, 1]); // inflated
  assert.equal(p["backbone.layer2.1.non_local_block.g.0.conv.weight"].shape, [256, 512, 1, 1, 1]);
  assert.equal(p["backbone.layer2.1.non_local_block.g.0.conv.bias"].shape, [256]);
  assert.equal(p["backbone.layer3.5.non_local_block.phi.0.conv.weight"].shape, [512, 1024, 1, 1, 1]);
  assert.equal(p["backbone.layer3.5.non_local_block.conv_out.conv.weight"].shape, [1024, 512, 1, 1, 1]);
  assert.is(p["backbone.layer3.5.non_local_block.conv_out.conv.bias"], undefined);
  assert.equal(p["backbone.layer3.5.non_local_block.conv_out.bn.running_var"], { shape: [1024], kind: "buffer" });
  assert.equal(p["cls_head.fc_cls.weight"].shape, [400, 2048]);
  assert.ok(g.ignoredKeys.includes("backbone.conv1.bn.num_batches_tracked"));
  assert.is(p["backbone.layer2.0.non_local_block.g.0.conv.weight"], undefined);
  const gauss = buildGraph(zooSpec("gaussian"), [3, 32, 224, 224]);
  assert.is(gauss.params["backbone.layer2.1.non_local_block.theta.conv.weight"], undefined);
  assert.ok(gauss.params["backbone.layer2.1.non_local_block.g.0.conv.weight"]);
});

test("shapes: 32x224x224 -> layer4 2048x4x7x7 -> 400 logits", () => {
  const g = buildGraph(zooSpec(), [3, 32, 224, 224], 3);
  const shapes = g.nodes.map((n) => [n.name, g.tensors[n.output]] as const);
  const byName = (name: string) => shapes.find(([n]) => n === name)![1];
  assert.equal(byName("backbone.conv1.conv"), [3, 64, 16, 112, 112]);
  assert.equal(byName("backbone.maxpool"), [3, 64, 8, 56, 56]);
  assert.equal(byName("backbone.pool2"), [3, 256, 4, 56, 56]);
  assert.equal(byName("backbone.layer4.2.conv3.conv"), [3, 2048, 4, 7, 7]);
  assert.equal(g.tensors[g.outputs.features], [3, 2048]);
  assert.equal(g.tensors[g.outputs.clsScore], [3, 400]);
});

test("pytorch output-size rule", () => {
  assert.is(outputSize(224, 7, 2, 3), 112);
  assert.is(outputSize(112, 3, 2, 1), 56);
  assert.is(outputSize(8, 2, 2, 0), 4);
  assert.is(outputSize(7, 2, 2, 0), 3); // floor mode
  assert.is(outputSize(5, 3, 1, 2, 2), 5); // dilation
});

test("caffe style strides the first conv, pytorch style the 3x3", () => {
  const spec = zooSpec();
  const caffe = { ...spec, backbone: { ...spec.backbone, style: "caffe" as const } };
  const g = buildGraph(caffe, [3, 8, 64, 64]);
  const conv1 = g.nodes.find((n) => n.name === "backbone.layer2.0.conv1.conv")!;
  const conv2 = g.nodes.find((n) => n.name === "backbone.layer2.0.conv2.conv")!;
  assert.equal(conv1.op === "conv3d" && conv1.stride, [1, 2, 2]);
  assert.equal(conv2.op === "conv3d" && conv2.stride, [1, 1, 1]);
});

test("too small an input is a config error naming the layer", () => {
  try {
    buildGraph(zooSpec(), [3, 1, 8, 8]);
    assert.unreachable();
  } catch (e) {
    assert.instance(e, I3DError);
    assert.match((e as Error).message, /input too small/);
  }
});

test("--input parsing", () => {
  assert.equal(parseInputShape("3x32x224x224"), [3, 32, 224, 224]);
  assert.throws(() => parseInputShape("3x32x224"), /CxTxHxW|C x T x H x W/);
  assert.throws(() => parseInputShape("3x0x224x224"));
});

test.run();
