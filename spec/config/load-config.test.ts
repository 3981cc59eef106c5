// mmcv 1.x Config.fromfile semantics: _base_ chains, merging, _delete_, {{ }} substitution,
// against goldens produced by mmcv's own code, and the failures mmcv has (or would loop on).
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { loadConfigFile, mergeConfig } from "../../models/config/load-config.ts";
import { fixture, rejectsConfig, throwsConfig } from "./helpers.ts";

const test = suite("load-config");

for (const name of ["i3d_r50_rawframes", "i3d_nl_gaussian", "i3d_r50_video"]) {
  test(`mini/${name}.py merges exactly as mmcv's Config._file2dict does`, async () => {
    const expected = JSON.parse(readFileSync(fixture(`mini-expected/${name}.json`), "utf8"));
    const got = await loadConfigFile(fixture(`mini/${name}.py`));
    // JSON text comparison also checks the key order mmcv produces.
    assert.is(JSON.stringify(got), JSON.stringify(expected));
  });
}

test("a child's _delete_ dict replaces the base dict; other dicts merge key by key", async () => {
  const d = await loadConfigFile(fixture("mini/i3d_r50_rawframes.py"));
  const model = d.model as Record<string, Record<string, unknown>>;
  assert.equal(Object.keys(model.cls_head), ["type", "num_classes", "in_channels", "spatial_type", "dropout_ratio", "init_std"]);
  assert.equal(model.test_cfg, { average_clips: "prob" });
  // merged: the base's norm_cfg survives next to the child's overrides
  assert.equal(model.backbone.norm_cfg, { type: "BN3d", requires_grad: true });
  assert.equal(model.backbone.conv1_kernel, [5, 7, 7]);
  assert.is(model.train_cfg, null);
  // a top-level dict merges too: the child sets interval, the base's metrics stay
  assert.equal(d.evaluation, { interval: 10, metrics: ["top_k_accuracy", "mean_class_accuracy"] });
});

test("{{ _base_.x }} takes the value from the bases", async () => {
  const d = await loadConfigFile(fixture("mini/i3d_nl_gaussian.py"));
  assert.equal(d.eval_metrics, ["top_k_accuracy", "mean_class_accuracy"]);
});

test("{{ fileBasename }} & co. are substituted as mmcv does", async () => {
  const expected = JSON.parse(readFileSync(fixture("syntax/predefined_vars.expected.json"), "utf8"));
  assert.equal(await loadConfigFile(fixture("syntax/predefined_vars.py")), expected);
});

test("mergeConfig: lists and scalars replace, dicts merge, _delete_ is popped only on a match", () => {
  const base = { a: { x: 1, y: [1, 2] }, b: 1, c: { k: 1 } };
  const child = { a: { y: [3] }, b: { n: 1, _delete_: false }, d: { _delete_: true, z: 1 } };
  // b is an int in the base: a dict cannot merge into it
  throwsConfig(() => mergeConfig(structuredClone(child), base), "b is a dict in the child config but a int in its base");
  const ok = mergeConfig({ a: { y: [3] }, c: { _delete_: true, j: 2 }, d: { _delete_: true, z: 1 } }, base);
  assert.equal(ok, { a: { x: 1, y: [3] }, b: 1, c: { j: 2 }, d: { _delete_: true, z: 1 } });
  // the base is left untouched
  assert.equal(base, { a: { x: 1, y: [1, 2] }, b: 1, c: { k: 1 } });
});

test("a JSON config may have _base_ too, and must hold an object", async () => {
  const d = await loadConfigFile(fixture("json/i3d_r50_video.json"));
  assert.is((d.data as { test: { type: string } }).test.type, "VideoDataset");
});

test("error: a _base_ cycle names the chain", async () => {
  await rejectsConfig(
    loadConfigFile(fixture("errors/cycle_a.py")),
    "_base_ cycle:", "cycle_a.py -> ", "cycle_b.py -> ", /cycle_a\.py$/,
  );
});

test("error: a missing base names the file and who listed it", async () => {
  await rejectsConfig(
    loadConfigFile(fixture("errors/missing_base.py")),
    "no_such_base.py (listed in ", "missing_base.py) does not exist",
  );
});

test("error: a missing config file", async () => {
  await rejectsConfig(loadConfigFile(fixture("errors/not_here.py")), "config file ", "not_here.py does not exist");
});

test("error: two bases defining one key (mmcv raises KeyError)", async () => {
  await rejectsConfig(loadConfigFile(fixture("errors/duplicate_bases.py")), "duplicate key 'model' among the _base_ files");
});

test("error: a dict merged over None (mmcv raises TypeError)", async () => {
  await rejectsConfig(
    loadConfigFile(fixture("errors/dict_over_none.py")),
    "model.train_cfg is a dict in the child config but None in its base", "_delete_=True",
  );
});

test("error: bad syntax, an import, arithmetic name file:line", async () => {
  await rejectsConfig(loadConfigFile(fixture("errors/bad_syntax.py")), /bad_syntax\.py:3: expected a value, found ','/);
  await rejectsConfig(loadConfigFile(fixture("errors/import_os.py")), /import_os\.py:2: import statements are not supported/);
  await rejectsConfig(loadConfigFile(fixture("errors/arithmetic.py")), /arithmetic\.py:2: arithmetic \('\*'\)/);
});

test("error: a key mmcv reserves for itself", async () => {
  await rejectsConfig(loadConfigFile(fixture("errors/reserved_key.py")), "'filename' is reserved by mmcv");
});

test("error: unreadable JSON, YAML, other extensions", async () => {
  await rejectsConfig(loadConfigFile(fixture("errors/broken.json")), "broken.json is not valid JSON");
  await rejectsConfig(loadConfigFile(fixture("errors/whatever.yaml")), "YAML configs are not supported");
  await rejectsConfig(loadConfigFile(fixture("README.md")), "must end in .py or .json");
});

// --- hostile configs (fuzz reproducers): everything bounded before anything recursive runs

/** writes `files` (relative path -> text) into a fresh directory; returns its path */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), "i3d-config-"));
  for (const [rel, text] of Object.entries(files)) {
    mkdirSync(join(dir, rel, ".."), { recursive: true });
    writeFileSync(join(dir, rel), text);
  }
  return dir;
}

async function inTree<T>(files: Record<string, string>, fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = tree(files);
  try {
    return await fn(dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a .json config nested 100000 deep is refused right after JSON.parse (no stack overflow)", async () => {
  const deep = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
  await inTree({ "deep.json": `{"model": ${deep(100_000)}}`, "ok.json": `{"model": ${deep(100)}}` }, async (dir) => {
    await rejectsConfig(loadConfigFile(join(dir, "deep.json")), "deep.json: the value of 'model' nests more than 100 levels deep");
    const ok = await loadConfigFile(join(dir, "ok.json"));
    assert.ok(Array.isArray(ok.model));
  });
});

test("broken JSON: our own one-line message with line and column, no quoted source", async () => {
  await inTree({
    "broken.json": '{\n  "model": x\n}\n',
    "trailing.json": '{"a": [1, 2,]}',
    "cut.json": '{"a": "b',
    "ctrl.json": '{"a": "\u2028 ok", "b": "x\ny"}',
  }, async (dir) => {
    const e = await rejectsConfig(loadConfigFile(join(dir, "broken.json")), "broken.json is not valid JSON: unexpected 'x' where a value should be at line 2, column 12");
    assert.not.match(e.message, /[\r\u2028\u2029]|"model"/);
    await rejectsConfig(loadConfigFile(join(dir, "trailing.json")), "unexpected ']' where a value should be at line 1, column 13");
    await rejectsConfig(loadConfigFile(join(dir, "cut.json")), "unterminated string at line 1, column 7");
    await rejectsConfig(loadConfigFile(join(dir, "ctrl.json")), "control character inside a string (escape it) at line 1, column 22");
  });
});

test("_base_ fan-out is bounded by the loads mmcv would do; a diamond of bases still loads", async () => {
  const fan: Record<string, string> = { "fan.py": "_base_ = ['fan1.py']\n" };
  for (let i = 1; i <= 7; i++) fan[`fan${i}.py`] = i < 7 ? `_base_ = [${Array(10).fill(`'fan${i + 1}.py'`).join(", ")}]\n` : "\n";
  const started = performance.now();
  await inTree(fan, (dir) => rejectsConfig(loadConfigFile(join(dir, "fan.py")), "too many _base_ files (more than 64"));
  assert.ok(performance.now() - started < 5000);
  // top -> (left, right) -> shared: each key-less base may be listed twice, as mmcv allows
  await inTree({
    "top.py": "_base_ = ['left.py', 'right.py']\nmodel = dict(a=1)\n",
    "left.py": "_base_ = ['shared.py']\nleft = dict(x=[1, 2])\n",
    "right.py": "_base_ = 'shared.py'\nright = 2\n",
    "shared.py": "# nothing but a comment\n",
  }, async (dir) => {
    assert.equal(await loadConfigFile(join(dir, "top.py")), { left: { x: [1, 2] }, right: 2, model: { a: 1 } });
  });
});

test("a _base_ entry is joined to the file's folder before ~ could expand: '~/b.py' is ./~/b.py", async () => {
  // mmcv: _file2dict(osp.join(cfg_dir, f)) and only then osp.expanduser, which leaves
  // '/cfg/dir/~/b.py' alone
  await inTree({
    "child.py": "_base_ = ['~/b.py']\nx = 2\n",
    "~/b.py": "from_tilde_folder = True\n",
  }, async (dir) => {
    assert.equal(await loadConfigFile(join(dir, "child.py")), { from_tilde_folder: true, x: 2 });
  });
});

test("_base_ chains are bounded in depth", async () => {
  const chain: Record<string, string> = {};
  for (let i = 0; i < 20; i++) chain[`c${i}.py`] = `_base_ = ['c${i + 1}.py']\n`;
  chain["c20.py"] = "x = 1\n";
  await inTree(chain, (dir) => rejectsConfig(loadConfigFile(join(dir, "c0.py")), "_base_ files nest more than 16 levels deep"));
});

test("{{ _base_.x }} copies count against the value budget", async () => {
  const big = `big = [${Array(1000).fill("0").join(", ")}]\n`;
  const many = `_base_ = ['base.py']\nx = [${Array(2000).fill("{{ _base_.big }}").join(", ")}]\n`;
  await inTree({ "base.py": big, "child.py": many }, (dir) =>
    rejectsConfig(loadConfigFile(join(dir, "child.py")), "child.py: the config is too large: it builds more than 1000000 values"));
});

test("paths, keys and _base_ entries from the file are shown escaped and shortened", async () => {
  const long = `${"d".repeat(70_000)}.py`;
  await inTree({
    "long.py": `_base_ = ['${long}']\n`,
    "nl.py": "_base_ = ['a\\nb.py']\n",
    "deep.py": `_base_ = [${"[".repeat(99)}${"]".repeat(99)}]\n`,
    "keys.json": '{"_base_": ["k1.json", "k2.json"]}',
    "k1.json": '{"a\\nb": 1}',
    "k2.json": '{"a\\nb": 2}',
  }, async (dir) => {
    // (a name that long is refused by the file system: ENAMETOOLONG)
    const e1 = await rejectsConfig(loadConfigFile(join(dir, "long.py")), "cannot read _base_ file ", "dddd...dddd", "(listed in ");
    assert.ok(e1.message.length < 1000, `${e1.message.length} characters`);
    await rejectsConfig(loadConfigFile(join(dir, "nl.py")), "a\\x0ab.py (listed in ");
    const e3 = await rejectsConfig(loadConfigFile(join(dir, "deep.py")), "_base_ must be a path or a list of paths, got [[[[");
    assert.ok(e3.message.length < 400);
    await rejectsConfig(loadConfigFile(join(dir, "keys.json")), "duplicate key 'a\\x0ab' among the _base_ files");
  });
});

test.run();
