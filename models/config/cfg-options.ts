// `--cfg-options KEY=VALUE ...`, as tools/test.py and demo.py apply it: mmcv 1.x's
// Config.merge_from_dict(options) right after Config.fromfile, before anything reads the config.
// Each dotted key becomes a nested dict ('model.test_cfg.average_clips=score'), and that dict is
// merged into the config with list keys allowed: a number indexes into a list
// ('data.test.pipeline.1.num_clips=3'), an index past the end is an error, and a value replaces
// whatever was there (a dict, a list, a scalar) unless its path goes on through it. The values
// are DictAction's (dict-action.ts): tuples become lists, as they do in configs read here.

import { printable } from "../checkpoint/printable.ts";
import { I3DError } from "../errors.ts";
import { type DictValue, parseDictValue } from "./dict-action.ts";
import { DELETE_KEY, pyTypeName, truthy } from "./load-config.ts";
import { isPyDict, type PyDict, type PyValue, setOwn } from "./py-parser.ts";

export type CfgOptions = ReadonlyArray<readonly [key: string, value: PyValue]>;

function fail(key: string, why: string): never {
  throw new I3DError("config", `--cfg-options ${printable(key, 120)}: ${why}`);
}

function toPyValue(v: DictValue): PyValue {
  if (Array.isArray(v)) return v.map(toPyValue);
  if (v !== null && typeof v === "object") return "float" in v ? v.float : v.tuple.map(toPyValue);
  return v;
}

/** The KEY=VALUE words of --cfg-options (DictAction: the last of a repeated key wins, in its first place). */
export function parseCfgOptions(words: readonly string[]): CfgOptions {
  const options = new Map<string, PyValue>();
  for (const word of words) {
    const eq = word.indexOf("=");
    if (eq < 0) throw new I3DError("usage", `--cfg-options: expected KEY=VALUE, got ${printable(word, 60)} (give the inputs before --cfg-options)`);
    options.set(word.slice(0, eq), toPyValue(parseDictValue(word.slice(eq + 1), "--cfg-options")));
  }
  return [...options];
}

/** "an int", "a str", "None" */
function pyType(v: PyValue): string {
  const name = pyTypeName(v);
  return name === "None" ? name : `${/^[aeiou]/.test(name) ? "an" : "a"} ${name}`;
}

/** Config._merge_a_into_b(a, b, allow_list_keys=True): a new dict or list, `b` untouched. */
function mergeAIntoB(a: PyDict, b: PyDict | PyValue[], path: string): PyDict | PyValue[] {
  const out: PyDict | PyValue[] = Array.isArray(b) ? b.slice() : { ...b };
  for (const [k, v] of Object.entries(a)) {
    const at = path ? `${path}.${k}` : k;
    if (Array.isArray(out)) {
      if (!/^\d+$/.test(k)) fail(at, `${path} is a list: index it with a number`);
      const i = Number(k);
      if (out.length <= i) fail(at, `index ${k} exceeds the length of the list ${path} (${out.length})`);
      const element = out[i];
      // mmcv merges the value into the element, so it must be a path going on into a dict or list
      if (!isPyDict(v)) fail(at, `a list element cannot be replaced as a whole; set its keys (${at}.<key>=...)`);
      if (!isPyDict(element) && !Array.isArray(element)) fail(at, `${path}[${i}] is ${pyType(element)}, not a dict or list`);
      out[i] = mergeAIntoB(v, element, at);
    } else if (isPyDict(v) && Object.hasOwn(out, k) && !truthy(popDelete(v))) {
      const base = out[k];
      if (!isPyDict(base) && !Array.isArray(base)) fail(at, `${at} is ${pyType(base)} in the config, so it has no keys to set`);
      setOwn(out, k, mergeAIntoB(v, base, at));
    } else {
      setOwn(out, k, v);
    }
  }
  return out;
}

/** removes and returns `_delete_` (mmcv pops it only when the key exists in the base) */
function popDelete(v: PyDict): PyValue | undefined {
  const del = v[DELETE_KEY];
  delete v[DELETE_KEY];
  return del;
}

/** Config.merge_from_dict(options): the config with the options merged in (`cfg` is untouched). */
export function mergeCfgOptions(cfg: PyDict, options: CfgOptions): PyDict {
  const tree: PyDict = {};
  for (const [fullKey, value] of options) {
    const keys = fullKey.split(".");
    let d: PyDict = tree;
    for (const [i, sub] of keys.slice(0, -1).entries()) {
      if (!Object.hasOwn(d, sub)) setOwn(d, sub, {});
      const next = d[sub];
      if (!isPyDict(next)) fail(fullKey, `${keys.slice(0, i + 1).join(".")} is also given a value of its own`);
      d = next;
    }
    setOwn(d, keys[keys.length - 1], value);
  }
  return mergeAIntoB(tree, cfg, "") as PyDict;
}
