// Line-aware mutations of annotation lists (`path label`, `dir frames label`, ...): lines
// deleted, duplicated, swapped, blanked; fields deleted, duplicated, swapped or replaced by
// boundary integers and things Python's int() does or does not accept; odd whitespace and line
// ends (Python's str.split() whitespace, lone CR, U+2028), a BOM, invalid UTF-8, a long line.

import { concat } from "./byte-mutations.ts";
import type { Rng } from "./rng.ts";

const oddFields = [
  "-1", "0", "+0", "-0", "0_7", "1__2", "_1", "1_", "00", "007", "2147483647", "2147483648", "4294967296",
  "9007199254740991", "9007199254740992", "9007199254740993", "99999999999999999999999", "1e3", "0x10", "1.0",
  "nan", "inf", "٣", "３", "", "+", "-", "a.mp4", "/abs/path.mp4", "..", "x".repeat(100),
];

const oddSpaces = [" ", "\t", "\x0b", "\x0c", "\x1c", "\x1f", "\x85", "\xa0", "\u1680", "\u2000", "\u2028", "\u3000", "\u200b", "\u0000", "  \t "];

export function mutateLines(bytes: Uint8Array, rng: Rng): { bytes: Uint8Array; how: string } {
  const text = new TextDecoder().decode(bytes);
  const lines = text.split(/\r\n|\r|\n/);
  const li = rng.int(lines.length);
  const fields = (lines[li] ?? "").split(/[ \t]+/).filter((f) => f !== "");
  const fi = rng.int(Math.max(1, fields.length));
  const joinBack = (ls: string[]) => ls.join("\n");
  let how: string;
  let out: string;
  switch (rng.int(11)) {
    case 0:
      lines.splice(li, 1);
      out = joinBack(lines);
      how = `lines: delete ${li}`;
      break;
    case 1: {
      const n = rng.chance(0.1) ? rng.small(5000) : 1;
      lines.splice(li, 0, ...Array.from({ length: n }, () => lines[li]));
      out = joinBack(lines);
      how = `lines: duplicate ${li} x${n}`;
      break;
    }
    case 2: {
      const lj = rng.int(lines.length);
      [lines[li], lines[lj]] = [lines[lj], lines[li]];
      out = joinBack(lines);
      how = `lines: swap ${li} ${lj}`;
      break;
    }
    case 3:
    case 4: {
      fields[fi] = rng.pick(oddFields);
      lines[li] = fields.join(" ");
      out = joinBack(lines);
      how = `lines: field ${li}.${fi} -> ${JSON.stringify(fields[fi].slice(0, 20))}`;
      break;
    }
    case 5: {
      const kind = rng.int(3);
      if (kind === 0) fields.splice(fi, 1);
      else if (kind === 1) fields.splice(fi, 0, fields[fi] ?? "1");
      else fields.push(...Array.from({ length: rng.small(100) }, () => String(rng.int(500))));
      lines[li] = fields.join(" ");
      out = joinBack(lines);
      how = `lines: field count on line ${li}`;
      break;
    }
    case 6: {
      const sp = rng.pick(oddSpaces);
      lines[li] = rng.chance(0.5) ? fields.join(sp) : sp + lines[li] + sp;
      out = joinBack(lines);
      how = `lines: whitespace ${JSON.stringify(sp)} on line ${li}`;
      break;
    }
    case 7: {
      const nl = rng.pick(["\r\n", "\r", "\n\n", "\u2028", "\x85", "\x0b"]);
      out = lines.join(nl);
      how = `lines: line ends ${JSON.stringify(nl)}`;
      break;
    }
    case 8:
      lines.splice(li, 0, rng.pick(["", " ", "\t", "#comment 1", "x".repeat(rng.pick([70_000, 200]))]));
      out = joinBack(lines);
      how = `lines: insert odd line at ${li}`;
      break;
    case 9: {
      // bytes that are not UTF-8, or a BOM
      const bad = rng.pick([Uint8Array.of(0xff), Uint8Array.of(0xc3), Uint8Array.of(0xef, 0xbb, 0xbf), Uint8Array.of(0xed, 0xa0, 0x80), Uint8Array.of(0)]);
      const at = rng.int(bytes.length + 1);
      return { bytes: concat(bytes.subarray(0, at), bad, bytes.subarray(at)), how: `lines: bytes ${[...bad]} at ${at}` };
    }
    default: {
      const cut = rng.int(bytes.length + 1);
      return { bytes: bytes.slice(0, cut), how: `lines: cut at ${cut}` };
    }
  }
  return { bytes: new TextEncoder().encode(out), how };
}

/** the same list written differently: CRLF or CR ends, tabs and runs of spaces, a final newline or not */
export function respellLines(bytes: Uint8Array, rng: Rng): Uint8Array {
  const text = new TextDecoder().decode(bytes);
  const lines = text.split(/\r\n|\r|\n/).filter((l) => l.trim() !== "");
  const sep = rng.pick([" ", "\t", "  ", " \t "]);
  const nl = rng.pick(["\n", "\r\n", "\r"]);
  const body = lines.map((l) => rng.pick(["", " ", "\t"]) + l.trim().split(/\s+/).join(sep) + rng.pick(["", " "])).join(nl);
  return new TextEncoder().encode(body + (rng.chance(0.5) ? nl : ""));
}
