// The `--out result.yaml` (or .yml) text: what mmcv.dump writes for a YAML file, i.e. PyYAML's
// yaml.dump(outputs, f, Dumper=CDumper) of tools/test.py's list of float32 numpy arrays, as
// PyYAML 5.1+ (block style) writes it:
//
//   - each array is the !!python/object/apply of ndarray.__reduce__ (numpy 1.x), its data a
//     !!binary literal block: base64.encodebytes, lines of 76 characters;
//   - objects met twice get anchors, numbered in the order they are first met again: with two
//     or more arrays, numpy.ndarray is &id001 and the float32 dtype (a numpy singleton) &id002,
//     later arrays refer to them as *id001 / *id002 (bytes, ints and strings never get one);
//   - a skipped video (results-file.ts) is null; an empty list is "[]".
// Each row's base64 block is built once; a save lays the rows out.

import { Buffer } from "node:buffer";

/** a row's data: the indented lines of its !!binary block */
export function yamlRowData(scores: ArrayLike<number>): Buffer {
  const b64 = Buffer.from(Float32Array.from(scores).buffer).toString("base64");
  const lines: string[] = [];
  for (let i = 0; i < b64.length; i += 76) lines.push(`    ${b64.slice(i, i + 76)}\n`);
  return Buffer.from(lines.join(""), "latin1");
}

const DTYPE_STATE = ["    args:", "    - f4", "    - false", "    - true", "    state: !!python/tuple",
  ...["3", "<", "null", "null", "null", "-1", "-1", "0"].map((x) => `    - ${x}`)];

function arrayHead(length: number, first: boolean, anchored: boolean): string {
  const ndarray = !anchored ? "!!python/name:numpy.ndarray" : first ? "&id001 !!python/name:numpy.ndarray" : "*id001";
  const dtype = !anchored || first
    ? [`  - ${anchored ? "&id002 " : ""}!!python/object/apply:numpy.dtype`, ...DTYPE_STATE]
    : ["  - *id002"];
  return [
    "- !!python/object/apply:numpy.core.multiarray._reconstruct",
    "  args:",
    `  - ${ndarray}`,
    "  - !!python/tuple",
    "    - 0",
    "  - !!binary |",
    "    Yg==",
    "  state: !!python/tuple",
    "  - 1",
    "  - !!python/tuple",
    `    - ${length}`,
    ...dtype,
    "  - false",
    "  - !!binary |",
    "",
  ].join("\n");
}

/** The whole file as buffers for writev: rows as yamlRowData made them, with their lengths. */
export function yamlResults(rows: readonly ({ data: Buffer; length: number } | null)[]): Buffer[] {
  if (rows.length === 0) return [Buffer.from("[]\n")];
  const anchored = rows.filter((r) => r !== null).length >= 2;
  const parts: Buffer[] = [];
  let first = true;
  for (const row of rows) {
    if (row === null) {
      parts.push(Buffer.from("- null\n"));
      continue;
    }
    parts.push(Buffer.from(arrayHead(row.length, first, anchored), "latin1"), row.data);
    first = false;
  }
  return parts;
}
