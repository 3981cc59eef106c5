import { existsSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";
import { fetchCheckpoint } from "../../runtime/download/fetch-checkpoint.ts";
import type { ProgressSink } from "../../runtime/download/progress-bar.ts";
import { generatedBytes, sha256Hex, startServer, type TestServer, zooName } from "./test-server.ts";

interface Ctx {
  server: TestServer;
  cache: string;
}

const test = suite<Ctx>("fetchCheckpoint");

test.before.each(async (ctx) => {
  ctx.server = await startServer();
  ctx.cache = await mkdtemp(join(tmpdir(), "i3d-dl-"));
});

test.after.each(async (ctx) => {
  await ctx.server.close();
  await rm(ctx.cache, { recursive: true, force: true });
});

const SIZE = 300_000;

function serve(ctx: Ctx, bytes: Uint8Array, behaviour: object = {}, name = zooName(bytes)): string {
  const path = `/mmaction/${name}`;
  ctx.server.routes.set(path, { bytes, ...behaviour });
  return ctx.server.origin + path;
}

async function downloadError(p: Promise<unknown>): Promise<I3DError> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, I3DError);
    const err = e as I3DError;
    assert.is(err.kind, "download");
    assert.not.match(err.message, "\n");
    return err;
  }
  throw new assert.Assertion({ message: "expected the download to fail", generated: false, operator: "throws" } as never);
}

function equalBytes(path: string, bytes: Uint8Array): void {
  const got = readFileSync(path);
  assert.is(got.length, bytes.length);
  assert.is(sha256Hex(got), sha256Hex(bytes));
}

function leftovers(dir: string): string[] {
  return readdirSync(dir).filter((f) => /\.(part|lock|json|break)$/.test(f));
}

test("downloads once into the cache, then serves the cached file with no request", async (ctx) => {
  const bytes = generatedBytes(SIZE, 7);
  const url = serve(ctx, bytes);
  const events: string[] = [];
  const sink: ProgressSink = {
    start: (t) => events.push(`start ${t}`),
    update: (d) => events.push(`update ${d}`),
    done: () => events.push("done"),
  };
  const path = await fetchCheckpoint(url, { cacheDir: ctx.cache, progress: sink });
  assert.is(path, join(ctx.cache, zooName(bytes)));
  equalBytes(path, bytes);
  assert.equal(leftovers(ctx.cache), []);
  assert.is(ctx.server.requests.length, 1);
  assert.is(ctx.server.requests[0].status, 200);
  assert.is(events[0], `start ${SIZE}`);
  assert.is(events[events.length - 2], `update ${SIZE}`);
  assert.is(events[events.length - 1], "done");

  const again = await fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false });
  assert.is(again, path);
  assert.is(ctx.server.requests.length, 1, "second call made no request");
});

test("a body shorter than Content-Length fails, keeps the part, and never looks complete", async (ctx) => {
  const bytes = generatedBytes(SIZE, 8);
  const url = serve(ctx, bytes, { extraLength: 1000 });
  const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false, retries: 0 }));
  assert.ok(err.message.includes(url), err.message);
  assert.match(err.message, /connection (dropped|closed after \d+ of 301000 bytes)/);
  assert.match(err.message, /run again to resume/);
  const final = join(ctx.cache, zooName(bytes));
  assert.not.ok(existsSync(final));
  assert.ok(statSync(`${final}.part`).size <= SIZE);
  assert.not.ok(existsSync(`${final}.lock`), "lock released");
});

test("a body that ends cleanly but short of Content-Length is still caught", async (ctx) => {
  // Node, Bun and Deno all turn a connection closed mid-body into an error themselves; this
  // covers a client or proxy that reports a clean end instead.
  const bytes = generatedBytes(1000, 25);
  const url = "http://127.0.0.1:9/x_20200101-00000000.pth";
  const realFetch = globalThis.fetch;
  globalThis.fetch = (async () =>
    new Response(bytes.slice(0, 400) as Uint8Array<ArrayBuffer>, { status: 200, headers: { "content-length": "1000" } })) as typeof fetch;
  try {
    const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false, retries: 0 }));
    assert.is(err.message, `download of ${url} failed: connection closed after 400 of 1000 bytes; the partial file is kept, run again to resume`);
  } finally {
    globalThis.fetch = realFetch;
  }
  assert.is(statSync(join(ctx.cache, "x_20200101-00000000.pth.part")).size, 400);
});

test("a wrong hash deletes the download and names expected vs got", async (ctx) => {
  const bytes = generatedBytes(SIZE, 9);
  const actual = sha256Hex(bytes).slice(0, 8);
  const name = "x_20200101-deadbeef.pth";
  const url = serve(ctx, bytes, {}, name);
  const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false }));
  assert.ok(err.message.includes(`starts with ${actual}, expected deadbeef`), err.message);
  assert.equal(readdirSync(ctx.cache), [], "no part, no file, no lock");
  assert.is(ctx.server.requests.length, 1, "a hash mismatch is not retried");
});

test("an explicit sha256Prefix is checked too", async (ctx) => {
  const bytes = generatedBytes(1000, 10);
  const url = serve(ctx, bytes, {}, "plain.pth");
  const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false, sha256Prefix: "0000" }));
  assert.match(err.message, /expected 0000/);
  const ok = await fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false, sha256Prefix: sha256Hex(bytes).slice(0, 12).toUpperCase() });
  equalBytes(ok, bytes);
});

test("404 fails at once with the URL and the status", async (ctx) => {
  const url = `${ctx.server.origin}/missing/x_20200101-00000000.pth`;
  const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false }));
  assert.is(err.message, `download of ${url} failed: HTTP 404 Not Found`);
  assert.is(ctx.server.requests.length, 1, "4xx is not retried");
});

test("500 is retried, then reported", async (ctx) => {
  const bytes = generatedBytes(100, 11);
  const url = serve(ctx, bytes, { status: 500 });
  const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false, retries: 1 }));
  assert.is(err.message, `download of ${url} failed: HTTP 500 Internal Server Error (2 attempts)`);
  assert.is(ctx.server.requests.length, 2);
});

test("a stalled transfer is aborted after stallTimeoutMs and its part kept", async (ctx) => {
  const bytes = generatedBytes(SIZE, 12);
  const url = serve(ctx, bytes, { stallAfter: 100_000 });
  const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false, retries: 0, stallTimeoutMs: 300 }));
  const host = new URL(url).host;
  assert.ok(err.message.includes(`failed: no data from ${host} for 300 ms; the partial file is kept`), err.message);
  const part = join(ctx.cache, `${zooName(bytes)}.part`);
  assert.is(statSync(part).size, 100_000);
  assert.not.ok(existsSync(join(ctx.cache, zooName(bytes))));
});

test("a server that never answers is a stall too", async (ctx) => {
  const bytes = generatedBytes(100, 13);
  const url = serve(ctx, bytes, { stallBeforeHeaders: true });
  const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false, retries: 0, stallTimeoutMs: 200 }));
  assert.match(err.message, /no data from 127\.0\.0\.1:\d+ for 200 ms/);
});

test("an interrupted transfer resumes with Range on the next call", async (ctx) => {
  const bytes = generatedBytes(SIZE, 14);
  const url = serve(ctx, bytes, { dropAfter: 120_000 });
  const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false, retries: 0 }));
  assert.match(err.message, /connection (dropped|closed after)/);
  const final = join(ctx.cache, zooName(bytes));
  const kept = statSync(`${final}.part`).size;
  assert.ok(kept > 0 && kept <= 120_000, `kept ${kept}`);

  const path = await fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false });
  equalBytes(path, bytes);
  const [first, second] = ctx.server.requests;
  assert.is(ctx.server.requests.length, 2);
  assert.is(first.status, 200);
  assert.is(second.status, 206);
  assert.is(second.range, `bytes=${kept}-`);
  assert.ok(second.ifRange, "resume is guarded by If-Range");
  assert.equal(leftovers(ctx.cache), []);
});

test("a dropped connection is resumed within one call when retries allow", async (ctx) => {
  const bytes = generatedBytes(SIZE, 15);
  const url = serve(ctx, bytes, { dropAfter: 50_000 });
  const path = await fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false, retries: 1 });
  equalBytes(path, bytes);
  assert.equal(ctx.server.requests.map((r) => r.status), [200, 206]);
});

test("a part left by a killed process (stale lock, dead pid) is resumed", async (ctx) => {
  const bytes = generatedBytes(SIZE, 16);
  const url = serve(ctx, bytes);
  const final = join(ctx.cache, zooName(bytes));
  writeFileSync(`${final}.part`, bytes.subarray(0, 77_777));
  const { hostname } = await import("node:os");
  writeFileSync(`${final}.lock`, JSON.stringify({ pid: 999_999_999, host: hostname(), token: "dead", since: "" }));
  const path = await fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false });
  equalBytes(path, bytes);
  assert.equal(ctx.server.requests.map((r) => [r.status, r.range]), [[206, "bytes=77777-"]]);
  assert.equal(leftovers(ctx.cache), []);
});

test("a server that ignores Range gets a clean restart", async (ctx) => {
  const bytes = generatedBytes(SIZE, 17);
  const url = serve(ctx, bytes, { honourRange: false });
  const final = join(ctx.cache, zooName(bytes));
  writeFileSync(`${final}.part`, bytes.subarray(0, 50_000));
  const path = await fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false });
  equalBytes(path, bytes);
  assert.equal(ctx.server.requests.map((r) => [r.status, r.range]), [[200, "bytes=50000-"]]);
});

test("a part whose file changed on the server (If-Range fails) restarts", async (ctx) => {
  const bytes = generatedBytes(SIZE, 18);
  const url = serve(ctx, bytes, { etag: '"v2"' });
  const final = join(ctx.cache, zooName(bytes));
  writeFileSync(`${final}.part`, generatedBytes(60_000, 99)); // bytes of an older version
  writeFileSync(`${final}.part.json`, JSON.stringify({ url, etag: '"v1"', total: SIZE }));
  const path = await fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false });
  equalBytes(path, bytes);
  assert.equal(ctx.server.requests.map((r) => [r.status, r.ifRange]), [[200, '"v1"']]);
});

test("a complete part (killed before the rename) is verified and finished via 416", async (ctx) => {
  const bytes = generatedBytes(SIZE, 19);
  const url = serve(ctx, bytes);
  const final = join(ctx.cache, zooName(bytes));
  writeFileSync(`${final}.part`, bytes);
  const path = await fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false });
  equalBytes(path, bytes);
  assert.equal(ctx.server.requests.map((r) => r.status), [416]);
});

test("$I3D_ZOO_URL rewrites a zoo URL to the mirror", async (ctx) => {
  const bytes = generatedBytes(SIZE, 20);
  const name = zooName(bytes, "i3d_r50_32x2x1_100e_kinetics400_rgb");
  ctx.server.routes.set(`/mirror/${name}`, { bytes });
  const zoo = `https://download.openmmlab.com/mmaction/recognition/i3d/i3d_r50_32x2x1_100e_kinetics400_rgb/${name}`;
  const saved = process.env.I3D_ZOO_URL;
  process.env.I3D_ZOO_URL = `${ctx.server.origin}/mirror//`;
  try {
    const path = await fetchCheckpoint(zoo, { cacheDir: ctx.cache, progress: false });
    assert.is(path, join(ctx.cache, name));
    equalBytes(path, bytes);
    assert.equal(ctx.server.requests.map((r) => r.path), [`/mirror/${name}`]);
  } finally {
    if (saved === undefined) delete process.env.I3D_ZOO_URL;
    else process.env.I3D_ZOO_URL = saved;
  }
});

test("a plain --checkpoint URL is cached under a key of its URL", async (ctx) => {
  const a = generatedBytes(5000, 21);
  const b = generatedBytes(6000, 22);
  ctx.server.routes.set("/one/model.pth", { bytes: a });
  ctx.server.routes.set("/two/model.pth", { bytes: b });
  const pa = await fetchCheckpoint(`${ctx.server.origin}/one/model.pth`, { cacheDir: ctx.cache, progress: false });
  const pb = await fetchCheckpoint(`${ctx.server.origin}/two/model.pth?x=1`, { cacheDir: ctx.cache, progress: false });
  assert.is(basename(pa), "model.pth");
  assert.is(basename(pb), "model.pth");
  assert.is.not(dirname(pa), dirname(pb));
  equalBytes(pa, a);
  equalBytes(pb, b);
  assert.is(await fetchCheckpoint(`${ctx.server.origin}/one/model.pth`, { cacheDir: ctx.cache, progress: false }), pa);
  assert.is(ctx.server.requests.length, 2);
});

test("a refused connection is one clear line", async (ctx) => {
  const url = `${ctx.server.origin}/x_20200101-00000000.pth`;
  await ctx.server.close();
  ctx.server = await startServer(); // a fresh (different) port; the old one now refuses
  const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false }));
  assert.is(err.message, `download of ${url} failed: connection refused by ${new URL(url).host}`);
});

test("two concurrent downloads of one file share a single transfer", async (ctx) => {
  const bytes = generatedBytes(SIZE, 23);
  const url = serve(ctx, bytes, { chunkDelayMs: 5 });
  const [p1, p2] = await Promise.all([
    fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false }),
    fetchCheckpoint(url, { cacheDir: ctx.cache, progress: false }),
  ]);
  assert.is(p1, p2);
  equalBytes(p1, bytes);
  assert.is(ctx.server.requests.length, 1);
  assert.equal(leftovers(ctx.cache), []);
});

test("an AbortSignal stops the download and keeps the part", async (ctx) => {
  const bytes = generatedBytes(SIZE, 24);
  const url = serve(ctx, bytes, { chunkDelayMs: 20 });
  const controller = new AbortController();
  const sink: ProgressSink = {
    start() {},
    update(done) {
      if (done >= 32_768) controller.abort();
    },
    done() {},
  };
  const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, progress: sink, signal: controller.signal }));
  assert.is(err.message, `download of ${url} was aborted`);
  assert.ok(statSync(join(ctx.cache, `${zooName(bytes)}.part`)).size >= 32_768);
  assert.is(ctx.server.requests.length, 1, "an abort is not retried");
});

test("an already aborted signal fails before any request", async (ctx) => {
  const url = serve(ctx, generatedBytes(100, 26));
  const err = await downloadError(fetchCheckpoint(url, { cacheDir: ctx.cache, signal: AbortSignal.abort() }));
  assert.is(err.message, `download of ${url} was aborted`);
  assert.is(ctx.server.requests.length, 0);
});

test("only http(s) URLs are downloaded", async (ctx) => {
  const err = await downloadError(fetchCheckpoint("ftp://example.com/x.pth", { cacheDir: ctx.cache }));
  assert.match(err.message, /only http and https/);
});

test.run();
