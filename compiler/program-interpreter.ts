// Executes a Program (any stage of the pass pipeline) on the CPU in plain TypeScript, in the
// IR's channels-last layout, with float64 accumulation. It defines what each IR op means —
// the backends' kernels are tested against it op by op — and, run on the unfused and the
// fused forms of the same model, it proves the passes preserve meaning.

import type { Act, ConvOp, MaxPoolOp, Op, Program } from "./ir.ts";
import { actElements, positions } from "./ir.ts";

export type Values = Map<string, Float32Array>;

/** [n, t, h, w, c] convolution with the fused epilogue (bias, residual, ReLU). */
export function runConv(
  op: ConvOp, x: Float32Array, xs: Act, ys: Act, weight: Float32Array, bias?: Float32Array, residual?: Float32Array,
): Float32Array {
  const [kt, kh, kw] = op.kernel;
  const [st, sh, sw] = op.stride;
  const [pt, ph, pw] = op.padding;
  const [dt, dh, dw] = op.dilation;
  const cin = xs.c, cout = ys.c;
  const y = new Float32Array(actElements(ys));
  const acc = new Float64Array(cout);
  for (let b = 0; b < ys.n; b++) {
    for (let ot = 0; ot < ys.t; ot++) {
      for (let oh = 0; oh < ys.h; oh++) {
        for (let ow = 0; ow < ys.w; ow++) {
          const row = ((b * ys.t + ot) * ys.h + oh) * ys.w + ow;
          for (let co = 0; co < cout; co++) acc[co] = bias ? bias[co] : 0;
          for (let a = 0; a < kt; a++) {
            const it = ot * st - pt + a * dt;
            if (it < 0 || it >= xs.t) continue;
            for (let c = 0; c < kh; c++) {
              const ih = oh * sh - ph + c * dh;
              if (ih < 0 || ih >= xs.h) continue;
              for (let d = 0; d < kw; d++) {
                const iw = ow * sw - pw + d * dw;
                if (iw < 0 || iw >= xs.w) continue;
                const src = (((b * xs.t + it) * xs.h + ih) * xs.w + iw) * cin;
                for (let ci = 0; ci < cin; ci++) {
                  const v = x[src + ci];
                  if (v === 0) continue;
                  // PyTorch weight layout [cout, cin, kt, kh, kw]
                  let wi = (((0 * cin + ci) * kt + a) * kh + c) * kw + d;
                  const wstride = cin * kt * kh * kw;
                  for (let co = 0; co < cout; co++, wi += wstride) acc[co] += v * weight[wi];
                }
              }
            }
          }
          for (let co = 0; co < cout; co++) {
            let v = acc[co];
            if (residual) v += residual[row * cout + co];
            if (op.relu && v < 0) v = 0;
            y[row * cout + co] = v;
          }
        }
      }
    }
  }
  return y;
}

export function runMaxPool(op: MaxPoolOp, x: Float32Array, xs: Act, ys: Act): Float32Array {
  const [kt, kh, kw] = op.kernel;
  const [st, sh, sw] = op.stride;
  const [pt, ph, pw] = op.padding;
  const c = xs.c;
  const y = new Float32Array(actElements(ys)).fill(-Infinity);
  for (let b = 0; b < ys.n; b++) {
    for (let ot = 0; ot < ys.t; ot++) {
      for (let oh = 0; oh < ys.h; oh++) {
        for (let ow = 0; ow < ys.w; ow++) {
          const dst = (((b * ys.t + ot) * ys.h + oh) * ys.w + ow) * c;
          for (let a = 0; a < kt; a++) {
            const it = ot * st - pt + a;
            if (it < 0 || it >= xs.t) continue;
            for (let e = 0; e < kh; e++) {
              const ih = oh * sh - ph + e;
              if (ih < 0 || ih >= xs.h) continue;
              for (let d = 0; d < kw; d++) {
                const iw = ow * sw - pw + d;
                if (iw < 0 || iw >= xs.w) continue;
                const src = (((b * xs.t + it) * xs.h + ih) * xs.w + iw) * c;
                for (let ch = 0; ch < c; ch++) if (x[src + ch] > y[dst + ch]) y[dst + ch] = x[src + ch];
              }
            }
          }
        }
      }
    }
  }
  return y;
}

/** Stored matrix of an activation: [n][rows = t*h*w][cols = c]. */
function matrix(a: Act) {
  return { n: a.n, rows: positions(a), cols: a.c };
}

export function runMatmul(
  x: Float32Array, xs: Act, transposeA: boolean, yv: Float32Array, ys: Act, transposeB: boolean, out: Act,
): Float32Array {
  const A = matrix(xs), B = matrix(ys);
  const m = transposeA ? A.cols : A.rows, k = transposeA ? A.rows : A.cols;
  const p = transposeB ? B.rows : B.cols;
  const r = new Float32Array(actElements(out));
  for (let b = 0; b < out.n; b++) {
    const ao = b * A.rows * A.cols, bo = b * B.rows * B.cols;
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < p; j++) {
        let acc = 0;
        for (let q = 0; q < k; q++) {
          const av = transposeA ? x[ao + q * A.cols + i] : x[ao + i * A.cols + q];
          const bv = transposeB ? yv[bo + j * B.cols + q] : yv[bo + q * B.cols + j];
          acc += av * bv;
        }
        r[(b * m + i) * p + j] = acc;
      }
    }
  }
  return r;
}

function softmaxRows(x: Float64Array | Float32Array, cols: number): void {
  for (let r = 0; r < x.length / cols; r++) {
    let max = -Infinity;
    for (let j = 0; j < cols; j++) max = Math.max(max, x[r * cols + j]);
    let sum = 0;
    for (let j = 0; j < cols; j++) sum += Math.exp(x[r * cols + j] - max);
    for (let j = 0; j < cols; j++) x[r * cols + j] = Math.exp(x[r * cols + j] - max) / sum;
  }
}

/** attention(theta [Nq,d], phi [Nk,d], g [Nk,dv]) per view, P kept in float64 */
export function runAttention(
  mode: "softmax" | "scale", preScale: number, postScale: number,
  theta: Float32Array, ts: Act, phi: Float32Array, ps: Act, g: Float32Array, gs: Act,
): Float32Array {
  const nq = positions(ts), nk = positions(ps), d = ts.c, dv = gs.c;
  const y = new Float32Array(ts.n * nq * dv);
  const row = new Float64Array(nk);
  for (let b = 0; b < ts.n; b++) {
    for (let i = 0; i < nq; i++) {
      for (let j = 0; j < nk; j++) {
        let acc = 0;
        for (let q = 0; q < d; q++) acc += theta[(b * nq + i) * d + q] * phi[(b * nk + j) * d + q];
        row[j] = acc * preScale;
      }
      if (mode === "softmax") softmaxRows(row, nk);
      else for (let j = 0; j < nk; j++) row[j] *= postScale;
      for (let c = 0; c < dv; c++) {
        let acc = 0;
        for (let j = 0; j < nk; j++) acc += row[j] * g[(b * nk + j) * dv + c];
        y[(b * nq + i) * dv + c] = acc;
      }
    }
  }
  return y;
}

/** global average pool over positions, then linear; returns [features, logits] */
export function runHead(x: Float32Array, xs: Act, weight: Float32Array, bias: Float32Array, classes: number): [Float32Array, Float32Array] {
  const p = positions(xs), c = xs.c;
  const features = new Float32Array(xs.n * c);
  const logits = new Float32Array(xs.n * classes);
  for (let b = 0; b < xs.n; b++) {
    for (let ch = 0; ch < c; ch++) {
      let acc = 0;
      for (let i = 0; i < p; i++) acc += x[(b * p + i) * c + ch];
      features[b * c + ch] = acc / p;
    }
    for (let o = 0; o < classes; o++) {
      let acc = bias[o];
      for (let ch = 0; ch < c; ch++) acc += features[b * c + ch] * weight[o * c + ch];
      logits[b * classes + o] = acc;
    }
  }
  return [features, logits];
}

function step(program: Program, op: Op, v: Values, constants: Map<string, Float32Array>): void {
  const t = program.tensors;
  const arg = (i: number) => v.get(op.inputs[i])!;
  const shape = (i: number) => t[op.inputs[i]];
  const k = (name: string) => constants.get(name)!;
  switch (op.kind) {
    case "conv":
      v.set(op.output, runConv(op, arg(0), shape(0), t[op.output], k(op.weight), op.bias ? k(op.bias) : undefined,
        op.residual ? v.get(op.residual) : undefined));
      return;
    case "batch_norm": {
      const x = arg(0), c = shape(0).c;
      const gamma = k(op.bn.weight), beta = k(op.bn.bias), mean = k(op.bn.runningMean), vr = k(op.bn.runningVar);
      v.set(op.output, x.map((val, i) => {
        const ch = i % c;
        return (val - mean[ch]) * (gamma[ch] / Math.sqrt(vr[ch] + op.bn.eps)) + beta[ch];
      }));
      return;
    }
    case "relu": v.set(op.output, arg(0).map((x) => (x > 0 ? x : 0))); return;
    case "add": { const b = arg(1); v.set(op.output, arg(0).map((x, i) => x + b[i])); return; }
    case "scale": v.set(op.output, arg(0).map((x) => x * op.factor)); return;
    case "softmax": { const y = Float32Array.from(arg(0)); softmaxRows(y, t[op.output].c); v.set(op.output, y); return; }
    case "max_pool": v.set(op.output, runMaxPool(op, arg(0), shape(0), t[op.output])); return;
    case "matmul":
      v.set(op.output, runMatmul(arg(0), shape(0), op.transposeA, arg(1), shape(1), op.transposeB, t[op.output]));
      return;
    case "attention":
      v.set(op.output, runAttention(op.mode, op.preScale, op.postScale, arg(0), shape(0), arg(1), shape(1), arg(2), shape(2)));
      return;
    case "global_avg_pool": {
      const xs = shape(0), p = positions(xs);
      const y = new Float32Array(xs.n * xs.c);
      for (let b = 0; b < xs.n; b++) for (let ch = 0; ch < xs.c; ch++) {
        let acc = 0;
        for (let i = 0; i < p; i++) acc += arg(0)[(b * p + i) * xs.c + ch];
        y[b * xs.c + ch] = acc / p;
      }
      v.set(op.output, y);
      return;
    }
    case "linear": {
      const xs = shape(0), classes = t[op.output].c, w = k(op.weight), bias = k(op.bias);
      const y = new Float32Array(xs.n * classes);
      for (let b = 0; b < xs.n; b++) for (let o = 0; o < classes; o++) {
        let acc = bias[o];
        for (let ch = 0; ch < xs.c; ch++) acc += arg(0)[b * xs.c + ch] * w[o * xs.c + ch];
        y[b * classes + o] = acc;
      }
      v.set(op.output, y);
      return;
    }
    case "head": {
      const [features, logits] = runHead(arg(0), shape(0), k(op.weight), k(op.bias), t[op.output].c);
      v.set(op.features, features);
      v.set(op.output, logits);
      return;
    }
  }
}

/** NCTHW [n, c, t, h, w] -> channels-last [n, t, h, w, c] */
export function toChannelsLast(x: Float32Array, a: Act): Float32Array {
  const y = new Float32Array(x.length);
  const p = a.t * a.h * a.w;
  for (let b = 0; b < a.n; b++) {
    for (let c = 0; c < a.c; c++) {
      for (let i = 0; i < p; i++) y[(b * p + i) * a.c + c] = x[(b * a.c + c) * p + i];
    }
  }
  return y;
}

/** Runs the program on an NCTHW input; returns every value by tensor name. */
export function interpretProgram(program: Program, constants: Map<string, Float32Array>, inputNCTHW: Float32Array): Values {
  const v: Values = new Map([[program.input, toChannelsLast(inputNCTHW, program.tensors[program.input])]]);
  for (const op of program.ops) step(program, op, v, constants);
  return v;
}
