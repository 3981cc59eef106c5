// The engine behind `i3d test`: MMAction2's tools/test.py loop (one video at a time, in
// annotation order, the averaged class scores of each kept for --out and for the metrics), with
// what a long run on an edge device needs on top:
//   - decoding overlaps inference: while the model runs on video i, videos i+1..i+prefetch are
//     being prepared (default prefetch 1, so at most two prepared videos are alive at once: one
//     I3D test input is up to 30 views of 3x32x256x256 floats);
//   - a video that cannot be prepared is logged, counted and skipped; the run goes on and the
//     metrics cover the videos that were evaluated (the summary line says how many);
//   - the --out file is saved atomically every `checkpointSeconds` (and `checkpointVideos`), at
//     the end, on abort and before a fatal error propagates, so it is always a valid JSON list
//     of the results finished so far (see results-file.ts for how skipped videos look);
//   - an AbortSignal (the CLI hooks SIGINT to it) stops the run promptly: work in flight is
//     abandoned, its result discarded.
//
// Per-video failures are I3DErrors of kind "video", "input" or "io" (a corrupt or missing file),
// from prepare or infer. Anything else (a device loss, a bug) ends the run: the results so far
// are saved, then the error is rethrown.

import { I3DError, isI3DError } from "../../models/errors.ts";
import { noProgress, type ProgressSink } from "../download/progress-bar.ts";
import type { AnnotationItem } from "./annotations.ts";
import { checkEvaluation, evaluate, formatResults } from "./evaluate.ts";
import type { EvaluationMetrics } from "./metrics.ts";
import { ResultsFile } from "./results-file.ts";

export interface RunEvaluationOptions<P> {
  items: readonly AnnotationItem[];
  /** decode + test pipeline for one video (throw I3DError("video") for a bad file) */
  prepare: (item: AnnotationItem) => Promise<P>;
  /** the model on one prepared video: its averaged class scores (copied, so a reused buffer is fine) */
  infer: (prepared: P, item: AnnotationItem) => Promise<Float32Array>;
  /** where to save the JSON list of per-video score lists (MMAction2's --out shape) */
  outFile?: string;
  /** evaluate only the first `limit` items */
  limit?: number;
  /** videos prepared ahead of the one being inferred: 0 (no overlap), 1 (default) or 2 */
  prefetch?: number;
  /** save the out file about this often while running (default 30 s; longer once a save of
   * the growing file takes over 1/20 of it) */
  checkpointSeconds?: number;
  /** ... and at least every this many videos (default: by time only) */
  checkpointVideos?: number;
  /** top_k_accuracy's topk (default [1, 5]) */
  topk?: readonly number[];
  /** the metrics, as `--eval` names them and in its order (see evaluate.ts); [] for none.
   * Default: top_k_accuracy and mean_class_accuracy, or none for a multi-class list */
  evalMetrics?: readonly string[];
  /** the dataset's num_classes (the mAP metrics need it) */
  numClasses?: number;
  /** e.g. createProgressBar({ label: "test", unit: "videos" }) */
  progress?: ProgressSink;
  signal?: AbortSignal;
  /** one line per call: skipped videos, then the summary and MMAction2's metric lines */
  log?: (line: string) => void;
}

export interface EvaluationFailure {
  item: AnnotationItem;
  error: I3DError;
}

export interface EvaluationSummary {
  /** one entry per processed item, in annotation order: its scores, or null if it was skipped */
  results: (Float32Array | null)[];
  failures: EvaluationFailure[];
  /** MMAction2's eval_results over the evaluated videos; null when no metric was asked for, none
   * was evaluated, or by default on a multi-class list (top-k and mean class accuracy need one
   * label per video) */
  metrics: EvaluationMetrics | null;
  /** items processed (= results.length), and of those, evaluated (not skipped) */
  processed: number;
  evaluated: number;
  /** how many items the run was asked to do (items.length, or limit) */
  planned: number;
  /** stopped by the signal before `planned` items were done */
  interrupted: boolean;
}

type Prepared<P> = { ok: true; value: P } | { ok: false; error: unknown };

const PER_VIDEO_KINDS = new Set(["video", "input", "io"]);

/** a failure that belongs to one video (skip it), as opposed to one that ends the run */
function isPerVideoFailure(e: unknown): e is I3DError {
  return isI3DError(e) && PER_VIDEO_KINDS.has(e.kind);
}

export async function runEvaluation<P>(opts: RunEvaluationOptions<P>): Promise<EvaluationSummary> {
  const prefetch = opts.prefetch ?? 1;
  if (!Number.isInteger(prefetch) || prefetch < 0 || prefetch > 2) throw new I3DError("usage", `prefetch must be 0, 1 or 2, got ${prefetch}`);
  if (opts.limit !== undefined && !(Number.isInteger(opts.limit) && opts.limit > 0)) {
    throw new I3DError("usage", `limit must be a positive integer, got ${opts.limit}`);
  }
  const planned = Math.min(opts.items.length, opts.limit ?? Infinity);
  const items = opts.items.slice(0, planned);
  const multiLabel = items.some((item) => Array.isArray(item.label));
  const evalMetrics = opts.evalMetrics ?? (multiLabel ? [] : ["top_k_accuracy", "mean_class_accuracy"]);
  const evalOptions = { metrics: evalMetrics, topk: opts.topk, numClasses: opts.numClasses };
  // now, not after hours of inference
  checkEvaluation(evalOptions, items.map((item) => item.label));
  const log = opts.log ?? ((line: string) => process.stderr.write(`${line}\n`));
  const progress = opts.progress ?? noProgress;
  const checkpointMs = (opts.checkpointSeconds ?? 30) * 1000;
  const checkpointVideos = opts.checkpointVideos ?? Infinity;
  const signal = opts.signal;

  const results: (Float32Array | null)[] = [];
  const failures: EvaluationFailure[] = [];
  const out = opts.outFile !== undefined ? new ResultsFile(opts.outFile) : undefined;
  // an unwritable out path fails now, not after hours of inference
  await out?.save();
  let lastSave = performance.now();
  let lastSaveMs = 0;

  // resolves when the signal fires: every wait races against it
  let onAbort: () => void = () => {};
  const aborted = new Promise<"aborted">((resolve) => {
    onAbort = () => resolve("aborted");
    if (signal?.aborted) resolve("aborted");
    else signal?.addEventListener("abort", onAbort, { once: true });
  });
  const untilAbort = <T>(p: Promise<T>): Promise<T | "aborted"> => (signal ? Promise.race([p, aborted]) : p);

  // prepares started and not yet consumed, in item order; each settles (never rejects), so an
  // abandoned one cannot become an unhandled rejection
  const queue: Promise<Prepared<P>>[] = [];
  let nextToStart = 0;
  const startPrepare = (item: AnnotationItem): Promise<Prepared<P>> =>
    (async () => opts.prepare(item))().then(
      (value) => ({ ok: true as const, value }),
      (error: unknown) => ({ ok: false as const, error }),
    );

  let barShown = false;
  const say = (line: string) => {
    // a log line must not land in the middle of the progress bar's line
    if (barShown) progress.done();
    log(line);
    if (barShown) progress.update(results.length);
  };
  const endProgress = () => {
    if (barShown) progress.done();
    barShown = false;
  };
  const skip = (item: AnnotationItem, error: I3DError) => {
    failures.push({ item, error });
    results.push(null);
    out?.add(null);
    say(`skipped ${item.path} (${item.source}): ${error.message}`);
  };

  let interrupted = false;
  let classes = -1;
  progress.start(planned);
  barShown = true;
  try {
    for (let i = 0; i < planned; i++) {
      if (signal?.aborted) {
        interrupted = true;
        break;
      }
      // keep video i and the next `prefetch` ones in preparation
      while (nextToStart < planned && nextToStart <= i + prefetch) queue.push(startPrepare(items[nextToStart++]));
      const prepared = await untilAbort(queue[0]);
      if (prepared === "aborted") {
        interrupted = true;
        break;
      }
      queue.shift();
      const item = items[i];
      if (!prepared.ok) {
        if (!isPerVideoFailure(prepared.error)) throw prepared.error;
        skip(item, prepared.error);
      } else {
        const inferred = await untilAbort(
          (async () => opts.infer(prepared.value, item))().then(
            (scores) => ({ ok: true as const, scores }),
            (error: unknown) => ({ ok: false as const, error }),
          ),
        );
        if (inferred === "aborted") {
          interrupted = true;
          break;
        }
        if (!inferred.ok) {
          if (!isPerVideoFailure(inferred.error)) throw inferred.error;
          skip(item, inferred.error);
        } else {
          const scores = inferred.scores;
          if (!(scores instanceof Float32Array) || scores.length === 0) throw new I3DError("internal", `infer returned no scores for ${item.path}`);
          if (classes < 0) classes = scores.length;
          if (scores.length !== classes) throw new I3DError("internal", `infer returned ${scores.length} scores for ${item.path}, earlier videos had ${classes}`);
          const row = Float32Array.from(scores);
          results.push(row);
          out?.add(row);
        }
      }
      progress.update(results.length);
      // saving rewrites the whole file, so the interval grows with it: at most ~5% of the time
      if (out && out.unsaved > 0 && (out.unsaved >= checkpointVideos || performance.now() - lastSave >= Math.max(checkpointMs, 20 * lastSaveMs))) {
        const t0 = performance.now();
        await out.save();
        lastSave = performance.now();
        lastSaveMs = lastSave - t0;
      }
    }
  } catch (e) {
    // save what is done, then let the error end the run
    endProgress();
    await out?.save().catch((saveError: unknown) => log(`error: ${(saveError as Error).message}`));
    throw e;
  } finally {
    signal?.removeEventListener("abort", onAbort);
  }
  endProgress();
  if (signal?.aborted && results.length < planned) interrupted = true;
  await out?.save();

  const evaluated = results.length - failures.length;
  const summary = `evaluated ${evaluated} of ${results.length} videos` +
    (failures.length ? ` (${failures.length} skipped)` : "") +
    (interrupted ? `; interrupted after ${results.length} of ${planned}` : "") +
    (planned < opts.items.length ? `; limited to the first ${planned} of ${opts.items.length}` : "");
  say(summary);
  // tools/test.py: the out file is written (and says so) before the evaluation
  if (out) {
    say("");
    say(`writing results to ${out.path}`);
    if (failures.length) say(`(${out.length} entries, null for each of the ${failures.length} skipped videos)`);
  }

  let metrics: EvaluationMetrics | null = null;
  const labels: (number | number[])[] = [];
  const rows: Float32Array[] = [];
  results.forEach((row, i) => {
    if (row) {
      rows.push(row);
      labels.push(items[i].label);
    }
  });
  if (evalMetrics.length === 0) {
    if (multiLabel && opts.evalMetrics === undefined) {
      say("no metrics: top-k and mean class accuracy need one label per video, the list is multi-class");
    }
  } else if (rows.length === 0) {
    say("no metrics: no video was evaluated");
  } else {
    const evaluation = evaluate(rows, labels, evalOptions);
    metrics = evaluation.results;
    say(`metrics over the ${rows.length} evaluated videos${failures.length ? ` (the ${failures.length} skipped are not counted)` : ""}:`);
    for (const line of [...evaluation.log, ...formatResults(metrics)]) say(line);
  }

  return { results, failures, metrics, processed: results.length, evaluated, planned, interrupted };
}
