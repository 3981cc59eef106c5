import { existsSync, utimesSync, writeFileSync } from "node:fs";
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { hostname, tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { acquireLock } from "../../runtime/download/download-lock.ts";

const test = suite<{ dir: string }>("download lock");

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), "i3d-lock-"));
});
test.after.each(async (ctx) => {
  await rm(ctx.dir, { recursive: true, force: true });
});

test("exclusive: a second taker waits until the first releases", async (ctx) => {
  const path = join(ctx.dir, "f.lock");
  const first = await acquireLock(path);
  const owner = JSON.parse(await readFile(path, "utf8"));
  assert.is(owner.pid, process.pid);
  let waitedFor: unknown;
  let secondGot = false;
  const second = acquireLock(path, { pollMs: 20, onWait: (o) => (waitedFor = o) }).then((h) => {
    secondGot = true;
    return h;
  });
  await new Promise((r) => setTimeout(r, 150));
  assert.not.ok(secondGot, "still waiting while the first holds it");
  assert.equal(waitedFor, owner);
  assert.ok(await first.stillHeld());
  await first.release();
  const h2 = await second;
  assert.ok(await h2.stillHeld());
  assert.not.ok(await first.stillHeld());
  await h2.release();
  assert.not.ok(existsSync(path));
});

test("a lock of a dead process on this host is broken at once", async (ctx) => {
  const path = join(ctx.dir, "f.lock");
  writeFileSync(path, JSON.stringify({ pid: 999_999_999, host: hostname(), token: "t", since: "" }));
  let waited = false;
  const h = await acquireLock(path, { onWait: () => (waited = true) });
  assert.not.ok(waited);
  assert.ok(await h.stillHeld());
  await h.release();
});

test("another host's lock: waited for while fresh, broken once its heartbeat is stale", async (ctx) => {
  const path = join(ctx.dir, "f.lock");
  writeFileSync(path, JSON.stringify({ pid: 1, host: "elsewhere", token: "t", since: "" }));
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error("enough")), 150);
  let rejected: unknown;
  try {
    await acquireLock(path, { staleMs: 60_000, pollMs: 20, signal: controller.signal });
  } catch (e) {
    rejected = e;
  }
  assert.is((rejected as Error)?.message, "enough", "a fresh foreign lock is honoured");

  const old = new Date(Date.now() - 120_000);
  utimesSync(path, old, old);
  const h = await acquireLock(path, { staleMs: 60_000, pollMs: 20 });
  assert.ok(await h.stillHeld());
  await h.release();
});

test("the holder's heartbeat keeps its lock fresh", async (ctx) => {
  const path = join(ctx.dir, "f.lock");
  const h = await acquireLock(path, { heartbeatMs: 20 });
  const old = new Date(Date.now() - 120_000);
  utimesSync(path, old, old);
  await new Promise((r) => setTimeout(r, 100));
  const { statSync } = await import("node:fs");
  assert.ok(Date.now() - statSync(path).mtimeMs < 10_000, "mtime was touched");
  await h.release();
});

test.run();
