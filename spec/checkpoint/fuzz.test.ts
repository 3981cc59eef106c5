// Damaged checkpoints: every truncation, single-bit flips across whole files (and across the
// pickle inside zip files, re-packed with a valid CRC so the pickle reader sees the damage),
// and seeded random overwrites. Each case must either load (and convert) or end in a one-line
// I3DError -- never another exception, a hang or a runaway allocation.

import { test } from "uvu";
import * as assert from "uvu/assert";
import { parseCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { ZipReader } from "../../models/checkpoint/zip-reader.ts";
import { I3DError } from "../../models/errors.ts";
import { fixture } from "./fixtures.ts";
import { makeZip } from "./zip-writer.ts";

/** loads and converts everything; returns "ok" or "error", throws on anything but I3DError */
function exercise(bytes: Uint8Array, label: string): "ok" | "error" {
  try {
    const c = parseCheckpoint(bytes, "fuzz.pth");
    for (const t of c.stateDict.values()) {
      t.toFloat32();
      t.toBytes();
    }
    return "ok";
  } catch (e) {
    if (!(e instanceof I3DError)) throw new Error(`${label}: ${(e as Error)?.stack ?? e}`);
    if (e.message.includes("\n")) throw new Error(`${label}: message is not one line: ${e.message}`);
    return "error";
  }
}

/** a small deterministic PRNG (mulberry32) */
function random(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const files = ["train-legacy.pth", "views-legacy.pth", "views-zip.pth", "misc-zip.pth", "small.safetensors"];

test("every truncation is an I3DError (a cut file never loads)", () => {
  for (const file of files) {
    const bytes = fixture(file);
    assert.is(exercise(bytes, file), "ok", `${file} intact`);
    const step = Math.max(1, Math.floor(bytes.length / 700));
    for (let n = 0; n < bytes.length; n += n < 64 ? 1 : step) {
      assert.is(exercise(bytes.subarray(0, n), `${file}[:${n}]`), "error", `${file} cut at ${n} must not load`);
    }
  }
});

test("single-bit flips anywhere in a file: loads or a clean I3DError", () => {
  for (const file of files) {
    const bytes = fixture(file);
    const step = Math.max(1, Math.floor(bytes.length / 700));
    let errors = 0;
    for (let at = 0; at < bytes.length; at += step) {
      const damaged = bytes.slice();
      damaged[at] ^= 1 << (at % 8);
      if (exercise(damaged, `${file} bit ${at}`) === "error") errors++;
    }
    assert.ok(errors > 0, `${file}: some flips must be detected`);
  }
});

test("single-bit flips in a zip checkpoint's pickle (valid CRC): loads or a clean I3DError", () => {
  for (const file of ["train-zip.pth", "views-zip.pth"]) {
    const zip = new ZipReader(fixture(file), { source: file });
    const names = zip.names();
    const pickleName = names.find((n) => n.endsWith("/data.pkl"))!;
    const pkl = zip.read(pickleName);
    const others = names.filter((n) => n !== pickleName).map((name) => ({ name, data: zip.read(name) }));
    const step = Math.max(1, Math.floor(pkl.length / 400));
    let errors = 0;
    for (let at = 0; at < pkl.length; at += step) {
      const damaged = pkl.slice();
      damaged[at] ^= 1 << (at % 8);
      const bytes = makeZip([{ name: pickleName, data: damaged }, ...others], { align: 64 }).bytes;
      if (exercise(bytes, `${file} data.pkl bit ${at}`) === "error") errors++;
    }
    assert.ok(errors > 0, `${file}: some pickle flips must be detected`);
  }
});

test("seeded random overwrites of legacy files and safetensors headers", () => {
  const next = random(1234);
  for (const file of ["train-legacy.pth", "views-legacy.pth", "small.safetensors"]) {
    const bytes = fixture(file);
    for (let round = 0; round < 200; round++) {
      const damaged = bytes.slice();
      const edits = 1 + Math.floor(next() * 6);
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(next() * damaged.length);
        // bias towards values that make lengths and indices extreme
        damaged[at] = [0x00, 0xff, 0x7f, 0x80][Math.floor(next() * 4)] ^ (next() < 0.5 ? 0 : Math.floor(next() * 256));
      }
      exercise(damaged, `${file} round ${round}`);
    }
  }
});

test("random bytes behind each format's magic: I3DError, never a crash", () => {
  const next = random(99);
  const heads = [[0x80, 0x02], [0x50, 0x4b, 0x03, 0x04], [0x10, 0, 0, 0, 0, 0, 0, 0, 0x7b]];
  for (const head of heads) {
    for (let round = 0; round < 200; round++) {
      const bytes = new Uint8Array(head.length + Math.floor(next() * 200));
      bytes.set(head);
      for (let i = head.length; i < bytes.length; i++) bytes[i] = Math.floor(next() * 256);
      assert.is(exercise(bytes, `random ${head} ${round}`), "error");
    }
  }
});

test.run();
