// `--eval-options KEY=VALUE ...` as tools/test.py reads it: mmcv's DictAction turns each word into
// a key and a Python value, the dict is merged into eval_config and passed to
// BaseDataset.evaluate(results, **eval_config). What evaluate() does with the keys:
//   metrics=...   replaces --eval (a single name or a list/tuple of names);
//   topk=...      a deprecated keyword: merged into metric_options['top_k_accuracy'], so it sets
//                 top_k_accuracy's k; evaluate() takes an int or a tuple of ints and raises
//                 TypeError for anything else (a list included: `topk=1,5` is a list, write
//                 `topk="(1,5)"`);
//   anything else lands in metric_options['top_k_accuracy'] too, where nothing reads it.
// DictAction's value syntax: quotes stripped, spaces removed, "(a,b)" a tuple, "[a,b]" or "a,b" a
// list (nested brackets allowed), else int(), then float(), then true/false (any case), None, or
// the string itself.

import { I3DError } from "../../models/errors.ts";
import { printable } from "../../models/checkpoint/printable.ts";

/** a DictAction value: Python scalars, with floats and tuples kept apart from ints and lists
 * (evaluate() takes an int or a tuple for topk, not a float or a list) */
export type DictValue = number | { float: number } | string | boolean | null | { tuple: DictValue[] } | DictValue[];

/** Python's int() / float() literal syntax (ASCII digits), after DictAction removed spaces */
const PY_INT = /^[+-]?\d+(?:_\d+)*$/;
const PY_FLOAT = /^[+-]?(?:(?:\d+(?:_\d+)*)?\.?\d+(?:_\d+)*(?:[eE][+-]?\d+(?:_\d+)*)?|\d+(?:_\d+)*\.(?:[eE][+-]?\d+(?:_\d+)*)?|inf(?:inity)?|nan)$/i;

function parseScalar(val: string): DictValue {
  if (PY_INT.test(val)) return Number(val.replace(/_/g, "")) + 0;
  if (PY_FLOAT.test(val)) {
    const t = val.replace(/_/g, "").toLowerCase();
    const sign = t.startsWith("-") ? -1 : 1;
    const body = t.replace(/^[+-]/, "");
    if (body.startsWith("inf")) return { float: sign * Infinity };
    if (body === "nan") return { float: NaN };
    return { float: Number(t) };
  }
  if (val.toLowerCase() === "true") return true;
  if (val.toLowerCase() === "false") return false;
  if (val === "None") return null;
  return val;
}

/** the end of the first top-level element (DictAction's find_next_comma) */
function nextComma(s: string): number {
  let round = 0;
  let square = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (c === "," && round === 0 && square === 0) return i;
    if (c === "(") round++;
    else if (c === ")") round--;
    else if (c === "[") square++;
    else if (c === "]") square--;
  }
  return s.length;
}

/** DictAction._parse_iterable */
export function parseDictValue(raw: string): DictValue {
  let val = raw.replace(/^['"]+|['"]+$/g, "").replace(/ /g, "");
  let isTuple = false;
  if (val.startsWith("(") && val.endsWith(")")) {
    isTuple = true;
    val = val.slice(1, -1);
  } else if (val.startsWith("[") && val.endsWith("]")) {
    val = val.slice(1, -1);
  } else if (!val.includes(",")) {
    return parseScalar(val);
  }
  // find_next_comma's assert, on what is inside the brackets
  const count = (c: string) => val.split(c).length - 1;
  if (count("(") !== count(")") || count("[") !== count("]")) throw new I3DError("usage", `--eval-options: imbalanced brackets in ${printable(raw, 60)}`);
  const values: DictValue[] = [];
  while (val.length > 0) {
    const comma = nextComma(val);
    values.push(parseDictValue(val.slice(0, comma)));
    val = val.slice(comma + 1);
  }
  return isTuple ? { tuple: values } : values;
}

/** what test.py's --eval-options mean for an evaluation */
export interface EvalOptions {
  /** metrics=..., replacing --eval */
  metrics?: string[];
  /** topk=..., top_k_accuracy's k values */
  topk?: number[];
  /** keys evaluate() receives but nothing reads (say so, MMAction2 stays silent) */
  ignored: string[];
}

function isTuple(v: DictValue): v is { tuple: DictValue[] } {
  return v !== null && typeof v === "object" && "tuple" in v;
}

function pyType(v: DictValue): string {
  if (v === null) return "NoneType";
  if (Array.isArray(v)) return "list";
  if (typeof v === "object") return "float" in v ? "float" : "tuple";
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "str";
  return "int";
}

/** Parse the KEY=VALUE words of --eval-options (the last of a repeated key wins, as in a dict). */
export function parseEvalOptions(words: readonly string[]): EvalOptions {
  const options = new Map<string, DictValue>();
  for (const word of words) {
    const eq = word.indexOf("=");
    if (eq < 0) throw new I3DError("usage", `--eval-options: expected KEY=VALUE, got ${printable(word, 60)}`);
    options.set(word.slice(0, eq), parseDictValue(word.slice(eq + 1)));
  }
  const out: EvalOptions = { ignored: [] };
  for (const [key, value] of options) {
    if (key === "metrics") {
      const names = typeof value === "string" ? [value]
        : Array.isArray(value) ? value : isTuple(value) ? value.tuple : undefined;
      if (names === undefined || !names.every((n): n is string => typeof n === "string")) {
        throw new I3DError("usage", `--eval-options metrics: expected metric names, got ${printable(String(JSON.stringify(value)), 60)}`);
      }
      out.metrics = names;
    } else if (key === "topk") {
      // evaluate(): `if not isinstance(topk, (int, tuple)): raise TypeError`
      const ks = typeof value === "number" && Number.isInteger(value) ? [value]
        : isTuple(value) ? value.tuple : undefined;
      if (ks === undefined) throw new I3DError("usage", `--eval-options topk must be int or tuple of int, but got ${pyType(value)} (write topk=5 or topk="(1,5)")`);
      if (!ks.every((k): k is number => typeof k === "number" && Number.isInteger(k))) {
        throw new I3DError("usage", `--eval-options topk: every k must be an int, got ${ks.map(pyType).join(", ")}`);
      }
      out.topk = ks;
    } else if (key === "metric_options" || key === "logger" || key === "results") {
      // evaluate() takes these as its own arguments, in a form the command line cannot give
      throw new I3DError("usage", `--eval-options ${key} is not supported (use metrics=... and topk=...)`);
    } else {
      out.ignored.push(key);
    }
  }
  return out;
}
