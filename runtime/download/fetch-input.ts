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

export interface LocalInput {
  /** a path the decoders can open */
  path: string;
  /** removes what was downloaded (nothing for a local path) */
  dispose(): Promise<void>;
}

/** A local path as it is; an http(s) URL downloaded into a fresh temporary folder. */
export async function localInput(input: string, opts: Omit<FetchCheckpointOptions, "cacheDir" | "sha256Prefix"> = {}): Promise<LocalInput> {
  if (!isUrlInput(input)) return { path: input, dispose: async () => {} };
  const dir = await mkdtemp(join(tmpdir(), "i3d-input-"));
  const dispose = () => rm(dir, { recursive: true, force: true });
  try {
    return { path: await fetchCheckpoint(input, { ...opts, cacheDir: dir }), dispose };
  } catch (e) {
    await dispose();
    throw e;
  }
}

/** `e` with the temporary path in its message replaced by the URL the user gave. */
export function namingUrl(e: unknown, local: string, url: string): unknown {
  if (!(e instanceof I3DError) || local === url || !e.message.includes(local)) return e;
  return new I3DError(e.kind, e.message.replaceAll(local, url), { cause: e });
}
