// Turns a failed zod parse into one line that names the config key by its full path, in the
// words of a Python config (`None`, `True`, 'str'): `config error: model.backbone.depth:
// expected one of 18, 34, 50, 101, 152, got 51`. Unknown keys are reported before anything
// else, because a misspelt key is usually also why a required key looks missing.
//
// Every text a message echoes from a config (names, keys, paths, values) goes through `shown`
// or `pyRepr`: line breaks and control characters escaped, length capped, so that a message
// stays one readable line whatever the file holds.

import type { z } from "zod";
import { I3DError } from "../errors.ts";
import { printable } from "../checkpoint/printable.ts";

/** the longest config message: a safety net, every echoed piece is capped on its own */
const MAX_MESSAGE = 1000;

/** The one way config errors are made: "config error: <message>", kept to one bounded line. */
export function configFailure(message: string): I3DError {
  return new I3DError("config", printable(`config error: ${message}`, MAX_MESSAGE));
}

export function configError(path: string, message: string): I3DError {
  return configFailure(`${path ? `${path}: ` : ""}${message}`);
}

/**
 * A text from a config file or a path, as a message may echo it: control characters and line
 * separators escaped, and a long text shortened in the middle (its start and its end, the
 * file name of a path, stay readable).
 */
export function shown(text: string, max = 80): string {
  const clean = printable(text, Infinity);
  if (clean.length <= max) return clean;
  const tail = Math.floor((max - 3) / 3);
  return `${clean.slice(0, max - 3 - tail)}...${clean.slice(clean.length - tail)}`;
}

/** Python's repr of a str, as configs print: single quotes, escapes for what is not printable */
function reprString(s: string): string {
  const body = s.replace(/[\\'\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => {
    const named: Record<string, string> = { "\\": "\\\\", "'": "\\'", "\n": "\\n", "\r": "\\r", "\t": "\\t" };
    if (Object.hasOwn(named, c)) return named[c];
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
  return `'${body}'`;
}

function reprLeaf(v: unknown, max: number): string {
  if (v === null) return "None";
  if (v === undefined) return "nothing";
  if (v === true) return "True";
  if (v === false) return "False";
  // only the start of a long string can be shown
  if (typeof v === "string") return reprString(v.length > max ? v.slice(0, max) : v);
  if (typeof v === "number") return Number.isFinite(v) ? String(v) : v > 0 ? "inf" : v < 0 ? "-inf" : "nan";
  if (typeof v === "bigint") return String(v);
  return `<${typeof v}>`;
}

/** a piece of repr text, pushed on the work stack between values */
class Punct {
  constructor(readonly text: string) {}
}

/**
 * Python's repr of a config value, shortened for one-line messages. Built without recursion
 * and only as far as it is shown, so a value nested 100000 deep or holding a million entries
 * costs no more than a small one.
 */
export function pyRepr(v: unknown, max = 60): string {
  let out = "";
  const work: unknown[] = [v];
  while (work.length > 0 && out.length <= max) {
    const x = work.pop();
    if (x instanceof Punct) {
      out += x.text;
    } else if (Array.isArray(x)) {
      out += "[";
      work.push(new Punct("]"));
      // only the entries that can still be shown (each takes at least one character)
      const n = Math.min(x.length, max - out.length + 1);
      for (let i = n - 1; i >= 0; i--) {
        work.push(x[i]);
        if (i > 0) work.push(new Punct(", "));
      }
    } else if (typeof x === "object" && x !== null) {
      out += "{";
      work.push(new Punct("}"));
      const entries: Array<[string, unknown]> = [];
      for (const k in x) {
        if (!Object.hasOwn(x, k)) continue;
        entries.push([k, (x as Record<string, unknown>)[k]]);
        if (entries.length > max - out.length) break;
      }
      for (let i = entries.length - 1; i >= 0; i--) {
        work.push(entries[i][1]);
        work.push(new Punct(`${reprString(entries[i][0].length > max ? entries[i][0].slice(0, max) : entries[i][0])}: `));
        if (i > 0) work.push(new Punct(", "));
      }
    } else {
      out += reprLeaf(x, max);
    }
  }
  return out.length > max || work.length > 0 ? `${out.slice(0, max - 3)}...` : out;
}

/** `model.backbone` + ["inflate", 2] -> `model.backbone.inflate[2]` */
export function joinPath(base: string, segments: readonly PropertyKey[]): string {
  let out = base;
  for (const s of segments) {
    // keys come from the file: shown escaped and shortened
    if (typeof s === "number") out += `[${s}]`;
    else out += out ? `.${shown(String(s), 60)}` : shown(String(s), 60);
  }
  return out;
}

/** Levenshtein distance, for "did you mean" hints. */
export function editDistance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length];
}

/** The candidates closest to `word` (at most `limit`, only plausible ones). */
export function closest(word: string, candidates: readonly string[], limit = 3): string[] {
  // (a word from the file may be 70000 characters long; nothing that long is a near miss)
  if (word.length > 200) return [];
  const scored = candidates
    .map((c) => ({ c, d: editDistance(word.toLowerCase(), c.toLowerCase()) }))
    .filter(({ c, d }) => d <= Math.max(2, Math.floor(Math.max(word.length, c.length) / 3)) ||
      c.toLowerCase().includes(word.toLowerCase()))
    .sort((x, y) => x.d - y.d || x.c.localeCompare(y.c));
  return scored.slice(0, limit).map(({ c }) => c);
}

const TYPE_WORDS: Record<string, string> = {
  number: "a number",
  int: "an int",
  string: "a string",
  boolean: "True or False",
  array: "a list",
  tuple: "a tuple",
  object: "a dict",
  null: "None",
};

/** zod writes its own messages starting like this; ours start with "expected" or "must". */
function isZodDefault(message: string): boolean {
  return /^(Invalid|Too (small|big)|Unrecognized)/.test(message);
}

function keysOf(schema: unknown): string[] {
  const shape = (schema as { shape?: Record<string, unknown> } | undefined)?.shape;
  return shape ? Object.keys(shape) : [];
}

type Issue = z.core.$ZodIssue & { input?: unknown };

/**
 * A union reports "none of the options matched" at its own path. When one option got further
 * into the value (a list whose third entry is wrong), that deeper issue is the useful one.
 */
function deepestIssue(issue: Issue): Issue {
  if (issue.code !== "invalid_union") return issue;
  let best: Issue | undefined;
  for (const branch of issue.errors as Issue[][]) {
    for (const inner of branch) {
      if (inner.path.length > 0 && (!best || inner.path.length > best.path.length)) best = inner;
    }
  }
  if (!best) return issue;
  const deeper = deepestIssue(best);
  return { ...deeper, path: [...issue.path, ...deeper.path] } as Issue;
}

function describeIssue(original: Issue, base: string, known: (path: PropertyKey[]) => string[]): string {
  const issue = deepestIssue(original);
  const path = joinPath(base, issue.path);
  const got = `got ${pyRepr(issue.input)}`;
  if (issue.code === "unrecognized_keys") {
    const key = issue.keys[0];
    const hints = closest(key, known(issue.path), 1);
    const hint = hints.length ? ` (did you mean '${hints[0]}'?)` : "";
    return `${joinPath(path, [key])}: unknown key${hint}`;
  }
  if (issue.input === undefined && issue.code === "invalid_type") return `${path}: required`;
  if (!isZodDefault(issue.message)) return `${path}: ${issue.message}, ${got}`;
  switch (issue.code) {
    case "invalid_type": {
      const expected = TYPE_WORDS[issue.expected] ?? issue.expected;
      return `${path}: expected ${expected}, ${got}`;
    }
    case "invalid_value": {
      const values = issue.values.map((v) => pyRepr(v));
      return values.length === 1
        ? `${path}: expected ${values[0]}, ${got}`
        : `${path}: expected one of ${values.join(", ")}, ${got}`;
    }
    case "too_small": {
      const what = issue.origin === "array" ? "at least" : issue.inclusive ? ">=" : ">";
      return issue.origin === "array"
        ? `${path}: expected ${what} ${issue.minimum} entries, ${got}`
        : `${path}: must be ${what} ${issue.minimum}, ${got}`;
    }
    case "too_big": {
      return issue.origin === "array"
        ? `${path}: expected at most ${issue.maximum} entries, ${got}`
        : `${path}: must be ${issue.inclusive ? "<=" : "<"} ${issue.maximum}, ${got}`;
    }
    default:
      return `${path}: ${issue.message}, ${got}`;
  }
}

/**
 * Parses `value` with `schema`; on failure throws I3DError("config") naming the first problem
 * under `path` (e.g. "model.backbone"), with a count of the others.
 */
export function parseAt<S extends z.ZodType>(schema: S, value: unknown, path: string): z.output<S> {
  const result = schema.safeParse(value, { reportInput: true });
  if (result.success) return result.data;
  const issues = [...result.error.issues] as Issue[];
  // a wrong `type` first (the other keys are unknown because the layer is another one: GN's
  // num_groups), then unknown keys (a typo explains the errors it causes), then the rest
  const rank = (i: Issue) => (i.path.at(-1) === "type" ? 2 : i.code === "unrecognized_keys" ? 1 : 0);
  issues.sort((a, b) => rank(b) - rank(a));
  // Key names at a path, for "did you mean": walk the schema's object shapes along the path.
  const known = (segments: PropertyKey[]): string[] => {
    let s: unknown = schema;
    for (const seg of segments) {
      s = unwrap(s);
      const shape = (s as { shape?: Record<string, unknown> }).shape;
      const element = (s as { def?: { element?: unknown } }).def?.element;
      if (typeof seg === "number" && element) s = element;
      else if (shape && typeof seg === "string" && Object.hasOwn(shape, seg)) s = shape[seg];
      else return [];
    }
    return keysOf(unwrap(s));
  };
  const first = describeIssue(issues[0], path, known);
  const more = issues.length - 1;
  throw configFailure(`${first}${more > 0 ? ` (and ${more} more problem${more > 1 ? "s" : ""})` : ""}`);
}

/** Strips default/optional/nullable wrappers so the object shape underneath is reachable. */
function unwrap(s: unknown): unknown {
  let cur = s as { def?: { innerType?: unknown; in?: unknown; type?: string; options?: unknown[] } } | undefined;
  for (let k = 0; k < 10 && cur?.def; k++) {
    if (cur.def.innerType) cur = cur.def.innerType as typeof cur;
    else if (cur.def.type === "pipe" && cur.def.in) cur = cur.def.in as typeof cur;
    else if (cur.def.type === "union" && cur.def.options) {
      const obj = cur.def.options.find((o) => keysOf(unwrap(o)).length > 0);
      if (!obj) break;
      cur = obj as typeof cur;
    } else break;
  }
  return cur;
}
