// How long moving one video's input (30 views of 3x32x256x256 float32 = 755 MB) to the GPU
// takes through queue.writeBuffer, next to the model time gpu-check reports: tells whether a
// run is bound by the upload or by the kernels.

import { acquireGpuAdapter, openGpuDevice } from "../../runtime/webgpu/acquire-gpu.ts";
import { BufferUsage } from "../../runtime/webgpu/gpu-flags.ts";

const bytes = 30 * 3 * 32 * 256 * 256 * 4;
const adapter = await acquireGpuAdapter();
const gpu = await openGpuDevice(adapter, { limits: { maxBufferSize: bytes }, features: [] });
const device = gpu.device;
const buffer = device.createBuffer({ size: bytes, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST });
const data = new Float32Array(bytes / 4).fill(0.5);
for (let i = 0; i < 4; i++) {
  const t0 = performance.now();
  device.queue.writeBuffer(buffer, 0, data);
  const t1 = performance.now();
  await device.queue.onSubmittedWorkDone();
  const t2 = performance.now();
  console.log(`upload ${(bytes / 2 ** 20).toFixed(0)} MiB: writeBuffer ${(t1 - t0).toFixed(1)} ms, until done ${(t2 - t0).toFixed(1)} ms ` +
    `(${(bytes / ((t2 - t0) / 1000) / 1e9).toFixed(1)} GB/s)`);
}
gpu.destroy();
process.exit(0);
