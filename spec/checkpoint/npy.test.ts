// .npy files written by NumPy itself (make.py): v1/v2/v3 headers, the supported dtypes, exact
// values; bit-identical round trips through our writer; hostile and unsupported headers.

import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { decodeNpy, encodeNpy, type NpyArray, readNpy, writeNpy } from "../../models/npy.ts";
import { expected, fixture, i3dError } from "./fixtures.ts";

test("reads NumPy's own files exactly (f4, f8, i8, u1, scalar, empty, v2, v3 headers)", () => {
  for (const [name, want] of Object.entries(expected.npy)) {
    const a = decodeNpy(fixture(`npy/${name}`), name);
    assert.equal(a.shape, want.shape, name);
    const ctor = { "<f4": Float32Array, "<f8": Float64Array, "<i8": BigInt64Array, "|u1": Uint8Array }[want.descr];
    assert.ok(ctor && a.data instanceof ctor, `${name} is a ${want.descr} array`);
    const got = Array.from(a.data as ArrayLike<number | bigint>);
    const wantValues = want.values.map((v) => (a.data instanceof BigInt64Array ? BigInt(v) : Number(v)));
    if (a.data instanceof Float32Array) {
      assert.equal(got, wantValues.map((v) => Math.fround(v as number)), name);
    } else {
      assert.equal(got, wantValues, name);
    }
  }
});

test("write then read is bit-identical; the header is 64-byte aligned like NumPy's", () => {
  const arrays: NpyArray[] = [
    { shape: [2, 3], data: Float32Array.from([1.5, -0, Infinity, NaN, 1e-45, -3]) },
    { shape: [3], data: Float64Array.from([0.1, 5e-324, -1e300]) },
    { shape: [1, 2], data: BigInt64Array.from([2n ** 62n, -1n]) },
    { shape: [2, 2], data: Int32Array.from([1, -2, 3, -4]) },
    { shape: [4], data: Uint8Array.from([0, 1, 254, 255]) },
    { shape: [], data: Float32Array.of(7) },
    { shape: [0, 5], data: new Float32Array(0) },
  ];
  for (const a of arrays) {
    const bytes = encodeNpy(a);
    const dataStart = bytes.length - a.data.byteLength;
    assert.is(dataStart % 64, 0);
    const back = decodeNpy(bytes);
    assert.equal(back.shape, a.shape);
    assert.is(back.data.constructor, a.data.constructor);
    assert.equal(
      new Uint8Array(back.data.buffer, back.data.byteOffset, back.data.byteLength),
      new Uint8Array(a.data.buffer, a.data.byteOffset, a.data.byteLength),
    );
  }
  // byte for byte what NumPy writes for the same arrays
  for (const name of ["f4.npy", "f8.npy", "i8.npy", "u1.npy", "scalar.npy", "empty.npy"]) {
    const original = fixture(`npy/${name}`);
    assert.equal(encodeNpy(decodeNpy(original)), original, name);
  }
});

test("files on disk: readNpy / writeNpy", async () => {
  const dir = mkdtempSync(join(tmpdir(), "i3d-npy-"));
  try {
    const path = join(dir, "a.npy");
    await writeNpy(path, { shape: [2], data: Float64Array.from([1, 2]) });
    const back = await readNpy(path);
    assert.equal([...back.data as Float64Array], [1, 2]);
    assert.match((await readNpy(join(dir, "missing.npy")).catch((e) => e)).message, /cannot read .*missing\.npy/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

function npyWithHeader(header: string, dataBytes = 0, version = 1): Uint8Array {
  const text = new TextEncoder().encode(header);
  const prefix = version === 1 ? 10 : 12;
  const out = new Uint8Array(prefix + text.length + dataBytes);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, version, 0]);
  const view = new DataView(out.buffer);
  if (version === 1) view.setUint16(8, text.length, true);
  else view.setUint32(8, text.length, true);
  out.set(text, prefix);
  return out;
}

test("unsupported and hostile files: one clear error each", () => {
  const h = (descr: string, shape: string, fortran = "False") =>
    `{'descr': '${descr}', 'fortran_order': ${fortran}, 'shape': ${shape}, }\n`;
  const cases: Array<[Uint8Array, RegExp]> = [
    [fixture("npy/fortran.npy"), /Fortran order/],
    [fixture("npy/big-endian.npy"), /unsupported dtype '>f4' \(big-endian\)/],
    [npyWithHeader(h("<c8", "(1,)"), 8), /unsupported dtype '<c8'/],
    [npyWithHeader(h("|O", "(1,)"), 8), /unsupported dtype '\|O'/],
    [npyWithHeader(h("<f4", "(2,)"), 4), /has 4 data bytes, shape \(2\) of <f4 needs 8/],
    [npyWithHeader(h("<f4", "(2,)"), 12), /has 12 data bytes/],
    [npyWithHeader(h("<f4", "(4294967296, 4294967296)"), 8), /needs/],
    [npyWithHeader("{'descr': '<f4', 'fortran_order': False, 'shape': (2,), '__class__': 'os.system'}\n"), /exactly 'descr', 'fortran_order' and 'shape'/],
    [npyWithHeader("{'descr': __import__('os').system('id'), 'fortran_order': False, 'shape': (1,)}\n"), /unexpected value/],
    [npyWithHeader(h("<f4", "(-1,)")), /non-integer/],
    [npyWithHeader(h("<f4", "(1,)") + "junk"), /text after the dict/],
    [npyWithHeader("{'descr': '<f4'"), /header/],
    [npyWithHeader(h("<f4", "(1,)"), 4, 4), /unsupported .npy format version 4/],
    [(() => { const b = npyWithHeader(h("<f4", "(1,)"), 4, 2); new DataView(b.buffer).setUint32(8, 0xffffffff, true); return b; })(), /beyond the 65536-byte limit/],
    [(() => { const b = npyWithHeader(h("<f4", "(1,)"), 4); new DataView(b.buffer).setUint16(8, 60000, true); return b; })(), /truncated/],
    [new TextEncoder().encode("not numpy"), /not a NumPy \.npy file/],
    [new Uint8Array(0), /not a NumPy/],
  ];
  for (const [bytes, pattern] of cases) assert.match(i3dError(() => decodeNpy(bytes, "x.npy"), "input"), pattern);
  const f4 = fixture("npy/f4.npy");
  for (let n = 0; n < f4.length; n++) i3dError(() => decodeNpy(f4.subarray(0, n), "cut.npy"), "input");
});

test("shape dimensions must be safe integers, and the size of the non-zero ones must not overflow (as numpy)", () => {
  const h = (shape: string) => `{'descr': '<f4', 'fortran_order': False, 'shape': ${shape}, }\n`;
  // 9999999999999999 is 10^16 once rounded to a double: the shape would be silently wrong
  assert.match(i3dError(() => decodeNpy(npyWithHeader(h("(0, 9999999999999999)"), 0), "x.npy"), "input"),
    /^x\.npy: shape dimension 9999999999999999 is too large \(not a safe integer\)$/);
  assert.match(i3dError(() => decodeNpy(npyWithHeader(h("(0, 4503599627370496, 4503599627370496)"), 0), "x.npy"), "input"),
    /shape \(0, 4503599627370496, 4503599627370496\) is too large \(its size overflows\)/);
  // an empty array with a large (safe) dimension is an ordinary numpy array
  const empty = decodeNpy(npyWithHeader(h("(0, 1000000000)"), 0), "e.npy");
  assert.equal(empty.shape, [0, 1_000_000_000]);
  assert.is(empty.data.length, 0);
});

test.run();
