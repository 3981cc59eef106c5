// The whitelist: the only Python globals a checkpoint may name, each implemented here as a
// TypeScript data constructor (or a plain marker such as a storage type or a dtype). Anything
// else -- os.system, builtins.eval, subprocess.Popen, any class or module -- is refused the
// moment the pickle names it, with the global in the message. Nothing is ever executed.
//
// The list is what torch.save (1.x / 2.x) and mmcv's save_checkpoint write: state_dict
// OrderedDicts, tensors and parameters over storages, torch.Size and dtypes, numpy scalars /
// dtypes / arrays in `meta`, and the few builtins protocol 2 needs to spell bytes and sets.

import { I3DError } from "../errors.ts";
import { NumpyDType, numpyReconstruct, numpyScalar } from "./numpy-pickle.ts";
import { type Buildable, PyGlobal, pyTypeName, refuseGlobal, SET_STATE } from "./pickle.ts";
import { printable } from "./printable.ts";
import { type DType, TensorRef, TypedStorage } from "./stored-tensor.ts";

/** collections.OrderedDict; instance attributes (a state_dict's `_metadata`) arrive by BUILD */
export class PyOrderedDict extends Map<unknown, unknown> implements Buildable {
  readonly attributes = new Map<string, unknown>();

  constructor(private readonly what: string) {
    super();
  }

  [SET_STATE](state: unknown): void {
    // CPython: state is an attribute dict, or (dict | None, slot dict | None)
    const parts = Array.isArray(state) && state.length === 2 ? state : [state];
    for (const part of parts) {
      if (part === null) continue;
      if (!(part instanceof Map) || ![...part.keys()].every((k) => typeof k === "string")) {
        throw new I3DError("checkpoint", `${this.what}: malformed checkpoint: OrderedDict state is a ${pyTypeName(part)}`);
      }
      for (const [k, v] of part) this.attributes.set(k as string, v);
    }
  }
}

/** torch.FloatStorage & co: which dtype a persistent id's storage holds */
export class StorageType extends PyGlobal {
  constructor(qualifiedName: string, readonly dtype: DType) {
    super(qualifiedName);
  }
}

/** torch.float32 & co, which newer torch versions may pickle as values */
export class TorchDType extends PyGlobal {
  constructor(qualifiedName: string, readonly dtype: DType) {
    super(qualifiedName);
  }
}

const storageTypes: Record<string, DType> = {
  FloatStorage: "float32",
  HalfStorage: "float16",
  BFloat16Storage: "bfloat16",
  DoubleStorage: "float64",
  LongStorage: "int64",
  IntStorage: "int32",
  ShortStorage: "int16",
  CharStorage: "int8",
  ByteStorage: "uint8",
  BoolStorage: "bool",
};

const torchDTypes: Record<string, DType> = {
  float32: "float32", float: "float32",
  float16: "float16", half: "float16",
  bfloat16: "bfloat16",
  float64: "float64", double: "float64",
  int64: "int64", long: "int64",
  int32: "int32", int: "int32",
  int16: "int16", short: "int16",
  int8: "int8",
  uint8: "uint8",
  bool: "bool",
};

/** Python 2 module names that protocol-2 pickles write for Python 3 ones (see _compat_pickle);
 * only used to name globals as Python 3 would resolve them */
const python2Modules: Record<string, string> = { __builtin__: "builtins", copy_reg: "copyreg", commands: "subprocess" };

function isIndex(x: unknown): x is number {
  return typeof x === "number" && Number.isSafeInteger(x) && x >= 0;
}

/** Builds the global resolver for one pickle stream; `what` names it in errors. */
export function allowedGlobals(what: string): (module: string, name: string) => PyGlobal {
  const malformed = (message: string): never => {
    throw new I3DError("checkpoint", `${what}: malformed checkpoint: ${message}`);
  };

  const indexTuple = (x: unknown, label: string): number[] => {
    if (!Array.isArray(x) || x.length > 64 || !x.every(isIndex)) {
      return malformed(`tensor ${label} is not a tuple of non-negative integers`);
    }
    return [...x] as number[];
  };

  const rebuildTensor = (args: readonly unknown[]): TensorRef => {
    // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
    if (args.length < 6 || args.length > 7) malformed(`_rebuild_tensor_v2 with ${args.length} arguments`);
    const [storage, offset, size, stride] = args;
    if (!(storage instanceof TypedStorage)) return malformed(`a tensor over a ${pyTypeName(storage)}, not a storage`);
    if (!isIndex(offset)) return malformed("tensor storage offset");
    const shape = indexTuple(size, "size");
    const strides = indexTuple(stride, "stride");
    if (shape.length !== strides.length) malformed("tensor size and stride differ in length");
    let numel = 1;
    for (const d of shape) numel *= d;
    if (!Number.isSafeInteger(numel)) malformed("tensor size overflows");
    return new TensorRef(storage, offset, shape, strides);
  };

  const parameter = (arity: number) => (args: readonly unknown[]): TensorRef => {
    // (data, requires_grad, backward_hooks[, state]): a Parameter is its data for inference
    if (args.length !== arity || !(args[0] instanceof TensorRef)) malformed("_rebuild_parameter arguments");
    return args[0] as TensorRef;
  };

  const orderedDict = (args: readonly unknown[]): PyOrderedDict => {
    const dict = new PyOrderedDict(what);
    if (args.length === 0) return dict;
    // protocol 0/1 spell it OrderedDict([[key, value], ...])
    if (args.length !== 1 || !Array.isArray(args[0])) return malformed("OrderedDict arguments");
    for (const pair of args[0] as unknown[]) {
      if (!Array.isArray(pair) || pair.length !== 2) malformed("OrderedDict item is not a pair");
      dict.set((pair as unknown[])[0], (pair as unknown[])[1]);
    }
    return dict;
  };

  const encode = (args: readonly unknown[]): Uint8Array => {
    // _codecs.encode(text, encoding): protocol 2's spelling of bytes
    const [text, encoding = "utf-8"] = args;
    if (typeof text !== "string" || typeof encoding !== "string" || args.length > 2) {
      return malformed("_codecs.encode arguments");
    }
    const enc = encoding.toLowerCase().replace(/[-_]/g, "");
    if (enc === "utf8") return new TextEncoder().encode(text);
    const limit = enc === "latin1" || enc === "iso88591" ? 0xff : enc === "ascii" ? 0x7f : -1;
    if (limit < 0) return malformed(`_codecs.encode to ${printable(encoding, 40)}`);
    const out = new Uint8Array(text.length);
    for (let i = 0; i < text.length; i++) {
      const c = text.charCodeAt(i);
      if (c > limit) malformed(`_codecs.encode of a character outside ${printable(encoding, 40)}`);
      out[i] = c;
    }
    return out;
  };

  const bytesLike = (args: readonly unknown[]): Uint8Array => {
    // bytes() / bytearray() / bytearray(b"...") / bytearray("text", "latin-1")
    if (args.length === 0) return new Uint8Array(0);
    if (args.length === 1 && args[0] instanceof Uint8Array) return args[0].slice();
    if (args.length === 1 && Array.isArray(args[0]) && args[0].every((b) => isIndex(b) && b < 256)) {
      return Uint8Array.from(args[0] as number[]);
    }
    return encode(args);
  };

  const setOf = (frozen: boolean) => (args: readonly unknown[]): Set<unknown> => {
    if (args.length > 1 || (args.length === 1 && !Array.isArray(args[0]))) malformed("set arguments");
    const set = new Set<unknown>(args.length ? (args[0] as unknown[]) : []);
    return frozen ? Object.freeze(set) : set;
  };

  const cache = new Map<string, PyGlobal>();
  const ndarray = new PyGlobal("numpy.ndarray");
  const numpyDType = (args: readonly unknown[]): NumpyDType => {
    if (args.length < 1 || args.length > 3 || typeof args[0] !== "string") return malformed("numpy.dtype arguments");
    return new NumpyDType(args[0], what);
  };

  const make = (module: string, name: string, qualifiedName: string): PyGlobal | undefined => {
    switch (qualifiedName) {
      case "collections.OrderedDict":
        return new PyGlobal(qualifiedName, orderedDict);
      case "torch._utils._rebuild_tensor_v2":
        return new PyGlobal(qualifiedName, rebuildTensor);
      case "torch._utils._rebuild_parameter":
        return new PyGlobal(qualifiedName, parameter(3));
      case "torch._utils._rebuild_parameter_with_state":
        return new PyGlobal(qualifiedName, parameter(4));
      case "torch.Size":
        return new PyGlobal(qualifiedName, (args) => {
          if (args.length !== 1) malformed("torch.Size arguments");
          return Object.freeze(indexTuple(args[0], "torch.Size"));
        });
      case "numpy.core.multiarray.scalar":
      case "numpy._core.multiarray.scalar":
        return new PyGlobal(qualifiedName, (args) => numpyScalar(args, what));
      case "numpy.dtype":
        return new PyGlobal(qualifiedName, numpyDType);
      case "numpy.core.multiarray._reconstruct":
      case "numpy._core.multiarray._reconstruct":
        return new PyGlobal(qualifiedName, (args) => numpyReconstruct(args, ndarray, what));
      case "numpy.ndarray":
        return ndarray;
      case "_codecs.encode":
        return new PyGlobal(qualifiedName, encode);
      case "builtins.set":
        return new PyGlobal(qualifiedName, setOf(false));
      case "builtins.frozenset":
        return new PyGlobal(qualifiedName, setOf(true));
      case "builtins.bytes":
      case "builtins.bytearray":
        return new PyGlobal(qualifiedName, bytesLike);
    }
    if (module === "torch" && Object.hasOwn(storageTypes, name)) return new StorageType(qualifiedName, storageTypes[name]);
    if (module === "torch" && Object.hasOwn(torchDTypes, name)) return new TorchDType(qualifiedName, torchDTypes[name]);
    return undefined;
  };

  return (writtenModule: string, name: string): PyGlobal => {
    const module = Object.hasOwn(python2Modules, writtenModule) ? python2Modules[writtenModule] : writtenModule;
    const qualifiedName = `${module}.${name}`;
    let found = cache.get(qualifiedName);
    if (!found) {
      found = make(module, name, qualifiedName);
      if (!found) refuseGlobal(what, qualifiedName);
      cache.set(qualifiedName, found);
    }
    return found;
  };
}
