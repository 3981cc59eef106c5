// `i3d infer <URL>`: MMAction2's inference_recognizer (and demo.py) take a video URL wherever
// they take a path. The video is downloaded from a local server (127.0.0.1) into a private
// temporary folder, classified exactly like the same file on disk, and removed; failures name
// the URL, on one line.

import { mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";
import { loadRecognizer } from "../../runtime/load-recognizer.ts";
import { startServer, type TestServer } from "../download/test-server.ts";
import { ROOT, runCli, type Runtime } from "../helpers/run-cli.ts";
import { CONFIGS } from "./reference-cases.ts";

const test = suite("i3d infer <URL>");

const MEDIA = `${ROOT}spec/fixtures/media/`;
const MODEL = ["--config", `${CONFIGS}i3d_r50_video.json`, "--checkpoint", `${ROOT}spec/fixtures/goldens/i3d_r50/checkpoint.pth`, "--backend", "wasm", "--clips", "2", "--crops", "1"];

const ctx: { server?: TestServer; tmp?: string } = {};

test.before(async () => {
  ctx.server = await startServer();
  ctx.server.routes.set("/clips/demo.mp4", { bytes: readFileSync(`${MEDIA}demo.mp4`), chunkDelayMs: 1 });
  ctx.server.routes.set("/notes.mp4", { bytes: new TextEncoder().encode("not a video\n") });
});

test.after(async () => {
  await ctx.server?.close();
});

test.before.each(() => {
  ctx.tmp = mkdtempSync(join(tmpdir(), "i3d-url-test-"));
});

test.after.each(() => {
  rmSync(ctx.tmp!, { recursive: true, force: true });
});

/** infer with TMPDIR pointing at a folder of the test's own, so leftovers can be seen */
function infer(runtime: Runtime, args: string[]) {
  return runCli(runtime, "i3d", ["infer", ...args, ...MODEL], { env: { TMPDIR: ctx.tmp, TEMP: ctx.tmp, TMP: ctx.tmp }, timeoutMs: 120_000 });
}

function withoutInput(line: string): Record<string, unknown> {
  const { input: _input, timings_ms: _t, ...rest } = JSON.parse(line);
  return rest;
}

for (const runtime of ["node", "deno"] as const) {
  test(`${runtime}: a video URL gives the local file's result, and leaves nothing behind`, async () => {
    const url = `${ctx.server!.origin}/clips/demo.mp4`;
    const r = await infer(runtime, [url, `${MEDIA}demo.mp4`, "--json", "--features", join(ctx.tmp!, "feats-{name}.npy")]);
    assert.is(r.code, 0, r.stderr);
    const [fromUrl, fromFile] = r.stdout.trim().split("\n");
    assert.is(JSON.parse(fromUrl).input, url);
    assert.equal(withoutInput(fromUrl), withoutInput(fromFile));
    assert.equal(JSON.parse(fromUrl).topk[0].label, "throwing axe");
    // the features file is named after the URL's file name; the download folder is gone
    assert.equal(readdirSync(ctx.tmp!).sort(), ["feats-demo.npy"]);
  });
}

test("node: a missing URL and a URL that is not a video fail on one line each, naming the URL", async () => {
  const origin = ctx.server!.origin;
  const r = await infer("node", [`${origin}/nope.mp4`, `${origin}/notes.mp4`]);
  assert.is(r.code, 1);
  assert.is(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.is(lines.length, 2, r.stderr);
  assert.match(lines[0], new RegExp(`^error: download of ${origin}/nope\\.mp4 failed: HTTP 404`));
  assert.match(lines[1], new RegExp(`^error: ${origin}/notes\\.mp4: .*invalid data`, "i"));
  assert.not.match(r.stderr, /i3d-input-/, "the temporary path stays out of the message");
  assert.equal(readdirSync(ctx.tmp!), []);
});

test("API: Recognizer.classify takes a URL too, and names it in its result and errors", async () => {
  const model = await loadRecognizer({ config: `${CONFIGS}i3d_r50_video.json`, checkpoint: `${ROOT}spec/fixtures/goldens/i3d_r50/checkpoint.pth`, backend: "wasm" });
  try {
    const url = `${ctx.server!.origin}/clips/demo.mp4`;
    const opts = { clips: 1, crops: 1 as const };
    const [fromUrl, fromFile] = [await model.classify(url, opts), await model.classify(`${MEDIA}demo.mp4`, opts)];
    assert.is(fromUrl.input, url);
    assert.equal(Array.from(fromUrl.scores), Array.from(fromFile.scores));
    const e = await model.classify(`${ctx.server!.origin}/notes.mp4`, opts).catch((x) => x);
    assert.ok(e instanceof I3DError && e.message.startsWith(`${ctx.server!.origin}/notes.mp4: `), String(e));
  } finally {
    await model.dispose();
  }
});

test.run();
