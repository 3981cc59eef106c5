// Moving one run's input (float32 or u8 bytes) into the arena, by one of three methods:
//   "write"   queue.writeBuffer: Dawn copies the bytes into staging memory of its own (above
//             its 4 MiB ring buffers, a fresh staging buffer of the whole size each time) and
//             copies that to the arena ahead of the next submit.
//   "chunked" queue.writeBuffer in pieces that fit Dawn's 4 MiB ring buffers, which it reuses
//             once the GPU has consumed them (it flushes past 64 MiB in flight), instead of
//             allocating and mapping a fresh buffer of the whole input per run.
//   "staging" one persistent MAP_WRITE | COPY_SRC buffer of this runner: mapAsync(WRITE),
//             getMappedRange().set(bytes), unmap, and a copyBufferToBuffer at the head of the
//             run's command encoder. Costs device-visible memory the size of the input.
// "write" is the default: on lavapipe it is about 2x faster (30 views of 3x32x256x256: 720 MiB
// of float32 in 48 vs 108 ms, 180 MiB of bytes in 13-19 vs 31 ms; bench/webgpu/upload-check.ts,
// whose numbers on a real GPU decide whether the default should differ there).
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
  private staging: GPUBuffer | undefined;
  private pending: { bytes: number } | undefined;

  constructor(
    private readonly device: GPUDevice,
    readonly method: UploadMethod,
    /** "chunked": bytes per writeBuffer (a multiple of 4; tests make it small) */
    private readonly chunkBytes = CHUNK_BYTES,
  ) {
    if (chunkBytes <= 0 || chunkBytes % 4 !== 0) throw new Error(`internal: chunk of ${chunkBytes} bytes`);
  }

  /** device memory held for staging (0 unless "staging") */
  get stagingBytes(): number {
    return this.staging?.size ?? 0;
  }

  /**
   * Step 1, before the run's commands are encoded: "write" and "chunked" queue the bytes for
   * `target` at `offset`; "staging" fills the staging buffer (waits until the GPU is done with it).
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
    const size = Math.ceil(bytes.byteLength / 4) * 4;
    if (!this.staging || this.staging.size < size) {
      this.staging?.destroy();
      this.staging = this.device.createBuffer({
        label: "input staging", size: Math.max(size, 16), usage: BufferUsage.MAP_WRITE | BufferUsage.COPY_SRC,
      });
    }
    await this.staging.mapAsync(MapMode.WRITE, 0, size);
    const mapped = new Uint8Array(this.staging.getMappedRange(0, size));
    mapped.set(bytes);
    mapped.fill(0, bytes.byteLength);
    this.staging.unmap();
    this.pending = { bytes: size };
  }

  /** Step 2, first thing in the run's command encoder: the staging copy ("staging" only). */
  encode(encoder: GPUCommandEncoder, target: GPUBuffer, offset: number): void {
    if (!this.pending || !this.staging) return;
    encoder.copyBufferToBuffer(this.staging, 0, target, offset, this.pending.bytes);
    this.pending = undefined;
  }

  destroy(): void {
    this.staging?.destroy();
    this.staging = undefined;
  }
}
