// `node --import ./tools/register-ts.js file.ts` runs a TypeScript entry point on Node 20.
import { register } from "node:module";
register("./ts-hooks.js", import.meta.url);
