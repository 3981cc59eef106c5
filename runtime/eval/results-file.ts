// The `--out` file of `i3d test`: what MMAction2's tools/test.py writes for a .json out file
// (mmcv.dump -> json.dump with ndarray.tolist(): one list of per-video score lists, ", "
// separators, on one line), kept valid at every moment: each save writes a temporary file next
// to the target and renames it over the target, so an interrupted run leaves the last complete
// save, never half a list.
//
// Representation choices MMAction2 never had to make (it has no skipped videos):
//   - a video that could not be decoded is `null` at its place, so entry i is still annotation
//     line i (json.load / mmcv.load read it; drop the nulls and their lines to evaluate it with
//     MMAction2's tools, whose evaluate() wants one score list per dataset entry);
//   - a non-finite score (NaN/Infinity, which Python writes as bare NaN, not JSON) is `null`.
// Rows are serialised once when added; a save streams the cached bytes, so saving a
// 20k-video list (165 MB) costs one sequential write (about 1 s), not re-formatting 8M numbers.

import { Buffer } from "node:buffer";
import { mkdir, open, rename, rm } from "node:fs/promises";
import { basename, dirname, join } from "node:path";
import { I3DError } from "../../models/errors.ts";
import { reprLikePython } from "./python-float-format.ts";

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

export class ResultsFile {
  readonly path: string;
  /** each row's JSON text, encoded once (ASCII, so one byte per character) */
  private readonly rows: Buffer[] = [];
  private savedRows = -1;

  constructor(path: string) {
    this.path = path;
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
    this.rows.push(Buffer.from(formatScoreRow(scores), "latin1"));
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
        // gathered writes of a few hundred rows each: no giant string, few syscalls
        let batch: Buffer[] = [OPEN];
        for (let i = 0; i < count; i++) {
          if (i > 0) batch.push(SEPARATOR);
          batch.push(this.rows[i]);
          if (batch.length >= 512) {
            await handle.writev(batch);
            batch = [];
          }
        }
        batch.push(CLOSE);
        await handle.writev(batch);
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
