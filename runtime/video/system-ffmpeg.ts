// The system's ffmpeg/ffprobe ($FFMPEG_PATH, else PATH), run through node:child_process (Node,
// Bun and Deno all provide it; Deno needs --allow-run --allow-env --allow-read). Every child
// is time-boxed: a probe that runs too long, or a decode whose output stalls, is killed and
// reported as an I3DError instead of hanging the caller.

import { spawn, spawnSync } from "node:child_process";
import { accessSync, constants, statSync } from "node:fs";
import { delimiter, dirname, join } from "node:path";
import process from "node:process";
import { I3DError } from "../../models/errors.ts";
import { lastLine } from "./ffmpeg-command.ts";

export interface SystemFfmpegPaths {
  ffmpeg: string;
  ffprobe: string;
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}

const exe = (name: string) => (process.platform === "win32" ? `${name}.exe` : name);

/**
 * Where the system binaries are, or null. $FFMPEG_PATH may name the ffmpeg executable or the
 * folder holding both; ffprobe is looked for next to ffmpeg ($FFPROBE_PATH overrides).
 */
export function findSystemFfmpeg(): SystemFfmpegPaths | null {
  try {
    const env = process.env;
    let ffmpeg: string | undefined;
    if (env.FFMPEG_PATH) {
      const p = env.FFMPEG_PATH;
      ffmpeg = isExecutable(p) ? p : isExecutable(join(p, exe("ffmpeg"))) ? join(p, exe("ffmpeg")) : undefined;
    } else {
      for (const dir of (env.PATH ?? "").split(delimiter)) {
        if (dir && isExecutable(join(dir, exe("ffmpeg")))) {
          ffmpeg = join(dir, exe("ffmpeg"));
          break;
        }
      }
    }
    if (!ffmpeg) return null;
    const candidates = [env.FFPROBE_PATH, join(dirname(ffmpeg), exe("ffprobe"))];
    if (!env.FFMPEG_PATH) for (const dir of (env.PATH ?? "").split(delimiter)) if (dir) candidates.push(join(dir, exe("ffprobe")));
    const ffprobe = candidates.find((c): c is string => !!c && isExecutable(c));
    return ffprobe ? { ffmpeg, ffprobe } : null;
  } catch {
    // no permission to read the environment or the file system (Deno without --allow-*)
    return null;
  }
}

const fpsModeSupport = new Map<string, boolean>();

/** Whether this ffmpeg knows -fps_mode (5.1 and later); older ones need -vsync. */
export function supportsFpsMode(ffmpeg: string): boolean {
  let known = fpsModeSupport.get(ffmpeg);
  if (known === undefined) {
    const out = spawnSync(ffmpeg, ["-hide_banner", "-version"], { encoding: "utf8", timeout: 15_000 });
    const m = /ffmpeg version n?(\d+)\.(\d+)/.exec(out.stdout ?? "");
    // unnumbered (git) builds are recent
    known = m ? Number(m[1]) > 5 || (Number(m[1]) === 5 && Number(m[2]) >= 1) : true;
    fpsModeSupport.set(ffmpeg, known);
  }
  return known;
}

/** Run a command to completion, collecting its output, killed after `timeoutMs`. */
export function runCaptured(cmd: string, args: string[], timeoutMs: number, what: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    let child;
    try {
      child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
    } catch (e) {
      reject(new I3DError("video", `cannot run ${cmd}: ${e instanceof Error ? e.message : String(e)}`));
      return;
    }
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on("data", (d: Buffer) => out.push(d));
    child.stderr!.on("data", (d: Buffer) => err.push(d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new I3DError("video", `${what}: ${cmd} did not finish within ${Math.round(timeoutMs / 1000)} s`));
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      reject(new I3DError("video", `cannot run ${cmd}: ${e.message}`));
    });
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString("utf8"), stderr: Buffer.concat(err).toString("utf8") });
    });
  });
}

/**
 * Run ffmpeg writing raw frames of `frameBytes` to stdout and yield each frame as it arrives.
 * Reading is pull-driven: while the consumer works on a frame, the pipe fills and ffmpeg
 * waits, so memory stays at a frame or two. Stopping early kills the child.
 */
export async function* streamFrames(
  cmd: string,
  args: string[],
  frameBytes: number,
  stallMs: number,
  what: string,
  inputName = what,
): AsyncGenerator<Uint8Array> {
  let child;
  try {
    child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  } catch (e) {
    throw new I3DError("video", `cannot run ${cmd}: ${e instanceof Error ? e.message : String(e)}`);
  }
  let stderr = "";
  child.stderr!.on("data", (d: Buffer) => {
    stderr = (stderr + d.toString("utf8")).slice(-8000);
  });
  let spawnError: Error | null = null;
  const exited = new Promise<number | null>((resolve) => {
    child.on("error", (e) => {
      spawnError = e;
      resolve(null);
    });
    child.on("close", (code) => resolve(code));
  });
  const chunks = child.stdout![Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const withStallTimeout = <T>(p: Promise<T>): Promise<T> => {
    let timer: ReturnType<typeof setTimeout>;
    const stall = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new I3DError("video", `${what}: ffmpeg stalled for ${Math.round(stallMs / 1000)} s`)), stallMs);
    });
    return Promise.race([p, stall]).finally(() => clearTimeout(timer));
  };
  let frame = new Uint8Array(frameBytes);
  let fill = 0;
  try {
    for (;;) {
      const next = await withStallTimeout(chunks.next());
      if (next.done) break;
      const chunk = next.value;
      let off = 0;
      while (off < chunk.length) {
        const n = Math.min(frameBytes - fill, chunk.length - off);
        frame.set(chunk.subarray(off, off + n), fill);
        fill += n;
        off += n;
        if (fill === frameBytes) {
          yield frame;
          frame = new Uint8Array(frameBytes);
          fill = 0;
        }
      }
    }
    const code = await withStallTimeout(exited);
    if (spawnError) throw new I3DError("video", `cannot run ${cmd}: ${(spawnError as Error).message}`);
    if (code !== 0) throw new I3DError("video", `${what}: ${lastLine(stderr, inputName) ?? `ffmpeg exited with ${code}`}`);
  } finally {
    if (child.exitCode === null && child.signalCode === null) child.kill("SIGKILL");
  }
}
