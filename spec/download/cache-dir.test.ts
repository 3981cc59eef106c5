import { existsSync, statSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { cacheDirPath, ensureCacheDir } from "../../runtime/download/cache-dir.ts";

test("$I3D_CACHE wins on every platform", () => {
  for (const platform of ["linux", "darwin", "win32"]) {
    assert.is(cacheDirPath({ env: { I3D_CACHE: "/data/i3d", XDG_CACHE_HOME: "/x" }, platform, home: "/home/u" }), resolve("/data/i3d"));
  }
  assert.is(cacheDirPath({ env: { I3D_CACHE: "rel/dir" }, platform: "linux", home: "/h" }), resolve("rel/dir"));
});

test("linux: $XDG_CACHE_HOME/i3d-edge, else ~/.cache/i3d-edge", () => {
  assert.is(cacheDirPath({ env: { XDG_CACHE_HOME: "/var/cache/me" }, platform: "linux", home: "/home/u" }), "/var/cache/me/i3d-edge");
  assert.is(cacheDirPath({ env: {}, platform: "linux", home: "/home/u" }), "/home/u/.cache/i3d-edge");
  assert.is(cacheDirPath({ env: { XDG_CACHE_HOME: "relative" }, platform: "linux", home: "/home/u" }), "/home/u/.cache/i3d-edge", "relative XDG ignored");
  assert.is(cacheDirPath({ env: { I3D_CACHE: "" }, platform: "linux", home: "/home/u" }), "/home/u/.cache/i3d-edge", "empty I3D_CACHE ignored");
});

test("macOS: ~/Library/Caches/i3d-edge", () => {
  assert.is(cacheDirPath({ env: { XDG_CACHE_HOME: "/x" }, platform: "darwin", home: "/Users/u" }), "/Users/u/Library/Caches/i3d-edge");
});

test("windows: %LOCALAPPDATA%\\i3d-edge\\Cache", () => {
  assert.is(
    cacheDirPath({ env: { LOCALAPPDATA: "C:\\Users\\u\\AppData\\Local" }, platform: "win32", home: "C:\\Users\\u" }),
    "C:\\Users\\u\\AppData\\Local\\i3d-edge\\Cache",
  );
  assert.is(cacheDirPath({ env: {}, platform: "win32", home: "C:\\Users\\u" }), "C:\\Users\\u\\AppData\\Local\\i3d-edge\\Cache");
});

test("ensureCacheDir creates the folder and its parents", async () => {
  const tmp = await mkdtemp(join(tmpdir(), "i3d-cachedir-"));
  try {
    const dir = join(tmp, "a", "b", "i3d-edge");
    assert.not.ok(existsSync(dir));
    assert.is(await ensureCacheDir(dir), dir);
    assert.ok(statSync(dir).isDirectory());
    assert.is(await ensureCacheDir(dir), dir, "idempotent");
  } finally {
    await rm(tmp, { recursive: true, force: true });
  }
});

test.run();
