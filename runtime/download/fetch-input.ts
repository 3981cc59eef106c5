// `i3d infer https://…/clip.mp4`: MMAction2's inference_recognizer takes a video URL wherever
// it takes a path (anything starting with 'http' is a video; its demo.py is documented with
// one). OpenCV streams it there; here the file is downloaded first, into a private temporary
// folder, by the checkpoint downloader (retries, stall timeout, progress bar, one-line errors),
// decoded like any local file, and removed afterwards. Errors name the URL, not the
// temporary path.

import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { I3DError } from "../../models/errors.ts";
import { fetchCheckpoint, type FetchCheckpointOptions } from "./fetch-checkpoint.ts";
import { fileNameFromUrl } from "./zoo-url.ts";

/** As inference_recognizer decides it (`video.startswith('http')`), limited to real http(s) URLs. */
export function isUrlInput(input: string): boolean {
  return /^https?:\/\//i.test(input);
}

/** The name an input goes by in file names made from it (--features {name}, progress labels). */
export function inputFileName(input: string): string {
  if (!isUrlInput(input)) return input.replace(/[\\/]+$/, "").split(/[\\/]/).pop() ?? input;
  try {
    return fileNameFromUrl(input);
  } catch {
    return input;
  }
}

/**
 * `use(path)` on a local path as it is, or on an http(s) URL downloaded into a fresh temporary
 * folder that is removed afterwards; errors from `use` name the URL, not the temporary path.
 */
export async function withLocalInput<T>(
  input: string, use: (path: string) => Promise<T>, opts: Omit<FetchCheckpointOptions, "cacheDir" | "sha256Prefix"> = {},
): Promise<T> {
  if (!isUrlInput(input)) return await use(input);
  const dir = await mkdtemp(join(tmpdir(), "i3d-input-"));
  try {
    const path = await fetchCheckpoint(input, { ...opts, cacheDir: dir });
    try {
      return await use(path);
    } catch (e) {
      throw e instanceof I3DError && e.message.includes(path) ? new I3DError(e.kind, e.message.replaceAll(path, input), { cause: e }) : e;
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
