// Class names for the output: the built-in Kinetics-400 list, or a user's --label-map file
// (one name per line, line i = class i, as MMAction2's label_map files are), read as
// demo/demo.py reads it: open(label).readlines(), then x.strip() on every line.

import { readFile } from "node:fs/promises";
import { I3DError } from "../../models/errors.ts";
import { defaultLabels } from "./default-labels.ts";

/**
 * Python's str.strip() with no argument: the characters str.isspace() accepts. Not
 * String.prototype.trim, which also removes U+FEFF (a BOM Python keeps in the first name) and
 * keeps U+001C-U+001F and U+0085 (which Python removes).
 */
const PY_SPACE = "\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000";
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, "g");

/**
 * The lines of a text file as readlines() in text mode gives them: universal newlines (\n,
 * \r\n and a lone \r end a line), the last line counted only when it has characters.
 */
function readlines(text: string): string[] {
  const lines = text.split(/\r\n|\r|\n/);
  if (lines[lines.length - 1] === "") lines.pop();
  return lines;
}

export function parseLabelMap(text: string): string[] {
  return readlines(text).map((l) => l.replace(PY_STRIP, ""));
}

export async function loadLabelMap(path: string | undefined, numClasses: number): Promise<readonly string[]> {
  if (path === undefined) return defaultLabels(numClasses);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new I3DError("io", `cannot read label map ${path}: ${(e as NodeJS.ErrnoException).code ?? String(e)}`);
  }
  let text: string;
  try {
    // Python's utf-8 codec: a BOM stays a character, undecodable bytes are an error
    text = new TextDecoder("utf-8", { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    throw new I3DError("input", `label map ${path} is not UTF-8 text`);
  }
  const labels = parseLabelMap(text);
  // demo.py only indexes labels[k] for the top classes, so lines past the model's classes are
  // unused (not an error); too few lines would raise its IndexError once such a class ranks in
  // the top 5, and are refused here before any video runs
  if (labels.length < numClasses) {
    throw new I3DError("input", `label map ${path} has ${labels.length} names but the model has ${numClasses} classes`);
  }
  return labels.slice(0, numClasses);
}
