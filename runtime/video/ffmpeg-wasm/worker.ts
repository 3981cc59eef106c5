// The FFmpeg worker: owns one @ffmpeg/core instance (its exec is synchronous, so it runs here,
// off the main event loop) and answers probe/decode requests one at a time.
// Files are never copied into the WASM heap: the input is a read device backed by the host
// file (positioned reads, size reported to fstat), the output a write device that streams
// frames into the shared ring. Both devices are registered once per instance (each
// registration leaks ~10 MB inside the module); per request only a device node is created.
// An instance serves probes until it has run one decode, then it is dropped and the next
// request gets a fresh one (~50 ms, the compiled module is cached): fftools keeps state in
// statics that exec() never resets (the decode-error count behind exit code 69 carries over to
// the next file) and its heap wears out (a trap, "memory access out of bounds", near the 100th
// decode, or after a few undecodable files, on every later request). An instance whose request
// threw is dropped too.

import { closeSync, fstatSync, openSync, readSync } from "node:fs";
import { extname } from "node:path";
import { parentPort } from "node:worker_threads";
import { type EmscriptenFS, type EmscriptenStream, type FfmpegCore, loadFfmpegCore } from "./load-core.ts";
import {
  INPUT_PLACEHOLDER, OUTPUT_PLACEHOLDER, RING_CANCEL, RING_HEADER_BYTES, RING_READ, RING_WRITTEN,
  type WorkerReply, type WorkerRequest,
} from "./protocol.ts";

const EIO = 29;
const EINVAL = 28;
const FRAMES_PATH = "/i3d/frames";

interface OpenInput {
  fd: number;
  size: number;
}

/** Streams written bytes into the ring, one frame per slot, blocking while the ring is full. */
class RingSink {
  private readonly header: Int32Array;
  private readonly data: Uint8Array;
  private fill = 0;
  written = 0;

  constructor(
    ring: SharedArrayBuffer,
    private readonly frameBytes: number,
    private readonly slots: number,
    private readonly onFrame: () => void,
    private readonly fs: EmscriptenFS,
  ) {
    this.header = new Int32Array(ring, 0, RING_HEADER_BYTES / 4);
    this.data = new Uint8Array(ring, RING_HEADER_BYTES);
  }

  write(heap: Int8Array, offset: number, length: number): number {
    const src = new Uint8Array(heap.buffer, heap.byteOffset + offset, length);
    let off = 0;
    while (off < length) {
      if (this.fill === 0) {
        // wait for the main thread to free a slot
        for (;;) {
          if (Atomics.load(this.header, RING_CANCEL)) throw new this.fs.ErrnoError(EIO);
          const read = Atomics.load(this.header, RING_READ);
          if (this.written - read < this.slots) break;
          Atomics.wait(this.header, RING_READ, read, 1000);
        }
      }
      const n = Math.min(this.frameBytes - this.fill, length - off);
      const at = (this.written % this.slots) * this.frameBytes + this.fill;
      this.data.set(src.subarray(off, off + n), at);
      this.fill += n;
      off += n;
      if (this.fill === this.frameBytes) {
        this.fill = 0;
        this.written++;
        Atomics.store(this.header, RING_WRITTEN, this.written);
        this.onFrame();
      }
    }
    return length;
  }
}

interface Instance {
  core: FfmpegCore;
  inputDev: number;
  input: { current: OpenInput | null };
  sink: { current: RingSink | null };
}

async function createInstance(): Promise<Instance> {
  const core = await loadFfmpegCore();
  const FS = core.FS;
  const input: Instance["input"] = { current: null };
  const sink: Instance["sink"] = { current: null };
  FS.mkdir("/i3d");
  const inputDev = FS.makedev(64, 0);
  FS.registerDevice(inputDev, {
    open() {},
    close() {},
    read(_stream: EmscriptenStream, buffer: Int8Array, offset: number, length: number, position: number) {
      const file = input.current;
      if (!file) throw new FS.ErrnoError(EIO);
      if (position >= file.size) return 0;
      return readSync(file.fd, buffer, offset, Math.min(length, file.size - position), position);
    },
    llseek(stream: EmscriptenStream, offset: number, whence: number) {
      const file = input.current;
      const base = whence === 0 ? 0 : whence === 1 ? stream.position : (file?.size ?? 0);
      const pos = base + offset;
      if (pos < 0) throw new FS.ErrnoError(EINVAL);
      return pos;
    },
  });
  const sinkDev = FS.makedev(64, 1);
  FS.registerDevice(sinkDev, {
    open() {},
    close() {},
    write(_stream: EmscriptenStream, buffer: Int8Array, offset: number, length: number) {
      if (!sink.current) throw new FS.ErrnoError(EIO);
      return sink.current.write(buffer, offset, length);
    },
    llseek(stream: EmscriptenStream, offset: number, whence: number) {
      return whence === 0 ? offset : stream.position + offset;
    },
  });
  FS.mkdev(FRAMES_PATH, 0o666, sinkDev);
  return { core, inputDev, input, sink };
}

let instance: Promise<Instance> | null = null;
let queue: Promise<void> = Promise.resolve();

/** Mount the host file as a device node whose size fstat() reports. */
function mountInput(inst: Instance, id: number, path: string): string {
  const fd = openSync(path, "r");
  const size = fstatSync(fd).size;
  inst.input.current = { fd, size };
  const ext = extname(path).replace(/[^A-Za-z0-9.]/g, "").slice(0, 10);
  const node = `/i3d/input-${id}${ext}`;
  const created = inst.core.FS.mkdev(node, 0o444, inst.inputDev);
  const baseOps = created.node_ops;
  const getattr = baseOps.getattr as (n: unknown) => Record<string, unknown>;
  created.node_ops = { ...baseOps, getattr: ((n: unknown) => ({ ...getattr(n), size })) as never };
  return node;
}

function unmountInput(inst: Instance, node: string): void {
  try {
    inst.core.FS.unlink(node);
  } catch {
    // already gone
  }
  if (inst.input.current) closeSync(inst.input.current.fd);
  inst.input.current = null;
}

function substitute(args: string[], input: string): string[] {
  return args.map((a) => (a === INPUT_PLACEHOLDER ? input : a === OUTPUT_PLACEHOLDER ? FRAMES_PATH : a));
}

async function handle(req: WorkerRequest): Promise<WorkerReply> {
  instance ??= createInstance();
  const inst = await instance;
  // whatever happens below, a decode (or a throw) retires this instance
  if (req.op === "decode") instance = null;
  const { core } = inst;
  const node = mountInput(inst, req.id, req.path);
  const stdout: string[] = [];
  const stderr: string[] = [];
  core.setLogger((m) => (m.type === "stdout" ? stdout : stderr).push(m.message));
  core.reset();
  try {
    if (req.op === "probe") {
      core.ffprobe(...substitute(req.args, node));
      return { id: req.id, op: "probed", stdout: stdout.join("\n"), stderr: stderr.join("\n") };
    }
    const sink = new RingSink(req.ring, req.frameBytes, req.slots, () => parentPort!.postMessage({ id: req.id, op: "frame" }), core.FS);
    inst.sink.current = sink;
    const ret = core.exec(...substitute(req.args, node));
    return { id: req.id, op: "done", ret, stderr: stderr.slice(-20).join("\n"), frames: sink.written };
  } finally {
    inst.sink.current = null;
    unmountInput(inst, node);
    core.setLogger(() => {});
  }
}

parentPort!.on("message", (req: WorkerRequest) => {
  queue = queue.then(async () => {
    let reply: WorkerReply;
    try {
      reply = await handle(req);
    } catch (e) {
      instance = null;
      reply = { id: req.id, op: "error", message: e instanceof Error ? e.message : String(e) };
    }
    parentPort!.postMessage(reply);
  });
});
