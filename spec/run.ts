// The test runner: imports every spec/**/*.test.ts (or those whose path contains one of the
// command-line arguments) into one uvu queue and runs it. Works under Node (through
// tools/node-ts.js), Bun and Deno.
//   npm test                      all suites
//   npm test -- pickle zoo        only files whose path contains "pickle" or "zoo"

import { readdirSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

const specDir = fileURLToPath(new URL(".", import.meta.url));

function findTests(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir).sort()) {
    const path = join(dir, entry);
    if (entry === "fixtures" || entry === "reference" || entry === "node_modules") continue;
    if (statSync(path).isDirectory()) out.push(...findTests(path));
    else if (entry.endsWith(".test.ts")) out.push(path);
  }
  return out;
}

const filters = process.argv.slice(2).filter((a) => !a.startsWith("-"));
const files = findTests(specDir).filter(
  (f) => filters.length === 0 || filters.some((p) => relative(specDir, f).includes(p)),
);
if (files.length === 0) {
  console.error(`no test files match ${filters.join(" ")}`);
  process.exit(1);
}

const g = globalThis as unknown as { UVU_DEFER: number; UVU_INDEX: number; UVU_QUEUE: unknown[][] };
g.UVU_DEFER = 1;
const uvu = await import("uvu");
let index = 0;
for (const file of files) {
  g.UVU_INDEX = index++;
  g.UVU_QUEUE.push([relative(specDir, file)]);
  await import(pathToFileURL(file).href);
}
await (uvu as unknown as { exec(bail?: boolean): Promise<void> }).exec(false);
