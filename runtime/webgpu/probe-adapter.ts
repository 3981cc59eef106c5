// What `--backend auto` needs to know before it commits to a backend — is there a WebGPU
// adapter, and is it hardware? — asked in a short-lived child process under Node and Bun.
// Dawn prints warnings on stderr while it enumerates some adapters (lavapipe's limits trigger
// two); in the child they are swallowed, so a CPU-only machine, which ends up on WASM anyway,
// never loads Dawn into the main process and never shows them. Deno and browsers have
// navigator.gpu and are asked directly.

import { spawn } from "node:child_process";
import { detectRuntime } from "./acquire-gpu.ts";

export interface AdapterProbe {
  found: boolean;
  software?: boolean;
  description?: string;
  error?: string;
}

const SOFTWARE = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render|\bwarp\b/i;

const SCRIPT = (webgpuUrl: string) => `
const { create } = await import(${JSON.stringify(webgpuUrl)});
const out = (o) => { process.stdout.write(JSON.stringify(o)); process.exit(0); };
try {
  const gpu = create([]);
  const a = await gpu.requestAdapter({ powerPreference: "high-performance" });
  if (!a) out({ found: false, error: "no WebGPU adapter found" });
  const i = a.info ?? {};
  out({ found: true, fallback: !!(a.isFallbackAdapter ?? i.isFallbackAdapter),
    text: [i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(" ") });
} catch (e) { out({ found: false, error: String(e && e.message || e) }); }
`;

/** Under Node/Bun: asks a child process; undefined elsewhere (ask navigator.gpu directly). */
export async function probeAdapterQuietly(timeoutMs = 20_000): Promise<AdapterProbe | undefined> {
  const runtime = detectRuntime();
  if (runtime !== "node" && runtime !== "bun") return undefined;
  let webgpuUrl: string;
  try {
    webgpuUrl = import.meta.resolve("webgpu");
  } catch (e) {
    return { found: false, error: `the 'webgpu' package is not installed (${(e as Error).message})` };
  }
  const args = runtime === "node" ? ["--input-type=module", "-e", SCRIPT(webgpuUrl)] : ["-e", SCRIPT(webgpuUrl)];
  return await new Promise<AdapterProbe>((resolve) => {
    const child = spawn(process.execPath, args, { stdio: ["ignore", "pipe", "ignore"] });
    let stdout = "";
    child.stdout.on("data", (d) => (stdout += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      resolve({ found: false, error: `the WebGPU probe did not answer within ${timeoutMs / 1000} s` });
    }, timeoutMs);
    child.on("error", (e) => {
      clearTimeout(timer);
      resolve({ found: false, error: e.message });
    });
    child.on("close", () => {
      clearTimeout(timer);
      try {
        const r = JSON.parse(stdout) as { found: boolean; fallback?: boolean; text?: string; error?: string };
        if (!r.found) return resolve({ found: false, error: r.error });
        resolve({ found: true, software: !!r.fallback || SOFTWARE.test(r.text ?? ""), description: r.text });
      } catch {
        resolve({ found: false, error: "the WebGPU probe crashed" });
      }
    });
  });
}
