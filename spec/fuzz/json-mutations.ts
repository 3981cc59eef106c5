// JSON-aware mutations: parse, change one node (a boundary number, a value of another type,
// a long or odd string, a deleted / added / duplicated key, deep nesting), serialise. Used for
// safetensors headers, `.json` configs and `.json` annotation lists. Text-level variants add
// what JSON.stringify cannot write: duplicate keys, numbers beyond float64, deep nesting.

import { boundaryInts } from "./byte-mutations.ts";
import type { Rng } from "./rng.ts";

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

interface Slot {
  /** the container and key / index holding the node */
  parent: Json[] | { [key: string]: Json };
  key: string | number;
  value: Json;
  path: string;
}

/** an own property, even for "__proto__" (plain assignment would set the prototype) */
export function setKey(obj: { [key: string]: Json }, key: string, value: Json): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/** every node below the root with its container, depth first (bounded) */
export function slots(root: Json, limit = 5000): Slot[] {
  const out: Slot[] = [];
  const stack: Array<[Json, string]> = [[root, ""]];
  while (stack.length && out.length < limit) {
    const [node, path] = stack.pop()!;
    if (Array.isArray(node)) {
      node.forEach((v, i) => {
        out.push({ parent: node, key: i, value: v, path: `${path}[${i}]` });
        stack.push([v, `${path}[${i}]`]);
      });
    } else if (node && typeof node === "object") {
      for (const [k, v] of Object.entries(node)) {
        out.push({ parent: node, key: k, value: v, path: `${path}.${k}` });
        stack.push([v, `${path}.${k}`]);
      }
    }
  }
  return out;
}

export function oddNumber(rng: Rng, near?: number): number {
  if (near !== undefined && rng.chance(0.3)) return near + rng.pick([-1, 1, -2, 2, 0.5, -near, near * 1000]);
  return rng.pick([
    0, -0, 1, -1, 0.5, 1.5, 1e-300, 1e308, -1e308, 2 ** 31 - 1, 2 ** 31, 2 ** 32 - 1, 2 ** 32, 2 ** 53,
    2 ** 53 + 2, 2 ** 63, 2 ** 64, Number.MAX_VALUE, Number(rng.pick(boundaryInts)),
  ]);
}

export function oddString(rng: Rng): string {
  return rng.pick([
    "", " ", "__proto__", "constructor", "toString", "hasOwnProperty", "\u0000", "a\nb", "\r\n", "\u2028",
    "\ud800", "é", "😀", "x".repeat(rng.pick([100, 70_000])), "None", "True", "1", "-1", "{{ _base_.model }}",
    "{{ fileDirname }}", "../../../etc/passwd", "/dev/null", "nonexistent.py", "%s%s%s", "${x}", "F32", "I64",
  ]);
}

/** some value of any JSON type; `depth` bounds nesting */
export function oddValue(rng: Rng, depth = 0): Json {
  switch (rng.int(depth > 2 ? 4 : 7)) {
    case 0: return oddNumber(rng);
    case 1: return oddString(rng);
    case 2: return rng.pick([null, true, false]);
    case 3: return Math.floor(rng.float() * 10);
    case 4: return Array.from({ length: rng.int(4) }, () => oddValue(rng, depth + 1));
    case 5: {
      const out: { [key: string]: Json } = {};
      for (let i = rng.int(3); i > 0; i--) setKey(out, oddString(rng).slice(0, 20), oddValue(rng, depth + 1));
      return out;
    }
    default: return [];
  }
}

export function deepJson(depth: number, kind: "array" | "object"): string {
  return kind === "array" ? "[".repeat(depth) + "]".repeat(depth) : '{"a":'.repeat(depth) + "{}" + "}".repeat(depth);
}

/** one structural mutation of a parsed JSON value (in place on a copy); returns the new root */
export function mutateJsonValue(root: Json, rng: Rng): { value: Json; how: string } {
  const copy = structuredClone(root) as Json;
  const all = slots(copy);
  if (all.length === 0) return { value: oddValue(rng), how: "json: replace the root" };
  const slot = rng.pick(all);
  const set = (v: Json) => {
    if (Array.isArray(slot.parent)) slot.parent[slot.key as number] = v;
    else setKey(slot.parent, slot.key as string, v);
  };
  let how: string;
  switch (rng.int(8)) {
    case 0:
    case 1:
      set(typeof slot.value === "number" ? oddNumber(rng, slot.value) : oddValue(rng));
      how = `json: ${slot.path} -> new value`;
      break;
    case 2:
      if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 1);
      else delete slot.parent[slot.key as string];
      how = `json: delete ${slot.path}`;
      break;
    case 3:
      if (Array.isArray(slot.parent)) slot.parent.splice(slot.key as number, 0, structuredClone(slot.value));
      else setKey(slot.parent, `${slot.key}${rng.pick(["", "_", "x"])}`, structuredClone(slot.value));
      how = `json: duplicate ${slot.path}`;
      break;
    case 4:
      if (Array.isArray(slot.value)) {
        const arr = slot.value;
        const n = rng.pick([0, 1, 65, 1000]);
        set(rng.chance(0.5) ? arr.slice(0, rng.int(arr.length + 1)) : Array.from({ length: n }, (_, i) => arr[i % Math.max(1, arr.length)] ?? 1));
        how = `json: resize list ${slot.path}`;
      } else {
        set(Array.isArray(slot.parent) ? [slot.value] : { [oddString(rng).slice(0, 10)]: slot.value });
        how = `json: wrap ${slot.path}`;
      }
      break;
    case 5:
      // JSON.stringify, not String(): a dict must not become "[object Object]", which the oracle
      // rightly treats as a package bug when a message shows it
      set(typeof slot.value === "string" ? oddString(rng) : JSON.stringify(slot.value) ?? "null");
      how = `json: ${slot.path} as a string`;
      break;
    case 6: {
      // another node's value here (shapes into offsets, dicts into lists ...)
      const other = rng.pick(all);
      set(structuredClone(other.value));
      how = `json: ${slot.path} <- ${other.path}`;
      break;
    }
    default:
      if (!Array.isArray(slot.parent)) {
        setKey(slot.parent, rng.pick(["_base_", "_delete_", "__proto__", "type", "unknown_key", "__metadata__"]), oddValue(rng));
        how = `json: add a key next to ${slot.path}`;
      } else {
        set(null);
        how = `json: ${slot.path} -> null`;
      }
  }
  return { value: copy, how };
}

/**
 * Text-level JSON mutations JSON.stringify cannot produce: a duplicate key, a number literal
 * beyond float64 or with a huge exponent, deep nesting at a value position, a BOM or junk after.
 */
export function mutateJsonText(text: string, rng: Rng): { text: string; how: string } {
  // scalar values after a ':' or in a list: where a literal can be swapped for another
  const scalars = [...text.matchAll(/([:\[,]\s*)(-?\d[\d.eE+-]*|"[^"\\]*"|true|false|null)/g)];
  const scalar = scalars.length ? rng.pick(scalars) : undefined;
  const replaceScalar = (by: string) => {
    const start = scalar!.index! + scalar![1].length;
    return text.slice(0, start) + by + text.slice(start + scalar![2].length);
  };
  switch (rng.int(5)) {
    case 0: {
      const hits = [...text.matchAll(/"([^"\\]{1,40})"\s*:\s*("[^"\\]*"|-?\d[\d.eE+-]*|true|false|null)/g)];
      if (hits.length === 0) break;
      const hit = rng.pick(hits);
      const dup = `${hit[0]}, "${hit[1]}": ${JSON.stringify(oddValue(rng))}`;
      return { text: text.slice(0, hit.index) + dup + text.slice(hit.index! + hit[0].length), how: `json text: duplicate key ${hit[1]}` };
    }
    case 1: {
      if (!scalar) break;
      const lit = rng.pick(["1e400", "-1e400", "1" + "0".repeat(400), "123456789012345678901234567890", "1e-400", "-0", "0.1e1", "9007199254740993"]);
      return { text: replaceScalar(lit), how: `json text: literal ${lit.slice(0, 12)}` };
    }
    case 2: {
      if (!scalar) break;
      const depth = rng.pick([100, 1000, 10_000, 100_000]);
      return { text: replaceScalar(deepJson(depth, rng.chance(0.5) ? "array" : "object")), how: `json text: nesting x${depth}` };
    }
    case 3:
      return { text: rng.pick(["\ufeff", " ", "\u0000"]) + text + rng.pick(["", " ", "\u0000", "}", "x"]), how: "json text: junk around" };
  }
  const cut = rng.int(text.length + 1);
  return { text: text.slice(0, cut), how: `json text: cut at ${cut}` };
}
