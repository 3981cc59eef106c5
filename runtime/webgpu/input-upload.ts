// Moving one run's input (float32 or u8 bytes) into the arena, by one of three methods:
//   "write"   queue.writeBuffer: Dawn copies the bytes into staging memory of its own (above
//             its 4 MiB ring buffers, a fresh staging buffer of the whole size each time) and
//             copies that to the arena ahead of the next submit.
//   "chunked" queue.writeBuffer in pieces that fit Dawn's 4 MiB ring buffers, which it reuses
//             once the GPU has consumed them (it flushes past 64 MiB in flight), instead of
//             allocating and mapping a fresh buffer of the whole input per run.
//   "staging" a small ring of persistent MAP_WRITE | COPY_SRC buffers (one per run that may be
//             in flight: the runner uses 2): mapAsync(WRITE), getMappedRange().set(bytes),
//             unmap, and a copyBufferToBuffer at the head of the run's command encoder. Staging
//             takes the ring's buffers in turn, so the next run's bytes are copied into one
//             buffer while the GPU still reads the previous run's from the other (mapAsync
//             waits until the GPU is done with a buffer before it is written again). Costs
//             device-visible memory the size of the input per buffer of the ring.
// The runner's default is "write" on software adapters: on lavapipe it is about 2x faster (30
// views of 3x32x256x256: 720 MiB of float32 in 48 vs 108 ms, 180 MiB of bytes in 13-19 vs
// 31 ms; bench/webgpu/upload-check.ts), and "staging" on hardware ones (an H200: ~9.4 GB/s
// against writeBuffer's ~2.5 GB/s; docs/PERFORMANCE.md).
// WebGPU copies whole 32-bit words: a byte count that is not a multiple of 4 is padded with
// zeros (the shaders never read past the input's last byte).

import { BufferUsage, MapMode } from "./gpu-flags.ts";

export type UploadMethod = "write" | "chunked" | "staging";
export const UPLOAD_METHODS: readonly UploadMethod[] = ["write", "chunked", "staging"];

/**
 * Dawn sub-allocates a write of up to 4 MiB from a ring buffer, after adding the alignment
 * slack (3 bytes) to the size: a piece a little under 4 MiB takes one ring buffer whole.
 */
const CHUNK_BYTES = 4 * 1024 * 1024 - 256;

export class InputUploader {
  /** "staging": the ring, each buffer made (and grown) on the stage that first needs it */
  private readonly staging: (GPUBuffer | undefined)[];
  /** the ring's buffer the next stage() fills */
  private next = 0;
  private pending: { buffer: GPUBuffer; bytes: number } | undefined;

  constructor(
    private readonly device: GPUDevice,
    readonly method: UploadMethod,
    /** "chunked": bytes per writeBuffer (a multiple of 4; tests make it small) */
    private readonly chunkBytes = CHUNK_BYTES,
    /**
     * "staging": how many staging buffers to take in turn, i.e. how many runs may have their
     * input staged and not yet consumed by the GPU (the runner: its runs in flight)
     */
    readonly ring = 1,
  ) {
    if (chunkBytes <= 0 || chunkBytes % 4 !== 0) throw new Error(`internal: chunk of ${chunkBytes} bytes`);
    if (!Number.isInteger(ring) || ring < 1) throw new Error(`internal: a ring of ${ring} staging buffers`);
    this.staging = new Array<GPUBuffer | undefined>(ring).fill(undefined);
  }

  /** device memory held for staging, all buffers of the ring (0 unless "staging") */
  get stagingBytes(): number {
    return this.staging.reduce((sum, b) => sum + (b?.size ?? 0), 0);
  }

  /**
   * Step 1, before the run's commands are encoded: "write" and "chunked" queue the bytes for
   * `target` at `offset`; "staging" fills the ring's next staging buffer (waits until the GPU
   * is done with it). Each stage() is followed by its encode() before the next stage(), and
   * the command buffer encode() recorded into is submitted before the stage() `ring` calls
   * later, which maps the same buffer again (the runner serialises stage, encode, submit).
   */
  async stage(data: ArrayBufferView, target: GPUBuffer, offset: number): Promise<void> {
    // (a SharedArrayBuffer works too; the WebGPU typings just do not say so)
    const bytes = new Uint8Array(data.buffer as ArrayBuffer, data.byteOffset, data.byteLength);
    const whole = bytes.byteLength & ~3;
    if (this.method !== "staging") {
      const piece = this.method === "chunked" ? this.chunkBytes : whole;
      for (let at = 0; at < whole; at += piece) {
        this.device.queue.writeBuffer(target, offset + at, bytes, at, Math.min(piece, whole - at));
      }
      if (whole < bytes.byteLength) {
        const tail = new Uint8Array(4);
        tail.set(bytes.subarray(whole));
        this.device.queue.writeBuffer(target, offset + whole, tail);
      }
      return;
    }
    if (this.pending) throw new Error("internal: stage() again before the staged input was encoded");
    const size = Math.ceil(bytes.byteLength / 4) * 4;
    const slot = this.next;
    this.next = (slot + 1) % this.ring;
    let buffer = this.staging[slot];
    if (!buffer || buffer.size < size) {
      buffer?.destroy();
      buffer = this.device.createBuffer({
        label: "input staging", size: Math.max(size, 16), usage: BufferUsage.MAP_WRITE | BufferUsage.COPY_SRC,
      });
      this.staging[slot] = buffer;
    }
    await buffer.mapAsync(MapMode.WRITE, 0, size);
    const mapped = new Uint8Array(buffer.getMappedRange(0, size));
    mapped.set(bytes);
    mapped.fill(0, bytes.byteLength);
    buffer.unmap();
    this.pending = { buffer, bytes: size };
  }

  /** Step 2, first thing in the run's command encoder: the staging copy ("staging" only). */
  encode(encoder: GPUCommandEncoder, target: GPUBuffer, offset: number): void {
    if (!this.pending) return;
    encoder.copyBufferToBuffer(this.pending.buffer, 0, target, offset, this.pending.bytes);
    this.pending = undefined;
  }

  destroy(): void {
    for (const b of this.staging) b?.destroy();
    this.staging.fill(undefined);
    this.pending = undefined;
  }
}
