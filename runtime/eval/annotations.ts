// MMAction2 0.x annotation lists, read as its datasets read them (mmaction/datasets/base.py,
// video_dataset.py, rawframe_dataset.py on branch 0.x):
//
// VideoDataset.load_annotations, per line:  line_split = line.strip().split()
//     multi_class:  filename, label = line_split[0], line_split[1:]; label = list(map(int, label))
//     otherwise:    filename, label = line_split; label = int(label)      (exactly two fields)
//     start_index defaults to 0 (frames decoded from a video count from 0)
// RawframeDataset.load_annotations, per line:
//     frame_dir [offset] total_frames label...  (offset only with with_offset=True)
//     label = [int(x) for x in rest]; assert label   (at least one, even with multi_class)
//     single-label: assert len(label) == 1
//     start_index defaults to 1, filename_tmpl to 'img_{:05}.jpg'
// Both: `filename = osp.join(self.data_prefix, filename)` when data_prefix is set, where
// BaseDataset first replaced data_prefix by osp.realpath(data_prefix) if it is a directory;
// an ann_file ending in ".json" is a JSON list of dicts instead (load_json_annotations: the path
// key is 'frame_dir' if the FIRST entry has one, else 'filename'; 'label' is a list, of length 1
// unless multi_class).
//
// Where MMAction2 would crash with a bare ValueError/AssertionError (a blank line, a missing
// label, "abc" as a label), this throws I3DError("input") naming file:line. Stricter than
// MMAction2 on purpose: negative labels/frame counts (which int() accepts and which only fail,
// or silently mis-score, much later) and multi-class labels >= num_classes (an IndexError at
// test time in MMAction2) are rejected here too.

import { realpathSync, statSync } from "node:fs";
import { readFile, stat } from "node:fs/promises";
import { printable } from "../../models/checkpoint/printable.ts";
import { describeJsonError } from "../../models/config/json-syntax.ts";
import { I3DError } from "../../models/errors.ts";
import { readLines, type ReadLinesOptions } from "./read-lines.ts";

/** which MMAction2 dataset class the list belongs to */
export type AnnotationFormat = "video" | "rawframes";

export interface AnnotationOptions extends ReadLinesOptions {
  /** VideoDataset ("video": `path label`) or RawframeDataset ("rawframes": `dir frames label`) */
  format: AnnotationFormat;
  /** data_prefix: joined in front of every path as os.path.join does */
  dataPrefix?: string;
  /** multi_class: several labels per line (then numClasses is required) */
  multiClass?: boolean;
  /** num_classes: only used (and required) with multiClass */
  numClasses?: number;
  /** RawframeDataset with_offset: lines are `dir offset frames label` */
  withOffset?: boolean;
  /** start_index (default 0 for videos, 1 for rawframes) */
  startIndex?: number;
  /** RawframeDataset filename_tmpl (default "img_{:05}.jpg") */
  filenameTmpl?: string;
  /** largest .json annotation file read (it is parsed whole), bytes; default 512 MiB */
  maxJsonBytes?: number;
}

/** One video of the list, with the keys MMAction2's results dict starts from. */
export interface AnnotationItem {
  /** where it came from, for messages: "list.txt:12" (or "list.json[11]") */
  source: string;
  format: AnnotationFormat;
  /** `filename` (videos) or `frame_dir` (rawframes), data_prefix already joined */
  path: string;
  /** one class index, or the list of them for multi-class datasets */
  label: number | number[];
  startIndex: number;
  /** rawframes: `total_frames` */
  totalFrames?: number;
  /** rawframes with_offset: `offset` */
  offset?: number;
  /** rawframes: `filename_tmpl` */
  filenameTmpl?: string;
}

export const DEFAULT_FILENAME_TMPL = "img_{:05}.jpg";

/** What Python's str.split() with no argument splits on (str.isspace), line breaks aside. */
const PY_WHITESPACE = /[\t\v\f\x1c-\x1f \x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+/;

/** Python's int() on a field: optional sign, decimal digits of any script (int("٣") is 3),
 * single underscores between digits. */
const PY_INT = /^[+-]?\p{Nd}+(?:_\p{Nd}+)*$/u;
const ND = /^\p{Nd}$/u;

/** the value of a decimal digit: Unicode encodes each script's 0..9 as one consecutive run */
function digitValue(cp: number): number {
  let zero = cp;
  while (ND.test(String.fromCodePoint(zero - 1))) zero--;
  return (cp - zero) % 10;
}

/** int(field) of a field PY_INT accepts */
function pythonInt(field: string): number {
  const digits = field.replace(/_/g, "");
  // "+0" of the sum: int("-0") is 0, not JavaScript's -0
  if (/^[+-]?[0-9]+$/.test(digits)) return Number(digits) + 0;
  let value = 0;
  for (const ch of digits.replace(/^[+-]/, "")) value = value * 10 + digitValue(ch.codePointAt(0)!);
  return (digits.startsWith("-") ? -value : value) + 0;
}

/** Stream the annotations of `file` in order. Throws I3DError("input") at the first bad line. */
export async function* readAnnotations(file: string, opts: AnnotationOptions): AsyncGenerator<AnnotationItem> {
  const ctx = makeContext(file, opts);
  if (file.endsWith(".json")) {
    yield* readJsonAnnotations(file, opts, ctx);
    return;
  }
  for await (const { lineNo, text } of readLines(file, opts)) yield parseAnnotationLine(text, `${file}:${lineNo}`, ctx);
}

/** All annotations of `file`; an empty list is an error (there would be nothing to test). */
export async function loadAnnotations(file: string, opts: AnnotationOptions): Promise<AnnotationItem[]> {
  const items: AnnotationItem[] = [];
  for await (const item of readAnnotations(file, opts)) items.push(item);
  if (items.length === 0) throw new I3DError("input", `${file}: the annotation list is empty`);
  return items;
}

/** The resolved per-dataset settings every line is parsed with. */
export interface AnnotationContext {
  format: AnnotationFormat;
  /** data_prefix after BaseDataset's realpath-if-directory step (undefined: none) */
  dataPrefix?: string;
  multiClass: boolean;
  numClasses?: number;
  withOffset: boolean;
  startIndex: number;
  filenameTmpl: string;
}

export function makeContext(file: string, opts: AnnotationOptions): AnnotationContext {
  if (opts.multiClass && opts.numClasses === undefined) {
    throw new I3DError("usage", `${file}: multi-class annotations need num_classes`);
  }
  if (opts.numClasses !== undefined && !(Number.isInteger(opts.numClasses) && opts.numClasses > 0)) {
    throw new I3DError("usage", `num_classes must be a positive integer, got ${opts.numClasses}`);
  }
  if (opts.withOffset && opts.format !== "rawframes") throw new I3DError("usage", "with_offset applies to rawframe lists only");
  return {
    format: opts.format,
    dataPrefix: resolveDataPrefix(opts.dataPrefix),
    multiClass: opts.multiClass ?? false,
    numClasses: opts.numClasses,
    withOffset: opts.withOffset ?? false,
    startIndex: opts.startIndex ?? (opts.format === "video" ? 0 : 1),
    filenameTmpl: opts.filenameTmpl ?? DEFAULT_FILENAME_TMPL,
  };
}

/** BaseDataset: `osp.realpath(data_prefix) if data_prefix is not None and osp.isdir(data_prefix)` */
function resolveDataPrefix(prefix: string | undefined): string | undefined {
  if (prefix === undefined) return undefined;
  try {
    if (statSync(prefix).isDirectory()) return realpathSync(prefix);
  } catch {
    // not there (yet): MMAction2 keeps the string as given
  }
  return prefix;
}

/** posixpath.join(a, b): b wins when absolute; no normalisation of "." or ".." */
export function pythonPathJoin(a: string, b: string): string {
  if (b.startsWith("/")) return b;
  if (a === "" || a.endsWith("/")) return a + b;
  return `${a}/${b}`;
}

/** One line of a text annotation list; `where` is "file:line" for messages. */
export function parseAnnotationLine(line: string, where: string, ctx: AnnotationContext): AnnotationItem {
  const fields = line.split(PY_WHITESPACE).filter((f) => f !== "");
  if (fields.length === 0) throw new I3DError("input", `${where}: blank line (every line of an annotation list is a video)`);
  const path = ctx.dataPrefix !== undefined ? pythonPathJoin(ctx.dataPrefix, fields[0]) : fields[0];

  if (ctx.format === "video") {
    if (ctx.multiClass) {
      // VideoDataset takes every field after the path as a label, none at all included
      const labels = fields.slice(1).map((f) => parseCount(f, "label", where));
      return { source: where, format: "video", path, label: checkClasses(labels, where, ctx), startIndex: ctx.startIndex };
    }
    if (fields.length !== 2) {
      throw new I3DError("input", `${where}: expected "<video> <label>", got ${fields.length} field${fields.length === 1 ? "" : "s"}`);
    }
    return { source: where, format: "video", path, label: parseCount(fields[1], "label", where), startIndex: ctx.startIndex };
  }

  const shape = ctx.withOffset ? "<frame_dir> <offset> <total_frames> <label>" : "<frame_dir> <total_frames> <label>";
  const labelAt = ctx.withOffset ? 3 : 2;
  if (fields.length <= labelAt || (!ctx.multiClass && fields.length !== labelAt + 1)) {
    throw new I3DError("input", `${where}: expected "${shape}", got ${fields.length} field${fields.length === 1 ? "" : "s"}`);
  }
  const item: AnnotationItem = {
    source: where,
    format: "rawframes",
    path,
    label: 0,
    startIndex: ctx.startIndex,
    filenameTmpl: ctx.filenameTmpl,
  };
  if (ctx.withOffset) item.offset = parseCount(fields[1], "offset", where);
  item.totalFrames = parseCount(fields[labelAt - 1], "total_frames", where);
  const labels = fields.slice(labelAt).map((f) => parseCount(f, "label", where));
  item.label = ctx.multiClass ? checkClasses(labels, where, ctx) : labels[0];
  return item;
}

/** int(field) for a count or class index: Python's integer syntax, and not negative */
function parseCount(field: string, what: string, where: string): number {
  // (a field may be as long as a line: it is shown shortened)
  if (!PY_INT.test(field)) throw new I3DError("input", `${where}: ${what} "${printable(field, 40)}" is not an integer`);
  const value = pythonInt(field);
  if (value < 0) throw new I3DError("input", `${where}: ${what} ${printable(field, 40)} is negative`);
  if (!Number.isSafeInteger(value)) throw new I3DError("input", `${where}: ${what} ${printable(field, 40)} is too large`);
  return value;
}

/** multi-class labels index a one-hot vector of num_classes */
function checkClasses(labels: number[], where: string, ctx: AnnotationContext): number[] {
  for (const label of labels) {
    if (label >= ctx.numClasses!) throw new I3DError("input", `${where}: label ${label} is not below num_classes ${ctx.numClasses}`);
  }
  return labels;
}

/** load_json_annotations: a JSON list of {filename | frame_dir, label: [...], ...} */
async function* readJsonAnnotations(file: string, opts: AnnotationOptions, ctx: AnnotationContext): AsyncGenerator<AnnotationItem> {
  const maxBytes = opts.maxJsonBytes ?? 512 * 1024 * 1024;
  let text: string;
  try {
    const size = (await stat(file)).size;
    if (size > maxBytes) throw new I3DError("input", `${file}: ${size} bytes is more than the ${maxBytes} a JSON annotation file may have`);
    text = await readFile(file, "utf8");
  } catch (e) {
    if (e instanceof I3DError) throw e;
    throw new I3DError("io", `cannot read annotation file ${file}: ${(e as Error).message}`, { cause: e });
  }
  let infos: unknown;
  try {
    infos = JSON.parse(text);
  } catch (e) {
    // not JSON.parse's message: V8 quotes the text there, line breaks included
    throw new I3DError("input", `${file}: not valid JSON (${describeJsonError(text)})`, { cause: e });
  }
  if (!Array.isArray(infos)) throw new I3DError("input", `${file}: expected a JSON list of videos`);
  if (infos.length === 0) return;
  const first = infos[0];
  const pathKey = isRecord(first) && "frame_dir" in first ? "frame_dir" : "filename";
  for (let i = 0; i < infos.length; i++) {
    const where = `${file}[${i}]`;
    const info = infos[i];
    if (!isRecord(info)) throw new I3DError("input", `${where}: expected an object`);
    const rawPath = info[pathKey];
    if (typeof rawPath !== "string") throw new I3DError("input", `${where}: "${pathKey}" is missing or not a string`);
    const path = ctx.dataPrefix !== undefined ? pythonPathJoin(ctx.dataPrefix, rawPath) : rawPath;
    const labels = info.label;
    if (!Array.isArray(labels) || !labels.every((l) => Number.isSafeInteger(l) && l >= 0)) {
      throw new I3DError("input", `${where}: "label" must be a list of non-negative integers`);
    }
    if (!ctx.multiClass && labels.length !== 1) throw new I3DError("input", `${where}: expected one label, got ${labels.length}`);
    const item: AnnotationItem = {
      source: where,
      format: ctx.format,
      path,
      label: ctx.multiClass ? checkClasses(labels as number[], where, ctx) : (labels[0] as number),
      startIndex: ctx.startIndex,
    };
    if (ctx.format === "rawframes") {
      item.filenameTmpl = ctx.filenameTmpl;
      item.totalFrames = jsonCount(info, "total_frames", where, true);
      const offset = jsonCount(info, "offset", where, false);
      if (offset !== undefined) item.offset = offset;
    }
    yield item;
  }
}

function jsonCount(info: Record<string, unknown>, key: string, where: string, required: boolean): number | undefined {
  const value = info[key];
  if (value === undefined && !required) return undefined;
  if (!Number.isSafeInteger(value) || (value as number) < 0) throw new I3DError("input", `${where}: "${key}" must be a non-negative integer`);
  return value as number;
}

function isRecord(x: unknown): x is Record<string, unknown> {
  return typeof x === "object" && x !== null && !Array.isArray(x);
}
