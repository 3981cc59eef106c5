#!/usr/bin/env node
// Runs a TypeScript file under Node: `node tools/node-ts.js file.ts args...`.
// Registers the esbuild type-stripping hooks, then imports the file.
import { register } from "node:module";
import { pathToFileURL } from "node:url";
import { resolve } from "node:path";

register("./ts-hooks.js", import.meta.url);
const [entry, ...rest] = process.argv.slice(2);
if (!entry) {
  process.stderr.write("usage: node tools/node-ts.js <file.ts> [args...]\n");
  process.exit(2);
}
process.argv = [process.argv[0], resolve(entry), ...rest];
await import(pathToFileURL(resolve(entry)).href);
