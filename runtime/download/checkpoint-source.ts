// What `i3d infer --checkpoint <x>` (or no --checkpoint at all) means as a local file: a local
// path is used as it is; an http(s) URL is downloaded into the cache (see fetch-checkpoint.ts);
// no value means the config's zoo checkpoint, fetched from the zoo or from `$I3D_ZOO_URL`
// (which may also be a local folder or a file:// URL for air-gapped machines).

import { stat } from "node:fs/promises";
import { resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { I3DError } from "../../models/errors.ts";
import { fetchCheckpoint, type FetchCheckpointOptions } from "./fetch-checkpoint.ts";
import { mirrorUrl } from "./zoo-url.ts";

export async function resolveCheckpoint(
  checkpoint: string | undefined,
  zooUrl: string | undefined,
  opts: FetchCheckpointOptions = {},
): Promise<string> {
  const wanted = checkpoint ?? zooUrl;
  if (wanted === undefined || wanted === "") {
    throw new I3DError("usage", "no checkpoint: pass --checkpoint <file or URL> (this config has no zoo checkpoint)");
  }
  const target = mirrorUrl(wanted);
  if (/^https?:\/\//i.test(target)) return fetchCheckpoint(target, opts);
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(target) && !/^file:/i.test(target)) {
    throw new I3DError("usage", `unsupported checkpoint URL ${target}: use http(s), file:// or a local path`);
  }
  let path: string;
  try {
    path = /^file:/i.test(target) ? fileURLToPath(target) : resolve(target);
  } catch {
    throw new I3DError("usage", `not a usable file URL: ${target}`);
  }
  let isFile = false;
  try {
    isFile = (await stat(path)).isFile();
  } catch {
    // reported below
  }
  if (!isFile) {
    const via = target !== wanted ? ` (${wanted} through $I3D_ZOO_URL)` : "";
    throw new I3DError("checkpoint", `checkpoint file not found: ${path}${via}`);
  }
  return path;
}
