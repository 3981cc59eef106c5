// Runs one of the package's CLIs as a user would, under Node (through bin/), Bun or Deno,
// and collects exit code, stdout and stderr.

import { spawn } from "node:child_process";
import { fileURLToPath } from "node:url";

export const ROOT = fileURLToPath(new URL("../../", import.meta.url));
export type Runtime = "node" | "bun" | "deno";

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function commandFor(runtime: Runtime, cli: "i3d" | "i3dc", args: string[]): [string, string[]] {
  const bin = `${ROOT}node_modules/.bin/`;
  switch (runtime) {
    case "node": return [process.execPath, [`${ROOT}bin/${cli}.js`, ...args]];
    case "bun": return [`${bin}bun`, [`${ROOT}${cli}.ts`, ...args]];
    case "deno": return [`${bin}deno`, ["run", "-A", `${ROOT}${cli}.ts`, ...args]];
  }
}

export function runCli(
  runtime: Runtime, cli: "i3d" | "i3dc", args: string[],
  opts: { env?: Record<string, string | undefined>; timeoutMs?: number; cwd?: string; input?: string } = {},
): Promise<CliResult> {
  const [cmd, argv] = commandFor(runtime, cli, args);
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, argv, {
      cwd: opts.cwd ?? ROOT,
      env: { ...process.env, NO_COLOR: "1", ...opts.env },
      stdio: ["pipe", "pipe", "pipe"],
    });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${runtime} ${cli} ${args.join(" ")} timed out; stderr: ${stderr}`));
    }, opts.timeoutMs ?? 120_000);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(opts.input ?? "");
  });
}
