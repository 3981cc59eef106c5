import { suite } from "uvu";
import * as assert from "uvu/assert";
import { averageClips, topK } from "../../runtime/average-clips.ts";

const test = suite("average_clips");

test("prob: softmax per view, then mean over views", () => {
  const logits = Float32Array.from([0, Math.log(3), 1000, 1000]); // two views, two classes
  const p = averageClips(logits, 2, "prob");
  assert.ok(Math.abs(p[0] - (0.25 + 0.5) / 2) < 1e-7 && Math.abs(p[1] - (0.75 + 0.5) / 2) < 1e-7, String(p));
});

test("score: mean of logits; null: untouched per-view logits", () => {
  const logits = Float32Array.from([1, 2, 3, 6]);
  assert.equal(Array.from(averageClips(logits, 2, "score")), [2, 4]);
  assert.equal(Array.from(averageClips(logits, 2, null)), [1, 2, 3, 6]);
});

test("topK: highest first, ties by lower index, k larger than classes", () => {
  assert.equal(topK([0.1, 0.5, 0.5, 0.9], 3), [{ index: 3, score: 0.9 }, { index: 1, score: 0.5 }, { index: 2, score: 0.5 }]);
  assert.is(topK([1, 2], 5).length, 2);
});

test.run();
