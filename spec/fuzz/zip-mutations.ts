// Zip-level mutations. `zipFields` finds the length / size / offset / count fields of every
// local header, central record, zip64 extra field and end record by their signatures (so it
// works on already damaged archives); `mutateZipField` writes boundary values there. The
// entry-level mutations unpack an archive, change its entries (a pickle-level mutation of
// data.pkl, renames, drops, duplicates, a deflate bomb) and re-pack it, stored or deflated,
// aligned or not, with or without zip64 records, so the CRCs are right and the damage reaches
// the parsers behind the zip reader. `overlapEntries` makes two records share bytes.

import { ZipReader } from "../../models/checkpoint/zip-reader.ts";
import { type ZipInput, makeZip } from "../checkpoint/zip-writer.ts";
import { mutateBytes, pickBoundary, readIntLE, writeIntLE } from "./byte-mutations.ts";
import { disassemble, mutatePickle } from "./pickle-mutations.ts";
import type { Rng } from "./rng.ts";

export interface ZipField {
  at: number;
  width: number;
  name: string;
}

const LOCAL = 0x04034b50, CENTRAL = 0x02014b50, EOCD = 0x06054b50, ZIP64_EOCD = 0x06064b50, LOCATOR = 0x07064b50;

export function zipFields(bytes: Uint8Array): ZipField[] {
  const fields: ZipField[] = [];
  const sig = (at: number) => Number(readIntLE(bytes, at, 4));
  for (let at = 0; at + 4 <= bytes.length; at++) {
    if (bytes[at] !== 0x50 || bytes[at + 1] !== 0x4b) continue;
    const s = sig(at);
    const f = (off: number, width: number, name: string) => {
      if (at + off + width <= bytes.length) fields.push({ at: at + off, width, name });
    };
    if (s === LOCAL) {
      f(6, 2, "local flags"); f(8, 2, "local method"); f(14, 4, "local crc"); f(18, 4, "local compressed size");
      f(22, 4, "local size"); f(26, 2, "local name length"); f(28, 2, "local extra length");
    } else if (s === CENTRAL) {
      f(8, 2, "central flags"); f(10, 2, "central method"); f(16, 4, "central crc"); f(20, 4, "central compressed size");
      f(24, 4, "central size"); f(28, 2, "central name length"); f(30, 2, "central extra length");
      f(32, 2, "central comment length"); f(34, 2, "central disk"); f(42, 4, "central local offset");
      // zip64 extended information in the extra field
      const nameLength = Number(readIntLE(bytes, at + 28, 2));
      const extraLength = Number(readIntLE(bytes, at + 30, 2));
      let extra = at + 46 + nameLength;
      const end = Math.min(bytes.length, extra + extraLength);
      while (extra + 4 <= end) {
        const id = Number(readIntLE(bytes, extra, 2));
        const length = Number(readIntLE(bytes, extra + 2, 2));
        fields.push({ at: extra + 2, width: 2, name: "extra field length" });
        if (id === 1) for (let k = 0; k + 8 <= length; k += 8) fields.push({ at: extra + 4 + k, width: 8, name: "zip64 extra value" });
        extra += 4 + length;
      }
    } else if (s === EOCD) {
      f(4, 2, "end disk"); f(8, 2, "end entries on disk"); f(10, 2, "end entries"); f(12, 4, "end directory size");
      f(16, 4, "end directory offset"); f(20, 2, "end comment length");
    } else if (s === ZIP64_EOCD) {
      f(4, 8, "zip64 end record size"); f(24, 8, "zip64 entries on disk"); f(32, 8, "zip64 entries");
      f(40, 8, "zip64 directory size"); f(48, 8, "zip64 directory offset");
    } else if (s === LOCATOR) {
      f(8, 8, "zip64 locator offset"); f(16, 4, "zip64 locator disks");
    }
  }
  return fields;
}

/** a boundary value (or a near miss of the current value) in one header field */
export function mutateZipField(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; how: string } {
  const fields = zipFields(bytes);
  if (fields.length === 0) return mutateBytes(bytes, rng);
  const field = rng.pick(fields);
  const out = bytes.slice();
  const current = Number(readIntLE(out, field.at, Math.min(field.width, 6)));
  const value = pickBoundary(rng, current);
  writeIntLE(out, field.at, field.width, value);
  return { bytes: out, how: `zip: ${field.name} at ${field.at} -> ${value}` };
}

/** the entries of an archive, or undefined when it does not open */
export function unpack(bytes: Uint8Array): ZipInput[] | undefined {
  try {
    const zip = new ZipReader(bytes, { source: "seed" });
    return zip.names().map((name) => ({ name, data: zip.read(name).slice() }));
  } catch {
    return undefined;
  }
}

/** re-packs entries with a random layout (the content is unchanged) */
export function repack(entries: ZipInput[], rng: Rng): { bytes: Uint8Array; how: string } {
  const zip64 = rng.chance(0.25);
  const align = rng.pick([1, 64, 64, 4096]);
  const methods = entries.map((e) => e.method ?? (rng.chance(0.3) ? 8 : 0));
  const bytes = makeZip(entries.map((e, i) => ({ ...e, method: methods[i] as 0 | 8 })), { zip64, align }).bytes;
  return { bytes, how: `repack zip64=${zip64} align=${align} deflated=${methods.filter((m) => m === 8).length}` };
}

/** a deflated record of `size` zero bytes: about 1000:1, and every size field is true */
export function bombEntry(name: string, size: number): ZipInput {
  return { name, data: new Uint8Array(size), method: 8 };
}

/**
 * A stored record claiming a size that reaches into the next record: its central and local
 * sizes are raised so that [data, data + size) covers the next entry's local header.
 */
export function overlapEntries(bytes: Uint8Array): Uint8Array | undefined {
  const layout = zipFields(bytes).filter((f) => f.name === "central local offset").map((f) => Number(readIntLE(bytes, f.at, 4)));
  if (layout.length < 2) return undefined;
  const out = bytes.slice();
  const centrals = zipFields(bytes).filter((f) => f.name === "central compressed size");
  const sizes = zipFields(bytes).filter((f) => f.name === "central size");
  const sorted = [...layout].sort((a, b) => a - b);
  const first = layout.indexOf(sorted[0]);
  const grow = sorted[1] - sorted[0] + 40;
  writeIntLE(out, centrals[first].at, 4, readIntLE(out, centrals[first].at, 4) + BigInt(grow));
  writeIntLE(out, sizes[first].at, 4, readIntLE(out, sizes[first].at, 4) + BigInt(grow));
  return out;
}

/**
 * Entry-level mutations of a torch zip checkpoint, re-packed: the pickle (data.pkl) gets a
 * pickle-level mutation, or entries are renamed, dropped, duplicated, reordered, bombed, or a
 * storage record is cut or extended. Returns undefined when the input does not unpack.
 */
export function mutateZipEntries(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; how: string } | undefined {
  const entries = unpack(bytes);
  if (!entries || entries.length === 0) return undefined;
  const pkl = entries.findIndex((e) => e.name.endsWith("/data.pkl"));
  let how: string;
  switch (rng.int(8)) {
    case 0:
    case 1:
    case 2: {
      if (pkl < 0) return undefined;
      const { ops } = disassemble(entries[pkl].data);
      const m = mutatePickle(entries[pkl].data, ops, rng);
      entries[pkl] = { ...entries[pkl], data: m.bytes };
      how = `data.pkl ${m.how}`;
      break;
    }
    case 3: {
      const i = rng.int(entries.length);
      const top = entries[0].name.split("/")[0];
      const name = rng.pick([`${top}/data/999`, "data.pkl", `other/data.pkl`, `${top}/../data.pkl`, `${top}/data.pkl`,
        `${top}/byteorder`, `${top}/data/${"9".repeat(300)}`, `${top}/\u0000`, "", `${top}/version`]);
      entries[i] = { ...entries[i], name };
      how = `rename entry ${i} -> ${JSON.stringify(name.slice(0, 40))}`;
      break;
    }
    case 4: {
      const i = rng.int(entries.length);
      if (rng.chance(0.5)) entries.splice(i, 1);
      else entries.push({ ...entries[i], name: entries[i].name + (rng.chance(0.5) ? "" : "2") });
      how = `drop or duplicate entry ${i}`;
      break;
    }
    case 5: {
      const top = entries[0].name.split("/")[0];
      if (rng.chance(0.5)) {
        const size = rng.pick([1 << 20, 4 << 20]);
        const target = rng.chance(0.5) && pkl >= 0 ? entries[pkl].name : `${top}/data/0`;
        const i = entries.findIndex((e) => e.name === target);
        if (i >= 0) entries[i] = bombEntry(target, size);
        else entries.push(bombEntry(target, size));
        how = `deflate bomb ${target} ${size} bytes`;
      } else {
        const i = entries.findIndex((e) => e.name.endsWith("byteorder"));
        const data = new TextEncoder().encode(rng.pick(["big", "little\n", "", "\u0000"]));
        if (i >= 0) entries[i] = { name: entries[i].name, data };
        else entries.push({ name: `${top}/byteorder`, data });
        how = "byteorder record";
      }
      break;
    }
    case 6: {
      const storages = entries.filter((e) => /\/data\/[^/]+$/.test(e.name));
      if (storages.length === 0) return undefined;
      const e = rng.pick(storages);
      const i = entries.indexOf(e);
      const m = mutateBytes(e.data, rng);
      entries[i] = { ...e, data: rng.chance(0.5) ? e.data.slice(0, rng.int(e.data.length)) : m.bytes };
      how = `storage record ${e.name} resized or ${m.how}`;
      break;
    }
    default: {
      for (let i = entries.length - 1; i > 0; i--) {
        const j = rng.int(i + 1);
        [entries[i], entries[j]] = [entries[j], entries[i]];
      }
      how = "shuffle entries";
    }
  }
  const packed = repack(entries, rng);
  return { bytes: packed.bytes, how: `${how}; ${packed.how}` };
}
