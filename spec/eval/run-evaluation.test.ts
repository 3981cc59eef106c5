import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";
import type { AnnotationItem } from "../../runtime/eval/annotations.ts";
import { labelToArray, meanAveragePrecision } from "../../runtime/eval/average-precision.ts";
import { computeMetrics, meanClassAccuracy, topKAccuracy } from "../../runtime/eval/metrics.ts";
import { formatFixedLikePython } from "../../runtime/eval/python-float-format.ts";
import { runEvaluation } from "../../runtime/eval/run-evaluation.ts";
import { formatScoreRow } from "../../runtime/eval/results-file.ts";

const test = suite("eval runEvaluation");
const dir = mkdtempSync(join(tmpdir(), "i3d-eval-"));
let n = 0;
const outPath = () => join(dir, `sub/out${n++}.json`);

const CLASSES = 7;

function makeItems(count: number, label = (i: number) => i % CLASSES): AnnotationItem[] {
  return Array.from({ length: count }, (_, i) => ({ source: `list.txt:${i + 1}`, format: "video" as const, path: `v${i}.mp4`, label: label(i), startIndex: 0 }));
}

/** the scores the fake model gives video i: class (i * 3) % 7 is best, float32 fractions */
function scoresFor(i: number): Float32Array {
  const s = new Float32Array(CLASSES);
  for (let c = 0; c < CLASSES; c++) s[c] = ((c * 5 + i) % CLASSES) / 10 + 0.01 * i;
  s[(i * 3) % CLASSES] = 0.95;
  return s;
}

const tick = (ms = 0) => new Promise((r) => setTimeout(r, ms));
const index = (item: AnnotationItem) => Number(item.path.slice(1, -4));
const readJson = (path: string) => JSON.parse(readFileSync(path, "utf8"));

test("results come back in annotation order though prepares finish out of order", async () => {
  const items = makeItems(6);
  const out = outPath();
  const lines: string[] = [];
  const summary = await runEvaluation({
    items,
    prepare: async (item) => {
      await tick(6 - index(item)); // later videos decode faster
      return index(item);
    },
    infer: async (i) => scoresFor(i),
    outFile: out,
    prefetch: 2,
    log: (l) => lines.push(l),
  });
  assert.equal(summary.results.map((r) => Array.from(r!)), items.map((_, i) => Array.from(scoresFor(i))));
  assert.equal([summary.processed, summary.evaluated, summary.planned, summary.interrupted], [6, 6, 6, false]);
  const rows = items.map((_, i) => scoresFor(i));
  assert.equal(summary.metrics, computeMetrics(rows, items.map((i) => i.label as number)));
  // the out file: MMAction2's --out JSON shape, exact float32 values
  assert.equal(readJson(out), rows.map((r) => Array.from(r)));
  assert.ok(readFileSync(out, "utf8").startsWith(`[${formatScoreRow(rows[0])}, [`), "json.dump's ', ' separators");
  assert.ok(lines.includes("evaluated 6 of 6 videos"), lines.join("\n"));
  assert.ok(lines.includes(`top1_acc: ${summary.metrics!.top1_acc.toFixed(4)}`), lines.join("\n"));
  assert.ok(lines.some((l) => l.startsWith("mean_acc\t")));
});

test("decoding of video i+1 starts before inference on video i finishes; memory stays bounded", async () => {
  for (const prefetch of [1, 2]) {
    const items = makeItems(8);
    let started = 0; // prepares started
    let inferred = 0; // infers finished
    let maxAlive = 0;
    const overlapped: boolean[] = [];
    await runEvaluation({
      items,
      prepare: async (item) => {
        started++;
        maxAlive = Math.max(maxAlive, started - inferred);
        await tick();
        return index(item);
      },
      infer: async (i) => {
        await tick(2);
        // before this inference returns, has the next video's decode begun?
        overlapped.push(started > i + 1);
        inferred++;
        return scoresFor(i);
      },
      prefetch,
      log: () => {},
    });
    assert.equal(overlapped.slice(0, -1), Array(7).fill(true), `prefetch ${prefetch}`);
    // the one being inferred plus `prefetch` ahead (one more while the next is awaited)
    assert.ok(maxAlive <= prefetch + 1, `prefetch ${prefetch}: ${maxAlive} alive`);
  }
});

test("prefetch 0: strictly one video at a time", async () => {
  const events: string[] = [];
  await runEvaluation({
    items: makeItems(3),
    prepare: async (item) => {
      events.push(`prepare ${index(item)}`);
      await tick();
      return index(item);
    },
    infer: async (i) => {
      events.push(`infer ${i}`);
      await tick();
      return scoresFor(i);
    },
    prefetch: 0,
    log: () => {},
  });
  assert.equal(events, ["prepare 0", "infer 0", "prepare 1", "infer 1", "prepare 2", "infer 2"]);
});

test("a video that fails to decode is logged, counted, skipped (null in the out file)", async () => {
  const items = makeItems(5);
  const out = outPath();
  const lines: string[] = [];
  const summary = await runEvaluation({
    items,
    prepare: async (item) => {
      if (index(item) === 2) throw new I3DError("video", "v2.mp4: moov atom not found");
      return index(item);
    },
    infer: async (i) => {
      if (i === 4) throw new I3DError("input", "v4.mp4: 0 frames");
      return scoresFor(i);
    },
    outFile: out,
    log: (l) => lines.push(l),
  });
  assert.equal(summary.results.map((r) => r !== null), [true, true, false, true, false]);
  assert.equal(summary.failures.map((f) => [f.item.path, f.error.kind]), [["v2.mp4", "video"], ["v4.mp4", "input"]]);
  assert.equal([summary.processed, summary.evaluated], [5, 3]);
  assert.ok(lines.includes("skipped v2.mp4 (list.txt:3): v2.mp4: moov atom not found"), lines.join("\n"));
  assert.ok(lines.includes("evaluated 3 of 5 videos (2 skipped)"), lines.join("\n"));
  // metrics over the three evaluated videos only
  const kept = [0, 1, 3];
  assert.equal(summary.metrics, computeMetrics(kept.map(scoresFor), kept.map((i) => items[i].label as number)));
  const json = readJson(out);
  assert.equal(json.length, 5);
  assert.is(json[2], null);
  assert.is(json[4], null);
  assert.equal(json[3], Array.from(scoresFor(3)));
});

test("abort midway: the out file is valid JSON holding exactly the finished results", async () => {
  const items = makeItems(10);
  const out = outPath();
  const controller = new AbortController();
  const seenOnDisk: number[] = [];
  let abandoned = false;
  const summary = await runEvaluation({
    items,
    prepare: async (item) => index(item),
    infer: async (i) => {
      // periodic saves: at any moment the file parses and holds a prefix of the results
      seenOnDisk.push(readJson(out).length);
      if (i === 6) {
        controller.abort(); // Ctrl-C while the model runs on video 6
        await tick(20);
        abandoned = true;
        return scoresFor(i); // too late: discarded
      }
      return scoresFor(i);
    },
    outFile: out,
    checkpointVideos: 2,
    signal: controller.signal,
    log: () => {},
  });
  assert.is(summary.interrupted, true);
  assert.is(abandoned, false, "did not wait for the abandoned inference");
  assert.equal([summary.processed, summary.evaluated, summary.planned], [6, 6, 10]);
  assert.equal(readJson(out), [0, 1, 2, 3, 4, 5].map((i) => Array.from(scoresFor(i))));
  assert.equal(seenOnDisk, [0, 0, 2, 2, 4, 4, 6]);
  assert.ok(summary.metrics !== null, "metrics over what finished");
  await tick(30); // let the abandoned inference settle: no unhandled rejection, no late write
  assert.equal(readJson(out).length, 6);
});

test("abort while a decode is pending, and a signal aborted before the start", async () => {
  const controller = new AbortController();
  const out = outPath();
  const summary = await runEvaluation({
    items: makeItems(4),
    prepare: async (item) => {
      if (index(item) === 2) {
        controller.abort();
        await new Promise(() => {}); // a decoder that never returns
      }
      return index(item);
    },
    infer: async (i) => scoresFor(i),
    outFile: out,
    prefetch: 0, // so the abort lands while the engine waits on the decode of video 2
    signal: controller.signal,
    log: () => {},
  });
  assert.equal([summary.interrupted, summary.processed], [true, 2]);
  assert.equal(readJson(out).length, 2);

  const out2 = outPath();
  let prepared = 0;
  const early = await runEvaluation({
    items: makeItems(4),
    prepare: async (item) => {
      prepared++;
      return index(item);
    },
    infer: async (i) => scoresFor(i),
    outFile: out2,
    signal: AbortSignal.abort(),
    log: () => {},
  });
  assert.equal([early.interrupted, early.processed, prepared, early.metrics], [true, 0, 0, null]);
  assert.equal(readJson(out2), []);
});

test("a fatal error saves the results so far, then propagates", async () => {
  const out = outPath();
  try {
    await runEvaluation({
      items: makeItems(6),
      prepare: async (item) => index(item),
      infer: async (i) => {
        if (i === 3) throw new I3DError("device", "GPU device lost");
        return scoresFor(i);
      },
      outFile: out,
      log: () => {},
    });
    assert.unreachable("no error");
  } catch (e) {
    assert.instance(e, I3DError);
    assert.is((e as I3DError).kind, "device");
  }
  assert.equal(readJson(out).length, 3);
  // a bug in a prepare callback is not a skipped video either
  let error: unknown;
  await runEvaluation({
    items: makeItems(3),
    prepare: async (item) => {
      if (index(item) === 1) throw new TypeError("cannot read properties of undefined");
      return index(item);
    },
    infer: async (i) => scoresFor(i),
    log: () => {},
  }).catch((e) => (error = e));
  assert.instance(error, TypeError);
});

test("limit: only the first N videos are prepared at all", async () => {
  const touched: number[] = [];
  const lines: string[] = [];
  const summary = await runEvaluation({
    items: makeItems(10),
    prepare: async (item) => {
      touched.push(index(item));
      return index(item);
    },
    infer: async (i) => scoresFor(i),
    limit: 3,
    prefetch: 2,
    log: (l) => lines.push(l),
  });
  assert.equal(touched, [0, 1, 2]);
  assert.equal([summary.processed, summary.planned, summary.interrupted], [3, 3, false]);
  assert.ok(lines.includes("evaluated 3 of 3 videos; limited to the first 3 of 10"), lines.join("\n"));
  await runEvaluation({ items: makeItems(2), prepare: async () => 0, infer: async () => scoresFor(0), limit: 0, log: () => {} }).then(
    () => assert.unreachable("limit 0 accepted"),
    (e) => assert.is((e as I3DError).kind, "usage"),
  );
});

test("progress: started with the total, updated per video, finished", async () => {
  const calls: string[] = [];
  await runEvaluation({
    items: makeItems(3),
    prepare: async (item) => index(item),
    infer: async (i) => scoresFor(i),
    progress: { start: (t) => calls.push(`start ${t}`), update: (d) => calls.push(`update ${d}`), done: () => calls.push("done") },
    log: () => {},
  });
  assert.is(calls[0], "start 3");
  assert.ok(calls.includes("update 1") && calls.includes("update 2") && calls.includes("update 3"), calls.join(","));
  assert.ok(calls.indexOf("done") > calls.indexOf("update 3"));
  assert.is(calls[calls.length - 1], "done", "the summary lines do not redraw a finished bar");
});

test("the runner may reuse its output buffer; multi-class lists get no metrics", async () => {
  const shared = new Float32Array(CLASSES);
  const summary = await runEvaluation({
    items: makeItems(3),
    prepare: async (item) => index(item),
    infer: async (i) => {
      shared.set(scoresFor(i));
      return shared;
    },
    log: () => {},
  });
  assert.equal(Array.from(summary.results[0]!), Array.from(scoresFor(0)));

  const lines: string[] = [];
  const multi = await runEvaluation({
    items: makeItems(2, (i) => [i, 1] as unknown as number),
    prepare: async (item) => index(item),
    infer: async (i) => scoresFor(i),
    log: (l) => lines.push(l),
  });
  assert.is(multi.metrics, null);
  assert.ok(lines.some((l) => l.startsWith("no metrics: top-k and mean class accuracy need one label")), lines.join("\n"));
});

test("an out path that cannot be written fails before any video is decoded", async () => {
  const blocker = join(dir, "a-file");
  writeFileSync(blocker, "");
  let prepared = 0;
  try {
    await runEvaluation({
      items: makeItems(2),
      prepare: async () => prepared++,
      infer: async () => scoresFor(0),
      outFile: join(blocker, "out.json"),
      log: () => {},
    });
    assert.unreachable("no error");
  } catch (e) {
    assert.is((e as I3DError).kind, "io");
    assert.match((e as Error).message, /cannot write results to .*a-file\/out\.json/);
  }
  assert.is(prepared, 0);
});

test("metrics in --eval's order; the out file is announced before them, as tools/test.py does", async () => {
  const items = makeItems(5);
  const out = outPath();
  const lines: string[] = [];
  const summary = await runEvaluation({
    items,
    prepare: async (item) => index(item),
    infer: async (i) => scoresFor(i),
    outFile: out,
    evalMetrics: ["mean_class_accuracy", "top_k_accuracy"],
    topk: [5, 1],
    log: (l) => lines.push(l),
  });
  const rows = items.map((_, i) => scoresFor(i));
  const labels = items.map((i) => i.label as number);
  const [top5, top1] = topKAccuracy(rows, labels, [5, 1]);
  const mean = meanClassAccuracy(rows, labels);
  assert.equal(Object.keys(summary.metrics!), ["mean_class_accuracy", "top5_acc", "top1_acc"]);
  const f = (x: number) => formatFixedLikePython(x, 4);
  const at = lines.indexOf(`writing results to ${out}`);
  assert.ok(at > 0 && lines[at - 1] === "", lines.join("\n"));
  const evaluating = lines.indexOf("Evaluating mean_class_accuracy ...");
  assert.ok(evaluating > at, lines.join("\n"));
  assert.equal(lines.slice(evaluating - 1), [
    "", "Evaluating mean_class_accuracy ...", "", `mean_acc\t${f(mean)}`,
    "", "Evaluating top_k_accuracy ...", "", `top5_acc\t${f(top5)}`, `top1_acc\t${f(top1)}`,
    `mean_class_accuracy: ${f(mean)}`, `top5_acc: ${f(top5)}`, `top1_acc: ${f(top1)}`,
  ]);
});

test("no metric asked for: none computed; mAP over a multi-class list; bad requests fail before decoding", async () => {
  const none = await runEvaluation({ items: makeItems(2), prepare: async (item) => index(item), infer: async (i) => scoresFor(i), evalMetrics: [], log: () => {} });
  assert.is(none.metrics, null);

  const multiItems = makeItems(4, (i) => [i % CLASSES, (i + 2) % CLASSES] as unknown as number);
  const multi = await runEvaluation({
    items: multiItems,
    prepare: async (item) => index(item),
    infer: async (i) => scoresFor(i),
    evalMetrics: ["mean_average_precision"],
    numClasses: CLASSES,
    log: () => {},
  });
  const oneHot = multiItems.map((item) => labelToArray(CLASSES, item.label));
  assert.equal(multi.metrics, { mean_average_precision: meanAveragePrecision(multiItems.map((_, i) => scoresFor(i)), oneHot) });

  for (const [evalMetrics, numClasses, message] of [
    [["top_k_accuracy"], undefined, /top_k_accuracy needs one label per video/],
    [["mean_average_precision"], undefined, /needs the dataset's num_classes/],
    [["accuracy"], undefined, /metric accuracy is not supported/],
  ] as [string[], number | undefined, RegExp][]) {
    let prepared = 0;
    try {
      await runEvaluation({ items: multiItems, prepare: async () => prepared++, infer: async () => scoresFor(0), evalMetrics, numClasses, log: () => {} });
      assert.unreachable("no error");
    } catch (e) {
      assert.is((e as I3DError).kind, "usage");
      assert.match((e as Error).message, message);
    }
    assert.is(prepared, 0);
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
