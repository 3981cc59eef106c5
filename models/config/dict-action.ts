// mmcv 1.x's DictAction, the KEY=VALUE parser behind tools/test.py's --eval-options and
// --cfg-options and demo.py's --cfg-options: quotes stripped, spaces removed, "(a,b)" a tuple,
// "[a,b]" or "a,b" a list (nested brackets allowed), else int(), then float(), then true/false
// (any case), None, or the string itself.

import { printable } from "../checkpoint/printable.ts";
import { I3DError } from "../errors.ts";

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
export function parseDictValue(raw: string, flag = "--eval-options"): DictValue {
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
  if (count("(") !== count(")") || count("[") !== count("]")) throw new I3DError("usage", `${flag}: imbalanced brackets in ${printable(raw, 60)}`);
  const values: DictValue[] = [];
  while (val.length > 0) {
    const comma = nextComma(val);
    values.push(parseDictValue(val.slice(0, comma), flag));
    val = val.slice(comma + 1);
  }
  return isTuple ? { tuple: values } : values;
}
