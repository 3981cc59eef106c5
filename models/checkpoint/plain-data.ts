// Turns unpickled values into plain JavaScript data for the caller (a checkpoint's `meta`):
// dicts with string keys become objects, other dicts stay Maps, tuples become arrays, numpy
// values are already numbers / strings / {dtype, shape, data}, tensors become a description
// (their bytes are never read). Shared and cyclic references are preserved as such, so the
// result is never larger than the pickle; nesting deeper than a fixed limit is refused
// (conversion is recursive and hostile input could otherwise overflow the stack).
// OrderedDicts are Maps; their attributes (a state_dict's `_metadata`) are not carried over.

import { I3DError } from "../errors.ts";
import { NumpyArray, NumpyDType } from "./numpy-pickle.ts";
import { PyGlobal } from "./pickle.ts";
import { TensorRef, TypedStorage } from "./stored-tensor.ts";

const MAX_DEPTH = 200;

export function toPlainData(value: unknown, what: string): unknown {
  const seen = new Map<object, unknown>();

  const convert = (x: unknown, depth: number): unknown => {
    if (x === null || typeof x !== "object") return x;
    if (x instanceof Uint8Array) return x;
    const done = seen.get(x);
    if (done !== undefined) return done;
    if (depth > MAX_DEPTH) {
      throw new I3DError("checkpoint", `${what}: checkpoint metadata is nested more than ${MAX_DEPTH} levels deep`);
    }
    if (Array.isArray(x)) {
      const out: unknown[] = [];
      seen.set(x, out);
      for (const item of x) out.push(convert(item, depth + 1));
      return out;
    }
    if (x instanceof Map) {
      const stringKeys = [...x.keys()].every((k) => typeof k === "string");
      if (stringKeys) {
        const out: Record<string, unknown> = {};
        seen.set(x, out);
        for (const [k, v] of x) {
          // defineProperty, not assignment: a key named "__proto__" must stay a plain key
          Object.defineProperty(out, k as string, {
            value: convert(v, depth + 1),
            enumerable: true,
            writable: true,
            configurable: true,
          });
        }
        return out;
      }
      const out = new Map<unknown, unknown>();
      seen.set(x, out);
      for (const [k, v] of x) out.set(convert(k, depth + 1), convert(v, depth + 1));
      return out;
    }
    if (x instanceof Set) {
      const out = new Set<unknown>();
      seen.set(x, out);
      for (const item of x) out.add(convert(item, depth + 1));
      return out;
    }
    if (x instanceof TensorRef) return { tensor: { dtype: x.dtype, shape: [...x.shape] } };
    if (x instanceof TypedStorage) return { storage: { dtype: x.dtype, numel: x.numel } };
    if (x instanceof NumpyDType) return String(x);
    if (x instanceof NumpyArray) {
      const out = { dtype: x.dtype, shape: x.shape, order: x.order, data: x.data as unknown };
      seen.set(x, out);
      if (Array.isArray(x.data)) out.data = convert(x.data, depth + 1);
      return out;
    }
    if (x instanceof PyGlobal) return x.qualifiedName;
    // numpy scalars of exotic dtypes come back as small records already
    return x;
  };

  return convert(value, 0);
}
