// Real second processes (same runtime as the test) sharing one cache: two downloading the same
// file at once, and one killed half-way whose part the next process resumes.
import { spawn, type ChildProcess } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { fetchCheckpoint } from "../../runtime/download/fetch-checkpoint.ts";
import { generatedBytes, sha256Hex, startServer, type TestServer, zooName } from "./test-server.ts";

const test = suite<{ server: TestServer; cache: string; children: ChildProcess[] }>("two processes");

const child = fileURLToPath(new URL("./fetch-child.ts", import.meta.url));
const registerTs = fileURLToPath(new URL("../../tools/register-ts.js", import.meta.url));

/** This runtime's command line for running a .ts file. */
function runTs(file: string, args: string[]): [string, string[]] {
  const g = globalThis as { Bun?: unknown; Deno?: unknown };
  if (g.Deno) return [process.execPath, ["run", "-A", file, ...args]];
  if (g.Bun) return [process.execPath, [file, ...args]];
  return [process.execPath, ["--import", registerTs, file, ...args]];
}

function start(ctx: { children: ChildProcess[] }, url: string, cache: string): { proc: ChildProcess; result: Promise<{ code: number | null; out: string }> } {
  const [cmd, args] = runTs(child, [url, cache]);
  const proc = spawn(cmd, args, { stdio: ["ignore", "pipe", "inherit"] });
  ctx.children.push(proc);
  let out = "";
  proc.stdout!.on("data", (d) => (out += d));
  const result = new Promise<{ code: number | null; out: string }>((resolve) => proc.on("close", (code) => resolve({ code, out: out.trim() })));
  return { proc, result };
}

test.before.each(async (ctx) => {
  ctx.server = await startServer();
  ctx.cache = await mkdtemp(join(tmpdir(), "i3d-2p-"));
  ctx.children = [];
});
test.after.each(async (ctx) => {
  for (const p of ctx.children) if (p.exitCode === null && p.signalCode === null) p.kill("SIGKILL");
  await ctx.server.close();
  await rm(ctx.cache, { recursive: true, force: true });
});

test("two processes fetching one file at once: one transfer, one intact file", async (ctx) => {
  const bytes = generatedBytes(400_000, 31);
  const path = `/z/${zooName(bytes)}`;
  ctx.server.routes.set(path, { bytes, chunkDelayMs: 10 });
  const a = start(ctx, ctx.server.origin + path, ctx.cache);
  const b = start(ctx, ctx.server.origin + path, ctx.cache);
  const [ra, rb] = await Promise.all([a.result, b.result]);
  const want = join(ctx.cache, zooName(bytes));
  assert.equal(ra, { code: 0, out: want });
  assert.equal(rb, { code: 0, out: want });
  assert.is(sha256Hex(readFileSync(want)), sha256Hex(bytes));
  assert.is(ctx.server.requests.length, 1, "the second process waited and found the file");
});

test("a process killed mid-download leaves a part the next one resumes", async (ctx) => {
  const bytes = generatedBytes(400_000, 32);
  const path = `/z/${zooName(bytes)}`;
  ctx.server.routes.set(path, { bytes, chunkDelayMs: 25 });
  const final = join(ctx.cache, zooName(bytes));
  const { proc, result } = start(ctx, ctx.server.origin + path, ctx.cache);
  const deadline = Date.now() + 20_000;
  while (!(existsSync(`${final}.part`) && statSync(`${final}.part`).size >= 64 * 1024)) {
    assert.ok(Date.now() < deadline, "the child never got going");
    await new Promise((r) => setTimeout(r, 20));
  }
  proc.kill("SIGKILL");
  await result;
  const kept = statSync(`${final}.part`).size;
  assert.ok(existsSync(`${final}.lock`), "the killed process left its lock behind");
  assert.not.ok(existsSync(final));

  ctx.server.routes.set(path, { bytes }); // full speed for the resume
  const got = await fetchCheckpoint(ctx.server.origin + path, { cacheDir: ctx.cache, progress: false });
  assert.is(sha256Hex(readFileSync(got)), sha256Hex(bytes));
  const last = ctx.server.requests[ctx.server.requests.length - 1];
  assert.is(last.status, 206);
  assert.is(last.range, `bytes=${kept}-`);
});

test.run();
