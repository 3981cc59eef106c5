// The `--out` file of `i3d test`: what MMAction2's tools/test.py writes (mmcv.dump of the list of
// per-video score arrays, in the format its extension names), kept valid at every moment: each
// save writes a temporary file next to the target and renames it over the target, so an
// interrupted run leaves the last complete save, never half a list.
//   .json: json.dump with ndarray.tolist(): one list of per-video score lists, ", " separators,
//          on one line;
//   .pkl / .pickle: pickle protocol 2 of the numpy arrays (results-pickle.ts);
//   .yaml / .yml: PyYAML's dump of the numpy arrays (results-yaml.ts).
// tools/test.py refuses any other extension (its `suffix[1:] in file_handlers` assert), so
// resultsFormat does too.
//
// Representation choices MMAction2 never had to make (it has no skipped videos):
//   - a video that could not be decoded is `null` at its place, so entry i is still annotation
//     line i (json.load / mmcv.load read it; drop the nulls and their lines to evaluate it with
//     MMAction2's tools, whose evaluate() wants one score list per dataset entry);
//   - a non-finite score (NaN/Infinity, which Python writes as bare NaN, not JSON) is `null`.
// Rows are serialised once when added; a save streams the cached bytes, so saving a
// 20k-video list (165 MB of JSON) costs one sequential write (about 1 s), not re-formatting 8M
// numbers.

import { Buffer } from "node:buffer";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, extname, join } from "node:path";
import { printable } from "../../models/checkpoint/printable.ts";
import { I3DError } from "../../models/errors.ts";
import { reprLikePython } from "./python-float-format.ts";
import { pickleResults, pickleRowData } from "./results-pickle.ts";
import { yamlResults, yamlRowData } from "./results-yaml.ts";

export type ResultsFormat = "json" | "pickle" | "yaml";

/** mmcv's file_handlers by extension (case-sensitive, as there) */
const FORMATS: Record<string, ResultsFormat> = { json: "json", pkl: "pickle", pickle: "pickle", yaml: "yaml", yml: "yaml" };

/** The format tools/test.py + mmcv.dump write `path` in; I3DError("usage") for any other extension. */
export function resultsFormat(path: string): ResultsFormat {
  // osp.splitext: the extension of the last path component, a leading dot not counting
  const ext = extname(path).slice(1);
  if (!Object.hasOwn(FORMATS, ext)) {
    throw new I3DError("usage", `--out ${printable(path, 80)}: the format of the output file should be json, pickle or yaml (.json, .pkl, .pickle, .yaml, .yml)`);
  }
  return FORMATS[ext];
}

/** One score list as json.dumps writes it: "[0.10000000149011612, 1e-05]", byte for byte. */
export function formatScoreRow(scores: ArrayLike<number> | null): string {
  if (scores === null) return "null";
  const parts = new Array<string>(scores.length);
  for (let i = 0; i < scores.length; i++) {
    const x = scores[i];
    parts[i] = Number.isFinite(x) ? reprLikePython(x) : "null";
  }
  return `[${parts.join(", ")}]`;
}

/** a row, serialised for its format: the bytes and the number of scores */
interface EncodedRow {
  data: Buffer;
  length: number;
}

function encodeRow(format: ResultsFormat, scores: ArrayLike<number>): EncodedRow {
  const data = format === "json" ? Buffer.from(formatScoreRow(scores), "latin1")
    : format === "pickle" ? pickleRowData(scores)
    : yamlRowData(scores);
  return { data, length: scores.length };
}

/** the whole file, as buffers to write in order */
function layout(format: ResultsFormat, rows: readonly (EncodedRow | null)[]): Buffer[] {
  if (format === "pickle") return pickleResults(rows);
  if (format === "yaml") return yamlResults(rows);
  const parts: Buffer[] = [OPEN];
  rows.forEach((row, i) => {
    if (i > 0) parts.push(SEPARATOR);
    parts.push(row === null ? NULL : row.data);
  });
  parts.push(CLOSE);
  return parts;
}

export class ResultsFile {
  readonly path: string;
  readonly format: ResultsFormat;
  /** each row encoded once (JSON text is ASCII, so one byte per character) */
  private readonly rows: (EncodedRow | null)[] = [];
  private savedRows = -1;

  /** `format` defaults to the one the path's extension names (see resultsFormat) */
  constructor(path: string, format: ResultsFormat = resultsFormat(path)) {
    this.path = path;
    this.format = format;
  }

  /** rows added so far */
  get length(): number {
    return this.rows.length;
  }

  /** rows added since the last save */
  get unsaved(): number {
    return this.rows.length - Math.max(0, this.savedRows);
  }

  add(scores: ArrayLike<number> | null): void {
    this.rows.push(scores === null ? null : encodeRow(this.format, scores));
  }

  /** Write every row added so far to `path` atomically (temp file + rename). */
  async save(): Promise<void> {
    if (this.savedRows === this.rows.length) return;
    const count = this.rows.length;
    const temp = join(dirname(this.path), `.${basename(this.path)}.${process.pid}.tmp`);
    try {
      await mkdir(dirname(this.path), { recursive: true });
      const handle = await open(temp, "w");
      try {
        // gathered writes of a few hundred buffers each: no giant string, few syscalls
        const parts = layout(this.format, this.rows.slice(0, count));
        for (let i = 0; i < parts.length; i += 512) await handle.writev(parts.slice(i, i + 512));
      } finally {
        await handle.close();
      }
      await rename(temp, this.path);
    } catch (e) {
      await rm(temp, { force: true }).catch(() => {});
      throw new I3DError("io", `cannot write results to ${this.path}: ${(e as Error).message}`, { cause: e });
    }
    this.savedRows = count;
  }
}

const OPEN = Buffer.from("[");
const SEPARATOR = Buffer.from(", ");
const CLOSE = Buffer.from("]");
const NULL = Buffer.from("null");
