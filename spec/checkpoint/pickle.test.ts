// The pickle reader on plain data through protocols 2-5 (files written by Python's pickler,
// make.py holds the same literal), on single opcodes, and on malformed / truncated streams,
// which must all end in an I3DError without allocating more than the input.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { allowedGlobals } from "../../models/checkpoint/allowed-globals.ts";
import { loadPickle } from "../../models/checkpoint/pickle.ts";
import { toPlainData } from "../../models/checkpoint/plain-data.ts";
import { readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { fixture, fixturePath, i3dError } from "./fixtures.ts";
import { OP, pickle, PickleWriter } from "./pickle-writer.ts";

function load(bytes: Uint8Array): unknown {
  return loadPickle(bytes, 0, { findGlobal: allowedGlobals("t.pkl") }, "t.pkl").value;
}

const bytesOf = (s: string) => new TextEncoder().encode(s);

for (const protocol of [2, 3, 4, 5]) {
  test(`protocol ${protocol}: Python's plain values come back exactly`, () => {
    const v = load(fixture(`values-p${protocol}.pkl`)) as Map<string, unknown>;
    assert.ok(v instanceof Map);
    assert.equal(v.get("ints"), [
      0, 1, 255, 256, 65535, 65536, -1, -129, 2 ** 31 - 1, -(2 ** 31), 2 ** 31, 2n ** 53n, 2n ** 63n, -(2n ** 100n),
    ]);
    const floats = v.get("floats") as number[];
    assert.equal(floats.slice(0, 4), [0.1, -0, 1e308, Infinity]);
    assert.ok(Object.is(floats[1], -0), "-0.0 keeps its sign");
    assert.ok(Number.isNaN(floats[4]));
    assert.equal(v.get("strs"), ["", "a", "héllo ✓ 🙂", "x".repeat(300)]);
    assert.equal(v.get("bytes"), [new Uint8Array(0), Uint8Array.from([0, 255]), bytesOf("y".repeat(300))]);
    assert.equal(v.get("bytearray"), bytesOf("abc"));
    const tuples = v.get("tuples") as unknown[][];
    assert.equal(tuples, [[], [1], [1, 2], [1, 2, 3], [1, 2, 3, 4]]);
    assert.ok(tuples.every((t) => Object.isFrozen(t)), "tuples are frozen arrays");
    assert.equal(v.get("list"), Array.from({ length: 1500 }, (_, i) => i));
    const dict = v.get("dict") as Map<number, string>;
    assert.is(dict.size, 1200);
    assert.is(dict.get(1199), "1199");
    assert.equal(v.get("nested"), new Map([["a", new Map([["b", [null, true, false]]])]]));
    assert.equal(v.get("set"), new Set([1, 2, 3]));
    assert.equal(v.get("frozenset"), new Set(["x"]));
    const shared = v.get("shared") as unknown[][];
    assert.ok(shared[0] === shared[1], "memo references keep identity");
    const recursive = v.get("recursive") as unknown[];
    assert.ok(recursive[0] === recursive, "a list containing itself");
  });
}

test("plain-data conversion keeps cycles and shared references, and objects stay safe", () => {
  const v = load(fixture("values-p4.pkl"));
  const plain = toPlainData(v, "t.pkl") as Record<string, unknown>;
  const recursive = plain.recursive as unknown[];
  assert.ok(recursive[0] === recursive);
  const shared = plain.shared as unknown[];
  assert.ok(shared[0] === shared[1]);
  assert.ok(plain.dict instanceof Map, "int keys stay a Map");
  // a dict key "__proto__" is data, never the object's prototype
  const proto = load(pickle((w) => w.op(OP.EMPTY_DICT).str("__proto__").str("x").op(OP.SETITEM)));
  const obj = toPlainData(proto, "t.pkl") as Record<string, unknown>;
  assert.is(Object.getPrototypeOf(obj), Object.prototype);
  assert.is(Object.getOwnPropertyDescriptor(obj, "__proto__")?.value, "x");
});

test("deep nesting is refused by the converter, not by a stack overflow", () => {
  const w = new PickleWriter().proto(2);
  for (let i = 0; i < 5000; i++) w.op(OP.EMPTY_LIST);
  for (let i = 0; i < 4999; i++) w.op(OP.APPEND);
  const deep = load(w.stop().build());
  assert.match(i3dError(() => toPlainData(deep, "t.pkl")), /nested more than 200 levels/);
});

test("torch values: Parameter, torch.Size, dtypes", async () => {
  const c = await readCheckpoint(fixturePath("misc-zip.pth"));
  const p = c.stateDict.get("p")!;
  assert.equal(p.shape, [2, 2]);
  assert.equal([...p.toFloat32()], [1, 1, 1, 1]);
  assert.equal(c.meta, { size: [2, 3], dtype: "torch.float16" });
});

test("single opcodes: integers, floats, protocol-0 text forms, DUP, POP, memo", () => {
  assert.is(load(pickle((w) => w.op(OP.LONG1).raw(2, 0xff, 0x7f))), 0x7fff);
  assert.is(load(pickle((w) => w.op(OP.LONG1).raw(1, 0x80))), -128);
  assert.is(load(pickle((w) => w.op(OP.LONG1).raw(0))), 0);
  assert.is(load(pickle((w) => w.op(OP.LONG4).u32(9).raw(0, 0, 0, 0, 0, 0, 0, 0, 1))), 2n ** 64n);
  assert.is(load(pickle((w) => w.op(OP.BININT).u32(0xffffffff))), -1);
  assert.is(load(pickle((w) => w.op(OP.BININT2).u16(0xffff))), 65535);
  assert.is(load(pickle((w) => w.op(OP.BINFLOAT).raw(0x3f, 0xf8, 0, 0, 0, 0, 0, 0))), 1.5);
  assert.is(load(pickle((w) => w.op(OP.INT).line("01"))), true);
  assert.is(load(pickle((w) => w.op(OP.INT).line("-12"))), -12);
  assert.is(load(pickle((w) => w.op(OP.LONG).line("123456789012345678901234567890L"))), 123456789012345678901234567890n);
  assert.is(load(pickle((w) => w.op(OP.FLOAT).line("2.5"))), 2.5);
  assert.is(load(pickle((w) => w.op(OP.SHORT_BINSTRING).raw(2, 0x68, 0x69))), "hi");
  assert.equal(load(pickle((w) => w.int(4).op(OP.PUT).line("3").op(OP.GET).line("3").op(OP.TUPLE2))), [4, 4]);
  assert.equal(load(pickle((w) => w.int(5).op(OP.DUP).op(OP.TUPLE2))), [5, 5]);
  assert.equal(load(pickle((w) => w.mark().int(1).int(2).op(OP.POP_MARK).int(3))), 3);
  assert.equal(load(pickle((w) => w.mark().int(1).int(2).op(OP.DICT))), new Map([[1, 2]]));
  assert.equal(load(pickle((w) => w.mark().int(1).int(2).op(OP.LIST))), [1, 2]);
  assert.equal(load(pickle((w) => w.int(9).op(OP.MEMOIZE).op(OP.BINGET).raw(0).op(OP.TUPLE2), 4)), [9, 9]);
  assert.equal(
    load(pickle((w) => w.op(OP.FRAME).u64(3).int(7).op(OP.TUPLE1), 4)),
    [7],
  );
  assert.equal(load(pickle((w) => w.op(OP.BINUNICODE8).u64(2).raw(0x6f, 0x6b), 4)), "ok");
  assert.equal(load(pickle((w) => w.op(OP.BINBYTES8).u64(1).raw(9), 4)), Uint8Array.from([9]));
  assert.equal(load(pickle((w) => w.global("builtins", "set").op(OP.EMPTY_TUPLE).reduce())), new Set());
  assert.equal(load(pickle((w) => w.call("_codecs", "encode", "\u00ff\u0001", "latin1"))), Uint8Array.from([255, 1]));
  const od = load(pickle((w) => w.global("collections", "OrderedDict").op(OP.EMPTY_TUPLE).op(OP.NEWOBJ).str("k").int(1).op(OP.SETITEM)));
  assert.ok(od instanceof Map);
  assert.equal([...(od as Map<unknown, unknown>)], [["k", 1]]);
});

test("malformed streams: each a one-line I3DError naming the problem", () => {
  const cases: Array<[Uint8Array, RegExp]> = [
    [new Uint8Array(0), /truncated: the data ends before the STOP opcode/],
    [Uint8Array.from([0x80, 0x06]), /unsupported pickle protocol 6/],
    [Uint8Array.from([0x80, 0x02, 0xff]), /unknown opcode 0xff/],
    [pickle(() => {}), /ends with 0 values/],
    [pickle((w) => w.int(1).int(2)), /ends with 2 values/],
    [pickle((w) => w.mark().int(1)), /1 open MARKs/],
    [pickle((w) => w.op(OP.POP_MARK)), /no MARK to pop to/],
    [pickle((w) => w.op(OP.TUPLE2)), /pops an empty stack/],
    [pickle((w) => w.op(OP.EMPTY_TUPLE).int(1).op(OP.APPEND)), /APPEND on a tuple/],
    [pickle((w) => w.op(OP.EMPTY_LIST).mark().int(1).op(OP.SETITEMS)), /SETITEMS on a list/],
    [pickle((w) => w.op(OP.EMPTY_DICT).mark().int(1).op(OP.SETITEMS)), /odd number of items/],
    [pickle((w) => w.op(OP.FROZENSET).int(1).op(OP.ADDITEMS)), /no MARK|ADDITEMS/],
    [pickle((w) => w.op(OP.BINUNICODE).u32(0xffffffff)), /truncated: an opcode needs 4294967295 bytes/],
    [pickle((w) => w.op(OP.BINBYTES8).u64(2 ** 40)), /a length of 1099511627776 bytes runs past the end/],
    [pickle((w) => w.op(OP.BINUNICODE8).u32(0).u32(0xffffffff)), /runs past the end/],
    [pickle((w) => w.op(OP.LONG4).u32(0x7fffffff)), /truncated/],
    [pickle((w) => w.op(OP.LONG4).u32(0x80000000)), /negative length/],
    [pickle((w) => w.op(OP.FRAME).u64(2 ** 50)), /runs past the end/],
    [pickle((w) => w.op(OP.INT).line("12x")), /malformed: INT argument/],
    [pickle((w) => w.op(OP.INT).raw(0x31, 0x32)), /no end of line/],
    [pickle((w) => w.op(OP.STRING).line("'x'")), /unsupported protocol-0 text opcode STRING/],
    [pickle((w) => w.op(OP.NEXT_BUFFER)), /out-of-band/],
    [pickle((w) => w.op(OP.EMPTY_TUPLE).op(OP.BINPERSID)), /persistent id outside a checkpoint/],
    [pickle((w) => w.global("collections", "OrderedDict").op(OP.EMPTY_TUPLE).op(OP.EMPTY_DICT).str("a").int(1).op(OP.SETITEM).op(OP.NEWOBJ_EX)), /NEWOBJ_EX with keyword arguments/],
    [pickle((w) => w.global("collections", "OrderedDict").int(3).reduce()), /arguments are a int, not a tuple/],
    [pickle((w) => w.call("_codecs", "encode", "\u0100", "latin1")), /outside latin1/],
    [pickle((w) => w.call("_codecs", "encode", "x", "rot13")), /encode to rot13/],
    [pickle((w) => w.global("torch._utils", "_rebuild_tensor_v2").mark().int(1).int(2).int(3).int(4).int(5).int(6).tuple().reduce()), /a tensor over a int, not a storage/],
    [pickle((w) => w.global("numpy", "dtype").mark().str("q!").tuple().reduce()), /unknown numpy dtype q!/],
  ];
  for (const [bytes, pattern] of cases) {
    const message = i3dError(() => load(bytes), "checkpoint");
    assert.match(message, /^t\.pkl: /);
    assert.match(message, pattern);
  }
});

test("every truncation of real pickles is an I3DError", () => {
  for (const file of ["values-p2.pkl", "values-p5.pkl"]) {
    const bytes = fixture(file);
    const step = Math.max(1, Math.floor(bytes.length / 1500));
    for (let n = 0; n < bytes.length; n += step) i3dError(() => load(bytes.subarray(0, n)), "checkpoint");
  }
});

test.run();
