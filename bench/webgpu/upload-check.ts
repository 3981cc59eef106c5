// How long moving one video's input to the GPU takes, by upload method and input format, next
// to the model time gpu-check reports: tells whether a run is bound by the upload or by the
// kernels, and which upload the runner should use (runtime/webgpu/input-upload.ts).
//   sizes:   f32 = 30 views of 3x32x256x256 float32 (755 MB, the normalised tensor)
//            u8  = the same views as bytes (189 MB, what the u8 input mode uploads)
//   methods: write   = one queue.writeBuffer (Dawn copies into its own staging memory: above
//                      its 4 MiB ring buffers, a fresh staging buffer of the whole size)
//            chunked = queue.writeBuffer in pieces of --chunk KiB (default 4 MiB - 256 B: each
//                      fills one of Dawn's reused 4 MiB ring buffers; 4 MiB itself would not fit)
//            staging = one persistent MAP_WRITE|COPY_SRC buffer: mapAsync(WRITE),
//                      getMappedRange().set(), unmap(), copyBufferToBuffer, submit
// Each line is one upload until the GPU has the bytes (onSubmittedWorkDone), best and median
// of --reps after one warm-up. Usage:
//   node tools/node-ts.js bench/webgpu/upload-check.ts [--views 30] [--frames 32] [--size 256] [--reps 5]
//        [--methods write,chunked,staging] [--formats f32,u8] [--chunk 4095.75]

import process from "node:process";
import { acquireGpuAdapter, openGpuDevice } from "../../runtime/webgpu/acquire-gpu.ts";
import { BufferUsage, MapMode } from "../../runtime/webgpu/gpu-flags.ts";
import { parseArgs } from "./bench-model.ts";

const args = parseArgs(process.argv.slice(2), {
  views: "30", frames: "32", size: "256", reps: "5", methods: "write,chunked,staging", formats: "f32,u8", chunk: "4095.75",
});
const elements = Number(args.views) * 3 * Number(args.frames) * Number(args.size) ** 2;
const formats = args.formats.split(",") as ("f32" | "u8")[];
const methods = args.methods.split(",") as ("write" | "chunked" | "staging")[];
const chunk = Math.floor((Number(args.chunk) * 1024) / 4) * 4;
const maxBytes = Math.max(...formats.map((f) => elements * (f === "f32" ? 4 : 1)));

const adapter = await acquireGpuAdapter();
console.log(`adapter: ${adapter.description}`);
const gpu = await openGpuDevice(adapter, { limits: { maxBufferSize: maxBytes }, features: [] });
const device = gpu.device;
const S = BufferUsage;

function stats(ms: number[]): { best: number; median: number } {
  const s = [...ms].sort((a, b) => a - b);
  return { best: s[0], median: s[Math.floor(s.length / 2)] };
}

for (const format of formats) {
  const bytes = elements * (format === "f32" ? 4 : 1);
  // contents do not matter to the copy; fill so every page is touched before timing
  const data = new Uint8Array(bytes).fill(0x3f);
  const dst = device.createBuffer({ size: bytes, usage: S.STORAGE | S.COPY_DST | S.COPY_SRC });
  for (const method of methods) {
    const staging = method === "staging" ? device.createBuffer({ size: bytes, usage: S.MAP_WRITE | S.COPY_SRC }) : undefined;
    const times: number[] = [];
    const parts = { map: 0, set: 0, unmap: 0, submit: 0 };
    for (let rep = 0; rep <= Number(args.reps); rep++) {
      const t0 = performance.now();
      let tMap = t0, tSet = t0, tFill = t0;
      if (staging) {
        await staging.mapAsync(MapMode.WRITE);
        tMap = performance.now();
        new Uint8Array(staging.getMappedRange()).set(data);
        tFill = performance.now();
        staging.unmap();
        tSet = performance.now();
        const encoder = device.createCommandEncoder();
        encoder.copyBufferToBuffer(staging, 0, dst, 0, bytes);
        device.queue.submit([encoder.finish()]);
      } else if (method === "chunked") {
        for (let o = 0; o < bytes; o += chunk) device.queue.writeBuffer(dst, o, data, o, Math.min(chunk, bytes - o));
        tSet = performance.now();
      } else {
        device.queue.writeBuffer(dst, 0, data);
        tSet = performance.now();
      }
      await device.queue.onSubmittedWorkDone();
      const t1 = performance.now();
      if (rep === 0) continue; // warm-up: first map / first staging allocation
      times.push(t1 - t0);
      parts.map += tMap - t0;
      parts.set += (staging ? tFill : tSet) - tMap;
      parts.unmap += staging ? tSet - tFill : 0;
      parts.submit += t1 - tSet;
    }
    staging?.destroy();
    const { best, median } = stats(times);
    const n = times.length;
    const split = method === "staging"
      ? `map ${(parts.map / n).toFixed(1)} + set ${(parts.set / n).toFixed(1)} + unmap ${(parts.unmap / n).toFixed(1)} + copy ${(parts.submit / n).toFixed(1)} ms`
      : `writeBuffer ${(parts.set / n).toFixed(1)} + until done ${(parts.submit / n).toFixed(1)} ms`;
    console.log(`${format} ${(bytes / 2 ** 20).toFixed(0).padStart(5)} MiB ${method.padEnd(7)}: best ${best.toFixed(1)} ms ` +
      `(${(bytes / best / 1e6).toFixed(2)} GB/s), median ${median.toFixed(1)} ms; mean ${split}`);
  }
  dst.destroy();
}
gpu.destroy();
process.exit(0);
