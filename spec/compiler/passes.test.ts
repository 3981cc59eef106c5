// Every pass must preserve the model's meaning: the Program interpreter on each intermediate
// form reproduces the graph interpreter's logits, for the plain and the non-local models.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { compile } from "../../compiler/compile.ts";
import type { Program } from "../../compiler/ir.ts";
import { materializeConstants } from "../../compiler/materialize-constants.ts";
import { interpretProgram } from "../../compiler/program-interpreter.ts";
import { buildGraph } from "../../models/build-graph.ts";
import { interpret } from "../../models/interpreter.ts";
import type { NonLocalMode } from "../../models/model-spec.ts";
import { randomNormal, randomWeights } from "../helpers/random.ts";
import { smallSpec } from "../helpers/small-spec.ts";

const test = suite("compiler passes");

function maxAbsDiff(a: Float32Array, b: Float32Array): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

for (const mode of [undefined, "embedded_gaussian", "gaussian", "dot_product"] as (NonLocalMode | undefined)[]) {
  test(`passes preserve logits (${mode ?? "i3d_r50"})`, () => {
    const graph = buildGraph(smallSpec(mode), [3, 8, 40, 40], 2);
    const weights = randomWeights(graph, 3);
    const input = randomNormal(2 * 3 * 8 * 40 * 40, 11);
    const reference = interpret(graph, weights, input).clsScore.data;
    const stages: [string, Program][] = [];
    compile(graph, (name, p) => stages.push([name, p]));
    assert.equal(stages.map(([n]) => n), [
      "from-graph", "fold-batch-norm", "fuse-epilogues", "fuse-attention", "fuse-head", "eliminate-dead-ops",
    ]);
    for (const [name, program] of stages) {
      const values = interpretProgram(program, materializeConstants(program, weights), input);
      const logits = values.get(program.outputs.clsScore)!;
      const diff = maxAbsDiff(logits, reference);
      // float64 accumulation on both sides; folding BN rounds weights once more to float32
      assert.ok(diff < 1e-4, `${name}: max |diff| ${diff}`);
    }
    const final = stages[stages.length - 1][1];
    assert.ok(final.ops.every((op) => ["conv", "max_pool", "head", "attention"].includes(op.kind)));
    assert.not.ok(Object.values(final.constants).some((c) => c.source.kind === "param" && /running_|\.bn\./.test(c.source.key)),
      "no BN constants survive folding");
  });
}

test("fusion counts for i3d_r50", () => {
  const program = compile(buildGraph(smallSpec(), [3, 8, 40, 40]));
  const convs = program.ops.filter((op) => op.kind === "conv");
  assert.is(convs.length, 53);
  assert.is(convs.filter((c) => c.kind === "conv" && c.residual && c.relu).length, 16);
  assert.is(convs.filter((c) => c.kind === "conv" && !c.residual && c.relu).length, 33);
  assert.is(program.ops.filter((op) => op.kind === "head").length, 1);
});

test.run();
