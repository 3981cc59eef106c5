// A validated Recognizer3D config dict -> ModelSpec, following ResNet3d.__init__ /
// make_res_layer and BaseRecognizer line by line: their `assert`s become config errors that
// name the key, `_ntuple(num_stages)` and the per-stage int expansion of inflate / non_local
// are reproduced, stage_blocks defaults from the depth, and the NonLocal3d defaults are mmcv
// 1.x's. The two backbone options MMAction2 reads only in some networks (non_local_cfg,
// inflate_style) are validated here, and only where it reads them. Padding, inter-channel
// counts and shapes are left to the graph builder.

import { z } from "zod";
import { configError, parseAt } from "./issues.ts";
import { NonLocalCfgSchema } from "./schema.ts";
import type { I3DHeadConfig, Recognizer3DConfig, ResNet3dConfig, TestCfgConfig } from "./schema.ts";
import type { AverageClips, BackboneSpec, HeadSpec, ModelSpec, Triple } from "../model-spec.ts";

/** ResNet3d.arch_settings: blocks per stage and whether the block is Bottleneck3d. */
const ARCH: Record<BackboneSpec["depth"], { blocks: number[]; bottleneck: boolean }> = {
  18: { blocks: [2, 2, 2, 2], bottleneck: false },
  34: { blocks: [3, 4, 6, 3], bottleneck: false },
  50: { blocks: [3, 4, 6, 3], bottleneck: true },
  101: { blocks: [3, 4, 23, 3], bottleneck: true },
  152: { blocks: [3, 8, 36, 3], bottleneck: true },
};

const INFLATE_STYLE = z.enum(["3x1x1", "3x3x3"], { error: "expected '3x1x1' or '3x3x3' (Bottleneck3d asserts one of them)" });

type Flag = number | boolean;
type StageFlags = Flag | (Flag | Flag[])[];

// make_res_layer tests `inflate[i] == 1`: True and 1 (or 1.0) are on, every other value off
const isOne = (f: Flag) => f === 1 || f === true;

/**
 * `_ntuple(num_stages)(value)` then make_res_layer's `(v,) * blocks` for an int stage entry.
 * A sequence is used as is by _ntuple: it must reach every stage (IndexError otherwise) and any
 * extra entries are ignored, as in MMAction2.
 */
function expandStageFlags(value: StageFlags, stageBlocks: number[], path: string): number[][] {
  const stages = Array.isArray(value) ? value : stageBlocks.map(() => value);
  if (stages.length < stageBlocks.length) {
    throw configError(path, `has ${stages.length} entries but the backbone has ${stageBlocks.length} stages`);
  }
  return stageBlocks.map((blocks, i) => {
    const entry = stages[i];
    if (!Array.isArray(entry)) return Array.from({ length: blocks }, () => (isOne(entry) ? 1 : 0));
    if (entry.length !== blocks) {
      throw configError(`${path}[${i}]`, `stage ${i + 1} has ${blocks} blocks but ${entry.length} entries were given`);
    }
    return entry.map((f) => (isOne(f) ? 1 : 0));
  });
}

/**
 * The stage whose output ResNet3d.forward returns. It asserts max(out_indices) < num_stages,
 * then collects stage i when `i in out_indices` and returns the lone tensor when exactly one
 * stage matched (a tuple otherwise, which I3DHead cannot pool). So a repeated index, or a
 * negative one beside a valid one, still selects a single stage: (3, 3) and (-1, 3) run as (3,).
 */
function singleOutIndex(outIndices: number[], n: number, path: string): number {
  if (outIndices.length === 0) throw configError(path, "is empty (ResNet3d takes max() of it, which fails)");
  let max = -Infinity;
  for (const i of outIndices) max = Math.max(max, i);
  if (max >= n) throw configError(path, `stage index ${max} is outside 0..${n - 1} (num_stages is ${n})`);
  const selected = [...new Set(outIndices.filter((i) => i >= 0))];
  if (selected.length === 0) {
    throw configError(path, `selects no stage of 0..${n - 1}, so the backbone returns nothing for the head`);
  }
  if (selected.length !== 1) {
    throw configError(
      path,
      `expected exactly one stage index (this package serves single-output backbones), got ${selected.length}`,
    );
  }
  return selected[0];
}

export function backboneSpecFromConfig(b: ResNet3dConfig, path = "model.backbone"): BackboneSpec {
  const n = b.num_stages;
  const outIndex = singleOutIndex(b.out_indices, n, `${path}.out_indices`);
  for (const key of ["spatial_strides", "temporal_strides", "dilations"] as const) {
    if (b[key].length !== n) {
      throw configError(`${path}.${key}`, `expected ${n} entries (one per stage, num_stages is ${n}), got ${b[key].length}`);
    }
  }
  const arch = ARCH[b.depth];
  let stageBlocks: number[];
  if (b.stage_blocks === null) {
    stageBlocks = arch.blocks.slice(0, n);
  } else {
    if (b.stage_blocks.length !== n) {
      throw configError(`${path}.stage_blocks`, `expected ${n} entries (num_stages is ${n}), got ${b.stage_blocks.length}`);
    }
    stageBlocks = [...b.stage_blocks];
  }
  // model.eval() runs _freeze_stages, which looks up layer1..layer{frozen_stages}.
  if (b.frozen_stages > n) {
    throw configError(`${path}.frozen_stages`, `is ${b.frozen_stages} but the backbone has only ${n} stages`);
  }
  const inflate = expandStageFlags(b.inflate as StageFlags, stageBlocks, `${path}.inflate`);
  const nonLocal = expandStageFlags(b.non_local as StageFlags, stageBlocks, `${path}.non_local`);
  const withNonLocal = nonLocal.some((stage) => stage.includes(1));
  // Read only when a NonLocal3d is built (otherwise its defaults fill the unused spec).
  const nl = parseAt(NonLocalCfgSchema, withNonLocal ? b.non_local_cfg : {}, `${path}.non_local_cfg`);
  // Bottleneck3d asserts inflate_style; BasicBlock3d ignores it (its spec value is unused).
  const inflateStyle = ARCH[b.depth].bottleneck
    ? parseAt(INFLATE_STYLE, b.inflate_style, `${path}.inflate_style`)
    : "3x1x1";
  const kernel: Triple = typeof b.conv1_kernel === "number"
    ? [b.conv1_kernel, b.conv1_kernel, b.conv1_kernel]
    : [b.conv1_kernel[0], b.conv1_kernel[1], b.conv1_kernel[2]];
  return {
    depth: b.depth,
    inChannels: b.in_channels,
    baseChannels: b.base_channels,
    numStages: n,
    stageBlocks,
    outIndex,
    spatialStrides: [...b.spatial_strides],
    temporalStrides: [...b.temporal_strides],
    dilations: [...b.dilations],
    conv1Kernel: kernel,
    conv1StrideS: b.conv1_stride_s,
    conv1StrideT: b.conv1_stride_t,
    pool1StrideS: b.pool1_stride_s,
    pool1StrideT: b.pool1_stride_t,
    withPool1: b.with_pool1,
    withPool2: b.with_pool2,
    style: b.style,
    inflate,
    inflateStyle,
    nonLocal,
    nonLocalCfg: {
      mode: nl.mode,
      subSample: nl.sub_sample,
      useScale: nl.use_scale,
      reduction: nl.reduction,
      normEps: nl.norm_cfg === null ? null : nl.norm_cfg.eps ?? 1e-5,
    },
    normEps: b.norm_cfg.eps,
  };
}

/** channels of the stage the head reads: planes * expansion, planes = base * 2^stage */
export function backboneOutChannels(b: BackboneSpec): number {
  return b.baseChannels * 2 ** b.outIndex * (ARCH[b.depth].bottleneck ? 4 : 1);
}

export function headSpecFromConfig(h: I3DHeadConfig): HeadSpec {
  return { numClasses: h.num_classes, inChannels: h.in_channels, spatialType: h.spatial_type };
}

/**
 * The test_cfg MMAction2 uses: tools/test.py passes the top-level (legacy) test_cfg to
 * build_recognizer, which asserts it is not given in both places and hands it to the model dict
 * as a default (used only where the model dict has no test_cfg key at all).
 */
export function effectiveTestCfg(
  model: Recognizer3DConfig, topLevel: TestCfgConfig | null | undefined,
): { testCfg: TestCfgConfig; path: string } {
  const inModel = model.test_cfg ?? null;
  const outer = topLevel ?? null;
  if (inModel !== null && outer !== null) {
    throw configError("test_cfg", "is given both at the top level and as model.test_cfg; MMAction2 asserts only one is set");
  }
  // build_from_cfg fills the top-level test_cfg in with args.setdefault: a model dict that
  // holds test_cfg=None keeps its None, and Recognizer3D's average_clip then fails on it.
  if (model.test_cfg === null && outer !== null) {
    throw configError(
      "model.test_cfg",
      "is None, which MMAction2 keeps over the top-level test_cfg (it only fills in a missing key), " +
        "so its test step fails; remove model.test_cfg or move the top-level test_cfg into it",
    );
  }
  const testCfg = inModel ?? outer;
  const path = inModel ? "model.test_cfg" : outer ? "test_cfg" : "model.test_cfg";
  if (testCfg === null) {
    throw configError(path, "required: MMAction2 averages the views' scores by test_cfg.average_clips ('prob', 'score' or None)");
  }
  if (testCfg.average_clips === undefined && !testCfg.feature_extraction) {
    throw configError(`${path}.average_clips`, "required ('prob', 'score' or None); MMAction2 raises a KeyError without it");
  }
  return { testCfg, path };
}

export function modelSpecFromConfig(model: Recognizer3DConfig, testCfg: TestCfgConfig): ModelSpec {
  const backbone = backboneSpecFromConfig(model.backbone);
  const head = headSpecFromConfig(model.cls_head);
  const channels = backboneOutChannels(backbone);
  if (head.inChannels !== channels) {
    throw configError(
      "model.cls_head.in_channels",
      `is ${head.inChannels} but the backbone's stage ${backbone.outIndex} produces ${channels} channels`,
    );
  }
  const averageClips: AverageClips = testCfg.average_clips ?? null;
  return { backbone, head, averageClips };
}
