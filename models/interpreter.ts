// The reference interpreter: executes a Graph on the CPU in plain TypeScript, one op at a time,
// in PyTorch's layout, with float32 storage and float64 accumulation. It is the oracle every
// kernel and backend is tested against, so it is written to be obviously right, not fast.

import { I3DError } from "./errors.ts";
import type {
  BatchNormNode, Conv3dNode, Graph, LinearNode, MaxPool3dNode, Node, Shape, TransposeNode,
} from "./graph.ts";
import { numel } from "./graph.ts";
import type { Tensor, WeightMap } from "./tensor.ts";

export interface InterpretResult {
  /** pooled backbone features [N, C] */
  features: Tensor;
  /** per-view logits [N, num_classes] */
  clsScore: Tensor;
  /** every intermediate tensor by graph name, when asked for */
  tensors?: Map<string, Tensor>;
}

function weight(weights: WeightMap, key: string, shape: Shape): Float32Array {
  const t = weights.get(key);
  if (!t) throw new I3DError("weights", `missing weight ${key}`);
  if (t.shape.join() !== shape.join()) {
    throw new I3DError("weights", `${key} has shape [${t.shape.join(", ")}], expected [${shape.join(", ")}]`);
  }
  return t.data;
}

function conv3d(graph: Graph, node: Conv3dNode, x: Float32Array, weights: WeightMap): Float32Array {
  const [n, cin, t, h, w] = graph.tensors[node.inputs[0]];
  const [, cout, to, ho, wo] = graph.tensors[node.output];
  const [kt, kh, kw] = node.kernel;
  const [st, sh, sw] = node.stride;
  const [pt, ph, pw] = node.padding;
  const [dt, dh, dw] = node.dilation;
  const wt = weight(weights, node.weight, graph.params[node.weight].shape);
  const bias = node.bias ? weight(weights, node.bias, [cout]) : undefined;
  const y = new Float32Array(n * cout * to * ho * wo);
  let o = 0;
  for (let b = 0; b < n; b++) {
    for (let co = 0; co < cout; co++) {
      for (let ot = 0; ot < to; ot++) {
        for (let oh = 0; oh < ho; oh++) {
          for (let ow = 0; ow < wo; ow++) {
            let acc = bias ? bias[co] : 0;
            for (let ci = 0; ci < cin; ci++) {
              for (let a = 0; a < kt; a++) {
                const it = ot * st - pt + a * dt;
                if (it < 0 || it >= t) continue;
                for (let c = 0; c < kh; c++) {
                  const ih = oh * sh - ph + c * dh;
                  if (ih < 0 || ih >= h) continue;
                  for (let d = 0; d < kw; d++) {
                    const iw = ow * sw - pw + d * dw;
                    if (iw < 0 || iw >= w) continue;
                    acc += x[(((b * cin + ci) * t + it) * h + ih) * w + iw] *
                      wt[(((co * cin + ci) * kt + a) * kh + c) * kw + d];
                  }
                }
              }
            }
            y[o++] = acc;
          }
        }
      }
    }
  }
  return y;
}

function batchNorm(graph: Graph, node: BatchNormNode, x: Float32Array, weights: WeightMap): Float32Array {
  const [n, c, ...rest] = graph.tensors[node.inputs[0]];
  const inner = numel(rest);
  const gamma = weight(weights, node.weight, [c]);
  const beta = weight(weights, node.bias, [c]);
  const mean = weight(weights, node.runningMean, [c]);
  const variance = weight(weights, node.runningVar, [c]);
  const y = new Float32Array(x.length);
  for (let b = 0; b < n; b++) {
    for (let ch = 0; ch < c; ch++) {
      const scale = gamma[ch] / Math.sqrt(variance[ch] + node.eps);
      const base = (b * c + ch) * inner;
      for (let i = 0; i < inner; i++) y[base + i] = (x[base + i] - mean[ch]) * scale + beta[ch];
    }
  }
  return y;
}

function maxPool3d(graph: Graph, node: MaxPool3dNode, x: Float32Array): Float32Array {
  const [n, c, t, h, w] = graph.tensors[node.inputs[0]];
  const [, , to, ho, wo] = graph.tensors[node.output];
  const [kt, kh, kw] = node.kernel;
  const [st, sh, sw] = node.stride;
  const [pt, ph, pw] = node.padding;
  const y = new Float32Array(n * c * to * ho * wo);
  let o = 0;
  for (let bc = 0; bc < n * c; bc++) {
    for (let ot = 0; ot < to; ot++) {
      for (let oh = 0; oh < ho; oh++) {
        for (let ow = 0; ow < wo; ow++) {
          let m = -Infinity;
          for (let a = 0; a < kt; a++) {
            const it = ot * st - pt + a;
            if (it < 0 || it >= t) continue;
            for (let b = 0; b < kh; b++) {
              const ih = oh * sh - ph + b;
              if (ih < 0 || ih >= h) continue;
              for (let d = 0; d < kw; d++) {
                const iw = ow * sw - pw + d;
                if (iw < 0 || iw >= w) continue;
                const v = x[((bc * t + it) * h + ih) * w + iw];
                if (v > m || Number.isNaN(v)) m = v;
              }
            }
          }
          y[o++] = m;
        }
      }
    }
  }
  return y;
}

function globalAvgPool(graph: Graph, node: Node, x: Float32Array): Float32Array {
  const [n, c, ...rest] = graph.tensors[node.inputs[0]];
  const inner = numel(rest);
  const y = new Float32Array(n * c);
  for (let i = 0; i < n * c; i++) {
    let acc = 0;
    for (let j = 0; j < inner; j++) acc += x[i * inner + j];
    y[i] = acc / inner;
  }
  return y;
}

function linear(graph: Graph, node: LinearNode, x: Float32Array, weights: WeightMap): Float32Array {
  const [n, inF] = graph.tensors[node.inputs[0]];
  const outF = graph.tensors[node.output][1];
  const wt = weight(weights, node.weight, [outF, inF]);
  const bias = weight(weights, node.bias, [outF]);
  const y = new Float32Array(n * outF);
  for (let b = 0; b < n; b++) {
    for (let o = 0; o < outF; o++) {
      let acc = bias[o];
      for (let i = 0; i < inF; i++) acc += x[b * inF + i] * wt[o * inF + i];
      y[b * outF + o] = acc;
    }
  }
  return y;
}

function matmul(graph: Graph, node: Node, a: Float32Array, b: Float32Array): Float32Array {
  const [batch, m, k] = graph.tensors[node.inputs[0]];
  const nn = graph.tensors[node.inputs[1]][2];
  const y = new Float32Array(batch * m * nn);
  for (let p = 0; p < batch; p++) {
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < nn; j++) {
        let acc = 0;
        for (let q = 0; q < k; q++) acc += a[(p * m + i) * k + q] * b[(p * k + q) * nn + j];
        y[(p * m + i) * nn + j] = acc;
      }
    }
  }
  return y;
}

/** softmax over the last axis; subtracting the row max keeps exp() finite (gaussian NL rows reach ~1e4) */
function softmax(graph: Graph, node: Node, x: Float32Array): Float32Array {
  const shape = graph.tensors[node.inputs[0]];
  const cols = shape[shape.length - 1];
  const y = new Float32Array(x.length);
  for (let r = 0; r < x.length / cols; r++) {
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, x[r * cols + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[r * cols + j] - max);
    for (let j = 0; j < cols; j++) y[r * cols + j] = Math.exp(x[r * cols + j] - max) / sum;
  }
  return y;
}

function transpose(graph: Graph, node: TransposeNode, x: Float32Array): Float32Array {
  const inShape = graph.tensors[node.inputs[0]];
  const outShape = graph.tensors[node.output];
  const rank = inShape.length;
  const inStrides = new Array<number>(rank);
  for (let i = rank - 1, s = 1; i >= 0; i--) {
    inStrides[i] = s;
    s *= inShape[i];
  }
  const y = new Float32Array(x.length);
  const idx = new Array<number>(rank).fill(0);
  for (let o = 0; o < y.length; o++) {
    let src = 0;
    for (let i = 0; i < rank; i++) src += idx[i] * inStrides[node.perm[i]];
    y[o] = x[src];
    for (let i = rank - 1; i >= 0; i--) {
      if (++idx[i] < outShape[i]) break;
      idx[i] = 0;
    }
  }
  return y;
}

function execute(graph: Graph, node: Node, args: Float32Array[], weights: WeightMap): Float32Array {
  const [x, b] = args;
  switch (node.op) {
    case "conv3d": return conv3d(graph, node, x, weights);
    case "batch_norm": return batchNorm(graph, node, x, weights);
    case "relu": return x.map((v) => (v > 0 ? v : 0));
    case "add": return x.map((v, i) => v + b[i]);
    case "max_pool3d": return maxPool3d(graph, node, x);
    case "global_avg_pool": return globalAvgPool(graph, node, x);
    case "linear": return linear(graph, node, x, weights);
    case "softmax": return softmax(graph, node, x);
    case "matmul": return matmul(graph, node, x, b);
    case "scale": return x.map((v) => v * node.factor);
    case "reshape": return x;
    case "transpose": return transpose(graph, node, x);
  }
}

/**
 * Runs the graph on `input` ([N, C, T, H, W] as the graph's input shape says).
 * Intermediate tensors are freed after their last use unless `keepTensors` is set.
 */
export function interpret(
  graph: Graph,
  weights: WeightMap,
  input: Float32Array,
  options: { keepTensors?: boolean } = {},
): InterpretResult {
  const inputShape = graph.tensors[graph.input];
  if (input.length !== numel(inputShape)) {
    throw new I3DError("input", `input has ${input.length} values, the graph expects [${inputShape.join(", ")}]`);
  }
  const lastUse = new Map<string, number>();
  graph.nodes.forEach((node, i) => node.inputs.forEach((t) => lastUse.set(t, i)));
  const keep = new Set([graph.outputs.features, graph.outputs.clsScore]);
  const values = new Map<string, Float32Array>([[graph.input, input]]);
  const kept = options.keepTensors ? new Map<string, Tensor>() : undefined;

  graph.nodes.forEach((node, i) => {
    const args = node.inputs.map((t) => values.get(t)!);
    const y = execute(graph, node, args, weights);
    values.set(node.output, y);
    kept?.set(node.output, { shape: [...graph.tensors[node.output]], data: y });
    if (!options.keepTensors) {
      for (const t of node.inputs) if (lastUse.get(t) === i && !keep.has(t)) values.delete(t);
    }
  });

  const out = (name: string): Tensor => ({ shape: [...graph.tensors[name]], data: values.get(name)! });
  return { features: out(graph.outputs.features), clsScore: out(graph.outputs.clsScore), tensors: kept };
}
