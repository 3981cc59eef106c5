import { writeFileSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";
import { resolveCheckpoint } from "../../runtime/download/checkpoint-source.ts";
import { generatedBytes, startServer, type TestServer } from "./test-server.ts";

const test = suite<{ dir: string; server: TestServer; savedMirror: string | undefined }>("resolveCheckpoint");

const ZOO = "https://download.openmmlab.com/mmaction/recognition/i3d/foo/foo_20200101-12345678.pth";

test.before.each(async (ctx) => {
  ctx.dir = await mkdtemp(join(tmpdir(), "i3d-src-"));
  ctx.server = await startServer();
  ctx.savedMirror = process.env.I3D_ZOO_URL;
  delete process.env.I3D_ZOO_URL;
});
test.after.each(async (ctx) => {
  if (ctx.savedMirror === undefined) delete process.env.I3D_ZOO_URL;
  else process.env.I3D_ZOO_URL = ctx.savedMirror;
  await ctx.server.close();
  await rm(ctx.dir, { recursive: true, force: true });
});

async function rejects(p: Promise<unknown>, kind: string, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, I3DError);
    assert.is((e as I3DError).kind, kind);
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable("expected a rejection");
}

test("a local --checkpoint path is used as it is, with no request", async (ctx) => {
  const file = join(ctx.dir, "mine.pth");
  writeFileSync(file, "x");
  assert.is(await resolveCheckpoint(file, ZOO), file);
  assert.is(await resolveCheckpoint(pathToFileURL(file).href, ZOO), file);
  assert.is(ctx.server.requests.length, 0);
  await rejects(resolveCheckpoint(join(ctx.dir, "nope.pth"), ZOO), "checkpoint", /checkpoint file not found: .*nope\.pth$/);
});

test("an http --checkpoint URL is downloaded into the cache", async (ctx) => {
  ctx.server.routes.set("/w/model.pth", { bytes: generatedBytes(2000, 3) });
  const cache = join(ctx.dir, "cache");
  const path = await resolveCheckpoint(`${ctx.server.origin}/w/model.pth`, ZOO, { cacheDir: cache, progress: false });
  assert.ok(path.startsWith(cache));
  assert.is(ctx.server.requests.length, 1);
});

test("no --checkpoint: the zoo URL, through a mirror folder when $I3D_ZOO_URL is one", async (ctx) => {
  const file = join(ctx.dir, "foo_20200101-12345678.pth");
  writeFileSync(file, "x");
  process.env.I3D_ZOO_URL = `${ctx.dir}/`;
  assert.is(await resolveCheckpoint(undefined, ZOO), file);
  process.env.I3D_ZOO_URL = pathToFileURL(ctx.dir).href;
  assert.is(await resolveCheckpoint(undefined, ZOO), file);
  process.env.I3D_ZOO_URL = join(ctx.dir, "empty");
  await rejects(resolveCheckpoint(undefined, ZOO), "checkpoint", /not found: .*empty.*through \$I3D_ZOO_URL/);
});

test("no checkpoint at all, or an unsupported scheme", async () => {
  await rejects(resolveCheckpoint(undefined, undefined), "usage", /--checkpoint/);
  await rejects(resolveCheckpoint("s3://bucket/x.pth", undefined), "usage", /unsupported checkpoint URL/);
});

test.run();
