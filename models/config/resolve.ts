// The one entry point from "what the user named" to a validated model: a zoo name, a `.py`
// MMAction2 config (read as data, with its _base_ chain) or a `.json` dump of the config dict
// (as mmcv's Config.dump writes it). Everything the rest of the package needs comes back typed,
// with MMAction2's defaults filled in.

import { basename, extname } from "node:path";
import { findZooEntry, zooNames, type ZooCheckpoint } from "../zoo.ts";
import type { ModelSpec } from "../model-spec.ts";
import { closest, configError, parseAt, shown } from "./issues.ts";
import { type CfgOptions, mergeCfgOptions } from "./cfg-options.ts";
import { loadConfigFile } from "./load-config.ts";
import { deepCopy, type PyDict } from "./py-parser.ts";
import { effectiveTestCfg, modelSpecFromConfig } from "./model-spec-from-config.ts";
import { Recognizer3DSchema, TestCfgSchema, type PipelineStep, type TestCfgConfig, type TestDatasetConfig } from "./schema.ts";
import { parseTestData } from "./test-pipeline.ts";

export type { PipelineStep, PipelineStepOf, PipelineStepType, TestCfgConfig, TestDatasetConfig } from "./schema.ts";
export type { ZooCheckpoint } from "../zoo.ts";
export { zooNames } from "../zoo.ts";

export interface ResolvedConfig {
  /** zoo name, or the config file's stem */
  name: string;
  source: "zoo" | "json" | "py";
  /** the merged MMAction2 dict */
  dict: Record<string, unknown>;
  /** the network, every default resolved */
  model: ModelSpec;
  /** data.test.pipeline, validated, defaults filled */
  testPipeline: PipelineStep[];
  /** data.test.type: "VideoDataset" | "RawframeDataset" */
  datasetType: string;
  /** [] for non-zoo configs; the first is the default */
  checkpoints: ZooCheckpoint[];
  /** the test_cfg in effect (model.test_cfg, or the legacy top-level one), defaults filled */
  testCfg: TestCfgConfig;
  /** data.test without its pipeline, defaults filled (start_index, filename_tmpl, ...) */
  testDataset: TestDatasetConfig;
}

/**
 * Validates a merged MMAction2 config dict and derives everything from it.
 * Throws I3DError("config") naming the first offending key.
 */
export function resolveConfigDict(
  dict: Record<string, unknown>,
  meta: { name: string; source: ResolvedConfig["source"]; checkpoints?: ZooCheckpoint[] },
): ResolvedConfig {
  if (dict.model === undefined) throw configError("model", "required (the Recognizer3D dict)");
  const model = parseAt(Recognizer3DSchema, dict.model, "model");
  const legacy = dict.test_cfg === undefined || dict.test_cfg === null
    ? null
    : parseAt(TestCfgSchema, dict.test_cfg, "test_cfg");
  const { testCfg } = effectiveTestCfg(model, legacy);
  const spec = modelSpecFromConfig(model, testCfg);
  const { dataset, pipeline } = parseTestData(dict.data);
  return {
    name: meta.name,
    source: meta.source,
    dict,
    model: spec,
    testPipeline: pipeline,
    datasetType: dataset.type,
    checkpoints: meta.checkpoints ?? [],
    testCfg,
    testDataset: dataset,
  };
}

function looksLikePath(spec: string): boolean {
  return /[\\/]/.test(spec) || /\.(py|json|ya?ml)$/i.test(spec);
}

/**
 * `spec`: a zoo name (see zooNames()), or a path to a `.py` or `.json` MMAction2 config;
 * `cfgOptions`: --cfg-options (cfg-options.ts), merged into it before validation.
 * Throws I3DError("config") for an unknown name, a missing or unreadable file, a config outside
 * the supported Python subset, or a config this package cannot run.
 */
export async function resolveConfig(spec: string, opts: { cfgOptions?: CfgOptions } = {}): Promise<ResolvedConfig> {
  // --cfg-options: merged right after loading, as tools/test.py and demo.py do
  const withOptions = (dict: PyDict): PyDict => opts.cfgOptions?.length ? mergeCfgOptions(dict, opts.cfgOptions) : dict;
  const entry = findZooEntry(spec);
  if (entry) {
    return resolveConfigDict(withOptions(deepCopy(entry.config) as PyDict), {
      name: entry.name, source: "zoo", checkpoints: entry.checkpoints.map((c) => ({ ...c })),
    });
  }
  if (!looksLikePath(spec)) {
    const names = zooNames();
    const near = closest(spec, names, 3);
    throw configError(
      "",
      `unknown model '${shown(spec, 80)}'; ` +
        (near.length ? `did you mean ${near.join(" or ")}?` : `the zoo has ${names.join(", ")}`) +
        " (or give a path to a .py or .json config)",
    );
  }
  const ext = extname(spec).toLowerCase();
  const dict = withOptions(await loadConfigFile(spec));
  const source = ext === ".json" ? "json" : "py";
  return resolveConfigDict(dict, { name: basename(spec, extname(spec)), source });
}

