// Collects what the lowering of each op produces: dispatches (with their bindings and packed
// uniforms), the WGSL source of every shader id used, and the scratch size needed. Buffer
// windows are cut here: a binding offset must be a multiple of minStorageBufferOffsetAlignment,
// so a window starting elsewhere is bound from the aligned offset below and the shader gets the
// remainder as a base index (every shader addresses its arrays as base + index).

import { NORMALIZE_TABLE_BYTES } from "../../kernels/wgsl/input-normalize.ts";
import { packUniforms, shaderId, type WgslKernel } from "../../kernels/wgsl/kernel.ts";
import type { GpuLimits } from "./limits.ts";
import type { PlanBinding, PlanDispatch, WeightEntry } from "./plan.ts";

export interface Window {
  binding: PlanBinding;
  /** index of the window's first element inside the binding */
  base: number;
}

export class PlanEmitter {
  readonly shaders: Record<string, string> = {};
  readonly dispatches: PlanDispatch[] = [];
  scratchBytes = 0;
  maxThreads = 0;
  maxWorkgroupBytes = 0;
  maxStorageBindings = 0;
  maxBindingBytes = 0;
  /** the optional features the shaders use (from their "enable" directives) */
  readonly uses = { f16: false, subgroups: false, subgroupMatrix: false };

  constructor(readonly limits: GpuLimits) {}

  /** most float32 elements a window may span so that it fits one binding wherever it starts */
  get maxWindowElements(): number {
    return Math.floor((this.limits.maxStorageBufferBindingSize - this.limits.minStorageBufferOffsetAlignment) / 4);
  }

  /** float32 elements [start, end) of the arena or the scratch buffer */
  window(buffer: "arena" | "scratch", start: number, end: number): Window {
    const w = this.byteWindow(buffer, start * 4, end * 4);
    return { binding: w.binding, base: w.base / 4 };
  }

  /**
   * bytes [start, end) of the arena or the scratch buffer, bound as 32-bit words; `base` counts
   * bytes (the u8 input's loader addresses bytes)
   */
  byteWindow(buffer: "arena" | "scratch", start: number, end: number): Window {
    const align = this.limits.minStorageBufferOffsetAlignment;
    const offset = Math.floor(start / align) * align;
    const size = Math.max(Math.ceil((end - offset) / 4) * 4, 16);
    if (size > this.limits.maxStorageBufferBindingSize) {
      throw new Error(`internal: window of ${size} bytes exceeds maxStorageBufferBindingSize`);
    }
    if (buffer === "scratch") this.scratchBytes = Math.max(this.scratchBytes, offset + size);
    return { binding: { buffer, index: 0, offset, size }, base: start - offset };
  }

  /** the u8 input mode's normalisation table (kernels/wgsl/input-normalize.ts), all of it */
  normalizeTable(): Window {
    return { binding: { buffer: "normalize", index: 0, offset: 0, size: NORMALIZE_TABLE_BYTES }, base: 0 };
  }

  weight(entry: WeightEntry, bytesPerElement: number): Window {
    const size = Math.max(Math.ceil((entry.elements * bytesPerElement) / 4) * 4, 16);
    return { binding: { buffer: "weights", index: entry.buffer, offset: entry.offset, size }, base: 0 };
  }

  /** Appends a dispatch to the plan's list; returns its index. */
  dispatch<K>(
    kernel: WgslKernel<K>, key: K, label: string, windows: Record<string, Window>,
    uniforms: Record<string, number>, workgroups: [number, number, number], threads: number, workgroupBytes = 0,
  ): number {
    return this.push(this.record(kernel, key, label, windows, uniforms, workgroups, threads, workgroupBytes));
  }

  /** appends a dispatch made by record(); returns its index */
  push(dispatch: PlanDispatch): number {
    this.dispatches.push(dispatch);
    return this.dispatches.length - 1;
  }

  /**
   * A dispatch checked and accounted for (shader source, limits) like any other, but not
   * appended: an alternative to one in the list (the u8 input's stem).
   */
  record<K>(
    kernel: WgslKernel<K>, key: K, label: string, windows: Record<string, Window>,
    uniforms: Record<string, number>, workgroups: [number, number, number], threads: number, workgroupBytes = 0,
  ): PlanDispatch {
    const id = shaderId(kernel, key);
    if (!(id in this.shaders)) this.shaders[id] = kernel.source(key);
    // WGSL requires an `enable` for any use of f16 (bindings or inside the shader) and of
    // subgroup operations: the directives say which features the plan needs
    if (/^enable f16;/m.test(this.shaders[id])) this.uses.f16 = true;
    if (/^enable subgroups;/m.test(this.shaders[id])) this.uses.subgroups = true;
    if (/^enable chromium_experimental_subgroup_matrix;/m.test(this.shaders[id])) this.uses.subgroupMatrix = true;
    const roles = kernel.bindings(key);
    const bindings = roles.map((r) => {
      const w = windows[r.role];
      if (!w) throw new Error(`internal: ${label}: no buffer for binding ${r.role}`);
      this.maxBindingBytes = Math.max(this.maxBindingBytes, w.binding.size);
      return w.binding;
    });
    // WebGPU rejects two overlapping writable bindings of one buffer in a dispatch
    const writable = bindings.filter((b) => b.buffer === "arena" || b.buffer === "scratch");
    for (let i = 0; i < writable.length; i++) {
      for (let j = i + 1; j < writable.length; j++) {
        const a = writable[i], b = writable[j];
        if (a.buffer === b.buffer && a.offset < b.offset + b.size && b.offset < a.offset + a.size) {
          throw new Error(`internal: ${label}: bindings ${i} and ${j} overlap in the ${a.buffer} buffer`);
        }
      }
    }
    for (const role of Object.keys(windows)) {
      if (!roles.some((r) => r.role === role)) throw new Error(`internal: ${label}: shader has no binding ${role}`);
    }
    const limit = this.limits.maxComputeWorkgroupsPerDimension;
    if (workgroups.some((n) => n > limit)) throw new Error(`internal: ${label}: workgroups ${workgroups} exceed ${limit}`);
    this.maxThreads = Math.max(this.maxThreads, threads);
    this.maxWorkgroupBytes = Math.max(this.maxWorkgroupBytes, workgroupBytes);
    this.maxStorageBindings = Math.max(this.maxStorageBindings, roles.length);
    return { label, shader: id, bindings, uniforms: packUniforms(kernel.uniforms(key), uniforms), workgroups };
  }
}
