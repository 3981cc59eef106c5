import { createHash } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";
import { binaryAveragePrecision } from "../../runtime/eval/average-precision.ts";
import { type DictValue, parseDictValue } from "../../models/config/dict-action.ts";
import { parseEvalOptions } from "../../runtime/eval/eval-options.ts";
import { checkEvaluation, evaluate, formatResults } from "../../runtime/eval/evaluate.ts";
import { reprLikePython } from "../../runtime/eval/python-float-format.ts";
import { ResultsFile, resultsFormat } from "../../runtime/eval/results-file.ts";
import { rng } from "../helpers/random.ts";

const test = suite("eval evaluate");

// Expected values from MMAction2 0.x's own BaseDataset.evaluate, accuracy.py, mmcv 1.x's
// DictAction, and CPython's json/pickle/PyYAML for the --out bytes (spec/eval/make-goldens.py).
const goldens = JSON.parse(readFileSync(new URL("./fixtures/mmaction2-evaluate.json", import.meta.url), "utf8"));
const dir = mkdtempSync(join(tmpdir(), "i3d-evaluate-"));

/** make-goldens.py's nan_matrix: rows of levels/levels steps as float32, some NaN */
function matrix(seed: number, n: number, classes: number, levels: number, nanRate: number): Float32Array[] {
  const r = rng(seed);
  return Array.from({ length: n }, () => {
    const row = new Float32Array(classes);
    for (let i = 0; i < classes; i++) {
      row[i] = Math.floor(r() * levels) / levels;
      if (nanRate > 0 && r() < nanRate) row[i] = NaN;
    }
    return row;
  });
}

/** "nan"/"inf" are stored as strings (JSON has no such numbers) */
const value = (x: number | string) => (typeof x === "number" ? x : x === "nan" ? NaN : x === "inf" ? Infinity : -Infinity);

test("evaluate() equals MMAction2's BaseDataset.evaluate: values, key order, printed lines", () => {
  for (const c of goldens.evaluate) {
    const scores = matrix(c.seed, c.n, c.classes, c.levels, c.nanRate);
    const { results, log } = evaluate(scores, c.labels, { ...c.request, numClasses: c.numClasses ?? undefined });
    const where = `seed ${c.seed} ${JSON.stringify(c.request)}`;
    assert.equal(Object.keys(results), c.results.map(([k]: [string]) => k), `keys, ${where}`);
    for (const [k, v] of c.results) assert.ok(Object.is(results[k], value(v)), `${k}: ${results[k]} vs ${v}, ${where}`);
    assert.equal(log, c.log, `log, ${where}`);
    assert.equal(formatResults(results), c.summary, `summary, ${where}`);
  }
});

test("the order of --eval is the order of evaluation and of the summary", () => {
  const scores = [Float32Array.from([0.1, 0.9]), Float32Array.from([0.8, 0.2]), Float32Array.from([0.4, 0.6])];
  const { results, log } = evaluate(scores, [1, 1, 0], { metrics: ["mean_class_accuracy", "top_k_accuracy"] });
  assert.equal(formatResults(results), ["mean_class_accuracy: 0.2500", "top1_acc: 0.3333", "top5_acc: 1.0000"]);
  assert.equal(log, ["", "Evaluating mean_class_accuracy ...", "", "mean_acc\t0.2500",
    "", "Evaluating top_k_accuracy ...", "", "top1_acc\t0.3333", "top5_acc\t1.0000"]);
});

test("average precision by hand: ties, no positives, a perfect ranking", () => {
  // scores 0.9 0.5 0.5 0.1, truth 1 0 1 0: thresholds after 0.9 and after the tied pair;
  // precision 1, 2/3; recall 1/2, 1 -> AP = 1/2 * 1 + 1/2 * 2/3
  assert.is(binaryAveragePrecision(Float32Array.from([0.9, 0.5, 0.5, 0.1]), [1, 0, 1, 0]), 0.5 + 0.5 * (2 / 3));
  assert.is(binaryAveragePrecision(Float32Array.from([0.1, 0.2, 0.3]), [0, 0, 1]), 1);
  assert.ok(Number.isNaN(binaryAveragePrecision(Float32Array.from([0.1, 0.2]), [0, 0])));
});

test("what MMAction2 rejects only after the run is rejected before it", () => {
  const rejects = (f: () => void, kind: string, message: RegExp) => {
    try {
      f();
      assert.unreachable("accepted");
    } catch (e) {
      assert.instance(e, I3DError);
      assert.is((e as I3DError).kind, kind);
      assert.match((e as Error).message, message);
    }
  };
  rejects(() => checkEvaluation({ metrics: ["accuracy"] }, [1]), "usage", /metric accuracy is not supported/);
  rejects(() => checkEvaluation({ metrics: ["top_k_accuracy"] }, [[1, 2]]), "usage", /top_k_accuracy needs one label per video/);
  rejects(() => checkEvaluation({ metrics: ["mean_average_precision"] }, [1]), "usage", /needs the dataset's num_classes/);
  rejects(() => checkEvaluation({ metrics: ["mmit_mean_average_precision"], numClasses: 3 }, [3]), "input", /label 3 is not below num_classes 3/);
  checkEvaluation({ metrics: ["mean_average_precision"], numClasses: 3 }, [[0, 2], [], 1]);
});

/** a DictValue in make-goldens.py's tagged form */
function tagged(v: DictValue): unknown {
  if (Array.isArray(v)) return v.map(tagged);
  if (v !== null && typeof v === "object") return "tuple" in v ? { tuple: v.tuple.map(tagged) } : { float: reprLikePython(v.float) };
  return v;
}

test("--eval-options values parse as mmcv's DictAction parses them", () => {
  for (const c of goldens.dictAction) assert.equal(tagged(parseDictValue(c.text)), c.value, c.text);
});

test("--eval-options: topk an int or a tuple (a list is MMAction2's TypeError), metrics a name or a list", () => {
  assert.equal(parseEvalOptions(["topk=3"]), { topk: [3], ignored: [] });
  assert.equal(parseEvalOptions(["topk=(5,1)", "metrics=mean_class_accuracy,top_k_accuracy", "foo=1"]), {
    topk: [5, 1],
    metrics: ["mean_class_accuracy", "top_k_accuracy"],
    ignored: ["foo"],
  });
  assert.equal(parseEvalOptions(["metrics=top_k_accuracy"]).metrics, ["top_k_accuracy"]);
  for (const bad of ["topk=1,5", "topk=[1,5]", "topk=1.0", "topk=(1,a)", "topk=True", "noequals"]) {
    assert.throws(() => parseEvalOptions([bad]), (e: unknown) => e instanceof I3DError && e.kind === "usage", bad);
  }
});

test("--out bytes equal mmcv.dump's for .json, .pkl (pickle protocol 2) and .yaml", async () => {
  for (const c of goldens.dumps) {
    const r = rng(c.seed);
    const rows = Array.from({ length: c.count }, (_, j) => {
      const row = Float32Array.from({ length: c.width }, () => (r() - 0.5) * 10 ** Math.floor(r() * 12 - 6));
      return c.noneEvery && j % c.noneEvery === c.noneEvery - 1 ? null : row;
    });
    for (const ext of ["json", "pkl", "yaml"]) {
      const path = join(dir, `rows${c.seed}.${ext}`);
      const file = new ResultsFile(path);
      for (const row of rows) file.add(row);
      await file.save();
      const bytes = readFileSync(path);
      const where = `${c.count} rows of ${c.width}, .${ext}`;
      assert.is(bytes.length, c[ext].bytes, where);
      assert.is(createHash("sha256").update(bytes).digest("hex"), c[ext].sha256, where);
    }
  }
});

test("--out formats by extension, as test.py's assert and mmcv.dump pick them", () => {
  assert.is(resultsFormat("r.json"), "json");
  assert.is(resultsFormat("a.b/r.pkl"), "pickle");
  assert.is(resultsFormat("r.pickle"), "pickle");
  assert.is(resultsFormat("r.yml"), "yaml");
  for (const bad of ["r.txt", "r", "r.JSON", "dir.json/r", ".json"]) {
    assert.throws(() => resultsFormat(bad), (e: unknown) => e instanceof I3DError && e.kind === "usage", bad);
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
