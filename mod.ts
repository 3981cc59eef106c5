// i3d-edge's public API.
//
//   import { loadRecognizer } from "i3d-edge";
//   const model = await loadRecognizer({ backend: "auto" });   // zoo config + checkpoint
//   const result = await model.classify("video.mp4");          // top-5 Kinetics-400 actions
//   await model.dispose();
//
// Everything the CLIs do is reachable from here: configs and the zoo, checkpoints, the graph and
// its reference interpreter, the compiler, the backends, the test pipeline and evaluation.

export { I3DError, type I3DErrorKind, isI3DError } from "./models/errors.ts";
export { resolveConfig, resolveConfigDict, type ResolvedConfig, zooNames } from "./models/config/resolve.ts";
export { type CfgOptions, mergeCfgOptions, parseCfgOptions } from "./models/config/cfg-options.ts";
export { ZOO, type ZooCheckpoint, type ZooEntry } from "./models/zoo.ts";
export type { ModelSpec } from "./models/model-spec.ts";
export { buildGraph, parseInputShape } from "./models/build-graph.ts";
export type { Graph, Node } from "./models/graph.ts";
export { countMacs, countParams } from "./models/count.ts";
export { interpret } from "./models/interpreter.ts";
export type { Tensor, WeightMap } from "./models/tensor.ts";
export { readCheckpoint, type Checkpoint } from "./models/checkpoint/pth-reader.ts";
export { bindCheckpoint } from "./models/checkpoint/bind.ts";
export { convertCheckpoint } from "./models/checkpoint/convert.ts";
export { readSafetensors, writeSafetensors } from "./models/checkpoint/safetensors.ts";
export { decodeNpy, encodeNpy, readNpy, writeNpy } from "./models/npy.ts";
export { compile, PASSES } from "./compiler/compile.ts";
export { inspectGraph } from "./compiler/inspect.ts";
export { planMemory } from "./compiler/passes/plan-memory.ts";
export type { BackendName, ModelRunner, RunResult } from "./runtime/backend.ts";
export { chooseBackend, createRunner } from "./runtime/create-runner.ts";
export { type Classification, type ClassifyOptions, Recognizer, type RecognizerOptions, type VideoClassification } from "./runtime/recognizer.ts";
export { averageClips, topK } from "./runtime/average-clips.ts";
export { prepareInput } from "./runtime/prepare-input.ts";
export { openVideo } from "./runtime/video/open-video.ts";
export { arrayFrameSource, type FramesArray } from "./runtime/video/array-frame-source.ts";
export { runTestPipeline } from "./runtime/pipeline/run-test-pipeline.ts";
export { fetchCheckpoint } from "./runtime/download/fetch-checkpoint.ts";
export { loadAnnotations } from "./runtime/eval/annotations.ts";
export { computeMetrics } from "./runtime/eval/metrics.ts";
export { runEvaluation } from "./runtime/eval/run-evaluation.ts";
export { DEFAULT_CONFIG, loadRecognizer, type LoadRecognizerOptions } from "./runtime/load-recognizer.ts";
export { KINETICS400_LABELS } from "./runtime/labels/kinetics400.ts";
