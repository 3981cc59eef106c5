// Shared by the config tests: fixture paths and an assertion for I3DError("config") messages.
import { fileURLToPath } from "node:url";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";

export function fixture(rel: string): string {
  return fileURLToPath(new URL(`../fixtures/configs/${rel}`, import.meta.url));
}

function check(e: unknown, parts: (string | RegExp)[]): I3DError {
  if (!(e instanceof I3DError)) {
    assert.unreachable(`expected an I3DError, got ${String(e)}`);
    throw e;
  }
  assert.is(e.kind, "config");
  assert.not.match(e.message, "\n", "the message must be one line");
  assert.ok(e.message.startsWith("config error: "), e.message);
  for (const p of parts) {
    if (typeof p === "string") assert.ok(e.message.includes(p), `"${e.message}" should contain "${p}"`);
    else assert.match(e.message, p);
  }
  return e;
}

/** Runs `fn` and asserts it throws a one-line I3DError("config") containing every part. */
export function throwsConfig(fn: () => unknown, ...parts: (string | RegExp)[]): I3DError {
  try {
    fn();
  } catch (e) {
    return check(e, parts);
  }
  return assert.unreachable(`expected a config error containing ${parts.join(" / ")}`) as never;
}

export async function rejectsConfig(p: Promise<unknown>, ...parts: (string | RegExp)[]): Promise<I3DError> {
  try {
    await p;
  } catch (e) {
    return check(e, parts);
  }
  return assert.unreachable(`expected a config error containing ${parts.join(" / ")}`) as never;
}
