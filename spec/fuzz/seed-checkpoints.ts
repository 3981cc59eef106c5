// Seed checkpoints written here rather than by torch: a state_dict for a given set of tensors
// in torch.save's zip format, its legacy (pre-1.6) format, and safetensors. The bind target
// uses them with the parameters of the small test graph (spec/helpers/small-spec.ts), so that
// an unmutated seed binds exactly and mutations start from a checkpoint that fits.
// The pickles follow what torch.save writes: an OrderedDict of
// torch._utils._rebuild_tensor_v2(persistent storage id, offset, size, stride, False, OrderedDict()).

import { contiguousStrides, writeSafetensors } from "../../models/checkpoint/safetensors.ts";
import type { DType } from "../../models/checkpoint/stored-tensor.ts";
import { OP, PickleWriter } from "../checkpoint/pickle-writer.ts";
import { makeZip } from "../checkpoint/zip-writer.ts";
import { concat, writeIntLE } from "./byte-mutations.ts";

export interface SeedTensor {
  key: string;
  dtype: "float32" | "float16" | "int64";
  shape: number[];
  /** little-endian element bytes */
  bytes: Uint8Array;
}

const storageClass: Record<SeedTensor["dtype"], string> = { float32: "FloatStorage", float16: "HalfStorage", int64: "LongStorage" };
const elementSize: Record<SeedTensor["dtype"], number> = { float32: 4, float16: 2, int64: 8 };

function orderedDict(w: PickleWriter): void {
  w.global("collections", "OrderedDict").op(OP.EMPTY_TUPLE).reduce();
}

/** the state_dict pickle; `legacy` adds the 6th (view) field of old persistent ids */
function stateDictPickle(tensors: SeedTensor[], legacy: boolean, wrap: boolean): Uint8Array {
  const w = new PickleWriter().proto(2);
  if (wrap) w.op(OP.EMPTY_DICT).str("meta").op(OP.EMPTY_DICT).str("epoch").int(3).op(OP.SETITEM).op(OP.SETITEM).str("state_dict");
  orderedDict(w);
  w.op(OP.BINPUT).raw(0);
  tensors.forEach((t, i) => {
    w.str(t.key);
    w.global("torch._utils", "_rebuild_tensor_v2");
    w.mark();
    w.mark().str("storage").global("torch", storageClass[t.dtype]).str(String(i)).str("cpu").int(t.shape.reduce((a, b) => a * b, 1));
    if (legacy) w.none();
    w.tuple().op(OP.BINPERSID);
    w.int(0);
    w.mark();
    for (const d of t.shape) w.int(d);
    w.tuple();
    w.mark();
    for (const s of contiguousStrides(t.shape)) w.int(s);
    w.tuple();
    w.op(OP.NEWFALSE);
    orderedDict(w);
    w.tuple().reduce();
    w.op(OP.SETITEM);
  });
  if (wrap) w.op(OP.SETITEM);
  return w.stop().build();
}

export function torchZip(tensors: SeedTensor[], options: { wrap?: boolean; folder?: string } = {}): Uint8Array {
  const top = options.folder ?? "archive";
  const entries = [
    { name: `${top}/data.pkl`, data: stateDictPickle(tensors, false, options.wrap ?? false) },
    { name: `${top}/byteorder`, data: new TextEncoder().encode("little") },
    ...tensors.map((t, i) => ({ name: `${top}/data/${i}`, data: t.bytes })),
    { name: `${top}/version`, data: new TextEncoder().encode("3\n") },
  ];
  return makeZip(entries, { align: 64 }).bytes;
}

function single(build: (w: PickleWriter) => void): Uint8Array {
  const w = new PickleWriter().proto(2);
  build(w);
  return w.stop().build();
}

export function torchLegacy(tensors: SeedTensor[], options: { wrap?: boolean } = {}): Uint8Array {
  // magic 0x1950a86a20f9469cfc6c as LONG1, protocol 1001, sys_info, the object, the storage keys
  const magic = single((w) => w.op(OP.LONG1).raw(10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19));
  const protocol = single((w) => w.op(OP.BININT2).u16(1001));
  const sysInfo = single((w) => {
    w.op(OP.EMPTY_DICT).mark();
    w.str("protocol_version").op(OP.BININT2).u16(1001);
    w.str("little_endian").op(OP.NEWTRUE);
    w.str("type_sizes").op(OP.EMPTY_DICT).mark().str("short").int(2).str("int").int(4).str("long").int(4).op(OP.SETITEMS);
    w.op(OP.SETITEMS);
  });
  const main = stateDictPickle(tensors, true, options.wrap ?? false);
  const keys = single((w) => {
    w.op(OP.EMPTY_LIST).mark();
    tensors.forEach((_, i) => w.str(String(i)));
    w.op(OP.APPENDS);
  });
  const storages = tensors.map((t) => {
    const count = new Uint8Array(8);
    writeIntLE(count, 0, 8, BigInt(t.bytes.length / elementSize[t.dtype]));
    return concat(count, t.bytes);
  });
  return concat(magic, protocol, sysInfo, main, keys, ...storages);
}

export function safetensorsOf(tensors: SeedTensor[]): Uint8Array {
  return writeSafetensors(tensors.map((t) => [t.key, { dtype: t.dtype as DType, shape: t.shape, bytes: t.bytes }]), { format: "pt" });
}
