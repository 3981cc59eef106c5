// Loads @ffmpeg/core (FFmpeg 5.1 compiled to WASM, single thread) outside a browser.
// The module is built for a browser worker: at start it reads `self.location.href` (Node 20
// has no `self`; Bun and Deno have no `self.location`) and fetches its .wasm (Node's fetch
// cannot read file: URLs). So: `self.location` is defined only around the synchronous factory
// call, and the .wasm — found next to the module through the directory the module passes to
// its locateFile hook, which works for node_modules and for Deno's npm cache alike — is read
// and compiled here and handed over through Emscripten's `instantiateWasm` hook.

import { readFile } from "node:fs/promises";

/** The parts of the Emscripten module this package uses. */
export interface FfmpegCore {
  FS: EmscriptenFS;
  exec(...args: string[]): number;
  ffprobe(...args: string[]): number;
  reset(): void;
  setLogger(logger: (m: { type: "stdout" | "stderr"; message: string }) => void): void;
}

export interface EmscriptenNode {
  node_ops: Record<string, (...args: never[]) => unknown>;
}

export interface EmscriptenStream {
  position: number;
  node: EmscriptenNode;
}

export interface DeviceOps {
  open?(stream: EmscriptenStream): void;
  close?(stream: EmscriptenStream): void;
  read?(stream: EmscriptenStream, buffer: Int8Array, offset: number, length: number, position: number): number;
  write?(stream: EmscriptenStream, buffer: Int8Array, offset: number, length: number, position: number): number;
  llseek?(stream: EmscriptenStream, offset: number, whence: number): number;
}

export interface EmscriptenFS {
  makedev(major: number, minor: number): number;
  registerDevice(dev: number, ops: DeviceOps): void;
  mkdev(path: string, mode: number, dev: number): EmscriptenNode;
  mkdir(path: string): void;
  unlink(path: string): void;
  lookupPath(path: string): { node: EmscriptenNode };
  writeFile(path: string, data: Uint8Array): void;
  ErrnoError: new (errno: number) => Error;
}

type CoreFactory = (moduleArg: Record<string, unknown>) => Promise<FfmpegCore>;

const compiled = new Map<string, Promise<WebAssembly.Module>>();

function compileOnce(url: string): Promise<WebAssembly.Module> {
  let p = compiled.get(url);
  if (!p) {
    p = readFile(new URL(url)).then((bytes) => WebAssembly.compile(bytes));
    compiled.set(url, p);
  }
  return p;
}

/** Run `fn` with `self.location` defined (and `self` itself, where the runtime has none). */
function withSelfLocation<T>(href: string, fn: () => T): T {
  const g = globalThis as Record<string, unknown>;
  const hadSelf = "self" in g;
  if (!hadSelf) Object.defineProperty(g, "self", { value: g, configurable: true, writable: true });
  const self = g.self as Record<string, unknown>;
  const saved = Object.getOwnPropertyDescriptor(self, "location");
  Object.defineProperty(self, "location", { value: { href }, configurable: true, writable: true });
  try {
    return fn();
  } finally {
    if (saved) Object.defineProperty(self, "location", saved);
    else delete self.location;
    if (!hadSelf) delete g.self;
  }
}

/** A fresh FFmpeg instance. Its exec/ffprobe are synchronous: call this in a worker. */
export async function loadFfmpegCore(): Promise<FfmpegCore> {
  const { default: createCore } = (await import("@ffmpeg/core")) as { default: CoreFactory };
  let directory: string | undefined;
  let coreLocateFile: ((path: string, prefix: string) => string) | undefined;
  const moduleArg: Record<string, unknown> = {
    instantiateWasm(imports: WebAssembly.Imports, receive: (instance: WebAssembly.Instance) => void) {
      if (!directory) throw new Error("@ffmpeg/core did not report where it lives");
      compileOnce(new URL("ffmpeg-core.wasm", directory).href)
        .then((module) => WebAssembly.instantiate(module, imports))
        .then(receive, (e) => rejectReady(e));
      return {};
    },
  };
  // The factory installs its own locateFile on this object and calls it with the module's
  // directory (from its import.meta.url); wrapping it is how that directory is learned.
  const wrapper = (path: string, prefix: string) => {
    directory ??= prefix;
    return coreLocateFile ? coreLocateFile(path, prefix) : prefix + path;
  };
  Object.defineProperty(moduleArg, "locateFile", {
    configurable: true,
    enumerable: true,
    get: () => wrapper,
    set: (fn: (path: string, prefix: string) => string) => {
      if (fn !== wrapper) coreLocateFile = fn;
    },
  });
  let rejectReady: (e: unknown) => void = () => {};
  const failed = new Promise<never>((_, reject) => (rejectReady = reject));
  const ready = withSelfLocation("file:///", () => createCore(moduleArg));
  return Promise.race([ready, failed]);
}
