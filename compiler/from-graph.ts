// Graph (PyTorch layout) -> Program (channels-last IR), op for op.
//
// Reshapes and transposes disappear here. Each 3-D graph tensor [N, R, C] is tracked as a view
// of a stored channels-last matrix: either the stored [rows, cols] matrix itself or its
// transpose. Flattening an NCTHW activation to [N, C, T*H*W] gives the transpose of the stored
// [positions, C] matrix, permute(0, 2, 1) flips the flag, and a matmul reads its operands with
// the right transposition. Anything that would need data to move is rejected.

import type { Graph, Node } from "../models/graph.ts";
import type { Act, Constant, Op, Program } from "./ir.ts";

interface View {
  tensor: string;
  /** the graph tensor is the transpose of the stored matrix */
  transposed: boolean;
}

function act(shape: readonly number[]): Act {
  if (shape.length === 5) return { n: shape[0], c: shape[1], t: shape[2], h: shape[3], w: shape[4] };
  if (shape.length === 2) return { n: shape[0], t: 1, h: 1, w: 1, c: shape[1] };
  if (shape.length === 3) return { n: shape[0], t: 1, h: 1, w: shape[1], c: shape[2] };
  throw new Error(`no channels-last form for a rank-${shape.length} tensor`);
}

export function fromGraph(graph: Graph): Program {
  const tensors: Record<string, Act> = {};
  const constants: Record<string, Constant> = {};
  const ops: Op[] = [];
  const views = new Map<string, View>();

  const stored = (name: string) => {
    const v = views.get(name);
    if (!v) throw new Error(`tensor ${name} used before it is defined`);
    return v;
  };
  const plain = (name: string, node: Node): string => {
    const v = stored(name);
    if (v.transposed) throw new Error(`${node.name}: ${node.op} of a transposed matrix is not supported`);
    return v.tensor;
  };
  const define = (name: string, shape: readonly number[]) => {
    tensors[name] = act(shape);
    views.set(name, { tensor: name, transposed: false });
  };
  const param = (key: string) => {
    constants[key] ??= { shape: [...graph.params[key].shape], source: { kind: "param", key } };
    return key;
  };

  define(graph.input, graph.tensors[graph.input]);
  for (const node of graph.nodes) {
    const out = node.output;
    const outShape = graph.tensors[out];
    const base = { name: node.name, output: out };
    switch (node.op) {
      case "conv3d":
        define(out, outShape);
        ops.push({
          ...base, kind: "conv", inputs: [plain(node.inputs[0], node)],
          kernel: node.kernel, stride: node.stride, padding: node.padding, dilation: node.dilation,
          weight: param(node.weight), bias: node.bias ? param(node.bias) : undefined, relu: false,
        });
        break;
      case "batch_norm":
        define(out, outShape);
        ops.push({
          ...base, kind: "batch_norm", inputs: [plain(node.inputs[0], node)],
          bn: {
            weight: param(node.weight), bias: param(node.bias),
            runningMean: param(node.runningMean), runningVar: param(node.runningVar), eps: node.eps,
          },
        });
        break;
      case "relu":
        define(out, outShape);
        ops.push({ ...base, kind: "relu", inputs: [plain(node.inputs[0], node)] });
        break;
      case "add":
        define(out, outShape);
        ops.push({ ...base, kind: "add", inputs: node.inputs.map((t) => plain(t, node)) });
        break;
      case "max_pool3d":
        define(out, outShape);
        ops.push({
          ...base, kind: "max_pool", inputs: [plain(node.inputs[0], node)],
          kernel: node.kernel, stride: node.stride, padding: node.padding,
        });
        break;
      case "global_avg_pool":
        define(out, outShape);
        ops.push({ ...base, kind: "global_avg_pool", inputs: [plain(node.inputs[0], node)] });
        break;
      case "linear":
        define(out, outShape);
        ops.push({
          ...base, kind: "linear", inputs: [plain(node.inputs[0], node)],
          weight: param(node.weight), bias: param(node.bias),
        });
        break;
      case "softmax":
        define(out, outShape);
        ops.push({ ...base, kind: "softmax", inputs: [plain(node.inputs[0], node)] });
        break;
      case "scale":
        define(out, outShape);
        ops.push({ ...base, kind: "scale", inputs: [plain(node.inputs[0], node)], factor: node.factor });
        break;
      case "matmul": {
        const [a, b] = node.inputs.map(stored);
        define(out, outShape);
        ops.push({
          ...base, kind: "matmul", inputs: [a.tensor, b.tensor],
          transposeA: a.transposed, transposeB: b.transposed,
        });
        break;
      }
      case "reshape": {
        const from = graph.tensors[node.inputs[0]];
        const v = stored(node.inputs[0]);
        // [N, C, T, H, W] <-> [N, C, T*H*W]: the stored [positions, C] data is unchanged and
        // the 3-D view is its transpose.
        const flatten = from.length === 5 && outShape.length === 3 && outShape[1] === from[1];
        const unflatten = from.length === 3 && outShape.length === 5 && outShape[1] === from[1];
        if (flatten && !v.transposed) views.set(out, { tensor: v.tensor, transposed: true });
        else if (unflatten && v.transposed) {
          // rows of the stored matrix are the (t, h, w) positions: give it the 5-D shape
          tensors[v.tensor] = act(outShape);
          views.set(out, { tensor: v.tensor, transposed: false });
        }
        else throw new Error(`${node.name}: reshape [${from}] -> [${outShape}] would move data`);
        break;
      }
      case "transpose": {
        if (node.perm.join() !== "0,2,1") throw new Error(`${node.name}: transpose ${node.perm} is not supported`);
        const v = stored(node.inputs[0]);
        views.set(out, { tensor: v.tensor, transposed: !v.transposed });
        break;
      }
    }
  }
  return {
    input: graph.input,
    tensors,
    ops,
    constants,
    outputs: { features: stored(graph.outputs.features).tensor, clsScore: stored(graph.outputs.clsScore).tensor },
    passes: ["from-graph"],
  };
}
