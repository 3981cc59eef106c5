// Tensors as a checkpoint stores them: a typed view (dtype, element offset, shape, strides)
// onto a storage whose bytes are located only when a tensor is converted. Nothing here reads
// storage bytes until `toFloat32()` / `toBytes()` is called, so optimizer buffers and other
// unreferenced storages of a 140 MB checkpoint are never touched.

import { I3DError } from "../errors.ts";
import { printable } from "./printable.ts";
import { bfloat16ToFloat32, halfToFloat32 } from "./half-float.ts";

export type DType =
  | "float32"
  | "float16"
  | "bfloat16"
  | "float64"
  | "int64"
  | "int32"
  | "int16"
  | "int8"
  | "uint8"
  | "bool";

export const dtypeSize: Record<DType, number> = {
  float32: 4,
  float16: 2,
  bfloat16: 2,
  float64: 8,
  int64: 8,
  int32: 4,
  int16: 2,
  int8: 1,
  uint8: 1,
  bool: 1,
};

export function isFloatingDType(dtype: DType): boolean {
  return dtype === "float32" || dtype === "float16" || dtype === "bfloat16" || dtype === "float64";
}

/** A tensor of a loaded checkpoint; data is converted on request. */
export interface StoredTensor {
  /** state_dict key (after stripping a leading `module.`) */
  readonly key: string;
  readonly dtype: DType;
  readonly shape: number[];
  /** Elements in C order as float32 (fp16/bf16 widened, float64/integers rounded). The
   * result may share memory with the checkpoint's bytes: copy it before writing to it. */
  toFloat32(): Float32Array;
  /** Elements in C order as little-endian bytes of `dtype` (a view or a fresh gather). */
  toBytes(): Uint8Array;
}

const littleEndianHost = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/**
 * Bytes of one storage (a zip record, a span of a legacy file, a safetensors data range),
 * located on first use. `locate` is where the bytes come from; it reports the access through
 * `onRead` so tests (and curious users) can see exactly which storages were read.
 */
export class RawStorage {
  private bytes?: Uint8Array;

  constructor(
    readonly key: string,
    private readonly locate: () => Uint8Array,
    private readonly onRead?: (key: string, nbytes: number) => void,
  ) {}

  read(): Uint8Array {
    if (!this.bytes) {
      this.bytes = this.locate();
      this.onRead?.(this.key, this.bytes.length);
    }
    return this.bytes;
  }
}

/** A storage as one persistent id names it: raw bytes read as `numel` elements of `dtype`
 * starting `byteOffset` bytes in (legacy storage views have a non-zero offset). */
export class TypedStorage {
  constructor(
    readonly raw: RawStorage,
    readonly dtype: DType,
    readonly numel: number,
    readonly byteOffset: number,
    /** names the file in errors */
    readonly source: string,
  ) {}

  /** the storage's bytes, checked against its declared size; aligned for typed-array views */
  bytes(): Uint8Array {
    const all = this.raw.read();
    const need = this.numel * dtypeSize[this.dtype];
    if (this.byteOffset + need > all.length) {
      throw new I3DError(
        "checkpoint",
        `${this.source}: storage ${printable(this.raw.key)} holds ${all.length} bytes, but ${this.dtype} x ${this.numel}` +
          (this.byteOffset ? ` at byte ${this.byteOffset}` : "") + " needs " + (this.byteOffset + need),
      );
    }
    return all.subarray(this.byteOffset, this.byteOffset + need);
  }
}

/** torch._utils._rebuild_tensor_v2's arguments, validated against the storage's size. */
export class TensorRef {
  constructor(
    readonly storage: TypedStorage,
    /** in elements */
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {
    const numel = shape.reduce((a, b) => a * b, 1);
    if (numel > 0) {
      let last = offset;
      for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * stride[i];
      if (last >= storage.numel || !Number.isSafeInteger(last)) {
        throw new I3DError(
          "checkpoint",
          `${storage.source}: a tensor of shape [${shape.join(", ")}] (offset ${offset}, stride ` +
            `[${stride.join(", ")}]) reaches past its storage ${printable(storage.raw.key)} of ${storage.numel} elements`,
        );
      }
      // Expanded (stride-0) views would turn a few stored bytes into an arbitrarily large
      // allocation; state_dict entries never are, so they are refused.
      if (numel > storage.numel) {
        throw new I3DError(
          "checkpoint",
          `${storage.source}: a tensor of shape [${shape.join(", ")}] has more elements than its ` +
            `storage ${printable(storage.raw.key)} (${storage.numel}); broadcast views are not supported`,
        );
      }
    }
  }

  get dtype(): DType {
    return this.storage.dtype;
  }

  get numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  isContiguous(): boolean {
    let expected = 1;
    for (let i = this.shape.length - 1; i >= 0; i--) {
      if (this.shape[i] !== 1 && this.stride[i] !== expected) return false;
      expected *= this.shape[i];
    }
    return true;
  }

  /** storage element index of every tensor element, in C order (only for non-contiguous views) */
  private gatherIndices(): Uint32Array | Float64Array {
    const n = this.numel;
    const out = this.storage.numel < 2 ** 32 ? new Uint32Array(n) : new Float64Array(n);
    const rank = this.shape.length;
    const counter = new Array<number>(rank).fill(0);
    let index = this.offset;
    for (let i = 0; i < n; i++) {
      out[i] = index;
      for (let d = rank - 1; d >= 0; d--) {
        counter[d]++;
        index += this.stride[d];
        if (counter[d] < this.shape[d]) break;
        index -= this.stride[d] * this.shape[d];
        counter[d] = 0;
      }
    }
    return out;
  }

  /** elements in C order as little-endian bytes of the tensor's dtype */
  toBytes(): Uint8Array {
    const size = dtypeSize[this.dtype];
    const bytes = this.storage.bytes();
    if (this.isContiguous()) return bytes.subarray(this.offset * size, (this.offset + this.numel) * size);
    const indices = this.gatherIndices();
    const out = new Uint8Array(indices.length * size);
    for (let i = 0; i < indices.length; i++) {
      const from = indices[i] * size;
      for (let b = 0; b < size; b++) out[i * size + b] = bytes[from + b];
    }
    return out;
  }

  toFloat32(): Float32Array {
    if (!littleEndianHost) {
      throw new I3DError("internal", "checkpoint tensors can only be decoded on little-endian hosts");
    }
    const contiguous = this.toBytes();
    const n = this.numel;
    switch (this.dtype) {
      case "float32":
        return contiguous.byteOffset % 4 === 0
          ? new Float32Array(contiguous.buffer, contiguous.byteOffset, n)
          : new Float32Array(aligned(contiguous).buffer, 0, n);
      case "float16":
        return halfToFloat32(view16(contiguous, n));
      case "bfloat16":
        return bfloat16ToFloat32(view16(contiguous, n));
      case "float64":
        return Float32Array.from(
          contiguous.byteOffset % 8 === 0
            ? new Float64Array(contiguous.buffer, contiguous.byteOffset, n)
            : new Float64Array(aligned(contiguous).buffer, 0, n),
        );
      case "int64": {
        const big = contiguous.byteOffset % 8 === 0
          ? new BigInt64Array(contiguous.buffer, contiguous.byteOffset, n)
          : new BigInt64Array(aligned(contiguous).buffer, 0, n);
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = Number(big[i]);
        return out;
      }
      case "int32":
        return Float32Array.from(
          contiguous.byteOffset % 4 === 0
            ? new Int32Array(contiguous.buffer, contiguous.byteOffset, n)
            : new Int32Array(aligned(contiguous).buffer, 0, n),
        );
      case "int16":
        return Float32Array.from(
          contiguous.byteOffset % 2 === 0
            ? new Int16Array(contiguous.buffer, contiguous.byteOffset, n)
            : new Int16Array(aligned(contiguous).buffer, 0, n),
        );
      case "int8":
        return Float32Array.from(new Int8Array(contiguous.buffer, contiguous.byteOffset, n));
      case "uint8":
        return Float32Array.from(contiguous);
      case "bool": {
        const out = new Float32Array(n);
        for (let i = 0; i < n; i++) out[i] = contiguous[i] ? 1 : 0;
        return out;
      }
    }
  }
}

/** a copy of `bytes` starting at offset 0 of a fresh buffer (typed-array views need alignment;
 * not `.slice()`, which on a Node Buffer is a view) */
function aligned(bytes: Uint8Array): Uint8Array {
  return new Uint8Array(bytes);
}

/** a plain Uint8Array view of any byte array (Node Buffers' slice() does not copy) */
export function plainBytes(bytes: Uint8Array): Uint8Array {
  return Object.getPrototypeOf(bytes) === Uint8Array.prototype
    ? bytes
    : new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function view16(bytes: Uint8Array, n: number): Uint16Array {
  return bytes.byteOffset % 2 === 0
    ? new Uint16Array(bytes.buffer, bytes.byteOffset, n)
    : new Uint16Array(aligned(bytes).buffer, 0, n);
}

/** A state_dict entry: a TensorRef under its (revised) key. */
export function storedTensor(key: string, ref: TensorRef): StoredTensor {
  return {
    key,
    dtype: ref.dtype,
    shape: [...ref.shape],
    toFloat32: () => ref.toFloat32(),
    toBytes: () => ref.toBytes(),
  };
}
