// Node module hooks that let Node 20 run this package's TypeScript sources unchanged
// (Bun and Deno run them natively). Types are stripped with esbuild; nothing is bundled,
// so stack traces and import.meta.url stay those of the .ts files.
import { readFile } from "node:fs/promises";
import { transform } from "esbuild";

export async function load(url, context, nextLoad) {
  if (!url.startsWith("file:") || !/\.(c|m)?ts$/.test(new URL(url).pathname)) {
    return nextLoad(url, context);
  }
  const source = await readFile(new URL(url), "utf8");
  const { code } = await transform(source, {
    loader: "ts",
    format: "esm",
    target: "node20",
    sourcemap: "inline",
    sourcefile: new URL(url).pathname,
  });
  return { format: "module", source: code, shortCircuit: true };
}
