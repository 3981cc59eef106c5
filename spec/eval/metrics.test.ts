import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";
import { evaluate, formatResults } from "../../runtime/eval/evaluate.ts";
import { computeMetrics, meanClassAccuracy, topKAccuracy } from "../../runtime/eval/metrics.ts";
import { numpyArgsort, numpyHeapArgsort } from "../../runtime/eval/numpy-argsort.ts";
import { numpyArgmax, numpyMean } from "../../runtime/eval/numpy-reductions.ts";
import { formatFixedLikePython, reprLikePython } from "../../runtime/eval/python-float-format.ts";
import { rng } from "../helpers/random.ts";

const test = suite("eval metrics");

// Expected values computed by MMAction2 0.x's accuracy.py itself with numpy 1.24
// (spec/eval/make-goldens.py); the score matrices are drawn from mulberry32 on both sides.
const goldens = JSON.parse(readFileSync(new URL("./fixtures/mmaction2-metrics.json", import.meta.url), "utf8"));

/** make-goldens.py's row_values: levels/levels steps as float32, some NaN */
function rowValues(r: () => number, n: number, levels: number, nanRate: number): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    out[i] = Math.floor(r() * levels) / levels;
    if (nanRate > 0 && r() < nanRate) out[i] = NaN;
  }
  return out;
}

function matrix(seed: number, n: number, classes: number, levels: number): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => rowValues(r, classes, levels, 0));
}

const f32 = (xs: number[]) => Float32Array.from(xs);

test("the golden score generator is the one the goldens were made with", () => {
  const r = rng(42);
  assert.equal([r(), r(), r(), r()], goldens.rngCheck);
});

test("numpyArgsort reproduces np.argsort (numpy's unstable introsort) on tie-heavy rows", () => {
  for (const c of goldens.argsort) {
    const values = rowValues(rng(c.seed), c.n, c.levels, c.nanRate);
    assert.equal(Array.from(numpyArgsort(values)), c.argsort, `n=${c.n} levels=${c.levels} nan=${c.nanRate}`);
    assert.equal(Array.from(numpyHeapArgsort(values)), c.heapsort, `heapsort n=${c.n}`);
    assert.is(numpyArgmax(values), c.argmax, `argmax n=${c.n}`);
  }
});

test("numpy's tie order by hand: 17 equal scores are NOT kept in index order", () => {
  // one partition step (median of three at 8, swapped to 15, then pairs swapped inwards)
  assert.equal(Array.from(numpyArgsort(new Float32Array(17))), [0, 14, 13, 12, 11, 10, 9, 15, 8, 6, 5, 4, 3, 2, 1, 7, 16]);
  // 16 or fewer: insertion sort only, which is stable
  assert.equal(Array.from(numpyArgsort(new Float32Array(16))), Array.from({ length: 16 }, (_, i) => i));
  // so on an all-zero row of 17 classes MMAction2's top-5 is {16, 7, 1, 2, 3}, not {16..12}
  const zeros = [new Float32Array(17)];
  assert.equal(topKAccuracy(zeros, [7]), [0, 1]);
  assert.equal(topKAccuracy(zeros, [15]), [0, 0]);
  assert.equal(topKAccuracy(zeros, [16]), [1, 1]);
});

test("top-k and mean class accuracy equal MMAction2's on random tie-heavy matrices", () => {
  for (const c of goldens.metrics) {
    const scores = matrix(c.seed, c.n, c.classes, c.levels);
    const [top1, top5] = topKAccuracy(scores, c.labels, [1, 5]);
    assert.is(top1, c.top1, `top1, case seed ${c.seed}`);
    assert.is(top5, c.top5, `top5, case seed ${c.seed}`);
    assert.is(meanClassAccuracy(scores, c.labels), c.meanClass, `mean class, case seed ${c.seed}`);
  }
});

test("np.mean's pairwise summation, bit for bit", () => {
  for (const c of goldens.means) {
    const r = rng(c.seed);
    const values = Array.from({ length: c.n }, () => {
      const a = Math.floor(r() * 50);
      return a / (1 + Math.floor(r() * 49));
    });
    assert.is(numpyMean(values), c.mean, `n=${c.n}`);
  }
  assert.ok(Number.isNaN(numpyMean([])));
});

test("a two-way tie: top-1 takes the LAST tied class, mean class accuracy the FIRST", () => {
  const scores = [f32([0.5, 0.5, 0.1])]; // np.argsort -> [2, 0, 1]; np.argmax -> 0
  assert.equal(topKAccuracy(scores, [1], [1]), [1]);
  assert.equal(topKAccuracy(scores, [0], [1]), [0]);
  // label 1, predicted 0: classes {0, 1}; class 0 has no video (0.0), class 1 recall 0
  assert.is(meanClassAccuracy(scores, [1]), 0);
  assert.is(meanClassAccuracy(scores, [0]), 1);
});

test("mean class accuracy: classes never seen are left out, predicted-only classes count 0", () => {
  // 4 classes; labels 0, 0, 2 and predictions 0, 1, 2 (class 3 occurs nowhere)
  const scores = [f32([0.9, 0, 0, 0]), f32([0, 0.9, 0, 0]), f32([0, 0, 0.9, 0])];
  // class 0: 1/2, class 1 (only predicted): 0.0, class 2: 1/1 -> (0.5 + 0 + 1) / 3
  assert.is(meanClassAccuracy(scores, [0, 0, 2]), 0.5);
  // the same videos all predicted right: classes {0, 2} -> (1 + 1) / 2
  assert.is(meanClassAccuracy([scores[0], scores[0], scores[2]], [0, 0, 2]), 1);
  // a labelled class never predicted counts with recall 0: classes {0, 1}: (1/1 + 0/1) / 2
  assert.is(meanClassAccuracy([scores[0], scores[0]], [0, 1]), 0.5);
});

test("a single class, all wrong, k larger than the number of classes", () => {
  const one = [f32([0.3]), f32([0.7])];
  assert.equal(topKAccuracy(one, [0, 0], [1, 5]), [1, 1]);
  assert.is(meanClassAccuracy(one, [0, 0]), 1);

  const wrong = [f32([0.1, 0.2, 0.7]), f32([0.6, 0.3, 0.1]), f32([0.2, 0.5, 0.3])];
  // predictions 2, 0, 1; the third video's label is second best
  assert.equal(topKAccuracy(wrong, [0, 2, 2], [1, 2]), [0, 1 / 3]);
  assert.is(meanClassAccuracy(wrong, [0, 2, 2]), 0);
  // 3 classes, top-5 takes all three: every in-range label is a hit, label 7 never is
  assert.equal(topKAccuracy(wrong, [0, 2, 1], [5]), [1]);
  assert.equal(topKAccuracy(wrong, [0, 7, 1], [5]), [2 / 3]);
});

test("computeMetrics keys and MMAction2's printed lines", () => {
  const scores = [f32([0.1, 0.9]), f32([0.8, 0.2]), f32([0.4, 0.6])];
  const metrics = computeMetrics(scores, [1, 1, 0]);
  assert.equal(Object.keys(metrics), ["top1_acc", "top5_acc", "mean_class_accuracy"]);
  assert.equal(metrics, { top1_acc: 1 / 3, top5_acc: 1, mean_class_accuracy: 0.25 });
  // tools/test.py --eval top_k_accuracy mean_class_accuracy: evaluate()'s log, then the summary
  const { results, log } = evaluate(scores, [1, 1, 0], { metrics: ["top_k_accuracy", "mean_class_accuracy"] });
  assert.equal(results, metrics);
  assert.equal([...log, ...formatResults(results)], [
    "",
    "Evaluating top_k_accuracy ...",
    "",
    "top1_acc\t0.3333",
    "top5_acc\t1.0000",
    "",
    "Evaluating mean_class_accuracy ...",
    "",
    "mean_acc\t0.2500",
    "top1_acc: 0.3333",
    "top5_acc: 1.0000",
    "mean_class_accuracy: 0.2500",
  ]);
  // 4 decimals rounded half to even, as Python's format does
  assert.equal(formatResults({ top1_acc: 1 / 32, top5_acc: 0.5, mean_class_accuracy: 0.72305 }), [
    "top1_acc: 0.0312",
    "top5_acc: 0.5000",
    "mean_class_accuracy: 0.7230",
  ]);
});

test("k must be a positive integer; scores and labels must pair up", () => {
  const scores = [f32([0.1, 0.9])];
  for (const k of [0, -1, 1.5]) {
    try {
      topKAccuracy(scores, [1], [k]);
      assert.unreachable(`k=${k} accepted`);
    } catch (e) {
      assert.instance(e, I3DError);
      assert.is((e as I3DError).kind, "usage");
    }
  }
  assert.throws(() => topKAccuracy(scores, [1, 0]), /1 score rows but 2 labels/);
});

test("Python's f'{x:.4f}' (half-to-even on the exact binary value)", () => {
  for (const c of goldens.formats) {
    const x = c.value === "nan" ? NaN : c.value === "inf" ? Infinity : c.value;
    assert.is(formatFixedLikePython(x, 4), c.text, `${c.repr}`);
  }
  assert.is(formatFixedLikePython(0.125, 2), "0.12");
  assert.is(formatFixedLikePython(2.5, 0), "2");
  assert.is(formatFixedLikePython(1e22, 1), "10000000000000000000000.0");
});

test("Python's repr(float), which json.dump writes into the --out file", () => {
  for (const c of goldens.reprs) assert.is(reprLikePython(c.value), c.repr, `${c.value}`);
  for (const c of goldens.formats) {
    const x = c.value === "nan" ? NaN : c.value === "inf" ? Infinity : c.value;
    assert.is(reprLikePython(x), c.repr);
  }
});

test.run();
