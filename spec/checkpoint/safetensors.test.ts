// safetensors: reading a file written by independent code (make.py), bit-identical round
// trips, hostile headers; and convertCheckpoint (.pth -> safetensors) end to end.

import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { convertCheckpoint } from "../../models/checkpoint/convert.ts";
import { float32ToHalf } from "../../models/checkpoint/half-float.ts";
import { readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { readSafetensors, writeSafetensors } from "../../models/checkpoint/safetensors.ts";
import { bitsOf, expected, fixture, fixturePath, i3dError } from "./fixtures.ts";

const asBytes = (a: ArrayBufferView) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

test("reads a file written by independent code: F32, F16, BF16, I64, metadata", () => {
  const file = readSafetensors(fixture("small.safetensors"), "small.safetensors");
  assert.equal(file.metadata, expected.safetensors.metadata);
  for (const [name, want] of Object.entries(expected.safetensors.stateDict)) {
    const t = file.tensors.get(name)!;
    assert.is(t.dtype, want.dtype);
    assert.equal(t.shape, want.shape);
    assert.equal(bitsOf(t.toFloat32()), want.bits, name);
  }
});

test("write then read is bit-identical for every dtype, and the data is 8-byte aligned", () => {
  const f32 = Float32Array.from([1.5, -0, Infinity, NaN, 1e-45, 3.4028234663852886e38]);
  const f16 = float32ToHalf(Float32Array.from([1, -2, 65504, 6e-8]));
  const i64 = BigInt64Array.from([1n, -(2n ** 62n)]);
  const u8 = Uint8Array.from([0, 7, 255]);
  const bytes = writeSafetensors(
    [
      ["a.weight", { dtype: "float32", shape: [2, 3], bytes: asBytes(f32) }],
      ["b", { dtype: "float16", shape: [4], bytes: asBytes(f16) }],
      ["c", { dtype: "int64", shape: [2, 1], bytes: asBytes(i64) }],
      ["d", { dtype: "uint8", shape: [3], bytes: u8 }],
      ["e", { dtype: "bfloat16", shape: [0], bytes: new Uint8Array(0) }],
      ["scalar", { dtype: "float32", shape: [], bytes: asBytes(Float32Array.of(2)) }],
    ],
    { format: "pt" },
  );
  const headerLength = Number(new DataView(bytes.buffer).getBigUint64(0, true));
  assert.is((8 + headerLength) % 8, 0);
  const file = readSafetensors(bytes, "t.safetensors");
  assert.equal(file.metadata, { format: "pt" });
  assert.equal([...file.tensors.keys()], ["a.weight", "b", "c", "d", "e", "scalar"]);
  assert.equal(file.tensors.get("a.weight")!.toBytes(), asBytes(f32));
  assert.equal(bitsOf(file.tensors.get("a.weight")!.toFloat32()), bitsOf(f32));
  assert.equal(file.tensors.get("b")!.toBytes(), asBytes(f16));
  assert.equal(file.tensors.get("c")!.toBytes(), asBytes(i64));
  assert.equal(file.tensors.get("d")!.toBytes(), u8);
  assert.equal(file.tensors.get("e")!.shape, [0]);
  assert.equal([...file.tensors.get("scalar")!.toFloat32()], [2]);
});

function withHeader(header: unknown, dataBytes = 16, rawHeader?: string): Uint8Array {
  const json = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const out = new Uint8Array(8 + json.length + dataBytes);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  return out;
}

test("hostile headers are refused", () => {
  const t = (offsets: unknown, extra: object = {}) => ({ dtype: "F32", shape: [2], data_offsets: offsets, ...extra });
  const cases: Array<[Uint8Array, RegExp]> = [
    [withHeader({ a: t([0, 8]), b: t([4, 12]) }), /tensors a and b overlap|overlap/],
    [withHeader({ a: t([8, 16]), b: t([0, 8]), c: t([8, 16]) }), /overlap/],
    [withHeader({ a: t([8, 24]) }), /lie outside the 16 data bytes|holds 16 bytes/],
    [withHeader({ a: t([8, 4]) }), /lie outside/],
    [withHeader({ a: t([0, 12]) }), /holds 12 bytes, but float32 \[2\] needs 8/],
    [withHeader({ a: t([0, 8], { dtype: "F8_E4M3" }) }), /unsupported dtype F8_E4M3/],
    [withHeader({ a: t([0, 8], { shape: [-2] }) }), /malformed shape/],
    [withHeader({ a: t([0, 8], { shape: [2 ** 40, 2 ** 40] }) }), /impossibly large/],
    [withHeader({ a: t([0, 1.5]) }), /malformed data_offsets/],
    [withHeader({ a: t([0, 8]), __metadata__: { x: 1 } }), /__metadata__ value x is not a string/],
    [withHeader([1, 2]), /header is not a JSON object/],
    [withHeader(null, 16, "{\"a\": "), /not valid UTF-8 JSON/],
  ];
  for (const [bytes, pattern] of cases) assert.match(i3dError(() => readSafetensors(bytes, "h.st"), "checkpoint"), pattern);

  // a header length of 2^60 or beyond the file: refused before any allocation
  const huge = new Uint8Array(16);
  new DataView(huge.buffer).setBigUint64(0, 2n ** 60n, true);
  huge[8] = 0x7b;
  assert.match(i3dError(() => readSafetensors(huge, "h.st")), /beyond the 104857600-byte limit/);
  const past = new Uint8Array(16);
  new DataView(past.buffer).setBigUint64(0, 100n, true);
  assert.match(i3dError(() => readSafetensors(past, "h.st")), /runs past the end of the file/);
});

test("header fields are type-checked before anything formats them (fuzz reproducers)", () => {
  const entry = (dtype: string) => `{"w": {"dtype": ${dtype}, "shape": [1], "data_offsets": [0, 4]}}`;
  const header = (json: string) => {
    const text = new TextEncoder().encode(json);
    const out = new Uint8Array(8 + text.length + 4);
    new DataView(out.buffer).setBigUint64(0, BigInt(text.length), true);
    out.set(text, 8);
    return out;
  };
  const cases: Array<[string, RegExp]> = [
    [entry('{"F32": 1}'), /tensor "w" has unsupported dtype \(a JSON object, not a dtype name such as "F32"\)$/],
    [entry('{"toString": 1}'), /unsupported dtype \(a JSON object/],
    [entry(`${"[".repeat(10_000)}${"]".repeat(10_000)}`), /unsupported dtype \(a JSON array/],
    [entry("7"), /unsupported dtype \(a JSON number/],
    [entry("null"), /unsupported dtype \(null/],
    ['{"w": {"shape": [1], "data_offsets": [0, 4]}}', /unsupported dtype \(missing/],
    [entry('"F32\\u2028x"'), /unsupported dtype F32\\u2028x$/],
    ['{"w": ["F32", [1], [0, 4]]}', /tensor "w" is a JSON array, not an object/],
    ['{"w": {"dtype": "F32", "shape": [{"toString": 1}], "data_offsets": [0, 4]}}', /malformed shape/],
    ['{"w": {"dtype": "F32", "shape": [1], "data_offsets": [0, {"valueOf": 4}]}}', /malformed data_offsets/],
  ];
  for (const [json, pattern] of cases) assert.match(i3dError(() => readSafetensors(header(json), "h.st"), "checkpoint"), pattern);
});

test("convertCheckpoint: .pth -> safetensors keeps exactly the state_dict, bit-identical at float32", async () => {
  const dir = mkdtempSync(join(tmpdir(), "i3d-convert-"));
  try {
    for (const source of ["train-zip.pth", "train-legacy.pth"]) {
      const out = join(dir, `${source}.safetensors`);
      const result = await convertCheckpoint(fixturePath(source), out);
      assert.equal(result.dropped.sort(), [
        "backbone.conv1.bn.num_batches_tracked",
        "backbone.layer1.0.conv1.bn.num_batches_tracked",
      ]);
      assert.is(result.bytes, readFileSync(out).length);
      const converted = await readCheckpoint(out);
      assert.is(converted.format, "safetensors");
      const want = Object.entries(expected.train.stateDict).filter(([k]) => !k.endsWith("num_batches_tracked"));
      assert.equal([...converted.stateDict.keys()], want.map(([k]) => k));
      assert.is(result.tensors, want.length);
      for (const [key, t] of want) {
        const got = converted.stateDict.get(key)!;
        assert.is(got.dtype, "float32");
        assert.equal(got.shape, t.shape);
        assert.equal(bitsOf(got.toFloat32()), t.bits, key);
      }
      assert.equal(converted.meta, { format: "pt", source });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("convertCheckpoint --float16: half storage, fp16 sources exact, others rounded to nearest", async () => {
  const dir = mkdtempSync(join(tmpdir(), "i3d-convert-"));
  try {
    const out = join(dir, "views.safetensors");
    await convertCheckpoint(fixturePath("views-zip.pth"), out, { float16: true });
    const converted = await readCheckpoint(out);
    const source = await readCheckpoint(fixturePath("views-zip.pth"));
    for (const [key, t] of converted.stateDict) {
      const original = source.stateDict.get(key)!;
      const floating = ["float32", "float16", "bfloat16", "float64"].includes(original.dtype);
      assert.is(t.dtype, floating ? "float16" : original.dtype, key);
      if (original.dtype === "float16") assert.equal(t.toBytes(), original.toBytes(), `${key} stays bit-exact`);
      if (floating) {
        const want = bitsOf(new Float32Array(halfRound(original.toFloat32())));
        assert.equal(bitsOf(t.toFloat32()), want, key);
      } else {
        assert.equal(t.toBytes(), original.toBytes(), key);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

/** float32 -> nearest float16 -> float32, by brute force over all finite halves (reference) */
function halfRound(values: Float32Array): number[] {
  return [...values].map((v) => {
    if (Number.isNaN(v)) return NaN;
    if (Math.abs(v) >= 65520) return v > 0 ? Infinity : -Infinity; // max half + half an ulp rounds up
    let best = 0;
    let bestErr = Infinity;
    for (let h = 0; h < 0x7c00; h++) {
      const exp = h >> 10;
      const mant = h & 0x3ff;
      const mag = exp === 0 ? mant * 2 ** -24 : (1 + mant / 1024) * 2 ** (exp - 15);
      const err = Math.abs(Math.abs(v) - mag);
      if (err < bestErr || (err === bestErr && (h & 1) === 0)) {
        best = mag;
        bestErr = err;
      }
    }
    return Object.is(v, -0) || v < 0 ? -best : best;
  });
}

test.run();
