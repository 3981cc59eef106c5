// Watches the binary allocations made while one fuzz input is loaded, so that an input which
// makes the package allocate far more than its own size (a length field of 2^31, a shape
// product that overflows, a zip bomb) is caught even when the allocation happens to succeed.
//
// How: the global ArrayBuffer / SharedArrayBuffer and every typed-array constructor are
// replaced by Proxies (their `new` and static `from` / `of`), %TypedArray%.prototype.slice and
// ArrayBuffer.prototype.slice are wrapped, Buffer.alloc / allocUnsafe / allocUnsafeSlow are
// wrapped, and node:zlib's synchronous decompressors are wrapped (then synced into the ESM
// namespace with module.syncBuiltinESMExports, so `import * as zlib` in the package sees them).
// Package code finds all of these through the global object or the zlib module at call time,
// so every buffer it creates is seen; sizes given as numbers are checked BEFORE the allocation.
// An allocation above the armed limit is recorded and refused (AllocationRefused is thrown, so
// a 2^40-byte request never reaches the allocator); the record survives even if the package
// catches the error. Decompression output is capped at the limit the same way.
//
// The zlib wrapping needs Node (Deno and Bun do not re-sync their ESM namespaces); the rest
// works on all three runtimes.
//
// Why not process.memoryUsage().arrayBuffers: it only shows what is alive when sampled (a
// freed buffer, or one the GC has not seen yet, is missed or miscounted, and other threads'
// buffers are mixed in), and a 2^40-byte request would crash before any sample was taken.
//
// What it cannot see: buffers Node allocates for itself (fs.readFile's result, TextEncoder
// output), which are bounded by the input, and JS heap objects (strings, arrays, Maps), which
// the worker process's heap limit (--max-old-space-size, see campaign.ts) bounds instead.

import { createRequire, syncBuiltinESMExports } from "node:module";

export class AllocationRefused extends Error {
  constructor(message: string) {
    super(message);
    this.name = "AllocationRefused";
  }
}

export interface AllocationReport {
  /** largest single allocation seen, bytes */
  largest: number;
  largestWhat: string;
  /** sum of all allocations seen */
  total: number;
  /** set when an allocation went over the limit: what it was */
  refused?: string;
}

interface State extends AllocationReport {
  armed: boolean;
  limit: number;
  totalLimit: number;
}

const state: State = { armed: false, limit: Infinity, totalLimit: Infinity, largest: 0, largestWhat: "", total: 0 };

function note(bytes: number, what: string): void {
  if (!state.armed || !(bytes > 0)) return;
  state.total += bytes;
  if (bytes > state.largest) {
    state.largest = bytes;
    state.largestWhat = what;
  }
  if (bytes > state.limit || state.total > state.totalLimit) {
    const why = bytes > state.limit
      ? `${what} of ${bytes} bytes (limit ${state.limit})`
      : `${what} brings the total to ${state.total} bytes (limit ${state.totalLimit})`;
    state.refused ??= why;
    throw new AllocationRefused(`fuzz allocation monitor: refused ${why}`);
  }
}

/** bytes a constructor call will allocate, when the arguments say so before it happens */
function requested(bytesPerElement: number, args: unknown[]): number | undefined {
  const first = args[0];
  if (typeof first === "number") return first * bytesPerElement;
  if (first instanceof ArrayBufferOriginal || (typeof SharedArrayBuffer === "function" && first instanceof SharedArrayBufferOriginal)) {
    return 0; // a view onto an existing buffer
  }
  const length = (first as { length?: unknown } | null | undefined)?.length;
  return typeof length === "number" ? length * bytesPerElement : undefined;
}

const ArrayBufferOriginal = ArrayBuffer;
const SharedArrayBufferOriginal = SharedArrayBuffer;
let installed = false;

const typedNames = [
  "Int8Array", "Uint8Array", "Uint8ClampedArray", "Int16Array", "Uint16Array", "Int32Array", "Uint32Array",
  "Float32Array", "Float64Array", "BigInt64Array", "BigUint64Array", "Float16Array",
];

function wrapConstructor(name: string, bytesPerElement: number): void {
  const g = globalThis as unknown as Record<string, unknown>;
  const original = g[name] as (new (...args: unknown[]) => { byteLength: number }) | undefined;
  if (typeof original !== "function") return;
  const wrapStatic = (method: "from" | "of") => {
    const fn = (original as unknown as Record<string, (...a: unknown[]) => { byteLength: number }>)[method];
    return function (this: unknown, ...args: unknown[]) {
      const pre = method === "from" ? requested(bytesPerElement, args) : args.length * bytesPerElement;
      if (pre !== undefined) note(pre, `${name}.${method}`);
      const out = fn.apply(this === proxy ? original : this, args);
      if (pre === undefined) note(out.byteLength, `${name}.${method}`);
      return out;
    };
  };
  const from = wrapStatic("from");
  const of = wrapStatic("of");
  const proxy: unknown = new Proxy(original, {
    construct(target, args, newTarget) {
      const pre = requested(bytesPerElement, args);
      if (pre !== undefined) note(pre, `new ${name}`);
      const out = Reflect.construct(target, args, newTarget === proxy ? target : newTarget);
      if (pre === undefined) note((out as { byteLength: number }).byteLength, `new ${name}`);
      return out;
    },
    get(target, prop) {
      if (prop === "from") return from;
      if (prop === "of") return of;
      return Reflect.get(target, prop);
    },
  });
  g[name] = proxy;
}

/** Installs the wrappers (once per process). Package modules may be imported before or after. */
export function installAllocationMonitor(): void {
  if (installed) return;
  installed = true;
  for (const name of typedNames) {
    const ctor = (globalThis as unknown as Record<string, { BYTES_PER_ELEMENT?: number }>)[name];
    if (ctor?.BYTES_PER_ELEMENT) wrapConstructor(name, ctor.BYTES_PER_ELEMENT);
  }
  wrapConstructor("ArrayBuffer", 1);
  wrapConstructor("SharedArrayBuffer", 1);

  const typedProto = Object.getPrototypeOf(Uint8Array.prototype) as { slice: (...a: unknown[]) => { byteLength: number } };
  const typedSlice = typedProto.slice;
  typedProto.slice = function (this: unknown, ...args: unknown[]) {
    const out = typedSlice.apply(this, args);
    note(out.byteLength, "TypedArray.prototype.slice");
    return out;
  };
  const bufferSlice = ArrayBufferOriginal.prototype.slice;
  ArrayBufferOriginal.prototype.slice = function (this: ArrayBuffer, ...args: Array<number | undefined>) {
    const out = bufferSlice.apply(this, args as [number?, number?]);
    note(out.byteLength, "ArrayBuffer.prototype.slice");
    return out;
  };

  if (typeof Buffer === "function") {
    const b = Buffer as unknown as Record<string, (...a: unknown[]) => Uint8Array>;
    for (const method of ["alloc", "allocUnsafe", "allocUnsafeSlow"]) {
      const fn = b[method];
      b[method] = function (this: unknown, ...args: unknown[]) {
        if (typeof args[0] === "number") note(args[0], `Buffer.${method}`);
        return fn.apply(this, args);
      };
    }
  }

  try {
    const zlib = createRequire(import.meta.url)("node:zlib") as Record<string, unknown>;
    for (const method of ["inflateRawSync", "inflateSync", "gunzipSync", "unzipSync", "brotliDecompressSync"]) {
      const fn = zlib[method] as (data: unknown, options?: Record<string, unknown>) => Uint8Array;
      if (typeof fn !== "function") continue;
      zlib[method] = (data: unknown, options: Record<string, unknown> = {}) => {
        let opts = options;
        if (state.armed && Number.isFinite(state.limit)) {
          // output beyond the limit is refused by zlib itself (a RangeError the package may wrap)
          const cap = Math.min(Number(options.maxOutputLength ?? Infinity), state.limit + 1);
          opts = { ...options, maxOutputLength: cap };
        }
        let out: Uint8Array;
        try {
          out = fn(data, opts);
        } catch (e) {
          if (state.armed && (e as { code?: string }).code === "ERR_BUFFER_TOO_LARGE" && Number(opts.maxOutputLength) === state.limit + 1) {
            state.refused ??= `zlib.${method} output over ${state.limit} bytes (limit ${state.limit})`;
          }
          throw e;
        }
        note(out.byteLength, `zlib.${method}`);
        return out;
      };
    }
    syncBuiltinESMExports();
  } catch {
    // no CommonJS view of node:zlib here: decompression is not watched
  }
}

/** Starts watching: single allocations over `limit` bytes and totals over `totalLimit` are refused. */
export function armAllocationMonitor(limit: number, totalLimit = Infinity): void {
  Object.assign(state, { armed: true, limit, totalLimit, largest: 0, largestWhat: "", total: 0, refused: undefined });
}

export function disarmAllocationMonitor(): AllocationReport {
  state.armed = false;
  const { largest, largestWhat, total, refused } = state;
  return { largest, largestWhat, total, refused };
}
