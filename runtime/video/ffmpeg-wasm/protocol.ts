// Messages between the main thread (wasm-ffmpeg.ts) and the FFmpeg worker (worker.ts), and
// the layout of the shared ring of frame slots the worker streams decoded frames through.
// The ring gives the worker back-pressure: its write device blocks (Atomics.wait) while every
// slot holds a frame the main thread has not taken yet, so memory stays at a few frames
// whatever the length of the video.

export type WorkerRequest =
  | { id: number; op: "probe"; path: string; args: string[] }
  | { id: number; op: "decode"; path: string; args: string[]; frameBytes: number; ring: SharedArrayBuffer; slots: number };

export type WorkerReply =
  | { id: number; op: "probed"; stdout: string; stderr: string }
  | { id: number; op: "frame" }
  | { id: number; op: "done"; ret: number; stderr: string; frames: number }
  | { id: number; op: "error"; message: string };

/** Placeholders the worker replaces with its own file names. */
export const INPUT_PLACEHOLDER = "\u0000input";
export const OUTPUT_PLACEHOLDER = "\u0000output";

/** Int32 header of the ring: frames written, frames read, cancel flag. */
export const RING_WRITTEN = 0;
export const RING_READ = 1;
export const RING_CANCEL = 2;
export const RING_HEADER_BYTES = 16;

export function ringBytes(frameBytes: number, slots: number): number {
  return RING_HEADER_BYTES + frameBytes * slots;
}
