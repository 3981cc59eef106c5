// `--eval-options KEY=VALUE ...` as tools/test.py reads it: mmcv's DictAction turns each word into
// a key and a Python value, the dict is merged into eval_config and passed to
// BaseDataset.evaluate(results, **eval_config). What evaluate() does with the keys:
//   metrics=...   replaces --eval (a single name or a list/tuple of names);
//   topk=...      a deprecated keyword: merged into metric_options['top_k_accuracy'], so it sets
//                 top_k_accuracy's k; evaluate() takes an int or a tuple of ints and raises
//                 TypeError for anything else (a list included: `topk=1,5` is a list, write
//                 `topk="(1,5)"`);
//   anything else lands in metric_options['top_k_accuracy'] too, where nothing reads it.
// The values are DictAction's (models/config/dict-action.ts).

import { I3DError } from "../../models/errors.ts";
import { printable } from "../../models/checkpoint/printable.ts";
import { type DictValue, parseDictValue } from "../../models/config/dict-action.ts";

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
