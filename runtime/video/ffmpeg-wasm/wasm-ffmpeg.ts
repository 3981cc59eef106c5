// Main-thread side of the WASM FFmpeg: one worker per process (started on first use, kept
// unref'd so it never holds the process open), requests answered in order. Decoded frames
// arrive through a shared ring of slots; each is copied out and the slot released, so the
// worker can never run more than a few frames ahead. A worker that stops answering (a hang
// inside FFmpeg) is terminated after the stall timeout and replaced on the next request.

import { Worker } from "node:worker_threads";
import { I3DError } from "../../../models/errors.ts";
import { lastLine } from "../ffmpeg-command.ts";
import {
  RING_CANCEL, RING_HEADER_BYTES, RING_READ, RING_WRITTEN, ringBytes, type WorkerReply, type WorkerRequest,
} from "./protocol.ts";

const SLOTS = 4;

type Listener = (reply: WorkerReply) => void;

function startWorker(): Worker {
  const url = new URL("./worker.ts", import.meta.url);
  const g = globalThis as Record<string, unknown>;
  if ("Bun" in g || "Deno" in g) return new Worker(url);
  // Node 20 runs TypeScript through module hooks, which a worker must register itself before
  // importing any .ts (an --import in execArgv comes too late for an eval'd entry point)
  const hooks = new URL("../../../tools/register-ts.js", import.meta.url).href;
  return new Worker(`import(${JSON.stringify(hooks)}).then(() => import(${JSON.stringify(url.href)}));`, { eval: true });
}

export class WasmFfmpeg {
  readonly kind = "wasm" as const;
  private worker: Worker | null = null;
  private nextId = 1;
  private readonly listeners = new Map<number, Listener>();
  private busy = 0;

  constructor(private readonly stallMs = 120_000) {}

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = startWorker();
    worker.on("message", (reply: WorkerReply) => this.listeners.get(reply.id)?.(reply));
    worker.on("error", (e) => this.fail(`the FFmpeg worker failed: ${e instanceof Error ? e.message : String(e)}`));
    worker.on("exit", () => {
      if (this.worker === worker) this.worker = null;
      this.fail("the FFmpeg worker exited");
    });
    worker.unref();
    this.worker = worker;
    return worker;
  }

  private fail(message: string): void {
    const line = message.split("\n")[0];
    for (const listener of [...this.listeners.values()]) listener({ id: -1, op: "error", message: line });
  }

  private send(req: WorkerRequest, listener: Listener): () => void {
    const worker = this.ensureWorker();
    this.listeners.set(req.id, listener);
    if (this.busy++ === 0) worker.ref();
    worker.postMessage(req);
    return () => {
      if (!this.listeners.delete(req.id)) return;
      if (--this.busy === 0) this.worker?.unref();
    };
  }

  /** Terminate the worker (a later request starts a fresh one). */
  async terminate(): Promise<void> {
    const w = this.worker;
    this.worker = null;
    if (w) await w.terminate();
  }

  /** Run ffprobe; resolves with what it printed. */
  probe(path: string, args: string[]): Promise<{ stdout: string; stderr: string }> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = this.send({ id, op: "probe", path, args }, (reply) => {
        clearTimeout(timer);
        done();
        if (reply.op === "probed") resolve({ stdout: reply.stdout, stderr: reply.stderr });
        else if (reply.op === "error") reject(new I3DError("video", `${path}: ${reply.message.split("\n")[0]}`));
      });
      timer = setTimeout(() => {
        done();
        void this.terminate();
        reject(new I3DError("video", `${path}: probing timed out`));
      }, this.stallMs);
    });
  }

  /** Run ffmpeg writing raw frames of `frameBytes` to the output; yields each frame. */
  async *decode(path: string, args: string[], frameBytes: number): AsyncGenerator<Uint8Array> {
    const id = this.nextId++;
    const ring = new SharedArrayBuffer(ringBytes(frameBytes, SLOTS));
    const header = new Int32Array(ring, 0, RING_HEADER_BYTES / 4);
    const data = new Uint8Array(ring, RING_HEADER_BYTES);
    let wake: (() => void) | null = null;
    let finished: WorkerReply | null = null;
    const done = this.send({ id, op: "decode", path, args, frameBytes, ring, slots: SLOTS }, (reply) => {
      if (reply.op === "done" || reply.op === "error") finished = reply;
      wake?.();
    });
    let read = 0;
    try {
      for (;;) {
        const written = Atomics.load(header, RING_WRITTEN);
        if (read < written) {
          const at = (read % SLOTS) * frameBytes;
          const frame = data.slice(at, at + frameBytes);
          read++;
          Atomics.store(header, RING_READ, read);
          Atomics.notify(header, RING_READ);
          yield frame;
          continue;
        }
        const end = finished as WorkerReply | null;
        if (end) {
          if (end.op === "error") throw new I3DError("video", `${path}: ${end.message.split("\n")[0]}`);
          if (end.op === "done" && end.ret !== 0) {
            throw new I3DError("video", `${path}: ${lastLine(end.stderr) ?? `ffmpeg (WASM) exited with ${end.ret}`}`);
          }
          return;
        }
        const stalled = await new Promise<boolean>((resolve) => {
          const timer = setTimeout(() => resolve(true), this.stallMs);
          wake = () => {
            clearTimeout(timer);
            resolve(false);
          };
        });
        wake = null;
        if (stalled) {
          await this.terminate();
          throw new I3DError("video", `${path}: decoding stalled for ${Math.round(this.stallMs / 1000)} s`);
        }
      }
    } finally {
      if (!finished) {
        // the consumer stopped early: make the worker's write fail so its exec returns
        Atomics.store(header, RING_CANCEL, 1);
        Atomics.notify(header, RING_READ);
      }
      done();
    }
  }
}


let shared: WasmFfmpeg | null = null;

/** The process-wide WASM FFmpeg. */
export function sharedWasmFfmpeg(): WasmFfmpeg {
  return (shared ??= new WasmFfmpeg());
}
