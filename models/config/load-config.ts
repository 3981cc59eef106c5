// Config files -> one merged dict, with mmcv 1.x `Config.fromfile` semantics:
// - `.py` files are read by the data-only parser (py-parser.ts), `.json` files by JSON.parse;
// - `{{ fileDirname }}`-style predefined variables and `{{ _base_.a.b }}` references are
//   substituted as mmcv does (text placeholders first, base values after the bases load);
// - `_base_` (a path or a list of paths, relative to the file) loads each base in order; two
//   bases defining the same top-level key is an error; the file's own dict is then merged over
//   the bases: dicts merge key by key, anything else replaces, and `_delete_=True` on a dict
//   replaces the base dict wholesale.
//
// Hostile files are bounded:
// - one load takes at most MAX_BASE_FILES _base_ files, counted as mmcv would load them (once
//   per mention, with their own bases), nested at most MAX_BASE_DEPTH deep; each path is read
//   and parsed only once, its merged dict reused (copied) when a diamond mentions it again;
// - all the values built (parsed, copied, substituted) are spent from one ValueBudget;
// - every value is checked to nest at most MAX_CONFIG_DEPTH deep -- right after JSON.parse, and
//   after each file's merge -- before anything recursive walks it (value-limits.ts);
// - names, keys and paths from the files are shown escaped and shortened in messages.

import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import process from "node:process";
import { dirname, extname, basename, isAbsolute, relative, resolve } from "node:path";
import { configFailure, pyRepr, shown } from "./issues.ts";
import { describeJsonError } from "./json-syntax.ts";
import { isPyDict, parsePyConfig, setOwn, type PyDict, type PyValue } from "./py-parser.ts";
import { copyValue, MAX_CONFIG_DEPTH, ValueBudget, valueCount, valueDepth } from "./value-limits.ts";

const BASE_KEY = "_base_";
export const DELETE_KEY = "_delete_";
const DEPRECATION_KEY = "_deprecation_";
const RESERVED_KEYS = ["filename", "text", "pretty_text"];
/** _base_ files one load takes, as mmcv would load them (MMAction2 configs take 2 to 6) */
const MAX_BASE_FILES = 64;
/** files in one _base_ chain (a config, its base, the base's base, ...) */
const MAX_BASE_DEPTH = 16;

function fail(message: string): never {
  throw configFailure(message);
}

/** a path for a message: relative when inside the working directory, escaped, shortened */
function pathShown(abs: string): string {
  return shown(displayPath(abs), 200);
}

/** what one load shares among its files */
interface LoadState {
  budget: ValueBudget;
  /** merged dicts of the files loaded so far, by absolute path, and the _base_ files under each */
  loaded: Map<string, { dict: PyDict; bases: number }>;
  /** _base_ files taken so far, counting each mention with the bases under it */
  baseFiles: number;
}

function countBases(state: LoadState, n: number, file: string): void {
  state.baseFiles += n;
  if (state.baseFiles > MAX_BASE_FILES) {
    fail(`${pathShown(file)}: too many _base_ files (more than ${MAX_BASE_FILES} in all, counting each mention of a file and its own bases); a _base_ fan-out?`);
  }
}

/** A path as the user would like to read it: relative to the working directory when inside it. */
export function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : abs;
}

/** Python's truthiness for the values a config can hold. */
export function truthy(v: PyValue | undefined): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isPyDict(v)) return Object.keys(v).length > 0;
  return true;
}

/** Python's type name of a config value: None, list, str, bool, int, float, dict */
export function pyTypeName(v: PyValue): string {
  if (v === null) return "None";
  if (Array.isArray(v)) return "list";
  if (typeof v === "string") return "str";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "number") return Number.isInteger(v) ? "int" : "float";
  return "dict";
}

/**
 * mmcv's `Config._merge_a_into_b(child, base)`: returns a new dict; `child`'s dicts lose their
 * `_delete_` key when they meet a base dict (exactly when mmcv pops it).
 */
export function mergeConfig(child: PyDict, base: PyDict, path = ""): PyDict {
  const out: PyDict = {};
  for (const [k, v] of Object.entries(base)) setOwn(out, k, v);
  for (const [k, v] of Object.entries(child)) {
    const keyPath = path ? `${path}.${k}` : k;
    if (isPyDict(v) && Object.hasOwn(out, k)) {
      const del = v[DELETE_KEY];
      delete v[DELETE_KEY];
      if (truthy(del)) {
        setOwn(out, k, v);
        continue;
      }
      const b = out[k];
      if (!isPyDict(b)) {
        fail(
          `${shown(keyPath, 200)} is a dict in the child config but ${b === null ? "None" : `a ${pyTypeName(b)}`} in its base; ` +
            `set ${DELETE_KEY}=True in the child's dict to replace it`,
        );
      }
      setOwn(out, k, mergeConfig(v, b, keyPath));
    } else {
      setOwn(out, k, v);
    }
  }
  return out;
}

const PREDEFINED_VARS = ["fileDirname", "fileBasename", "fileBasenameNoExtension", "fileExtname"];

/** `{{ fileDirname }}` & co. are replaced by text before parsing, as mmcv does. */
function substitutePredefined(text: string, file: string): string {
  const ext = extname(file);
  const values: Record<string, string> = {
    fileDirname: dirname(file),
    fileBasename: basename(file),
    fileBasenameNoExtension: basename(file, ext),
    fileExtname: ext,
  };
  for (const key of PREDEFINED_VARS) {
    const value = values[key].replace(/\\/g, "/");
    text = text.replace(new RegExp(String.raw`\{\{\s*${key}\s*\}\}`, "g"), () => value);
  }
  return text;
}

let placeholderCounter = 0;

/** `{{ _base_.a.b }}` becomes a quoted placeholder string; returns placeholder -> "a.b". */
function preSubstituteBaseVars(text: string): { text: string; vars: Map<string, string> } {
  const vars = new Map<string, string>();
  const byName = new Map<string, string>();
  // one pass, one placeholder per distinct name (a pass per name would be quadratic)
  const substituted = text.replace(/\{\{\s*_base_\.([\w.]+)\s*\}\}/g, (_match, name: string) => {
    let placeholder = byName.get(name);
    if (placeholder === undefined) {
      placeholder = `_${name}_${(placeholderCounter++).toString(16)}${Math.random().toString(16).slice(2, 8)}`;
      byName.set(name, placeholder);
      vars.set(placeholder, name);
    }
    return `"${placeholder}"`;
  });
  return { text: substituted, vars };
}

function lookupBaseVar(base: PyDict, name: string, file: string, budget: ValueBudget): PyValue {
  let v: PyValue = base;
  for (const key of name.split(".")) {
    if (!isPyDict(v) || !Object.hasOwn(v, key)) {
      fail(`${pathShown(file)}: {{ _base_.${shown(name, 80)} }} does not exist in its _base_ files`);
    }
    v = v[key];
  }
  return copyValue(v, budget, () => tooLarge(file, budget));
}

function tooLarge(file: string, budget: ValueBudget): never {
  return fail(`${pathShown(file)}: the config is too large: it builds more than ${budget.limit} values with its _base_ files`);
}

/** (recursive: `v` is a parsed value, which nests at most MAX_CONFIG_DEPTH deep) */
function substituteBaseVars(v: PyValue, vars: Map<string, string>, base: PyDict, file: string, budget: ValueBudget): PyValue {
  if (typeof v === "string" && vars.has(v)) return lookupBaseVar(base, vars.get(v)!, file, budget);
  if (Array.isArray(v)) return v.map((x) => substituteBaseVars(x, vars, base, file, budget));
  if (isPyDict(v)) {
    const out: PyDict = {};
    for (const [k, x] of Object.entries(v)) setOwn(out, k, substituteBaseVars(x, vars, base, file, budget));
    return out;
  }
  return v;
}

/** refuses a dict with a value nested deeper than MAX_CONFIG_DEPTH, before anything recursive sees it */
function checkDepth(dict: PyDict, file: string): void {
  for (const [k, v] of Object.entries(dict)) {
    if (valueDepth(v) > MAX_CONFIG_DEPTH) {
      fail(`${pathShown(file)}: the value of '${shown(k, 60)}' nests more than ${MAX_CONFIG_DEPTH} levels deep`);
    }
  }
}

/** `label` names the file in messages, e.g. "config file a.py". */
async function readText(file: string, label: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") fail(`${label} does not exist`);
    if (code === "EISDIR") fail(`${label} is a directory, not a file`);
    fail(`cannot read ${label}: ${code ?? shown(String((e as Error).message), 200)}`);
  }
}

function parseText(text: string, file: string, budget: ValueBudget): PyDict {
  const label = pathShown(file);
  if (file.endsWith(".py")) return parsePyConfig(text, displayPath(file), budget);
  const source = text.startsWith("\ufeff") ? text.slice(1) : text;
  let v: unknown;
  try {
    v = JSON.parse(source);
  } catch {
    // (JSON.parse's own message quotes the text, line breaks included)
    fail(`${label} is not valid JSON: ${describeJsonError(source)}`);
  }
  if (!isPyDict(v)) fail(`${label} must hold a JSON object (the config dict)`);
  // JSON.parse does not recurse, everything after it may: check before anything else runs
  checkDepth(v as PyDict, file);
  if (!budget.spend(valueCount(v))) tooLarge(file, budget);
  return v as PyDict;
}

async function fileToDict(file: string, chain: string[], label: string, state: LoadState): Promise<PyDict> {
  const ext = extname(file);
  if (ext === ".yaml" || ext === ".yml") {
    fail(`${pathShown(file)}: YAML configs are not supported; use a .py or .json config`);
  }
  if (ext !== ".py" && ext !== ".json") {
    fail(`${pathShown(file)}: a config file must end in .py or .json`);
  }
  if (chain.includes(file)) {
    fail(`_base_ cycle: ${shown([...chain, file].map((f) => displayPath(f)).join(" -> "), 600)}`);
  }
  if (chain.length >= MAX_BASE_DEPTH) {
    fail(`${pathShown(file)}: _base_ files nest more than ${MAX_BASE_DEPTH} levels deep (${pathShown(chain[0])} -> ...)`);
  }
  // a file met again (a diamond of _base_ files) is not read again; its dict is copied, as a
  // fresh load would make a fresh one (merging pops _delete_ from the dicts it is given)
  const done = state.loaded.get(file);
  if (done) {
    countBases(state, done.bases, file);
    return copyValue(done.dict, state.budget, () => tooLarge(file, state.budget));
  }
  const basesBefore = state.baseFiles;

  let text = await readText(file, label);
  text = substitutePredefined(text, file);
  const { text: substituted, vars } = preSubstituteBaseVars(text);
  let dict = parseText(substituted, file, state.budget);
  delete dict[DEPRECATION_KEY];

  if (Object.hasOwn(dict, BASE_KEY)) {
    const raw = dict[BASE_KEY];
    delete dict[BASE_KEY];
    const list = Array.isArray(raw) ? raw : [raw];
    const bases: PyDict = {};
    const owner = new Map<string, string>();
    for (const entry of list) {
      if (typeof entry !== "string") {
        fail(`${pathShown(file)}: _base_ must be a path or a list of paths, got ${pyRepr(entry)}`);
      }
      countBases(state, 1, file);
      // mmcv joins the entry to the file's folder before expanduser, so a `~` in a _base_
      // entry is a folder named `~` there, never the home directory.
      const baseFile = resolve(dirname(file), entry);
      const baseDict = await fileToDict(
        baseFile, [...chain, file], `_base_ file ${pathShown(baseFile)} (listed in ${pathShown(file)})`, state,
      );
      for (const [k, v] of Object.entries(baseDict)) {
        if (Object.hasOwn(bases, k)) {
          fail(
            `duplicate key '${shown(k, 60)}' among the _base_ files of ${pathShown(file)} ` +
              `(${shown(owner.get(k)!, 200)} and ${shown(entry, 200)}); mmcv does not allow it`,
          );
        }
        owner.set(k, entry);
        setOwn(bases, k, v);
      }
    }
    dict = substituteBaseVars(dict, vars, bases, file, state.budget) as PyDict;
    dict = mergeConfig(dict, bases);
    // base values substituted into nested places nest deeper than either file
    checkDepth(dict, file);
  }
  state.loaded.set(file, { dict, bases: state.baseFiles - basesBefore });
  return dict;
}

/**
 * Loads a `.py` or `.json` MMAction2 config with its `_base_` chain and returns the merged dict
 * (what mmcv's `Config.fromfile(path)._cfg_dict` holds). Throws I3DError("config").
 */
export async function loadConfigFile(path: string): Promise<PyDict> {
  const expanded = path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
  const file = resolve(expanded);
  const state: LoadState = { budget: new ValueBudget(), loaded: new Map(), baseFiles: 0 };
  const dict = await fileToDict(file, [], `config file ${pathShown(file)}`, state);
  for (const key of RESERVED_KEYS) {
    if (Object.hasOwn(dict, key)) fail(`${pathShown(file)}: '${key}' is reserved by mmcv and cannot be a config key`);
  }
  return dict;
}
