// Reads a checkpoint file -- torch.save's zip format (PyTorch >= 1.6), its legacy format
// (before 1.6, as most of the 2020 MMAction2 model zoo), or safetensors -- into a state_dict
// of lazily converted tensors plus the `meta` entry as plain data. No Python, no code runs:
// pickles go through the whitelisting reader in pickle.ts / allowed-globals.ts.
//
// The file is read into memory once. Storages are located only when a state_dict tensor is
// converted, so a training checkpoint's optimizer state (SGD momentum buffers, as large as the
// model) is never read, inflated or converted.
//
// A pickle may make any number of state_dict entries view one storage (memo references), so a
// small file could stand for gigabytes of tensors once each is converted. torch.save writes
// each storage once and MMAction2 state_dicts never alias, so a state_dict whose entries share
// storages and whose tensors hold more than MAX_EXPANSION x the file (+ 1 MiB) is refused,
// from the shapes alone. (Without sharing, each tensor is checked against the bytes its own
// storage really holds when it is converted.)

import { readFile } from "node:fs/promises";
import { basename } from "node:path";
import { I3DError } from "../errors.ts";
import { printable } from "./printable.ts";
import { allowedGlobals, StorageType, TorchDType } from "./allowed-globals.ts";
import { loadPickle, pyTypeName, type PickleHooks } from "./pickle.ts";
import { toPlainData } from "./plain-data.ts";
import { looksLikeSafetensors, readSafetensors } from "./safetensors.ts";
import { type DType, dtypeSize, plainBytes, RawStorage, type StoredTensor, storedTensor, TensorRef, TypedStorage } from "./stored-tensor.ts";
import { ZipReader } from "./zip-reader.ts";

export type { StoredTensor } from "./stored-tensor.ts";

export interface Checkpoint {
  format: "zip" | "legacy" | "safetensors";
  /** state_dict tensors by key, a leading `module.` stripped (as mmcv's load_checkpoint does) */
  stateDict: Map<string, StoredTensor>;
  /** the checkpoint's `meta` entry as plain data (safetensors: its __metadata__); undefined if none */
  meta: unknown;
}

export interface ReadCheckpointOptions {
  /** called once per storage when its bytes are first read (for tests and diagnostics) */
  onStorageRead?: (key: string, nbytes: number) => void;
}

/** a state_dict's tensors may hold at most this many times the file's bytes (+ EXPANSION_SLACK) */
const MAX_EXPANSION = 4;
const EXPANSION_SLACK = 1 << 20;

/** torch's legacy format starts with this number pickled on its own */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

export async function readCheckpoint(
  pathOrBytes: string | Uint8Array,
  options: ReadCheckpointOptions = {},
): Promise<Checkpoint> {
  if (typeof pathOrBytes !== "string") return parseCheckpoint(pathOrBytes, "checkpoint", options);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(pathOrBytes);
  } catch (e) {
    const code = (e as { code?: string }).code;
    const why = code === "ENOENT" ? "no such file" : code === "EISDIR" ? "it is a directory" : code ?? String(e);
    throw new I3DError("io", `cannot read checkpoint ${pathOrBytes}: ${why}`);
  }
  return parseCheckpoint(bytes, basename(pathOrBytes), options);
}

/** Parses checkpoint bytes already in memory; `source` names the file in errors. */
export function parseCheckpoint(input: Uint8Array, source: string, options: ReadCheckpointOptions = {}): Checkpoint {
  const bytes = plainBytes(input);
  const fail = (message: string): never => {
    throw new I3DError("checkpoint", `${source}: ${message}`);
  };
  if (bytes.length === 0) fail("the file is empty");
  if (bytes[0] === 0x50 && bytes[1] === 0x4b && (bytes[2] === 0x03 || bytes[2] === 0x05)) {
    return fromTopLevel(readZipFormat(bytes, source, options), "zip", source, bytes.length);
  }
  if (bytes[0] === 0x80 && bytes.length >= 2 && bytes[1] >= 2 && bytes[1] <= 5) {
    return fromTopLevel(readLegacyFormat(bytes, source, options), "legacy", source, bytes.length);
  }
  if (looksLikeSafetensors(bytes)) {
    const file = readSafetensors(bytes, source, options.onStorageRead);
    const meta = Object.keys(file.metadata).length > 0 ? file.metadata : undefined;
    return { format: "safetensors", stateDict: reviseKeys(file.tensors), meta };
  }
  if (bytes.length > 262 && new TextDecoder().decode(bytes.subarray(257, 262)) === "ustar") {
    fail("is a tar-format checkpoint (PyTorch < 0.4), which is not supported; re-save it with a newer torch");
  }
  if (bytes[0] === 0x93 && new TextDecoder().decode(bytes.subarray(1, 6)) === "NUMPY") {
    fail("is a NumPy .npy file, not a checkpoint");
  }
  const head = new TextDecoder().decode(bytes.subarray(0, 64)).trimStart().toLowerCase();
  if (head.startsWith("<!doctype html") || head.startsWith("<html") || head.startsWith("<?xml")) {
    fail("is an HTML/XML page, not a checkpoint (a failed download?)");
  }
  const magic = [...bytes.subarray(0, 4)].map((b) => b.toString(16).padStart(2, "0")).join(" ");
  return fail(`is not a PyTorch checkpoint or safetensors file (starts with ${magic})`);
}

/** persistent ids name storages: ('storage', storage_type, key, location, numel[, view_metadata]) */
function storageHooks(
  source: string,
  what: string,
  rawFor: (key: string) => RawStorage,
  onPid: (key: string, dtype: DType, numel: number) => void,
): PickleHooks {
  const bad = (why: string): never => {
    throw new I3DError("checkpoint", `${what}: malformed checkpoint: ${why}`);
  };
  return {
    findGlobal: allowedGlobals(what),
    persistentLoad(pid: unknown): unknown {
      if (!Array.isArray(pid) || pid[0] !== "storage") {
        const kind = Array.isArray(pid) && typeof pid[0] === "string" ? `'${printable(pid[0], 40)}' ` : "";
        // legacy torch.save(model) pickles whole modules as ('module', class, source file, source)
        return bad(`unsupported persistent id ${kind}(a ${pyTypeName(pid)}); only storages are expected`);
      }
      if (pid.length !== 5 && pid.length !== 6) bad(`storage persistent id with ${pid.length} fields`);
      const [, type, key, , numel, view] = pid;
      const dtype = type instanceof StorageType || type instanceof TorchDType
        ? type.dtype
        : bad(`storage type is a ${pyTypeName(type)}`);
      if (typeof key !== "string") return bad("storage key is not a string");
      if (typeof numel !== "number" || !Number.isSafeInteger(numel) || numel < 0) return bad(`storage ${printable(key)} size`);
      let byteOffset = 0;
      let count = numel;
      if (view !== undefined && view !== null) {
        // pre-1.0 storage views: (view_key, offset, size) in elements of the root storage
        if (!Array.isArray(view) || view.length !== 3) return bad("storage view metadata");
        const [, offset, size] = view;
        if (typeof offset !== "number" || typeof size !== "number" || offset < 0 || size < 0 ||
            !Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset + size > numel) {
          return bad(`storage view of ${printable(key)} out of range`);
        }
        byteOffset = offset * dtypeSize[dtype];
        count = size;
      }
      onPid(key, dtype, numel);
      return new TypedStorage(rawFor(key), dtype, count, byteOffset, source);
    },
  };
}

function readZipFormat(bytes: Uint8Array, source: string, options: ReadCheckpointOptions): unknown {
  const zip = new ZipReader(bytes, { source });
  const names = zip.names();
  if (names.length === 0) throw new I3DError("checkpoint", `${source}: the zip archive is empty, not a checkpoint`);
  // torch names the top folder after the saved file's stem ("archive" when saved to a buffer);
  // like torch's reader, take it from the first record
  const slash = names[0].indexOf("/");
  const top = slash > 0 ? names[0].slice(0, slash) : "";
  const pickleName = `${top}/data.pkl`;
  if (!top || !zip.has(pickleName)) {
    throw new I3DError(
      "checkpoint",
      `${source}: zip archive has no ${printable(top || "<folder>")}/data.pkl, so it is not a PyTorch checkpoint`,
    );
  }
  if (zip.has(`${top}/byteorder`)) {
    const order = new TextDecoder().decode(zip.read(`${top}/byteorder`)).trim();
    if (order !== "little") throw new I3DError("checkpoint", `${source}: ${printable(order)}-endian checkpoints are not supported`);
  }
  const raws = new Map<string, RawStorage>();
  const rawFor = (key: string): RawStorage => {
    let raw = raws.get(key);
    if (!raw) {
      const record = `${top}/data/${key}`;
      if (!zip.has(record)) {
        throw new I3DError("checkpoint", `${source}: checkpoint names storage ${printable(key)}, but ${printable(record)} is missing`);
      }
      raw = new RawStorage(key, () => zip.read(record), options.onStorageRead);
      raws.set(key, raw);
    }
    return raw;
  };
  const what = `${source} (${pickleName})`;
  return loadPickle(zip.read(pickleName), 0, storageHooks(source, what, rawFor, () => {}), what).value;
}

function readLegacyFormat(bytes: Uint8Array, source: string, options: ReadCheckpointOptions): unknown {
  const fail = (message: string): never => {
    throw new I3DError("checkpoint", `${source}: ${message}`);
  };
  const plain: PickleHooks = { findGlobal: allowedGlobals(source) };
  const magic = loadPickle(bytes, 0, plain, source);
  if (magic.value !== LEGACY_MAGIC) {
    fail("is a pickle but not a PyTorch checkpoint (no torch magic number); only torch.save files are read");
  }
  const protocol = loadPickle(bytes, magic.end, plain, source);
  if (protocol.value !== LEGACY_PROTOCOL_VERSION) {
    // the value is the file's: only a number is shown as it is
    const v = protocol.value;
    const shown = typeof v === "number" || typeof v === "bigint" ? printable(String(v), 40) : `of type ${pyTypeName(v)}`;
    fail(`has legacy protocol version ${shown}, expected 1001`);
  }
  const sysInfo = loadPickle(bytes, protocol.end, plain, source);
  if (!(sysInfo.value instanceof Map) || sysInfo.value.get("little_endian") !== true) {
    fail("was written on a big-endian machine or has no system info; not supported");
  }

  // storages are laid out after the pickles, each as an int64 element count and its bytes
  const spans = new Map<string, { begin: number; end: number }>();
  const rootDTypes = new Map<string, DType>();
  const raws = new Map<string, RawStorage>();
  const rawFor = (key: string): RawStorage => {
    let raw = raws.get(key);
    if (!raw) {
      raw = new RawStorage(key, () => {
        const span = spans.get(key);
        if (!span) return fail(`storage ${printable(key)} is referenced but has no data`);
        return bytes.subarray(span.begin, span.end);
      }, options.onStorageRead);
      raws.set(key, raw);
    }
    return raw;
  };
  const onPid = (key: string, dtype: DType): void => {
    if (!rootDTypes.has(key)) rootDTypes.set(key, dtype); // the first reference sets the layout
  };
  const main = loadPickle(bytes, sysInfo.end, storageHooks(source, source, rawFor, onPid), source);
  const keys = loadPickle(bytes, main.end, plain, source);
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === "string")) {
    fail("storage key list is malformed");
  }
  let at = keys.end;
  for (const key of keys.value as string[]) {
    const dtype = rootDTypes.get(key) ?? fail(`storage ${printable(key)} is listed but never referenced`);
    if (spans.has(key)) fail(`storage ${printable(key)} is listed twice`);
    if (at + 8 > bytes.length) fail(`is truncated (storage ${printable(key)} is missing)`);
    const view = new DataView(bytes.buffer, bytes.byteOffset + at, 8);
    const lo = view.getUint32(0, true);
    const hi = view.getInt32(4, true);
    const count = hi * 2 ** 32 + lo;
    const length = count * dtypeSize[dtype];
    if (hi < 0 || hi >= 2 ** 21 || at + 8 + length > bytes.length) {
      fail(`is truncated (storage ${printable(key)} claims ${count} elements, the file ends first)`);
    }
    spans.set(key, { begin: at + 8, end: at + 8 + length });
    at += 8 + length;
  }
  return main.value;
}

/** mmcv: use checkpoint['state_dict'] if present, else the checkpoint itself. */
function fromTopLevel(top: unknown, format: "zip" | "legacy", source: string, fileBytes: number): Checkpoint {
  const fail = (message: string): never => {
    throw new I3DError("checkpoint", `${source}: ${message}`);
  };
  if (!(top instanceof Map)) return fail(`holds a ${pyTypeName(top)}, not a dict of tensors`);
  const wrapped = top.has("state_dict");
  const stateDict = wrapped ? top.get("state_dict") : top;
  if (!(stateDict instanceof Map)) return fail(`'state_dict' is a ${pyTypeName(stateDict)}, not a dict`);
  const tensors = new Map<string, StoredTensor>();
  const budget = MAX_EXPANSION * fileBytes + EXPANSION_SLACK;
  let total = 0;
  const firstUser = new Map<RawStorage, string>();
  let aliased: [string, string] | undefined;
  for (const [key, value] of stateDict) {
    if (typeof key !== "string") fail(`state_dict has a ${pyTypeName(key)} key`);
    if (!(value instanceof TensorRef)) {
      const where = wrapped ? "state_dict entry" : "checkpoint has no 'state_dict' and its entry";
      fail(`${where} "${printable(key)}" is a ${pyTypeName(value)}, not a tensor`);
    }
    const ref = value as TensorRef;
    total += ref.numel * dtypeSize[ref.dtype];
    const raw = ref.storage.raw;
    const other = firstUser.get(raw);
    if (other === undefined) firstUser.set(raw, key as string);
    else aliased ??= [other, key as string];
    if (aliased && total > budget) {
      fail(
        `state_dict tensors hold more than ${budget} bytes (${MAX_EXPANSION}x the ${fileBytes}-byte file + 1 MiB) because ` +
          `entries alias the same storage ("${printable(aliased[0], 60)}" and "${printable(aliased[1], 60)}", ...); refusing to expand them`,
      );
    }
    tensors.set(key, storedTensor(key, ref));
  }
  const meta = wrapped && top.has("meta") ? toPlainData(top.get("meta"), source) : undefined;
  return { format, stateDict: reviseKeys(tensors), meta };
}

/** mmcv's load_checkpoint default revise_keys [(r'^module\.', '')]; later keys win on clashes */
function reviseKeys(tensors: Map<string, StoredTensor>): Map<string, StoredTensor> {
  const out = new Map<string, StoredTensor>();
  for (const [key, tensor] of tensors) {
    const revised = key.startsWith("module.") ? key.slice("module.".length) : key;
    out.set(revised, revised === key ? tensor : { ...tensor, key: revised });
  }
  return out;
}
