// A local HTTP server for the download tests (127.0.0.1, an ephemeral port): serves generated
// bytes with switchable misbehaviour (no Range support, a dropped connection, a stall, a lying
// Content-Length, error statuses) and logs every request so tests can count them.

import { createHash } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";

export interface LoggedRequest {
  path: string;
  range: string | undefined;
  ifRange: string | undefined;
  status: number;
}

export interface FileBehaviour {
  bytes: Uint8Array;
  /** answer Range requests with 206 (default true) */
  honourRange?: boolean;
  etag?: string;
  /** on a full (200) response: send this many bytes, then drop the connection */
  dropAfter?: number;
  /** on a full (200) response: send this many bytes, then go silent */
  stallAfter?: number;
  /** never send the response headers */
  stallBeforeHeaders?: boolean;
  /** announce this many bytes more in Content-Length than exist, send what exists, then close */
  extraLength?: number;
  /** ms to wait between 16 KiB chunks */
  chunkDelayMs?: number;
  /** answer with this status (and a short text body) instead */
  status?: number;
}

export interface TestServer {
  origin: string;
  requests: LoggedRequest[];
  /** what to answer for a path; undefined -> 404 */
  routes: Map<string, FileBehaviour>;
  close(): Promise<void>;
}

/** Deterministic pseudo-random bytes (xorshift), so hashes are stable but content is not trivial. */
export function generatedBytes(n: number, seed = 1): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    out[i] = x & 0xff;
  }
  return out;
}

export function sha256Hex(bytes: Uint8Array): string {
  return createHash("sha256").update(bytes).digest("hex");
}

/** An MMAction2-style name whose hash part matches `bytes`. */
export function zooName(bytes: Uint8Array, stem = "x"): string {
  return `${stem}_20200101-${sha256Hex(bytes).slice(0, 8)}.pth`;
}

export async function startServer(): Promise<TestServer> {
  const requests: LoggedRequest[] = [];
  const routes = new Map<string, FileBehaviour>();
  const open = new Set<ServerResponse>();
  const timers = new Set<ReturnType<typeof setTimeout>>();
  const later = (ms: number, f: () => void) => {
    const t = setTimeout(() => {
      timers.delete(t);
      f();
    }, ms);
    timers.add(t);
  };

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    open.add(res);
    res.on("close", () => open.delete(res));
    const path = new URL(req.url ?? "/", "http://x").pathname;
    const log: LoggedRequest = {
      path,
      range: req.headers.range,
      ifRange: req.headers["if-range"] as string | undefined,
      status: 0,
    };
    requests.push(log);
    const route = routes.get(path);
    const head = (status: number, headers: Record<string, string | number>) => {
      log.status = status;
      res.writeHead(status, headers);
    };
    if (!route) {
      head(404, { "content-type": "text/plain" });
      res.end("not found");
      return;
    }
    if (route.status !== undefined) {
      head(route.status, { "content-type": "text/plain" });
      res.end("nope");
      return;
    }
    if (route.stallBeforeHeaders) return;

    const { bytes } = route;
    const etag = route.etag ?? `"${sha256Hex(bytes).slice(0, 16)}"`;
    let start = 0;
    const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? "");
    const ifRangeOk = log.ifRange === undefined || log.ifRange === etag;
    if (m && route.honourRange !== false && ifRangeOk) {
      start = Number(m[1]);
      if (start >= bytes.length) {
        head(416, { "content-range": `bytes */${bytes.length}` });
        res.end();
        return;
      }
      head(206, {
        "content-length": bytes.length - start,
        "content-range": `bytes ${start}-${bytes.length - 1}/${bytes.length}`,
        etag,
      });
    } else {
      head(200, { "content-length": bytes.length + (route.extraLength ?? 0), etag, "accept-ranges": "bytes" });
    }

    const full = start === 0;
    const stopAt = full && route.dropAfter !== undefined ? route.dropAfter : full && route.stallAfter !== undefined ? route.stallAfter : bytes.length;
    let pos = start;
    const step = () => {
      if (res.destroyed) return;
      const end = Math.min(stopAt, pos + 16384);
      if (end > pos) res.write(bytes.subarray(pos, end));
      pos = end;
      if (pos < stopAt) {
        if (route.chunkDelayMs) later(route.chunkDelayMs, step);
        else step();
        return;
      }
      if (full && route.dropAfter !== undefined) later(30, () => res.destroy());
      else if (full && route.stallAfter !== undefined) return; // silence until the client gives up
      else if (route.extraLength) later(30, () => res.destroy());
      else res.end();
    };
    step();
  });

  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    requests,
    routes,
    async close() {
      for (const t of timers) clearTimeout(t);
      for (const res of open) res.destroy();
      server.closeAllConnections?.();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
