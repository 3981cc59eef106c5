// The ZIP reader: stored / deflated / zip64 archives read back exactly; forged archives
// (bombs, overlaps, sizes beyond the file, bad CRCs, truncation) refused with an I3DError.

import { deflateRawSync } from "node:zlib";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { crc32, ZipReader } from "../../models/checkpoint/zip-reader.ts";
import { fixture, i3dError } from "./fixtures.ts";
import { makeZip } from "./zip-writer.ts";

const data = (n: number, seed = 1) => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed * 7) & 0xff);
const open = (bytes: Uint8Array) => new ZipReader(bytes, { source: "t.zip" });
const setU32 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint32(at, v, true);
const setU16 = (b: Uint8Array, at: number, v: number) => new DataView(b.buffer, b.byteOffset).setUint16(at, v, true);

test("crc32 matches known values", () => {
  assert.is(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  assert.is(crc32(new Uint8Array(0)), 0);
});

test("stored, deflated and zip64 archives read back byte for byte", () => {
  const inputs = [
    { name: "m/data.pkl", data: data(100) },
    { name: "m/data/0", data: data(4096, 2), method: 8 as const },
    { name: "m/empty", data: new Uint8Array(0) },
    { name: "m/empty-deflated", data: new Uint8Array(0), method: 8 as const },
  ];
  for (const zip64 of [false, true]) {
    for (const align of [1, 64]) {
      const zip = open(makeZip(inputs, { zip64, align }).bytes);
      assert.equal(zip.names(), inputs.map((i) => i.name));
      for (const input of inputs) assert.equal(zip.read(input.name), input.data, `${input.name} zip64=${zip64}`);
      if (align === 64) assert.is(zip.entries.get("m/data.pkl")!.dataOffset % 64, 0);
    }
  }
});

test("stored entries are views of the input, not copies", () => {
  const bytes = makeZip([{ name: "a/x", data: data(64) }]).bytes;
  const out = open(bytes).read("a/x");
  assert.is(out.buffer, bytes.buffer);
});

test("torch's own archive: zip64 end records, 64-byte aligned records", () => {
  const bytes = fixture("train-zip.pth");
  const zip = open(bytes);
  assert.ok(zip.has("train-zip/data.pkl") && zip.has("train-zip/version"));
  for (const e of zip.entries.values()) if (e.name.includes("/data/")) assert.is(e.dataOffset % 64, 0, e.name);
});

test("a deflate bomb is refused before inflating: declared size beyond deflate's ratio", () => {
  const layout = makeZip([{ name: "a/bomb", data: new Uint8Array(1 << 16), method: 8 }], { zip64: true });
  const bytes = layout.bytes;
  // the zip64 extra field's uncompressed size: 1 TiB
  const extra = layout.central[0] + 46 + "a/bomb".length + 4;
  setU32(bytes, extra, 0);
  setU32(bytes, extra + 4, 256);
  const message = i3dError(() => open(bytes), "checkpoint");
  assert.match(message, /claims 1099511627776 bytes from \d+ compressed \(zip bomb\?\)/);
});

test("a deflate stream that inflates past its declared size is refused", () => {
  const big = new Uint8Array(1 << 20); // 1 MiB of zeros: ~1 KiB deflated, within the ratio
  const layout = makeZip([{ name: "a/x", data: big, method: 8 }]);
  const bytes = layout.bytes;
  setU32(bytes, layout.central[0] + 24, 4096); // declared size: 4 KiB
  const message = i3dError(() => open(bytes).read("a/x"), "checkpoint");
  assert.match(message, /entry a\/x (does not inflate|inflates to)/);
});

test("corrupt deflate data and CRC mismatches are refused on read", () => {
  const layout = makeZip([{ name: "a/x", data: data(5000), method: 8 }, { name: "a/y", data: data(300) }]);
  const bytes = layout.bytes;
  const zip = open(bytes);
  const x = zip.entries.get("a/x")!;
  const broken = bytes.slice();
  broken.fill(0xff, x.dataOffset, x.dataOffset + 16);
  assert.match(i3dError(() => open(broken).read("a/x")), /entry a\/x (does not inflate|inflates to|is corrupted)/);
  const y = zip.entries.get("a/y")!;
  const flipped = bytes.slice();
  flipped[y.dataOffset + 5] ^= 0x10;
  assert.match(i3dError(() => open(flipped).read("a/y")), /entry a\/y is corrupted \(CRC-32 mismatch\)/);
});

test("forged directories: overlaps, sizes and offsets beyond the file, bad headers", () => {
  const inputs = [{ name: "a/x", data: data(200) }, { name: "a/y", data: data(200, 3) }];
  const forge = (patch: (b: Uint8Array, l: ReturnType<typeof makeZip>) => void, zip64 = false) => {
    const layout = makeZip(inputs, { zip64 });
    patch(layout.bytes, layout);
    return () => open(layout.bytes);
  };
  const cases: Array<[() => unknown, RegExp]> = [
    // two names for the same bytes: the overlapping-entry bomb
    [forge((b, l) => setU32(b, l.central[1] + 42, l.local[0])), /disagrees with its local header|overlap/],
    [forge((b, l) => {
      // same name length so the local header matches: point y at x's data span
      b.set(new TextEncoder().encode("a/x"), l.local[1] + 30);
      setU32(b, l.central[1] + 42, l.local[0]);
    }), /disagrees|overlap|two entries/],
    [forge((b, l) => setU32(b, l.central[0] + 20, 0x7fffffff)), /runs past the archive data|two sizes/],
    [forge((b, l) => { setU32(b, l.central[0] + 20, 0x7fffffff); setU32(b, l.central[0] + 24, 0x7fffffff); }), /runs past the archive data/],
    [forge((b, l) => setU32(b, l.central[0] + 42, 0x7ffffff0)), /truncated \(local header|no local header/],
    [forge((b, l) => setU16(b, l.central[0] + 10, 12)), /compression method 12/],
    [forge((b, l) => setU16(b, l.central[0] + 8, 1)), /encrypted/],
    [forge((b, l) => setU32(b, l.end + 16, 0x7ffffff0)), /central directory lies beyond/],
    [forge((b, l) => { setU16(b, l.end + 8, 60000); setU16(b, l.end + 10, 60000); }), /claims 60000 entries/],
    [forge((b, l) => setU32(b, l.central[0], 0)), /central directory is corrupted/],
    [forge((b, l) => setU16(b, l.central[0] + 28, 5000)), /central directory is corrupted/],
    [forge((b, l) => setU32(b, l.end - 20 + 8, 0x7ffffff0), true), /zip64 end record offset \d+ lies beyond the file/],
    [forge((b, l) => setU32(b, l.central[0] + 46 + 3 + 4 + 20, 0x100), true), /offset \d+ lies beyond the file/],
    [() => open(new TextEncoder().encode("PK\x03\x04 not really")), /no end-of-central-directory record/],
  ];
  for (const [fn, pattern] of cases) assert.match(i3dError(fn, "checkpoint"), pattern);
  // a real duplicate name
  const dup = makeZip([{ name: "a/x", data: data(10) }, { name: "a/x", data: data(10) }]).bytes;
  assert.match(i3dError(() => open(dup)), /two entries named a\/x/);
});

test("every truncation of a torch archive is refused", () => {
  const bytes = fixture("views-zip.pth");
  for (let n = 0; n < bytes.length; n++) i3dError(() => open(bytes.subarray(0, n)), "checkpoint");
});

test("deflate output is bounded by the declared size (no unbounded inflate)", () => {
  // an 8 MiB stream of zeros declared as 1 KiB: refused without producing the 8 MiB
  const payload = new Uint8Array(deflateRawSync(new Uint8Array(8 << 20)));
  const template = makeZip([{ name: "a/z", data: new Uint8Array(0) }]);
  const local = template.bytes.slice(0, template.central[0]);
  setU16(local, 8, 8); // method: deflate
  const central = template.bytes.slice(template.central[0], template.end);
  setU16(central, 10, 8);
  setU32(central, 20, payload.length);
  setU32(central, 24, 1024);
  const end = template.bytes.slice(template.end);
  const cdStart = local.length + payload.length;
  setU32(end, 16, cdStart);
  const bytes = new Uint8Array(cdStart + central.length + end.length);
  bytes.set(local, 0);
  bytes.set(payload, local.length);
  bytes.set(central, cdStart);
  bytes.set(end, cdStart + central.length);
  const message = i3dError(() => open(bytes).read("a/z"), "checkpoint");
  assert.match(message, /entry a\/z (does not inflate|inflates to)/);
});

test("a genuine deflate bomb (every size true, 1000:1) is refused by the archive's inflate budget", () => {
  const zip = makeZip([{ name: "a/z", data: new Uint8Array(32 << 20), method: 8 }]).bytes;
  assert.ok(zip.length < 64 << 10, `${zip.length} bytes`);
  const message = i3dError(() => open(zip).read("a/z"), "checkpoint");
  assert.match(message, /entry a\/z inflates to 33554432 bytes, .* more than 4x the \d+-byte archive \+ 1 MiB \(a zip bomb\?\)/);
  // the budget is shared by all entries: each of these fits alone, not both
  const two = open(makeZip([
    { name: "a/x", data: new Uint8Array(700 << 10), method: 8 },
    { name: "a/y", data: new Uint8Array(700 << 10), method: 8 },
  ]).bytes);
  assert.is(two.read("a/x").length, 700 << 10);
  assert.match(i3dError(() => two.read("a/y"), "checkpoint"), /entry a\/y inflates to 716800 bytes, which with the 716800 inflated before/);
  // ordinary deflated data (incompressible) is far inside the budget
  const plain = data(300_000, 5);
  assert.equal(open(makeZip([{ name: "a/p", data: plain, method: 8 }]).bytes).read("a/p"), plain);
});

test.run();
