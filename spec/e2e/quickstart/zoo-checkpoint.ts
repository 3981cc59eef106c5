// The quick-start test's stand-in for the zoo file
// i3d_r50_video_32x2x1_100e_kinetics400_rgb_20200826-e31c6f52.pth: a full-size i3d_r50
// checkpoint in torch's zip format, rebuilt byte for byte from committed rules
// (spec/e2e/fixtures/quickstart/: torch.save's own data.pkl and the state_dict entry list;
// the weights from synthetic-weights.ts).
//
// The download code trusts a zoo file only if its sha256 starts with the 8 hex digits of its
// name, so the archive carries a zip comment ending in a 16-hex-digit nonce, found once by
// brute force (spec/e2e/reference/find_nonce.cu, ~2^32 SHA-256 blocks) so that the whole
// file's sha256 starts with e31c6f52. torch and i3d-edge both ignore zip comments; nothing in
// the download path is relaxed for the test.

import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { crc32 } from "../../../models/checkpoint/zip-reader.ts";
import { type Entry, tensorBytes } from "./synthetic-weights.ts";

export const FIXTURE_DIR = fileURLToPath(new URL("../fixtures/quickstart/", import.meta.url));

export interface CheckpointInfo {
  zoo_file: string;
  version: string;
  data_pkl_sha256: string;
  weights_sha256: string;
  nonce: string | null;
  file_sha256: string | null;
  file_size: number | null;
  entries: Entry[];
}

export function loadCheckpointInfo(): { info: CheckpointInfo; dataPkl: Uint8Array } {
  const info = JSON.parse(readFileSync(`${FIXTURE_DIR}checkpoint.json`, "utf8")) as CheckpointInfo;
  const dataPkl = new Uint8Array(readFileSync(`${FIXTURE_DIR}data.pkl`));
  const digest = createHash("sha256").update(dataPkl).digest("hex");
  if (digest !== info.data_pkl_sha256) throw new Error(`data.pkl sha256 ${digest} is not checkpoint.json's`);
  return { info, dataPkl };
}

const COMMENT_HEAD = "i3d-edge e2e synthetic checkpoint, not a trained model (spec/e2e/quickstart); sha256 nonce ";
export const NONCE_LENGTH = 16;
/** The file ends 48 bytes into its last 64-byte block, so the nonce (the last 16 bytes) and
 * SHA-256's padding share one block and are word-aligned: one compression per candidate. */
export const LAST_BLOCK_FILL = 48;

interface Record {
  name: Uint8Array;
  data: Uint8Array;
}

export interface BuiltCheckpoint {
  bytes: Uint8Array;
  /** sha256 of the weights' raw bytes in state_dict order (= checkpoint.json's, from numpy) */
  weightsSha256: string;
}

/** The checkpoint with `nonce` (16 hex digits) at the end of its zip comment. */
export function buildCheckpoint(info: CheckpointInfo, dataPkl: Uint8Array, nonce: string): BuiltCheckpoint {
  if (!new RegExp(`^[0-9a-f]{${NONCE_LENGTH}}$`).test(nonce)) throw new Error(`nonce must be ${NONCE_LENGTH} hex digits`);
  const enc = new TextEncoder();
  const weights = createHash("sha256");
  const storages: Record[] = info.entries.map((entry, i) => {
    const data = tensorBytes(i, entry);
    weights.update(data);
    return { name: enc.encode(`archive/data/${i}`), data };
  });
  // torch.save's record order: data.pkl, the storages by key as strings, version
  const order = info.entries.map((_, i) => String(i)).sort();
  const records: Record[] = [
    { name: enc.encode("archive/data.pkl"), data: dataPkl },
    ...order.map((k) => storages[Number(k)]),
    { name: enc.encode("archive/version"), data: enc.encode(info.version) },
  ];

  // layout: local header + name + 'FB' padding extra field so the data starts on a 64-byte
  // boundary (as torch writes it), data; central directory; end record + comment
  const local: number[] = [];
  const pads: number[] = [];
  let offset = 0;
  for (const r of records) {
    local.push(offset);
    const pad = (64 - ((offset + 30 + r.name.length + 4) % 64)) % 64;
    pads.push(pad);
    offset += 30 + r.name.length + 4 + pad + r.data.length;
  }
  const centralStart = offset;
  const centralSize = records.reduce((n, r) => n + 46 + r.name.length, 0);
  const beforeComment = centralStart + centralSize + 22 + COMMENT_HEAD.length + NONCE_LENGTH;
  const fill = (((LAST_BLOCK_FILL - beforeComment) % 64) + 64) % 64;
  const comment = enc.encode(`${COMMENT_HEAD}${".".repeat(fill)}${nonce}`);
  const total = centralStart + centralSize + 22 + comment.length;

  const bytes = new Uint8Array(total);
  const view = new DataView(bytes.buffer);
  let at = 0;
  const u16 = (v: number) => { view.setUint16(at, v, true); at += 2; };
  const u32 = (v: number) => { view.setUint32(at, v >>> 0, true); at += 4; };
  const put = (b: Uint8Array) => { bytes.set(b, at); at += b.length; };
  const crcs = records.map((r) => crc32(r.data));
  records.forEach((r, i) => {
    u32(0x04034b50); u16(20); u16(0); u16(0); u16(0); u16(0x21); // version, flags, stored, time, date 1980-01-01
    u32(crcs[i]); u32(r.data.length); u32(r.data.length);
    u16(r.name.length); u16(4 + pads[i]);
    put(r.name);
    u16(0x4246); u16(pads[i]); // "FB"
    bytes.fill(0x5a, at, at + pads[i]); // "Z", as torch pads
    at += pads[i];
    put(r.data);
  });
  records.forEach((r, i) => {
    u32(0x02014b50); u16(20); u16(20); u16(0); u16(0); u16(0); u16(0x21);
    u32(crcs[i]); u32(r.data.length); u32(r.data.length);
    u16(r.name.length); u16(0); u16(0); u16(0); u16(0); u32(0); u32(local[i]);
    put(r.name);
  });
  u32(0x06054b50); u16(0); u16(0); u16(records.length); u16(records.length);
  u32(centralSize); u32(centralStart); u16(comment.length);
  put(comment);
  if (at !== total || total % 64 !== LAST_BLOCK_FILL) throw new Error("checkpoint layout is off");
  return { bytes, weightsSha256: weights.digest("hex") };
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}
