// Downloads a checkpoint into the cache once and returns its local path; later calls find it
// there without touching the network.
//
// A download streams into `<name>.part` (never the whole file in memory), hashing as it goes;
// only a complete, verified file is renamed onto `<name>`, so nothing partial or corrupt ever
// looks finished. The `.part` outlives failures (a dropped connection, a stall, Ctrl-C, a kill)
// and the next attempt resumes it with a Range request when the server honours one (206 with a
// matching Content-Range), rehashing what is already on disk first; otherwise it starts over.
// `<name>.part.json` remembers the server's validators (ETag / Last-Modified) so a resume asks
// with If-Range and never splices two versions of a file. `<name>.lock` keeps a second process
// off the same `.part` (see download-lock.ts).

import { createHash, type Hash } from "node:crypto";
import { createReadStream } from "node:fs";
import { mkdir, open, readFile, rename, stat, unlink, writeFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { I3DError } from "../../models/errors.ts";
import { abortableSleep } from "./abortable-sleep.ts";
import { cacheDirPath } from "./cache-dir.ts";
import { acquireLock, type LockOwner } from "./download-lock.ts";
import { networkCause } from "./network-cause.ts";
import { createProgressBar, noProgress, type ProgressSink } from "./progress-bar.ts";
import { fileNameFromUrl, mirrorUrl, sha256PrefixFromName } from "./zoo-url.ts";

export interface FetchCheckpointOptions {
  /** default: cacheDirPath() ($I3D_CACHE or the platform cache folder) */
  cacheDir?: string;
  /** true (default): a byte progress bar on stderr when it is a TTY; false: silent; or a sink */
  progress?: boolean | ProgressSink;
  /** expected start of the file's sha256 (hex); default: the one in a zoo-style file name */
  sha256Prefix?: string;
  signal?: AbortSignal;
  /** abort an attempt that receives no data for this long, keeping the part (default 30 s) */
  stallTimeoutMs?: number;
  /** further attempts after a transient failure (5xx, dropped connection, stall; default 2) */
  retries?: number;
}

/** One failed attempt; `retryable` failures are tried again while retries remain. */
class AttemptFailure extends Error {
  constructor(
    message: string,
    readonly retryable: boolean,
    readonly partKept = false,
  ) {
    super(message);
  }
}

/** The part on disk does not continue the file the server now sends: drop it and start over. */
class RestartFromScratch extends Error {
  constructor() {
    super("the server's answer does not continue the partial file");
  }
}

interface Job {
  url: string; // after mirroring: what is actually requested
  host: string;
  name: string;
  finalPath: string;
  partPath: string;
  metaPath: string;
  expectedPrefix: string | undefined;
  stallTimeoutMs: number;
  signal: AbortSignal | undefined;
  sink: ProgressSink;
}

interface PartMeta {
  url: string;
  etag?: string;
  lastModified?: string;
  total?: number;
}

export async function fetchCheckpoint(url: string, opts: FetchCheckpointOptions = {}): Promise<string> {
  const source = mirrorUrl(url);
  let parsed: URL;
  try {
    parsed = new URL(source);
  } catch {
    throw new I3DError("download", `not a URL: ${source}`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new I3DError("download", `cannot download ${source}: only http and https URLs are supported`);
  }
  const name = fileNameFromUrl(source);
  if (!name || name === "." || name === ".." || /[\\/\0]/.test(name)) {
    throw new I3DError("download", `cannot download ${source}: the URL does not end in a file name`);
  }
  const expectedPrefix = checkedPrefix(opts.sha256Prefix) ?? sha256PrefixFromName(name);
  const retries = opts.retries ?? 2;
  const stallTimeoutMs = opts.stallTimeoutMs ?? 30_000;
  if (!Number.isInteger(retries) || retries < 0) throw new I3DError("usage", `retries must be a whole number >= 0, got ${retries}`);
  if (!(stallTimeoutMs > 0)) throw new I3DError("usage", `stallTimeoutMs must be > 0, got ${stallTimeoutMs}`);

  // Zoo names carry their content's hash, so the name alone is a safe cache key (and a mirror
  // shares entries with the original). Any other name is keyed by its URL: two servers'
  // `model.pth` must not be taken for one another.
  const root = opts.cacheDir !== undefined ? resolve(opts.cacheDir) : cacheDirPath();
  const dir = sha256PrefixFromName(name) ? root : join(root, "by-url", sha256Hex(url).slice(0, 16));
  const finalPath = join(dir, name);
  if (await isFile(finalPath)) return finalPath;

  if (opts.signal?.aborted) throw abortedError(source, opts.signal);
  try {
    await mkdir(dir, { recursive: true });
  } catch (e) {
    throw new I3DError("download", `cannot create cache directory ${dir}: ${(e as Error).message}`);
  }

  const sink = progressSink(opts.progress, name);
  const job: Job = {
    url: source,
    host: parsed.host,
    name,
    finalPath,
    partPath: `${finalPath}.part`,
    metaPath: `${finalPath}.part.json`,
    expectedPrefix,
    stallTimeoutMs,
    signal: opts.signal,
    sink,
  };

  let lock;
  try {
    lock = await acquireLock(`${finalPath}.lock`, {
      signal: opts.signal,
      onWait: opts.progress === false ? undefined : (owner) => noteWaiting(owner, name, `${finalPath}.lock`),
    });
  } catch (e) {
    if (opts.signal?.aborted) throw aborted(job);
    throw new I3DError("download", `cannot lock ${finalPath}.lock: ${(e as Error).message}`);
  }
  try {
    // Whoever held the lock before us may have finished the very same file.
    if (await isFile(finalPath)) return finalPath;
    await downloadWithRetries(job, retries);
    if (!(await lock.stillHeld())) {
      // judged stale and broken by another process while we worked: our part may be shared
      throw new I3DError("download", `download of ${source} lost its lock ${lock.path} to another process; run again`);
    }
    try {
      await rename(job.partPath, finalPath);
    } catch (e) {
      throw new I3DError("download", `cannot move the finished download into ${finalPath}: ${(e as Error).message}`);
    }
    await unlink(job.metaPath).catch(() => {});
    return finalPath;
  } finally {
    sink.done();
    await lock.release();
  }
}

function checkedPrefix(p: string | undefined): string | undefined {
  if (p === undefined) return undefined;
  if (!/^[0-9a-fA-F]{1,64}$/.test(p)) throw new I3DError("usage", `sha256Prefix must be 1-64 hex digits, got "${p}"`);
  return p.toLowerCase();
}

function progressSink(progress: boolean | ProgressSink | undefined, name: string): ProgressSink {
  if (progress === false) return noProgress;
  if (progress === undefined || progress === true) return createProgressBar({ label: name, unit: "bytes" });
  return progress;
}

function noteWaiting(owner: LockOwner | undefined, name: string, lockPath: string): void {
  if (!process.stderr.isTTY) return;
  const who = owner ? `process ${owner.pid} on ${owner.host}` : "another process";
  process.stderr.write(`waiting for ${who} to finish downloading ${name} (lock file ${lockPath})\n`);
}

async function downloadWithRetries(job: Job, retries: number): Promise<void> {
  for (let attempt = 0; ; attempt++) {
    try {
      try {
        await downloadOnce(job);
      } catch (e) {
        if (!(e instanceof RestartFromScratch)) throw e;
        await discardPart(job);
        await downloadOnce(job); // no part now, so no Range and no second restart
      }
      return;
    } catch (e) {
      if (job.signal?.aborted) throw aborted(job);
      if (e instanceof I3DError) throw e;
      if (!(e instanceof AttemptFailure)) {
        throw new I3DError("download", `download of ${job.url} failed: ${(e as Error)?.message ?? String(e)}`, { cause: e });
      }
      if (e.retryable && attempt < retries) {
        try {
          await abortableSleep(Math.min(4000, 500 * 2 ** attempt), job.signal);
        } catch {
          throw aborted(job);
        }
        continue;
      }
      const tries = attempt > 0 ? ` (${attempt + 1} attempts)` : "";
      const kept = e.partKept ? "; the partial file is kept, run again to resume" : "";
      throw new I3DError("download", `download of ${job.url} failed: ${e.message}${tries}${kept}`);
    }
  }
}

function aborted(job: Job): I3DError {
  return abortedError(job.url, job.signal);
}

function abortedError(url: string, signal: AbortSignal | undefined): I3DError {
  return new I3DError("download", `download of ${url} was aborted`, { cause: signal?.reason });
}

async function downloadOnce(job: Job): Promise<void> {
  const have = await fileSize(job.partPath);
  const meta = have > 0 ? await readMeta(job.metaPath) : undefined;
  // identity: a transparently decompressed body would not match Content-Length or the hash
  const headers: Record<string, string> = { "accept-encoding": "identity" };
  if (have > 0) {
    headers.range = `bytes=${have}-`;
    const validator = meta?.etag && !meta.etag.startsWith("W/") ? meta.etag : meta?.lastModified;
    if (validator) headers["if-range"] = validator;
  }

  const controller = new AbortController();
  const onUserAbort = () => controller.abort(job.signal?.reason);
  job.signal?.addEventListener("abort", onUserAbort, { once: true });
  const stall = stallWatch(job.stallTimeoutMs, () => controller.abort(new Error("stalled")));
  const failure = (e: unknown, partKept: boolean): Error => {
    if (job.signal?.aborted) return e instanceof Error ? e : new Error(String(e));
    if (stall.fired) {
      return new AttemptFailure(`no data from ${job.host} for ${seconds(job.stallTimeoutMs)}`, true, partKept);
    }
    const cause = networkCause(e, job.host);
    return new AttemptFailure(cause.text, cause.retryable, partKept);
  };

  let finished = false;
  try {
    let res: Response;
    try {
      res = await fetch(job.url, { headers, signal: controller.signal, redirect: "follow" });
    } catch (e) {
      throw failure(e, have > 0);
    }

    let offset: number;
    let total: number | undefined;
    if (res.status === 206) {
      const range = parseContentRange(res.headers.get("content-range"));
      const sameFile = range !== undefined && (meta?.total === undefined || range.total === undefined || range.total === meta.total);
      if (!range || range.start !== have || !sameFile) {
        await res.body?.cancel().catch(() => {});
        throw new RestartFromScratch();
      }
      offset = have;
      total = range.total;
    } else if (res.status === 416 && have > 0) {
      // Range not satisfiable: the part may already hold the whole file (killed before the rename)
      await res.body?.cancel().catch(() => {});
      const size = /^bytes \*\/(\d+)$/.exec(res.headers.get("content-range") ?? "")?.[1];
      if (size !== undefined && Number(size) === have) {
        await verify(job, await hashFile(job.partPath, have));
        finished = true;
        return;
      }
      throw new RestartFromScratch();
    } else if (res.ok) {
      // 200: a fresh body (a server that ignores Range answers this way too: start over)
      offset = 0;
      const encoded = (res.headers.get("content-encoding") ?? "identity").toLowerCase() !== "identity";
      const length = res.headers.get("content-length");
      total = !encoded && length !== null && /^\d+$/.test(length) ? Number(length) : undefined;
      const fresh: PartMeta = { url: job.url, total };
      const etag = res.headers.get("etag");
      const lastModified = res.headers.get("last-modified");
      if (etag) fresh.etag = etag;
      if (lastModified) fresh.lastModified = lastModified;
      await writeFile(job.metaPath, JSON.stringify(fresh));
    } else {
      await res.body?.cancel().catch(() => {});
      const status = `HTTP ${res.status}${res.statusText ? ` ${res.statusText}` : ""}`;
      const retryable = res.status >= 500 || res.status === 408 || res.status === 429;
      throw new AttemptFailure(status, retryable, have > 0);
    }

    const hash = offset > 0 ? await hashFile(job.partPath, offset) : createHash("sha256");
    let written = offset;
    const file = await open(job.partPath, offset > 0 ? "r+" : "w");
    job.sink.start(total);
    job.sink.update(written);
    try {
      if (res.body) {
        const reader = res.body.getReader();
        for (;;) {
          let chunk: ReadableStreamReadResult<Uint8Array>;
          try {
            chunk = await reader.read();
          } catch (e) {
            throw failure(e, written > 0);
          }
          if (chunk.done) break;
          stall.reset();
          const bytes = chunk.value;
          await file.write(bytes, 0, bytes.length, written);
          hash.update(bytes);
          written += bytes.length;
          job.sink.update(written);
        }
      }
      if (total !== undefined && written < total) {
        throw new AttemptFailure(`connection closed after ${written} of ${total} bytes`, true, written > 0);
      }
      if (total !== undefined && written > total) {
        throw new AttemptFailure(`server sent ${written} bytes, more than the ${total} it announced`, false);
      }
      await file.sync();
    } finally {
      await file.close();
    }
    await verify(job, hash);
    finished = true;
  } finally {
    // an attempt that failed half-way must not leave its connection streaming into nowhere
    if (!finished) controller.abort();
    stall.clear();
    job.signal?.removeEventListener("abort", onUserAbort);
  }
}

/** Checks the finished part's hash; a mismatch deletes it (resuming garbage cannot help). */
async function verify(job: Job, hash: Hash): Promise<void> {
  if (job.expectedPrefix === undefined) return;
  const got = hash.digest("hex");
  if (!got.startsWith(job.expectedPrefix)) {
    await discardPart(job);
    throw new I3DError(
      "download",
      `download of ${job.url} is corrupt: sha256 starts with ${got.slice(0, job.expectedPrefix.length)}, expected ${job.expectedPrefix} (file deleted)`,
    );
  }
}

async function discardPart(job: Job): Promise<void> {
  await unlink(job.partPath).catch(() => {});
  await unlink(job.metaPath).catch(() => {});
}

/** A timer that fires `onStall` unless reset within `ms`; covers the wait for headers too. */
function stallWatch(ms: number, onStall: () => void) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const w = {
    fired: false,
    reset() {
      if (timer !== undefined) clearTimeout(timer);
      timer = setTimeout(() => {
        w.fired = true;
        onStall();
      }, ms);
    },
    clear() {
      if (timer !== undefined) clearTimeout(timer);
      timer = undefined;
    },
  };
  w.reset();
  return w;
}

function parseContentRange(v: string | null): { start: number; end: number; total?: number } | undefined {
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec((v ?? "").trim());
  if (!m) return undefined;
  return { start: Number(m[1]), end: Number(m[2]), total: m[3] === "*" ? undefined : Number(m[3]) };
}

async function readMeta(path: string): Promise<PartMeta | undefined> {
  try {
    return JSON.parse(await readFile(path, "utf8")) as PartMeta;
  } catch {
    return undefined;
  }
}

/** sha256 state over the first `length` bytes of a file (a part being resumed). */
async function hashFile(path: string, length: number): Promise<Hash> {
  const hash = createHash("sha256");
  if (length > 0) {
    for await (const chunk of createReadStream(path, { start: 0, end: length - 1 })) hash.update(chunk as Uint8Array);
  }
  return hash;
}

async function fileSize(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isFile();
  } catch {
    return false;
  }
}

function sha256Hex(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function seconds(ms: number): string {
  return ms >= 1000 ? `${+(ms / 1000).toFixed(1)} s` : `${ms} ms`;
}
