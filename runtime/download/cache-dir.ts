// Where downloaded checkpoints live. `$I3D_CACHE` wins (CI, shared volumes, tests); otherwise
// the platform's per-user cache folder, so the files survive across runs but are understood
// by the OS and the user as disposable.

import { mkdir } from "node:fs/promises";
import { homedir } from "node:os";
import { isAbsolute, posix, resolve, win32 } from "node:path";

const APP = "i3d-edge";

export interface CacheDirEnv {
  env?: Record<string, string | undefined>;
  platform?: string;
  home?: string;
}

/** The cache directory's path (not created): `$I3D_CACHE`, else the platform default. */
export function cacheDirPath(ctx: CacheDirEnv = {}): string {
  const env = ctx.env ?? process.env;
  const platform = ctx.platform ?? process.platform;
  const home = ctx.home ?? homedir();
  const explicit = env.I3D_CACHE;
  if (explicit) return resolve(explicit);
  if (platform === "win32") {
    const local = env.LOCALAPPDATA || win32.join(home, "AppData", "Local");
    return win32.join(local, APP, "Cache");
  }
  if (platform === "darwin") return posix.join(home, "Library", "Caches", APP);
  // XDG base-directory spec: a relative $XDG_CACHE_HOME is invalid and must be ignored.
  const xdg = env.XDG_CACHE_HOME;
  if (xdg && isAbsolute(xdg)) return posix.join(xdg, APP);
  return posix.join(home, ".cache", APP);
}

/** The cache directory, created (with its parents) if missing. */
export async function ensureCacheDir(dir: string = cacheDirPath()): Promise<string> {
  await mkdir(dir, { recursive: true });
  return dir;
}
