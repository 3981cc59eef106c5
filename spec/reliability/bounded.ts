// What every reliability test asserts about a failure: it arrives (bounded in time, so a hang
// is a test failure and not a stuck CI job) and it is one clear I3DError of the right kind.

import process from "node:process";
import v8 from "node:v8";
import vm from "node:vm";
import type { Test } from "uvu";
import * as assert from "uvu/assert";
import { I3DError, type I3DErrorKind } from "../../models/errors.ts";

/** Resolves/rejects as `p` does, or rejects with "HANG: ..." after `ms`. */
export function within<T>(ms: number, p: Promise<T>, what: string): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const hang = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`HANG: ${what} did not settle within ${ms / 1000} s`)), ms);
  });
  return Promise.race([p, hang]).finally(() => clearTimeout(timer));
}

export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Settles `p` within `ms` (a hang throws), as a value or the error. */
export async function settle<T>(ms: number, p: Promise<T>, what: string): Promise<Settled<T>> {
  const guarded = p.then((value) => ({ ok: true as const, value }), (error) => ({ ok: false as const, error }));
  return await within(ms, guarded, what);
}

export function describeError(e: unknown): string {
  if (e instanceof I3DError) return `I3DError(${e.kind}): ${e.message}`;
  return e instanceof Error ? `${e.constructor.name}: ${e.stack ?? e.message}` : String(e);
}

/** `e` is an I3DError of `kind` with a one-line message (matching `pattern`). */
export function assertI3DError(e: unknown, kind: I3DErrorKind, what: string, pattern?: RegExp): I3DError {
  assert.ok(e instanceof I3DError, `${what}: expected I3DError("${kind}"), got ${describeError(e)}`);
  const err = e as I3DError;
  assert.is(err.kind, kind, `${what}: kind of "${err.message}"`);
  assert.not.match(err.message, /[\r\n]/, `${what}: the message must be one line: ${JSON.stringify(err.message)}`);
  assert.ok(err.message.length > 10, `${what}: an empty message`);
  if (pattern) assert.ok(pattern.test(err.message), `${what}: "${err.message}" does not match ${pattern}`);
  return err;
}

/** `test`, printing each test's wall time when I3D_TIMINGS=1 (to keep the folder within its CI budget). */
export function timed(test: Test): (name: string, fn: () => Promise<void> | void) => void {
  if (process.env.I3D_TIMINGS !== "1") return (name, fn) => test(name, fn);
  return (name, fn) =>
    test(name, async () => {
      const start = performance.now();
      try {
        await fn();
      } finally {
        console.log(`    [${((performance.now() - start) / 1000).toFixed(1)} s] ${name}`);
      }
    });
}

/**
 * A full garbage collection, where the engine lets us ask for one: Bun.gc, a `gc` the process
 * was started with, or V8's exposed at run time (Node, Deno). Memory tests sample after it, so
 * they measure what is retained, not how lazily each runtime's collector frees dead buffers.
 */
export function fullGcFunction(): (() => void) | undefined {
  const g = globalThis as { gc?: () => void; Bun?: { gc(sync: boolean): void } };
  if (g.Bun) return () => g.Bun!.gc(true);
  if (g.gc) return g.gc;
  try {
    v8.setFlagsFromString("--expose-gc");
    return vm.runInNewContext("gc") as () => void;
  } catch {
    return undefined;
  }
}
