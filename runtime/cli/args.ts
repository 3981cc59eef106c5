// Command-line parsing on node:util's parseArgs (present in Node, Bun and Deno), with its
// errors turned into one-line usage errors.

import { parseArgs, type ParseArgsConfig } from "node:util";
import { type CfgOptions, parseCfgOptions } from "../../models/config/cfg-options.ts";
import { I3DError } from "../../models/errors.ts";

export type OptionSpec = NonNullable<ParseArgsConfig["options"]>;

export function parseCommand<O extends OptionSpec>(argv: string[], options: O, usage: string) {
  try {
    return parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (e) {
    let msg = e instanceof Error ? e.message.split("\n")[0] : String(e);
    // "-3" after an option reads as an option to parseArgs; say what is wrong in our words
    const ambiguous = /Option '(--[\w-]+)[^']*' argument is ambiguous/.exec(msg);
    if (ambiguous) msg = `${ambiguous[1]} needs a value (a value starting with "-" is not accepted)`;
    throw new I3DError("usage", `${msg.replace(/\. To specify a positional.*$/, "")} (usage: ${usage})`);
  }
}

export function intOption(value: string | undefined, name: string, min = 1): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new I3DError("usage", `--${name} must be an integer >= ${min}, got "${value}"`);
  return n;
}

/** --precision: "f32" (default, exact) or "f16" (WebGPU's fast path) */
export function precisionOption(value: string | undefined): "f32" | "f16" {
  const precision = value ?? "f32";
  if (precision !== "f32" && precision !== "f16") throw new I3DError("usage", `--precision must be f32 or f16, got "${precision}"`);
  return precision;
}

/**
 * Takes `flag` and the words after it up to the next `--option` (argparse's nargs='+'; also
 * `flag=value` as one word) out of argv. Repeated, the last one wins.
 */
export function takeWords(argv: string[], flag: string, usage: string): { rest: string[]; words: string[] | undefined } {
  let rest = argv;
  let words: string[] | undefined;
  const at = () => rest.findIndex((w) => w === flag || w.startsWith(`${flag}=`));
  for (let i = at(); i >= 0; i = at()) {
    let j = i + 1;
    if (rest[i] === flag) {
      while (j < rest.length && !rest[j].startsWith("--")) j++;
      words = rest.slice(i + 1, j);
    } else {
      words = [rest[i].slice(flag.length + 1)];
    }
    if (words.length === 0) throw new I3DError("usage", `${flag} needs one or more values (usage: ${usage})`);
    rest = [...rest.slice(0, i), ...rest.slice(j)];
  }
  return { rest, words };
}

/** `--cfg-options KEY=VALUE ...` (MMAction2's tools/test.py and demo.py), taken out of argv */
export function takeCfgOptions(argv: string[], usage: string): { rest: string[]; cfgOptions: CfgOptions | undefined } {
  const { rest, words } = takeWords(argv, "--cfg-options", usage);
  return { rest, cfgOptions: words && parseCfgOptions(words) };
}
