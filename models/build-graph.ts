// ModelSpec + input shape -> Graph, following MMAction2 0.x's ResNet3d / Bottleneck3d /
// BasicBlock3d / mmcv NonLocal3d / I3DHead module structure so that parameter names are
// exactly the state_dict keys and shapes are inferred statically.

import { I3DError } from "./errors.ts";
import type { Graph, Node, ParamInfo, Shape } from "./graph.ts";
import type { BackboneSpec, HeadSpec, ModelSpec, NonLocalSpec, Triple } from "./model-spec.ts";

/** out = floor((in + 2*pad - dil*(k-1) - 1) / stride) + 1, PyTorch's conv/pool size rule */
export function outputSize(size: number, kernel: number, stride: number, pad: number, dil = 1): number {
  return Math.floor((size + 2 * pad - dil * (kernel - 1) - 1) / stride) + 1;
}

interface ConvOptions {
  kernel: Triple;
  stride?: Triple;
  padding?: Triple;
  dilation?: Triple;
  bias?: boolean;
}

/** Accumulates nodes, tensors and parameters while the builder walks the modules. */
class GraphBuilder {
  readonly tensors: Record<string, Shape> = {};
  readonly nodes: Node[] = [];
  readonly params: Record<string, ParamInfo> = {};
  readonly ignoredKeys: string[] = [];
  private counter = 0;

  constructor(readonly input: string, inputShape: Shape) {
    this.tensors[input] = inputShape;
  }

  shape(tensor: string): Shape {
    return this.tensors[tensor];
  }

  private fresh(name: string, shape: Shape): string {
    for (const d of shape) {
      if (!Number.isInteger(d) || d <= 0) {
        throw new I3DError(
          "config",
          `input too small: ${name} would have shape [${shape.join(", ")}]`,
        );
      }
    }
    const id = `${name}#${this.counter++}`;
    this.tensors[id] = shape;
    return id;
  }

  private param(key: string, shape: Shape, kind: ParamInfo["kind"] = "parameter"): string {
    this.params[key] = { shape, kind };
    return key;
  }

  conv(module: string, x: string, cout: number, o: ConvOptions): string {
    const [n, cin, t, h, w] = this.shape(x);
    const stride = o.stride ?? [1, 1, 1];
    const padding = o.padding ?? [0, 0, 0];
    const dilation = o.dilation ?? [1, 1, 1];
    const weight = this.param(`${module}.weight`, [cout, cin, ...o.kernel]);
    const bias = o.bias ? this.param(`${module}.bias`, [cout]) : undefined;
    const dims = [t, h, w].map((s, i) => outputSize(s, o.kernel[i], stride[i], padding[i], dilation[i]));
    const out = this.fresh(module, [n, cout, ...dims]);
    this.nodes.push({
      op: "conv3d", name: module, inputs: [x], output: out,
      kernel: o.kernel, stride, padding, dilation, weight, bias,
    });
    return out;
  }

  batchNorm(module: string, x: string, eps: number): string {
    const c = this.shape(x)[1];
    const out = this.fresh(module, this.shape(x));
    this.nodes.push({
      op: "batch_norm", name: module, inputs: [x], output: out, eps,
      weight: this.param(`${module}.weight`, [c]),
      bias: this.param(`${module}.bias`, [c]),
      runningMean: this.param(`${module}.running_mean`, [c], "buffer"),
      runningVar: this.param(`${module}.running_var`, [c], "buffer"),
    });
    this.ignoredKeys.push(`${module}.num_batches_tracked`);
    return out;
  }

  relu(module: string, x: string): string {
    const out = this.fresh(`${module}.relu`, this.shape(x));
    this.nodes.push({ op: "relu", name: module, inputs: [x], output: out });
    return out;
  }

  add(module: string, a: string, b: string): string {
    const sa = this.shape(a), sb = this.shape(b);
    if (sa.join() !== sb.join()) {
      throw new I3DError(
        "config",
        `${module}: residual shapes differ ([${sa.join(", ")}] vs [${sb.join(", ")}]); ` +
          "this combination of strides cannot run in MMAction2 either",
      );
    }
    const out = this.fresh(`${module}.add`, sa);
    this.nodes.push({ op: "add", name: module, inputs: [a, b], output: out });
    return out;
  }

  maxPool(module: string, x: string, kernel: Triple, stride: Triple, padding: Triple): string {
    const [n, c, t, h, w] = this.shape(x);
    const dims = [t, h, w].map((s, i) => outputSize(s, kernel[i], stride[i], padding[i]));
    const out = this.fresh(module, [n, c, ...dims]);
    this.nodes.push({ op: "max_pool3d", name: module, inputs: [x], output: out, kernel, stride, padding });
    return out;
  }

  globalAvgPool(module: string, x: string): string {
    const [n, c] = this.shape(x);
    const out = this.fresh(module, [n, c]);
    this.nodes.push({ op: "global_avg_pool", name: module, inputs: [x], output: out });
    return out;
  }

  linear(module: string, x: string, outFeatures: number): string {
    const [n, inFeatures] = this.shape(x);
    const out = this.fresh(module, [n, outFeatures]);
    this.nodes.push({
      op: "linear", name: module, inputs: [x], output: out,
      weight: this.param(`${module}.weight`, [outFeatures, inFeatures]),
      bias: this.param(`${module}.bias`, [outFeatures]),
    });
    return out;
  }

  reshape(module: string, x: string, shape: Shape): string {
    const from = this.shape(x).reduce((a, b) => a * b, 1);
    const to = shape.reduce((a, b) => a * b, 1);
    if (from !== to) throw new Error(`${module}: reshape of ${from} elements to ${to}`);
    const out = this.fresh(`${module}.view`, shape);
    this.nodes.push({ op: "reshape", name: module, inputs: [x], output: out, shape });
    return out;
  }

  transpose(module: string, x: string, perm: number[]): string {
    const s = this.shape(x);
    const out = this.fresh(`${module}.permute`, perm.map((p) => s[p]));
    this.nodes.push({ op: "transpose", name: module, inputs: [x], output: out, perm });
    return out;
  }

  matmul(module: string, a: string, b: string): string {
    const [ba, m, k] = this.shape(a);
    const [bb, k2, n] = this.shape(b);
    if (ba !== bb || k !== k2) throw new Error(`${module}: matmul of [${ba},${m},${k}] and [${bb},${k2},${n}]`);
    const out = this.fresh(`${module}.matmul`, [ba, m, n]);
    this.nodes.push({ op: "matmul", name: module, inputs: [a, b], output: out });
    return out;
  }

  softmax(module: string, x: string): string {
    const out = this.fresh(`${module}.softmax`, this.shape(x));
    this.nodes.push({ op: "softmax", name: module, inputs: [x], output: out });
    return out;
  }

  scale(module: string, x: string, factor: number): string {
    const out = this.fresh(`${module}.scale`, this.shape(x));
    this.nodes.push({ op: "scale", name: module, inputs: [x], output: out, factor });
    return out;
  }

  /** mmcv ConvModule: conv (bias only when no norm follows) -> BN -> optional ReLU */
  convModule(module: string, x: string, cout: number, o: ConvOptions, eps: number, relu: boolean): string {
    let y = this.conv(`${module}.conv`, x, cout, { ...o, bias: false });
    y = this.batchNorm(`${module}.bn`, y, eps);
    return relu ? this.relu(module, y) : y;
  }
}

const BOTTLENECK_DEPTHS = new Set([50, 101, 152]);

function bottleneck(
  g: GraphBuilder, module: string, x: string, b: BackboneSpec, planes: number,
  spatialStride: number, temporalStride: number, dilation: number, downsample: boolean,
  inflate: boolean, nonLocal: boolean,
): string {
  const eps = b.normEps;
  const pytorch = b.style === "pytorch";
  const s1: Triple = pytorch ? [1, 1, 1] : [temporalStride, spatialStride, spatialStride];
  const s2: Triple = pytorch ? [temporalStride, spatialStride, spatialStride] : [1, 1, 1];
  let k1: Triple, p1: Triple, k2: Triple, p2: Triple;
  if (inflate && b.inflateStyle === "3x1x1") {
    [k1, p1, k2, p2] = [[3, 1, 1], [1, 0, 0], [1, 3, 3], [0, dilation, dilation]];
  } else if (inflate) {
    [k1, p1, k2, p2] = [[1, 1, 1], [0, 0, 0], [3, 3, 3], [1, dilation, dilation]];
  } else {
    [k1, p1, k2, p2] = [[1, 1, 1], [0, 0, 0], [1, 3, 3], [0, dilation, dilation]];
  }
  let out = g.convModule(`${module}.conv1`, x, planes, { kernel: k1, stride: s1, padding: p1 }, eps, true);
  out = g.convModule(
    `${module}.conv2`, out, planes,
    { kernel: k2, stride: s2, padding: p2, dilation: [1, dilation, dilation] }, eps, true,
  );
  out = g.convModule(`${module}.conv3`, out, planes * 4, { kernel: [1, 1, 1] }, eps, false);
  const identity = downsample
    ? g.convModule(
      `${module}.downsample`, x, planes * 4,
      { kernel: [1, 1, 1], stride: [temporalStride, spatialStride, spatialStride] }, eps, false,
    )
    : x;
  out = g.relu(module, g.add(module, out, identity));
  return nonLocal ? nonLocalBlock(g, `${module}.non_local_block`, out, b.nonLocalCfg) : out;
}

function basicBlock(
  g: GraphBuilder, module: string, x: string, b: BackboneSpec, planes: number,
  spatialStride: number, temporalStride: number, dilation: number, downsample: boolean,
  inflate: boolean, nonLocal: boolean,
): string {
  const eps = b.normEps;
  // BasicBlock3d always strides its first conv and ignores `style` and `inflate_style`.
  const [k, p1, p2]: Triple[] = inflate
    ? [[3, 3, 3], [1, dilation, dilation], [1, 1, 1]]
    : [[1, 3, 3], [0, dilation, dilation], [0, 1, 1]];
  let out = g.convModule(
    `${module}.conv1`, x, planes,
    { kernel: k, stride: [temporalStride, spatialStride, spatialStride], padding: p1, dilation: [1, dilation, dilation] },
    eps, true,
  );
  out = g.convModule(`${module}.conv2`, out, planes, { kernel: k, padding: p2 }, eps, false);
  const identity = downsample
    ? g.convModule(
      `${module}.downsample`, x, planes,
      { kernel: [1, 1, 1], stride: [temporalStride, spatialStride, spatialStride] }, eps, false,
    )
    : x;
  out = g.relu(module, g.add(module, out, identity));
  return nonLocal ? nonLocalBlock(g, `${module}.non_local_block`, out, b.nonLocalCfg) : out;
}

/**
 * mmcv NonLocal3d: g/theta/phi 1x1x1 convs with bias (no norm), optional (1,2,2) max-pool on
 * g and phi, pairwise weights theta^T phi over (t,h,w) positions, y = P g, out = x + BN(conv_out(y))
 * (or x + conv_out(y), conv_out with a bias, for norm_cfg=None).
 * In 'gaussian' mode theta is x itself and phi is x (max-pooled when sub_sample).
 */
function nonLocalBlock(g: GraphBuilder, module: string, x: string, cfg: NonLocalSpec): string {
  const [n, c, t, h, w] = g.shape(x);
  const inter = Math.max(Math.floor(c / cfg.reduction), 1);
  const pool = (name: string, y: string) => g.maxPool(name, y, [1, 2, 2], [1, 2, 2], [0, 0, 0]);
  const flat = (name: string, y: string) => {
    const [, cy, ...rest] = g.shape(y);
    return g.reshape(name, y, [n, cy, rest.reduce((a, b) => a * b, 1)]);
  };

  // g_x: [N, Nk, inter]
  let gx = g.conv(`${module}.${cfg.subSample ? "g.0" : "g"}.conv`, x, inter, { kernel: [1, 1, 1], bias: true });
  if (cfg.subSample) gx = pool(`${module}.g.1`, gx);
  gx = g.transpose(`${module}.g`, flat(`${module}.g`, gx), [0, 2, 1]);

  let thetaX: string, phiX: string;
  if (cfg.mode === "gaussian") {
    thetaX = g.transpose(`${module}.theta`, flat(`${module}.theta`, x), [0, 2, 1]);
    phiX = flat(`${module}.phi`, cfg.subSample ? pool(`${module}.phi`, x) : x);
  } else {
    const theta = g.conv(`${module}.theta.conv`, x, inter, { kernel: [1, 1, 1], bias: true });
    thetaX = g.transpose(`${module}.theta`, flat(`${module}.theta`, theta), [0, 2, 1]);
    let phi = g.conv(`${module}.${cfg.subSample ? "phi.0" : "phi"}.conv`, x, inter, { kernel: [1, 1, 1], bias: true });
    if (cfg.subSample) phi = pool(`${module}.phi.1`, phi);
    phiX = flat(`${module}.phi`, phi);
  }

  let pairwise = g.matmul(`${module}.pairwise`, thetaX, phiX);
  if (cfg.mode === "dot_product") {
    pairwise = g.scale(`${module}.pairwise`, pairwise, 1 / g.shape(pairwise)[2]);
  } else {
    if (cfg.mode === "embedded_gaussian" && cfg.useScale) {
      pairwise = g.scale(`${module}.pairwise`, pairwise, 1 / Math.sqrt(g.shape(thetaX)[2]));
    }
    pairwise = g.softmax(`${module}.pairwise`, pairwise);
  }
  let y = g.matmul(`${module}.y`, pairwise, gx); // [N, Nq, inter]
  y = g.reshape(`${module}.y`, g.transpose(`${module}.y`, y, [0, 2, 1]), [n, inter, t, h, w]);
  // norm_cfg=None (mmcv's default): ConvModule gives conv_out a bias and no norm
  y = cfg.normEps === null
    ? g.conv(`${module}.conv_out.conv`, y, c, { kernel: [1, 1, 1], bias: true })
    : g.convModule(`${module}.conv_out`, y, c, { kernel: [1, 1, 1] }, cfg.normEps, false);
  return g.add(module, x, y);
}

function backbone(g: GraphBuilder, x: string, b: BackboneSpec): string {
  const eps = b.normEps;
  const k = b.conv1Kernel;
  let y = g.convModule(
    "backbone.conv1", x, b.baseChannels,
    {
      kernel: k,
      stride: [b.conv1StrideT, b.conv1StrideS, b.conv1StrideS],
      padding: [Math.floor((k[0] - 1) / 2), Math.floor((k[1] - 1) / 2), Math.floor((k[2] - 1) / 2)],
    },
    eps, true,
  );
  if (b.withPool1) {
    y = g.maxPool("backbone.maxpool", y, [1, 3, 3], [b.pool1StrideT, b.pool1StrideS, b.pool1StrideS], [0, 1, 1]);
  }
  const bottle = BOTTLENECK_DEPTHS.has(b.depth);
  const expansion = bottle ? 4 : 1;
  let inplanes = b.baseChannels;
  let out = y;
  for (let i = 0; i < b.numStages; i++) {
    const planes = b.baseChannels * 2 ** i;
    const ss = b.spatialStrides[i], ts = b.temporalStrides[i], dil = b.dilations[i];
    // MMAction2 adds a downsample only for a spatial stride or a channel change (not for a
    // temporal stride alone).
    const downsample = ss !== 1 || inplanes !== planes * expansion;
    for (let j = 0; j < b.stageBlocks[i]; j++) {
      const first = j === 0;
      const block = bottle ? bottleneck : basicBlock;
      y = block(
        g, `backbone.layer${i + 1}.${j}`, y, b, planes,
        first ? ss : 1, first ? ts : 1, dil, first && downsample,
        b.inflate[i][j] === 1, b.nonLocal[i][j] === 1,
      );
    }
    inplanes = planes * expansion;
    if (i === 0 && b.withPool2) y = g.maxPool("backbone.pool2", y, [2, 1, 1], [2, 1, 1], [0, 0, 0]);
    if (i === b.outIndex) out = y;
  }
  return out;
}

function head(g: GraphBuilder, x: string, h: HeadSpec): { features: string; clsScore: string } {
  const c = g.shape(x)[1];
  if (c !== h.inChannels) {
    throw new I3DError(
      "config",
      `model.cls_head.in_channels is ${h.inChannels} but the backbone produces ${c} channels`,
    );
  }
  const features = g.globalAvgPool("cls_head.avg_pool", x);
  // Dropout is the identity at test time.
  const clsScore = g.linear("cls_head.fc_cls", features, h.numClasses);
  return { features, clsScore };
}

/** Parses "3x32x224x224" (C x T x H x W) into numbers. */
export function parseInputShape(text: string): [number, number, number, number] {
  const parts = text.split(/[x,]/).map((s) => Number(s.trim()));
  if (parts.length !== 4 || parts.some((d) => !Number.isInteger(d) || d <= 0)) {
    throw new I3DError("usage", `--input must look like 3x32x224x224 (C x T x H x W), got "${text}"`);
  }
  return parts as [number, number, number, number];
}

/**
 * Builds the graph for `views` inputs of shape [C, T, H, W].
 * Throws I3DError("config") when the input is too small for the network or the channels do
 * not match the config.
 */
export function buildGraph(spec: ModelSpec, input: readonly [number, number, number, number], views = 1): Graph {
  const [c, t, h, w] = input;
  if (c !== spec.backbone.inChannels) {
    throw new I3DError("config", `input has ${c} channels but model.backbone.in_channels is ${spec.backbone.inChannels}`);
  }
  const g = new GraphBuilder("input", [views, c, t, h, w]);
  const features = backbone(g, "input", spec.backbone);
  const outputs = head(g, features, spec.head);
  return {
    input: "input",
    tensors: g.tensors,
    nodes: g.nodes,
    params: g.params,
    ignoredKeys: g.ignoredKeys,
    outputs,
  };
}
