// Config files -> one merged dict, with mmcv 1.x `Config.fromfile` semantics:
// - `.py` files are read by the data-only parser (py-parser.ts), `.json` files by JSON.parse;
// - `{{ fileDirname }}`-style predefined variables and `{{ _base_.a.b }}` references are
//   substituted as mmcv does (text placeholders first, base values after the bases load);
// - `_base_` (a path or a list of paths, relative to the file) loads each base in order; two
//   bases defining the same top-level key is an error; the file's own dict is then merged over
//   the bases: dicts merge key by key, anything else replaces, and `_delete_=True` on a dict
//   replaces the base dict wholesale.

import { readFile } from "node:fs/promises";
import { homedir } from "node:os";
import process from "node:process";
import { dirname, extname, basename, isAbsolute, relative, resolve } from "node:path";
import { I3DError } from "../errors.ts";
import { deepCopy, isPyDict, parsePyConfig, setOwn, type PyDict, type PyValue } from "./py-parser.ts";

const BASE_KEY = "_base_";
const DELETE_KEY = "_delete_";
const DEPRECATION_KEY = "_deprecation_";
const RESERVED_KEYS = ["filename", "text", "pretty_text"];

function fail(message: string): never {
  throw new I3DError("config", `config error: ${message}`);
}

/** A path as the user would like to read it: relative to the working directory when inside it. */
export function displayPath(abs: string): string {
  const rel = relative(process.cwd(), abs);
  return rel && !rel.startsWith("..") && !isAbsolute(rel) ? rel : abs;
}

/** Python's truthiness for the values a config can hold. */
function truthy(v: PyValue | undefined): boolean {
  if (v === undefined || v === null || v === false || v === 0 || v === "") return false;
  if (Array.isArray(v)) return v.length > 0;
  if (isPyDict(v)) return Object.keys(v).length > 0;
  return true;
}

function pyTypeName(v: PyValue): string {
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
          `${keyPath} is a dict in the child config but ${b === null ? "None" : `a ${pyTypeName(b)}`} in its base; ` +
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
  const re = /\{\{\s*_base_\.([\w.]+)\s*\}\}/g;
  const found = new Set<string>();
  for (const m of text.matchAll(re)) found.add(m[1]);
  for (const name of found) {
    const placeholder = `_${name}_${(placeholderCounter++).toString(16)}${Math.random().toString(16).slice(2, 8)}`;
    vars.set(placeholder, name);
    const escaped = name.replace(/\./g, "\\.");
    text = text.replace(new RegExp(String.raw`\{\{\s*_base_\.${escaped}\s*\}\}`, "g"), () => `"${placeholder}"`);
  }
  return { text, vars };
}

function lookupBaseVar(base: PyDict, name: string, file: string): PyValue {
  let v: PyValue = base;
  for (const key of name.split(".")) {
    if (!isPyDict(v) || !Object.hasOwn(v, key)) {
      fail(`${displayPath(file)}: {{ _base_.${name} }} does not exist in its _base_ files`);
    }
    v = v[key];
  }
  return deepCopy(v);
}

function substituteBaseVars(v: PyValue, vars: Map<string, string>, base: PyDict, file: string): PyValue {
  if (typeof v === "string" && vars.has(v)) return lookupBaseVar(base, vars.get(v)!, file);
  if (Array.isArray(v)) return v.map((x) => substituteBaseVars(x, vars, base, file));
  if (isPyDict(v)) {
    const out: PyDict = {};
    for (const [k, x] of Object.entries(v)) setOwn(out, k, substituteBaseVars(x, vars, base, file));
    return out;
  }
  return v;
}

/** `label` names the file in messages, e.g. "config file a.py". */
async function readText(file: string, label: string): Promise<string> {
  try {
    return await readFile(file, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT") fail(`${label} does not exist`);
    if (code === "EISDIR") fail(`${label} is a directory, not a file`);
    fail(`cannot read ${label}: ${(e as Error).message}`);
  }
}

function parseText(text: string, file: string): PyDict {
  const shown = displayPath(file);
  if (file.endsWith(".py")) return parsePyConfig(text, shown);
  let v: unknown;
  try {
    v = JSON.parse(text.startsWith("\ufeff") ? text.slice(1) : text);
  } catch (e) {
    fail(`${shown} is not valid JSON: ${(e as Error).message}`);
  }
  if (!isPyDict(v)) fail(`${shown} must hold a JSON object (the config dict)`);
  return v as PyDict;
}

async function fileToDict(file: string, chain: string[], label: string): Promise<PyDict> {
  const ext = extname(file);
  if (ext === ".yaml" || ext === ".yml") {
    fail(`${displayPath(file)}: YAML configs are not supported; use a .py or .json config`);
  }
  if (ext !== ".py" && ext !== ".json") {
    fail(`${displayPath(file)}: a config file must end in .py or .json`);
  }
  if (chain.includes(file)) {
    fail(`_base_ cycle: ${[...chain, file].map((f) => displayPath(f)).join(" -> ")}`);
  }
  let text = await readText(file, label);
  text = substitutePredefined(text, file);
  const { text: substituted, vars } = preSubstituteBaseVars(text);
  let dict = parseText(substituted, file);
  delete dict[DEPRECATION_KEY];

  if (Object.hasOwn(dict, BASE_KEY)) {
    const raw = dict[BASE_KEY];
    delete dict[BASE_KEY];
    const list = Array.isArray(raw) ? raw : [raw];
    const bases: PyDict = {};
    const owner = new Map<string, string>();
    for (const entry of list) {
      if (typeof entry !== "string") {
        fail(`${displayPath(file)}: _base_ must be a path or a list of paths, got ${JSON.stringify(entry)}`);
      }
      const baseFile = resolve(dirname(file), entry.startsWith("~/") ? resolve(homedir(), entry.slice(2)) : entry);
      const baseDict = await fileToDict(
        baseFile, [...chain, file], `_base_ file ${displayPath(baseFile)} (listed in ${displayPath(file)})`,
      );
      for (const [k, v] of Object.entries(baseDict)) {
        if (Object.hasOwn(bases, k)) {
          fail(
            `duplicate key '${k}' among the _base_ files of ${displayPath(file)} ` +
              `(${owner.get(k)} and ${entry}); mmcv does not allow it`,
          );
        }
        owner.set(k, entry);
        setOwn(bases, k, v);
      }
    }
    dict = substituteBaseVars(dict, vars, bases, file) as PyDict;
    dict = mergeConfig(dict, bases);
  }
  return dict;
}

/**
 * Loads a `.py` or `.json` MMAction2 config with its `_base_` chain and returns the merged dict
 * (what mmcv's `Config.fromfile(path)._cfg_dict` holds). Throws I3DError("config").
 */
export async function loadConfigFile(path: string): Promise<PyDict> {
  const expanded = path === "~" || path.startsWith("~/") ? homedir() + path.slice(1) : path;
  const file = resolve(expanded);
  const dict = await fileToDict(file, [], `config file ${displayPath(file)}`);
  for (const key of RESERVED_KEYS) {
    if (Object.hasOwn(dict, key)) fail(`${displayPath(file)}: '${key}' is reserved by mmcv and cannot be a config key`);
  }
  return dict;
}
