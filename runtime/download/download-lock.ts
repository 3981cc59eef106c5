// An exclusive lock file next to a download, so two processes fetching the same checkpoint
// never write the same `.part`: the second one waits for the first, then finds the finished
// file in the cache. A lock left by a killed process is broken: on the same host when its pid is
// gone, from another host (a shared cache volume) when its heartbeat (mtime, touched every
// second) is older than `staleMs`. Breaking goes through a second exclusive file so that two
// waiters cannot both decide to break the same lock and end up both holding a fresh one.

import { randomBytes } from "node:crypto";
import { open, readFile, stat, unlink, utimes } from "node:fs/promises";
import { hostname } from "node:os";
import { abortableSleep } from "./abortable-sleep.ts";

export interface LockOwner {
  pid: number;
  host: string;
  token: string;
  since: string;
}

export interface LockHandle {
  readonly path: string;
  /** false when another process broke this lock (judged it stale) */
  stillHeld(): Promise<boolean>;
  release(): Promise<void>;
}

export interface LockOptions {
  signal?: AbortSignal;
  /** a lock from another host untouched this long is stale (default 60 s) */
  staleMs?: number;
  pollMs?: number;
  heartbeatMs?: number;
  /** called once when the lock is busy and we start waiting */
  onWait?: (owner: LockOwner | undefined) => void;
}

const HOST = hostname();

export async function acquireLock(path: string, opts: LockOptions = {}): Promise<LockHandle> {
  const staleMs = opts.staleMs ?? 60_000;
  const pollMs = opts.pollMs ?? 200;
  const me: LockOwner = { pid: process.pid, host: HOST, token: randomBytes(8).toString("hex"), since: new Date().toISOString() };
  let waited = false;
  for (;;) {
    opts.signal?.throwIfAborted();
    if (await tryCreate(path, JSON.stringify(me))) return held(path, me, opts.heartbeatMs ?? 1000);
    const owner = await readOwner(path);
    if (await isStale(path, owner, staleMs)) {
      await breakLock(path, owner, staleMs);
      continue;
    }
    if (!waited) {
      waited = true;
      opts.onWait?.(owner);
    }
    await abortableSleep(pollMs, opts.signal);
  }
}

async function tryCreate(path: string, content: string): Promise<boolean> {
  let fh;
  try {
    fh = await open(path, "wx");
  } catch (e) {
    if ((e as { code?: string }).code === "EEXIST") return false;
    throw e;
  }
  try {
    await fh.writeFile(content);
  } finally {
    await fh.close();
  }
  return true;
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const o = JSON.parse(await readFile(path, "utf8")) as Partial<LockOwner>;
    if (typeof o.pid === "number" && typeof o.host === "string" && typeof o.token === "string") return o as LockOwner;
  } catch {
    // gone, or created but not yet written: judged by its age alone
  }
  return undefined;
}

async function ageMs(path: string): Promise<number | undefined> {
  try {
    return Date.now() - (await stat(path)).mtimeMs;
  } catch {
    return undefined;
  }
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as { code?: string }).code !== "ESRCH";
  }
}

async function isStale(path: string, owner: LockOwner | undefined, staleMs: number): Promise<boolean> {
  // On this host the pid is authoritative: a live holder may be slow (a stalled server, a busy
  // event loop) without being dead, and must not be robbed of its lock.
  if (owner && owner.host === HOST) return owner.pid !== process.pid && !pidAlive(owner.pid);
  const age = await ageMs(path);
  return age !== undefined && age > staleMs;
}

async function breakLock(path: string, judged: LockOwner | undefined, staleMs: number): Promise<void> {
  const breaker = `${path}.break`;
  if (!(await tryCreate(breaker, String(process.pid)))) {
    // someone else is breaking it; a breaker killed mid-way leaves a file that ages out
    const age = await ageMs(breaker);
    if (age !== undefined && age > Math.min(staleMs, 10_000)) await unlink(breaker).catch(() => {});
    await abortableSleep(50);
    return;
  }
  try {
    const now = await readOwner(path);
    // Only remove the very lock judged stale; a fresh one taken meanwhile stays.
    if (now?.token === judged?.token) await unlink(path).catch(() => {});
  } finally {
    await unlink(breaker).catch(() => {});
  }
}

function held(path: string, me: LockOwner, heartbeatMs: number): LockHandle {
  const beat = setInterval(() => {
    const t = new Date();
    utimes(path, t, t).catch(() => {});
  }, heartbeatMs);
  let released = false;
  return {
    path,
    async stillHeld() {
      return (await readOwner(path))?.token === me.token;
    },
    async release() {
      if (released) return;
      released = true;
      clearInterval(beat);
      if ((await readOwner(path))?.token === me.token) await unlink(path).catch(() => {});
    },
  };
}
