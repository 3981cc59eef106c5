// --cfg-options as mmcv 1.x's DictAction + Config.merge_from_dict(allow_list_keys=True) apply it
// in tools/test.py and demo.py. The expected dicts below are what those two give for the same
// words (worked through their code paths: setdefault per dotted key, then _merge_a_into_b).

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { mergeCfgOptions, parseCfgOptions } from "../../models/config/cfg-options.ts";
import type { PyDict } from "../../models/config/py-parser.ts";
import { resolveConfig } from "../../models/config/resolve.ts";
import { I3DError } from "../../models/errors.ts";
import { loadRecognizer } from "../../runtime/load-recognizer.ts";

const test = suite("config/cfg-options");

const base = (): PyDict => ({
  model: { backbone: { depth: 50, inflate: [1, 1] }, test_cfg: { average_clips: "prob" } },
  data: { test: { pipeline: [{ type: "DecordInit" }, { type: "SampleFrames", num_clips: 10 }], data_prefix: "a" } },
});

function rejects(words: string[], message: RegExp, cfg: PyDict = base()) {
  try {
    mergeCfgOptions(cfg, parseCfgOptions(words));
  } catch (e) {
    assert.ok(e instanceof I3DError, String(e));
    assert.match(e.message, message);
    assert.not.match(e.message, /\n/);
    return;
  }
  assert.unreachable(`${words.join(" ")} was accepted`);
}

test("DictAction values; a repeated key keeps its first place and its last value", () => {
  const words = ["model.test_cfg.average_clips=score", "a.b=(1,2)", "a.c=[1,[2,(3,4)]]", "a.d=1.5", "a.e=None", "a.f=TRUE", "a.g='x y'", "a.b=7", "a.h=1,2"];
  assert.equal(parseCfgOptions(words), [
    ["model.test_cfg.average_clips", "score"], ["a.b", 7], ["a.c", [1, [2, [3, 4]]]], ["a.d", 1.5], ["a.e", null],
    ["a.f", true], ["a.g", "xy"], ["a.h", [1, 2]],
  ]);
  assert.throws(() => parseCfgOptions(["video.mp4"]), (e: unknown) => e instanceof I3DError && /expected KEY=VALUE, got video\.mp4/.test(e.message));
  assert.throws(() => parseCfgOptions(["a=(1,2"]), (e: unknown) => e instanceof I3DError && /--cfg-options: imbalanced brackets/.test(e.message));
});

test("dotted keys merge into dicts, numbers index lists, new keys make new dicts; the input is untouched", () => {
  const cfg = base();
  const before = JSON.stringify(cfg);
  const out = mergeCfgOptions(cfg, parseCfgOptions([
    "model.test_cfg.average_clips=score", "data.test.pipeline.1.num_clips=3", "data.test.pipeline.1.twice_sample=True",
    "model.backbone.inflate=(0,1,0)", "model.test_cfg.max_testing_views=4", "new.deep.key=x", "data.test.data_prefix=/v",
  ]));
  assert.is(JSON.stringify(cfg), before);
  assert.equal(out, {
    model: { backbone: { depth: 50, inflate: [0, 1, 0] }, test_cfg: { average_clips: "score", max_testing_views: 4 } },
    data: { test: { pipeline: [{ type: "DecordInit" }, { type: "SampleFrames", num_clips: 3, twice_sample: true }], data_prefix: "/v" } },
    new: { deep: { key: "x" } },
  });
  // a value replaces a dict or list as a whole; a later whole value replaces earlier dotted ones
  assert.equal(mergeCfgOptions(base(), parseCfgOptions(["model.test_cfg=None", "data.test.pipeline=[]", "x.y=1", "x=2"])), {
    ...base(), model: { backbone: { depth: 50, inflate: [1, 1] }, test_cfg: null }, data: { test: { pipeline: [], data_prefix: "a" } }, x: 2,
  });
});

test("_delete_: popped where the key exists (the dict is replaced), kept where it does not", () => {
  const out = mergeCfgOptions(base(), parseCfgOptions(["model.backbone._delete_=True", "model.backbone.depth=18", "fresh._delete_=True"]));
  assert.equal((out.model as PyDict).backbone, { depth: 18 });
  assert.equal(out.fresh, { _delete_: true });
  const kept = mergeCfgOptions(base(), parseCfgOptions(["model.backbone._delete_=0", "model.backbone.depth=18"]));
  assert.equal((kept.model as PyDict).backbone, { depth: 18, inflate: [1, 1] });
});

test("what merge_from_dict refuses is a one-line config error naming the key", () => {
  rejects(["data.test.pipeline.2.type=Resize"], /data\.test\.pipeline\.2: index 2 exceeds the length of the list data\.test\.pipeline \(2\)/);
  rejects(["data.test.pipeline.1=3"], /a list element cannot be replaced as a whole/);
  rejects(["data.test.pipeline.first.type=x"], /data\.test\.pipeline is a list: index it with a number/);
  rejects(["model.backbone.depth.x=1"], /model\.backbone\.depth is an int in the config, so it has no keys to set/);
  rejects(["model.backbone.inflate.0.x=1"], /model\.backbone\.inflate\[0\] is an int, not a dict or list/);
  rejects(["a=1", "a.b=2"], /--cfg-options a\.b: a is also given a value of its own/);
});

test("resolveConfig merges them before validating: the zoo's pipeline, test_cfg, and a bad value", async () => {
  const name = "i3d_r50_video_32x2x1_100e_kinetics400_rgb";
  const r = await resolveConfig(name, { cfgOptions: parseCfgOptions(["model.test_cfg.average_clips=score", "data.test.pipeline.1.num_clips=3"]) });
  assert.is(r.testCfg.average_clips, "score");
  assert.is((r.testPipeline[1] as { num_clips: number }).num_clips, 3);
  assert.is(r.checkpoints.length > 0, true, "still the zoo entry's checkpoints");
  const plain = await resolveConfig(name);
  assert.is((plain.testPipeline[1] as { num_clips: number }).num_clips, 10, "the zoo's own dict is untouched");
  await resolveConfig(name, { cfgOptions: parseCfgOptions(["model.cls_head.num_classes=abc"]) }).then(
    () => assert.unreachable("accepted"),
    (e) => assert.ok(e instanceof I3DError && e.kind === "config" && /model\.cls_head\.num_classes/.test(e.message), String(e)),
  );
});

test("loadRecognizer: cfgOptions with an already resolved config are refused, not dropped", async () => {
  const config = await resolveConfig("i3d_r50_video_32x2x1_100e_kinetics400_rgb");
  const e = await loadRecognizer({ config, cfgOptions: [["model.test_cfg.average_clips", "score"]] }).catch((x) => x);
  assert.ok(e instanceof I3DError && /cfgOptions apply to a config given by name or file/.test(e.message), String(e));
});

test.run();
