#!/usr/bin/env node
// npm bin shim: run the TypeScript CLI (i3d.ts) on Node through the type-stripping hooks.
import { register } from "node:module";
register("../tools/ts-hooks.js", import.meta.url);
await import("../i3d.ts");
