// Hand-written hostile inputs, each of which must be refused with an I3DError (and without a
// hang or an allocation beyond the oracle's limits): exploit pickles (os.system,
// builtins.exec, subprocess.Popen, posix.system, nested __reduce__, INST / OBJ / BUILD / NEWOBJ
// payloads, memo tricks, deep nesting), zip bombs and forged zip structures, absurd tensor
// shapes, forged safetensors offsets, .npy shapes whose product overflows, and configs and
// annotation lists built to exhaust the parsers. `knownBug` marks the cases that currently
// fail (see known-bugs.ts); the default suite leaves those out.

import { OP, PickleWriter } from "../checkpoint/pickle-writer.ts";
import { makeZip } from "../checkpoint/zip-writer.ts";
import { ascii, concat, writeIntLE } from "./byte-mutations.ts";
import type { FuzzInput, TargetName } from "./fuzz-input.ts";
import { deepNesting } from "./pickle-mutations.ts";
import { joinNpy } from "./npy-mutations.ts";
import { joinSafetensors } from "./safetensors-mutations.ts";

export interface HostileCase {
  id: string;
  /** what the message must say (besides being a one-line I3DError) */
  expect: RegExp;
  input: FuzzInput;
  /** the known bug (known-bugs.ts) that makes this case fail today */
  knownBug?: string;
}

const enc = new TextEncoder();

function input(target: TargetName, name: string, bytes: Uint8Array, how: string, options?: Record<string, unknown>): FuzzInput {
  return { target, name, bytes, how: `hostile: ${how}`, options };
}

/** proto 2, body, STOP */
function pkl(body: (w: PickleWriter) => void, protocol = 2): Uint8Array {
  const w = new PickleWriter().proto(protocol);
  body(w);
  return w.stop().build();
}

/** proto 2, raw opcodes, STOP (for bodies too long to spell through PickleWriter) */
function pklBytes(...parts: Uint8Array[]): Uint8Array {
  return concat(Uint8Array.of(OP.PROTO, 2), ...parts, Uint8Array.of(OP.STOP));
}

/** a zip checkpoint around a pickle (and storage records) */
function zipCheckpoint(pickle: Uint8Array, storages: Uint8Array[] = [], top = "archive"): Uint8Array {
  return makeZip([
    { name: `${top}/data.pkl`, data: pickle },
    ...storages.map((data, i) => ({ name: `${top}/data/${i}`, data })),
    { name: `${top}/version`, data: enc.encode("3\n") },
  ], { align: 64 }).bytes;
}

/** torch._utils._rebuild_tensor_v2 over storage 0 (FloatStorage of `numel`) with size / stride */
function tensor(w: PickleWriter, numel: number, size: number[], stride: number[], longInts = false): void {
  const int = (v: number) => {
    if (longInts && v >= 2 ** 31) {
      const b = new Uint8Array(8);
      writeIntLE(b, 0, 8, BigInt(v));
      w.op(OP.LONG1).raw(8, ...b);
    } else w.int(v);
  };
  w.global("torch._utils", "_rebuild_tensor_v2").mark();
  w.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu");
  int(numel);
  w.tuple().op(OP.BINPERSID);
  w.int(0);
  w.mark();
  for (const d of size) int(d);
  w.tuple().mark();
  for (const s of stride) int(s);
  w.tuple().op(OP.NEWFALSE).global("collections", "OrderedDict").op(OP.EMPTY_TUPLE).reduce().tuple().reduce();
}

const refused = (name: string) => new RegExp(`refusing to load: the checkpoint references ${name.replace(/\./g, "\\.")}\\b`);

function pickleCases(): HostileCase[] {
  const cases: Array<[string, RegExp, Uint8Array]> = [
    ["os.system via GLOBAL + REDUCE", refused("os.system"), pkl((w) => w.call("os", "system", "echo pwned"))],
    ["builtins.exec via STACK_GLOBAL", refused("builtins.exec"), pkl((w) => w.stackGlobal("builtins", "exec").mark().str("import os").tuple().reduce(), 4)],
    ["subprocess.Popen via NEWOBJ", refused("subprocess.Popen"), pkl((w) => w.global("subprocess", "Popen").str("id").op(OP.TUPLE1).op(OP.NEWOBJ))],
    ["posix.system via INST", refused("posix.system"), new PickleWriter().mark().str("id").op(OP.INST).line("posix").line("system").stop().build()],
    ["nt.system via OBJ", refused("nt.system"), new PickleWriter().mark().global("nt", "system").str("calc").op(OP.OBJ).stop().build()],
    ["Python 2 commands.Popen", refused("subprocess.Popen"), pkl((w) => w.call("commands", "Popen", "id"))],
    ["nested __reduce__: getattr(__import__('os'), 'system')('id')", refused("builtins.getattr"),
      pkl((w) => w.global("builtins", "getattr").mark().call("builtins", "__import__", "os").str("system").tuple().reduce().mark().str("id").tuple().reduce())],
    ["BUILD on a dict", /sets the state \(BUILD\) of a dict/, pkl((w) => w.op(OP.EMPTY_DICT).op(OP.EMPTY_DICT).str("__setstate__").str("x").op(OP.SETITEM).op(OP.BUILD))],
    ["BUILD whose state holds os.system", refused("os.system"),
      pkl((w) => w.global("collections", "OrderedDict").op(OP.EMPTY_TUPLE).reduce().op(OP.EMPTY_DICT).str("x").call("os", "system", "id").op(OP.SETITEM).op(OP.BUILD))],
    ["NEWOBJ_EX with keyword arguments", /refusing to load/, pkl((w) => w.global("collections", "OrderedDict").op(OP.EMPTY_TUPLE).op(OP.EMPTY_DICT).str("k").str("v").op(OP.SETITEM).op(OP.NEWOBJ_EX), 4)],
    ["EXT1 extension registry", /extension registry/, pkl((w) => w.op(OP.EXT1).raw(1).op(OP.EMPTY_TUPLE).reduce())],
    ["memo read before write", /memo entry 9 is read before it is written/, pkl((w) => w.op(OP.BINGET).raw(9))],
    ["LONG_BINGET 2^32-1", /memo entry 4294967295/, pkl((w) => w.op(OP.LONG_BINGET).u32(0xffffffff))],
    ["os.system stashed in the memo and fetched", refused("os.system"), pkl((w) => w.global("os", "system").op(OP.BINPUT).raw(0).op(OP.POP).op(OP.BINGET).raw(0))],
    ["100000 open MARKs", /open MARKs/, pklBytes(deepNesting("mark", 100_000), Uint8Array.of(OP.NONE))],
    ["lists nested 100000 deep", /nested more than \d+ levels/, pklBytes(deepNesting("list", 100_000))],
    ["tuples nested 100000 deep (TUPLE1)", /nested more than \d+ levels/, pklBytes(deepNesting("tuple1", 100_000))],
    ["dicts nested 20000 deep", /nested more than \d+ levels/, pklBytes(deepNesting("dict", 20_000))],
    ["BINUNICODE claiming 2^32-1 bytes", /truncated/, pkl((w) => w.op(OP.BINUNICODE).u32(0xffffffff).raw(0x41))],
    ["BINBYTES8 claiming 2^63 bytes", /truncated/, pkl((w) => w.op(OP.BINBYTES8).u32(0).u32(0x80000000).raw(0x41), 4)],
    ["FRAME of 2^62 bytes", /truncated/, pkl((w) => w.op(OP.FRAME).u32(0).u32(0x40000000).none(), 4)],
    ["LONG4 of 2^31-1 bytes", /truncated/, pkl((w) => w.op(OP.LONG4).u32(0x7fffffff).raw(1))],
    ["a persistent id outside a checkpoint", /persistent id/, pkl((w) => w.mark().str("storage").tuple().op(OP.BINPERSID))],
    ["INT with 5000 digits", /malformed: INT argument/, pkl((w) => w.op(OP.INT).line("9".repeat(5000)))],
  ];
  const out: HostileCase[] = [
    {
      id: "zip data.pkl: a persistent id whose kind has a newline", expect: /unsupported persistent id/,
      input: input("pth", "pid.pth", zipCheckpoint(pkl((w) => w.mark().str("a\nb").tuple().op(OP.BINPERSID))), "persistent id 'a\\nb'"),
    },
    {
      id: "zip data.pkl: a persistent id whose kind is 70000 characters", expect: /unsupported persistent id/,
      input: input("pth", "pid2.pth", zipCheckpoint(pkl((w) => w.mark().str("x".repeat(70_000)).tuple().op(OP.BINPERSID))), "persistent id of 70000 characters"),
    },
    {
      id: "pickle: _codecs.encode to an encoding with a newline", expect: /_codecs\.encode/,
      input: input("pth", "enc.pkl", pkl((w) => w.global("_codecs", "encode").mark().str("x").str("no\nsuch").tuple().reduce()), "encoding 'no\\nsuch'"),
    },
  ];
  for (const [id, expect, bytes] of cases) {
    out.push({ id: `pickle: ${id}`, expect, input: input("pth", "evil.pkl", bytes, id) });
    // the same payload as a zip checkpoint's data.pkl (where a value that is not a dict is
    // refused as such before its metadata is looked at)
    const inZip = new RegExp(`${expect.source}|holds a \\w+, not a dict of tensors|is a \\w+, not a tensor`);
    out.push({ id: `zip data.pkl: ${id}`, expect: inZip, input: input("pth", "evil.pth", zipCheckpoint(bytes), `${id} in data.pkl`) });
  }
  return out;
}

function zipCases(): HostileCase[] {
  const good = zipCheckpoint(pkl((w) => w.op(OP.EMPTY_DICT)));
  const cases: HostileCase[] = [];
  // a deflated record claiming 4 GiB from a few bytes: refused by the deflate ratio bound
  {
    const zip = makeZip([{ name: "archive/data.pkl", data: new Uint8Array(1000), method: 8 }, { name: "archive/version", data: enc.encode("3\n") }]);
    const bytes = zip.bytes.slice();
    writeIntLE(bytes, zip.central[0] + 24, 4, 0xfffffffen);
    writeIntLE(bytes, zip.local[0] + 22, 4, 0xfffffffen);
    cases.push({ id: "zip: deflated entry claiming 4 GiB", expect: /zip bomb/, input: input("pth", "bomb.pth", bytes, "size field 4 GiB") });
  }
  // a genuine bomb: 32 MiB of zeros deflate to ~32 KiB; every size field is true
  cases.push({
    id: "zip: genuine deflate bomb (32 MiB data.pkl from 32 KiB)",
    expect: /bomb|too large|inflate|compress|size/,
    input: input("pth", "bomb.pth", makeZip([{ name: "archive/data.pkl", data: new Uint8Array(32 << 20), method: 8 }, { name: "archive/version", data: enc.encode("3\n") }]).bytes, "genuine bomb"),
  });
  // overlapping records: the first record's sizes are raised to cover the second
  {
    const zip = makeZip([{ name: "archive/data.pkl", data: pkl((w) => w.op(OP.EMPTY_DICT)) }, { name: "archive/version", data: enc.encode("3\n") }]);
    const bytes = zip.bytes.slice();
    const grow = zip.local[1] - zip.local[0];
    for (const at of [zip.central[0] + 20, zip.central[0] + 24]) writeIntLE(bytes, at, 4, BigInt(grow));
    cases.push({ id: "zip: overlapping entries", expect: /overlap|CRC|runs past|local header/, input: input("pth", "overlap.pth", bytes, "overlap") });
  }
  {
    const bytes = makeZip([{ name: "archive/data.pkl", data: new Uint8Array([0x80, 2, 0x7d, 0x2e]) }, { name: "archive/data.pkl", data: new Uint8Array([0x80, 2, 0x7d, 0x2e]) }]).bytes;
    cases.push({ id: "zip: two entries with one name", expect: /two entries named/, input: input("pth", "dup.pth", bytes, "duplicate names") });
  }
  {
    const zip = makeZip([{ name: "archive/data.pkl", data: new Uint8Array([0x80, 2, 0x7d, 0x2e]) }], { zip64: true });
    const bytes = zip.bytes.slice();
    const locator = zip.end - 20;
    writeIntLE(bytes, locator + 8, 8, 2n ** 62n);
    cases.push({ id: "zip: zip64 locator pointing 2^62 bytes in", expect: /beyond the file/, input: input("pth", "z64.pth", bytes, "zip64 locator") });
  }
  {
    const bytes = good.slice();
    const end = bytes.length - 22;
    writeIntLE(bytes, end + 10, 2, 0xffffn);
    writeIntLE(bytes, end + 8, 2, 0xffffn);
    cases.push({ id: "zip: 65535 entries claimed", expect: /entries in a|corrupted/, input: input("pth", "count.pth", bytes, "entry count") });
  }
  return cases;
}

function shapeCases(): HostileCase[] {
  const storage = new Uint8Array(16);
  const big = 2 ** 31;
  const stateDict = (size: number[], stride: number[], numel = 4) =>
    pkl((w) => {
      w.op(OP.EMPTY_DICT).str("w");
      tensor(w, numel, size, stride, true);
      w.op(OP.SETITEM);
    });
  const legacyCount = (): Uint8Array => {
    // a legacy file whose storage claims 2^52 elements
    const one = (b: (w: PickleWriter) => void) => pkl(b);
    const magic = one((w) => w.op(OP.LONG1).raw(10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19));
    const proto = one((w) => w.op(OP.BININT2).u16(1001));
    const sys = one((w) => w.op(OP.EMPTY_DICT).str("little_endian").op(OP.NEWTRUE).op(OP.SETITEM));
    const main = pkl((w) => {
      w.op(OP.EMPTY_DICT).str("w");
      w.global("torch._utils", "_rebuild_tensor_v2").mark();
      w.mark().str("storage").global("torch", "FloatStorage").str("0").str("cpu").int(4).none().tuple().op(OP.BINPERSID);
      w.int(0).mark().int(4).tuple().mark().int(1).tuple().op(OP.NEWFALSE).global("collections", "OrderedDict").op(OP.EMPTY_TUPLE).reduce().tuple().reduce();
      w.op(OP.SETITEM);
    });
    const keys = one((w) => w.op(OP.EMPTY_LIST).str("0").op(OP.APPEND));
    const count = new Uint8Array(8);
    writeIntLE(count, 0, 8, 2n ** 52n);
    return concat(magic, proto, sys, main, keys, count, new Uint8Array(16));
  };
  const st = (header: unknown, data = new Uint8Array(16)) => joinSafetensors(JSON.stringify(header), data);
  const npy = (shape: string, data = new Uint8Array(0)) => joinNpy(1, `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }`, data);
  const aliasing = (): Uint8Array => {
    // one 64 KiB storage, and 2000 state_dict entries that are all the same tensor (memo)
    const numel = 16384;
    const body = pkl((w) => {
      w.op(OP.EMPTY_DICT).str("t0");
      tensor(w, numel, [numel], [1]);
      w.op(OP.BINPUT).raw(1).op(OP.SETITEM);
      for (let i = 1; i < 2000; i++) w.str(`t${i}`).op(OP.BINGET).raw(1).op(OP.SETITEM);
    });
    return zipCheckpoint(body, [new Uint8Array(numel * 4)]);
  };
  return [
    { id: "tensor [2^31, 2^31] over 4 elements", expect: /overflows|reaches past its storage|more elements/, input: input("pth", "shape.pth", zipCheckpoint(stateDict([big, big], [big, 1]), [storage]), "[2^31, 2^31]") },
    { id: "tensor [2^31, 2^31] with stride 0 (a broadcast view)", expect: /overflows|reaches past|broadcast/, input: input("pth", "bcast.pth", zipCheckpoint(stateDict([big, big], [0, 0]), [storage]), "stride 0") },
    { id: "storage claiming 2^40 elements over 16 bytes", expect: /holds 16 bytes/, input: input("pth", "numel.pth", zipCheckpoint(stateDict([2 ** 40], [1], 2 ** 40), [storage]), "numel 2^40") },
    { id: "tensor size product beyond 2^53", expect: /overflows|reaches past|more elements/, input: input("pth", "prod.pth", zipCheckpoint(stateDict([2 ** 40, 2 ** 40, 2 ** 40], [1, 1, 1]), [storage]), "product 2^120") },
    {
      id: "legacy file whose protocol version is a list nested 10000 deep", expect: /legacy protocol version/,
      input: input("pth", "proto.pth", concat(
        pkl((w) => w.op(OP.LONG1).raw(10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19)),
        pklBytes(deepNesting("list", 10_000)),
      ), "deep protocol"),
    },
    { id: "legacy storage claiming 2^52 elements", expect: /truncated/, input: input("pth", "legacy.pth", legacyCount(), "legacy count 2^52") },
    {
      id: "state_dict of 2000 entries aliasing one 64 KiB storage (expands 2000x)",
      expect: /alias|same storage|shared|expand/,
      input: input("pth", "alias.pth", aliasing(), "aliasing"),
    },
    { id: "safetensors shape [2^31, 2^31]", expect: /impossibly large|needs/, input: input("safetensors", "big.safetensors", st({ w: { dtype: "F32", shape: [big, big], data_offsets: [0, 16] } }), "[2^31, 2^31]") },
    {
      id: "safetensors dtype that is an object", expect: /unsupported dtype/,
      input: input("safetensors", "dt.safetensors", st({ w: { dtype: { F32: 1 }, shape: [1], data_offsets: [0, 4] } }), "dtype object"),
    },
    {
      id: "safetensors dtype {\"toString\": 1}", expect: /unsupported dtype/,
      input: input("safetensors", "ts.safetensors", st({ w: { dtype: { toString: 1 }, shape: [1], data_offsets: [0, 4] } }), "dtype with a toString key"),
    },
    {
      id: "safetensors dtype nested 10000 deep", expect: /unsupported dtype/,
      input: input("safetensors", "deep.safetensors", joinSafetensors(`{"w": {"dtype": ${"[".repeat(10_000)}${"]".repeat(10_000)}, "shape": [1], "data_offsets": [0, 4]}}`, new Uint8Array(4)), "deep dtype"),
    },
    { id: "safetensors overlapping offsets", expect: /overlap/, input: input("safetensors", "ov.safetensors", st({ a: { dtype: "F32", shape: [3], data_offsets: [0, 12] }, b: { dtype: "F32", shape: [2], data_offsets: [8, 16] } }), "overlap") },
    { id: "safetensors offsets past the data", expect: /lie outside/, input: input("safetensors", "oob.safetensors", st({ a: { dtype: "F32", shape: [4], data_offsets: [16, 32] } }), "out of range") },
    { id: "safetensors offsets reversed", expect: /lie outside/, input: input("safetensors", "rev.safetensors", st({ a: { dtype: "F32", shape: [0], data_offsets: [8, 4] } }), "reversed") },
    {
      id: "safetensors header length 2^63", expect: /beyond|runs past/,
      input: input("safetensors", "hl.safetensors", (() => {
        const b = st({ a: { dtype: "F32", shape: [1], data_offsets: [0, 4] } });
        writeIntLE(b, 0, 8, 2n ** 63n);
        return b;
      })(), "header length"),
    },
    { id: "npy shape (2^31, 2^31)", expect: /needs/, input: input("npy", "a.npy", npy("(2147483648, 2147483648)"), "(2^31, 2^31)") },
    { id: "npy shape (2^32, 2^32, 2^32)", expect: /needs/, input: input("npy", "b.npy", npy("(4294967296, 4294967296, 4294967296)"), "(2^32,)*3") },
    { id: "npy shape with 65 dimensions", expect: /more than 64 dimensions/, input: input("npy", "c.npy", npy(`(${Array(65).fill(1).join(", ")})`, new Uint8Array(4)), "rank 65") },
    {
      id: "npy shape (0, 9999999999999999): a dimension beyond 2^53 next to a zero", expect: /shape|integer|large/,
      input: input("npy", "d.npy", npy("(0, 9999999999999999)"), "zero times huge"),
    },
    { id: "npy header length 65535 past the end", expect: /truncated/, input: input("npy", "e.npy", (() => { const b = npy("(1,)", new Uint8Array(4)); writeIntLE(b, 8, 2, 0xffffn); return b; })(), "header length") },
  ];
}

function configCases(): HostileCase[] {
  const py = (name: string, text: string, extraFiles?: Record<string, string>) =>
    input("config", `hostile/${name}`, enc.encode(text), name, { entry: `hostile/${name}`, extraFiles });
  const laughs = ["a = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"];
  for (let i = 1; i < 10; i++) laughs.push(`${String.fromCharCode(97 + i)} = [${Array(10).fill(String.fromCharCode(96 + i)).join(", ")}]`);
  const fanOut: Record<string, string> = {};
  for (let i = 1; i <= 7; i++) fanOut[`hostile/fan${i}.py`] = i < 7 ? `_base_ = [${Array(10).fill(`'fan${i + 1}.py'`).join(", ")}]\n` : "\n";
  return [
    { id: "config: import os", expect: /import statements are not supported/, input: py("import.py", "import os\nmodel = dict()\n") },
    { id: "config: __import__('os').system", expect: /calls are not supported|attribute access/, input: py("call.py", "x = __import__('os').system('id')\n") },
    {
      id: "config: a list nested 100000 deep", expect: /nest|deep|depth/,
      input: py("deep.py", `x = ${"[".repeat(100_000)}${"]".repeat(100_000)}\n`),
    },
    {
      id: "config: 'billion laughs' (10 names, each a list of ten of the previous)", expect: /large|too many|size|limit/,
      input: py("laughs.py", laughs.join("\n") + "\n"),
    },
    {
      id: "config: stage_blocks [3, 4, 6, 2^31] with inflate=1", expect: /stage_blocks|blocks/,
      input: py("blocks.py", "_base_ = ['../mini/i3d_r50_rawframes.py']\nmodel = dict(backbone=dict(stage_blocks=[3, 4, 6, 2147483648], inflate=1, non_local=0))\n"),
    },
    {
      id: "config: _base_ fan-out (7 levels of 10 bases each: 10^6 file loads)", expect: /_base_|duplicate|too many/,
      input: py("fan.py", "_base_ = ['fan1.py']\n", fanOut),
    },
    {
      id: "config: JSON nested 100000 deep", expect: /nest|deep|depth|expected/,
      input: input("config", "hostile/deep.json", enc.encode(`{"model": ${"[".repeat(100_000)}${"]".repeat(100_000)}}`), "deep json", { entry: "hostile/deep.json" }),
    },
    {
      id: "config: broken JSON over several lines", expect: /is not valid JSON/,
      input: input("config", "hostile/broken.json", enc.encode('{\n  "model": x\n}\n'), "broken json", { entry: "hostile/broken.json" }),
    },
    {
      id: "config: U+2028 after a value", expect: /expected the end of the statement|unexpected character/,
      input: py("u2028.py", "a = 1\u2028b = 2\n"),
    },
  ];
}

function annotationCases(): HostileCase[] {
  return [
    { id: "annotations: binary data", expect: /not UTF-8/, input: input("annotations", "list.txt", Uint8Array.from({ length: 4096 }, (_, i) => (i * 7919) & 0xff), "binary", { format: "video" }) },
    { id: "annotations: one 1 MiB line", expect: /line longer than/, input: input("annotations", "list.txt", ascii("a".repeat(1 << 20)), "long line", { format: "video" }) },
    {
      id: "annotations: broken JSON over several lines", expect: /not valid JSON/,
      input: input("annotations", "list.json", ascii('[{"filename": "a.mp4",\n  "label": x}]\n'), "broken json", { format: "video" }),
    },
    { id: "annotations: JSON list nested 100000 deep", expect: /expected an object/, input: input("annotations", "list.json", ascii(`[${"[".repeat(100_000)}${"]".repeat(100_000)}]`), "deep json", { format: "video" }) },
  ];
}

export function hostileCases(): HostileCase[] {
  return [...pickleCases(), ...zipCases(), ...shapeCases(), ...configCases(), ...annotationCases()];
}
