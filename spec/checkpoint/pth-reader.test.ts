// Real torch.save files (torch 1.13, made by spec/fixtures/checkpoints/make.py) in both
// on-disk formats: every tensor must come back bit-exact, meta as plain data, and storages
// that no state_dict tensor references (the optimizer's momentum buffers) never read.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseCheckpoint, readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { ZipReader } from "../../models/checkpoint/zip-reader.ts";
import { bitsOf, expected, type ExpectedTensor, fixture, fixturePath, i3dError, i3dErrorAsync } from "./fixtures.ts";
import { OP, pickle, type PickleWriter } from "./pickle-writer.ts";
import { makeZip } from "./zip-writer.ts";

function assertStateDict(
  stateDict: Map<string, { key: string; dtype: string; shape: number[]; toFloat32(): Float32Array }>,
  want: Record<string, ExpectedTensor>,
): void {
  assert.equal([...stateDict.keys()], Object.keys(want), "keys and their order");
  for (const [key, t] of Object.entries(want)) {
    const got = stateDict.get(key)!;
    assert.is(got.key, key);
    assert.is(got.dtype, t.dtype, `${key} dtype`);
    assert.equal(got.shape, t.shape, `${key} shape`);
    assert.equal(bitsOf(got.toFloat32()), t.bits, `${key} values`);
  }
}

for (const format of ["zip", "legacy"] as const) {
  test(`${format}: training checkpoint state_dict is bit-exact`, async () => {
    const c = await readCheckpoint(fixturePath(`train-${format}.pth`));
    assert.is(c.format, format);
    assertStateDict(c.stateDict, expected.train.stateDict);
  });

  test(`${format}: meta comes back as plain data (config text, numbers, numpy values)`, async () => {
    const { meta } = await readCheckpoint(fixturePath(`train-${format}.pth`));
    const m = meta as Record<string, unknown>;
    assert.is(m.config, expected.config);
    assert.is(m.mmcv_version, "1.3.1");
    assert.is(m.epoch, 100);
    assert.is(m.iter, 123456);
    assert.is(m.seed, 42); // numpy.int64
    assert.is(m.lr, 0.0125); // numpy.float64
    assert.is(m.loss, 0.5); // numpy.float32
    assert.is(m.flag, true); // numpy.bool_
    assert.is(m.name, "i3d"); // numpy.str_
    assert.is(m.dtype, "float32"); // numpy.dtype
    assert.is(m.big, 2n ** 70n);
    assert.equal(m.CLASSES, ["abseiling", "air drumming"]);
    assert.equal(m.hook_msgs, { last_ckpt: "work_dirs/i3d/epoch_100.pth" });
    assert.equal(m.ints, new Map([[1, "one"], [2, "two"]]));
    const hist = m.histogram as { dtype: string; shape: number[]; data: BigInt64Array };
    assert.is(hist.dtype, "int64");
    assert.equal(hist.shape, [3]);
    assert.equal([...hist.data], [0n, 1n, 2n]);
    assert.not.ok("optimizer" in m);
  });

  test(`${format}: optimizer storages are never read`, async () => {
    const reads: string[] = [];
    const c = await readCheckpoint(fixturePath(`train-${format}.pth`), { onStorageRead: (key) => reads.push(key) });
    assert.equal(reads, [], "nothing is read before a tensor is converted");
    for (const t of c.stateDict.values()) t.toFloat32();
    assert.is(new Set(reads).size, reads.length, "each storage is read once");
    assert.is(reads.length, expected.train.stateDictStorages);
    assert.ok(expected.train.totalStorages > expected.train.stateDictStorages + 5, "the fixture has optimizer state");
  });

  test(`${format}: bare state_dict (no 'state_dict' wrapper)`, async () => {
    const c = await readCheckpoint(fixturePath(`bare-${format}.pth`));
    assertStateDict(c.stateDict, expected.train.stateDict);
    assert.is(c.meta, undefined);
  });

  test(`${format}: non-contiguous views, shared storages, fp16 / bf16 / f64 / int dtypes`, async () => {
    const reads: string[] = [];
    const c = await readCheckpoint(fixturePath(`views-${format}.pth`), { onStorageRead: (k) => reads.push(k) });
    assertStateDict(c.stateDict, expected.views.stateDict);
    // base, transposed, rows, strided and column share one storage; read once
    assert.is(reads.length, expected.views.stateDictStorages);
  });
}

test("zip: a corrupted optimizer record does not matter, a corrupted weight does", () => {
  // proof by CRC: every record no state_dict tensor uses is overwritten; if the reader
  // touched any of them, its CRC check would fail
  const bytes = fixture("train-zip.pth");
  const reads = new Set<string>();
  const clean = parseCheckpoint(bytes, "train-zip.pth", { onStorageRead: (k) => reads.add(k) });
  for (const t of clean.stateDict.values()) t.toFloat32();

  const zip = new ZipReader(bytes, { source: "x" });
  const corrupted = bytes.slice();
  let overwritten = 0;
  for (const entry of zip.entries.values()) {
    const key = /\/data\/(\d+)$/.exec(entry.name)?.[1];
    if (key === undefined || reads.has(key)) continue;
    corrupted.fill(0xee, entry.dataOffset, entry.dataOffset + entry.compressedSize);
    overwritten++;
  }
  assert.is(overwritten, expected.train.totalStorages - expected.train.stateDictStorages);
  const c = parseCheckpoint(corrupted, "train-zip.pth");
  assertStateDict(c.stateDict, expected.train.stateDict);

  // control: the same damage to a weight's record is caught
  const weight = zip.entries.get(`train-zip/data/${[...reads][0]}`)!;
  const broken = bytes.slice();
  broken[weight.dataOffset] ^= 0x01;
  const c2 = parseCheckpoint(broken, "train-zip.pth");
  const message = i3dError(() => {
    for (const t of c2.stateDict.values()) t.toFloat32();
  }, "checkpoint");
  assert.match(message, /CRC-32/);
});

test("zip: the top folder is taken from the archive, not assumed", () => {
  const zip = new ZipReader(fixture("bare-zip.pth"), { source: "x" });
  assert.ok(zip.has("archive/data.pkl"), "saved to a buffer: 'archive'");
  assert.ok(new ZipReader(fixture("train-zip.pth"), { source: "x" }).has("train-zip/data.pkl"), "saved to a path: the stem");
  // re-pack bare-zip under another folder name: still loads
  const entries = zip.names().map((name) => ({ name: name.replace(/^archive\//, "renamed-model/"), data: zip.read(name) }));
  const c = parseCheckpoint(makeZip(entries, { align: 64 }).bytes, "renamed.pth");
  assertStateDict(c.stateDict, expected.train.stateDict);
});

test("zip: deflated and zip64 re-packs of a torch file load the same", () => {
  const zip = new ZipReader(fixture("train-zip.pth"), { source: "x" });
  const entries = zip.names().map((name) => ({ name, data: zip.read(name), method: 8 as const }));
  for (const zip64 of [false, true]) {
    const c = parseCheckpoint(makeZip(entries, { zip64 }).bytes, "repacked.pth");
    assertStateDict(c.stateDict, expected.train.stateDict);
    assert.is((c.meta as { config: string }).config, expected.config);
  }
});

test("module. prefixes are stripped as mmcv's load_checkpoint does", async () => {
  const c = await readCheckpoint(fixturePath("module-zip.pth"));
  assertStateDict(c.stateDict, expected.module.stateDict);
});

test("bytes can be passed instead of a path", async () => {
  const c = await readCheckpoint(fixture("views-legacy.pth"));
  assert.is(c.format, "legacy");
  assertStateDict(c.stateDict, expected.views.stateDict);
});

test("safetensors is detected by content", async () => {
  const c = await readCheckpoint(fixturePath("small.safetensors"));
  assert.is(c.format, "safetensors");
  assertStateDict(c.stateDict, expected.safetensors.stateDict);
  assert.equal(c.meta, expected.safetensors.metadata);
});

test("float32 results of aligned zip records are views, not copies", () => {
  const bytes = fixture("train-zip.pth");
  const c = parseCheckpoint(bytes, "train-zip.pth");
  const w = c.stateDict.get("backbone.conv1.conv.weight")!.toFloat32();
  assert.is(w.buffer, bytes.buffer, "shares the file's buffer");
});

test("files that are not checkpoints get one clear error naming the file", async () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array(0), /x\.pth: the file is empty/],
    [new TextEncoder().encode("<!DOCTYPE html><html>404</html>"), /HTML/],
    [new TextEncoder().encode("hello world, not a model"), /not a PyTorch checkpoint/],
    [fixture("npy/f4.npy"), /NumPy/],
    [makeZip([{ name: "a/b.txt", data: new Uint8Array(3) }]).bytes, /no a\/data\.pkl/],
    [makeZip([]).bytes, /empty/],
    [Uint8Array.from([0x80, 0x02, 0x4b, 0x07, 0x2e]), /no torch magic number/],
  ];
  for (const [bytes, pattern] of cases) {
    const message = i3dError(() => parseCheckpoint(bytes, "x.pth"), "checkpoint");
    assert.match(message, /^x\.pth: /);
    assert.match(message, pattern);
  }
  const missing = await i3dErrorAsync(() => readCheckpoint(fixturePath("does-not-exist.pth")), "io");
  assert.match(missing, /does-not-exist\.pth: no such file/);
});

test("a checkpoint whose top level is not a dict of tensors is refused clearly", () => {
  // {'model': 3} saved as a legacy file: magic, protocol, sys_info, main pickle, keys
  const parts = [
    [0x80, 0x02, 0x8a, 0x0a, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, 0x2e],
    [0x80, 0x02, 0x4d, 0xe9, 0x03, 0x2e],
    [0x80, 0x02, 0x7d, 0x58, 13, 0, 0, 0, ...new TextEncoder().encode("little_endian"), 0x88, 0x73, 0x2e],
    [0x80, 0x02, 0x7d, 0x58, 5, 0, 0, 0, ...new TextEncoder().encode("model"), 0x4b, 3, 0x73, 0x2e],
    [0x80, 0x02, 0x5d, 0x2e],
  ];
  const bytes = Uint8Array.from(parts.flat());
  const message = i3dError(() => parseCheckpoint(bytes, "odd.pth"), "checkpoint");
  assert.match(message, /no 'state_dict' and its entry "model" is a int, not a tensor/);
});

// --- hostile files (fuzz reproducers)

/** torch._utils._rebuild_tensor_v2 of a 1-d float tensor over storage "0" of `numel` elements */
function tensorOver(w: PickleWriter, numel: number): void {
  w.global("torch._utils", "_rebuild_tensor_v2").mark();
  w.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(numel).tuple().op(OP.BINPERSID);
  w.int(0).mark().int(numel).tuple().mark().int(1).tuple().op(OP.NEWFALSE);
  w.global("collections", "OrderedDict").op(OP.EMPTY_TUPLE).reduce().tuple().reduce();
}

/** a zip checkpoint whose state_dict has `entries` keys, all the same tensor (a memo reference) */
function aliasing(entries: number, numel: number): Uint8Array {
  const body = pickle((w) => {
    w.op(OP.EMPTY_DICT).str("t0");
    tensorOver(w, numel);
    w.op(OP.BINPUT).raw(1).op(OP.SETITEM);
    for (let i = 1; i < entries; i++) w.str(`t${i}`).op(OP.BINGET).raw(1).op(OP.SETITEM);
  });
  const storage = new Uint8Array(numel * 4);
  new Float32Array(storage.buffer).fill(0.5);
  return makeZip([
    { name: "archive/data.pkl", data: body },
    { name: "archive/data/0", data: storage },
    { name: "archive/version", data: new TextEncoder().encode("3\n") },
  ], { align: 64 }).bytes;
}

test("state_dict entries aliasing one storage may not expand past 4x the file: refused from the shapes, nothing read", () => {
  const reads: string[] = [];
  const bytes = aliasing(2000, 16384);
  const message = i3dError(() => parseCheckpoint(bytes, "alias.pth", { onStorageRead: (k) => reads.push(k) }), "checkpoint");
  assert.match(message, /^alias\.pth: state_dict tensors hold more than \d+ bytes \(4x the \d+-byte file \+ 1 MiB\) because entries alias the same storage \("t0" and "t1", \.\.\.\)/);
  assert.equal(reads, []);
  // a little sharing (views of one storage, as torch may write) is fine
  const few = parseCheckpoint(aliasing(3, 16384), "few.pth");
  assert.equal([...few.stateDict.keys()], ["t0", "t1", "t2"]);
  assert.is(few.stateDict.get("t2")!.toFloat32()[16383], 0.5);
});

/** a legacy file: magic number, then `protocol` (a pickle body) and nothing else */
function legacyWithProtocol(protocol: (w: PickleWriter) => void): Uint8Array {
  const magic = pickle((w) => w.op(OP.LONG1).raw(10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19));
  const second = pickle(protocol);
  const out = new Uint8Array(magic.length + second.length);
  out.set(magic);
  out.set(second, magic.length);
  return out;
}

test("legacy: a protocol version that is not a number is named by its type, never formatted", () => {
  const deep = legacyWithProtocol((w) => {
    for (let i = 0; i < 10_000; i++) w.op(OP.EMPTY_LIST);
    for (let i = 1; i < 10_000; i++) w.op(OP.APPEND);
  });
  assert.match(i3dError(() => parseCheckpoint(deep, "p.pth"), "checkpoint"), /^p\.pth: has legacy protocol version of type list, expected 1001$/);
  const text = legacyWithProtocol((w) => w.str("1001\n2"));
  assert.match(i3dError(() => parseCheckpoint(text, "p.pth"), "checkpoint"), /legacy protocol version of type str, expected 1001/);
  const other = legacyWithProtocol((w) => w.int(1000));
  assert.match(i3dError(() => parseCheckpoint(other, "p.pth"), "checkpoint"), /legacy protocol version 1000, expected 1001/);
});

test("a persistent id's kind is shown escaped and shortened", () => {
  const withKind = (kind: string) => makeZip([
    { name: "archive/data.pkl", data: pickle((w) => w.mark().str(kind).tuple().op(OP.BINPERSID)) },
  ]).bytes;
  const m1 = i3dError(() => parseCheckpoint(withKind("a\nb\u2028c"), "k.pth"), "checkpoint");
  assert.ok(m1.includes("unsupported persistent id 'a\\x0ab\\u2028c' (a tuple)"), m1);
  const m2 = i3dError(() => parseCheckpoint(withKind("x".repeat(70_000)), "k.pth"), "checkpoint");
  assert.ok(m2.length < 300, `${m2.length} characters`);
});

test.run();
