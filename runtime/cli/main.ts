// How a CLI ends: results on stdout, `error: <one line>` on stderr and a non-zero exit for
// anything that goes wrong. A stack trace is only printed with I3D_DEBUG=1. The process exits
// explicitly: Dawn (npm webgpu) and worker pools otherwise keep Node alive.

import process from "node:process";
import { I3DError } from "../../models/errors.ts";

export const EXIT_USAGE = 2;

export async function runMain(main: (argv: string[]) => Promise<number | void>): Promise<never> {
  let code = 0;
  try {
    code = (await main(process.argv.slice(2))) ?? 0;
  } catch (e) {
    code = reportError(e);
  }
  await flush();
  process.exit(code);
}

export type Command = (argv: string[]) => Promise<number>;

/**
 * A CLI of subcommands (`<program> <command> [options]`): `--help`, `-h` or `help` print the
 * usage (exit 0; no command at all prints it and exits 2), an unknown command is a usage error.
 */
export function runCommands(program: string, usage: string, commands: Record<string, Command>): Promise<never> {
  return runMain(async (argv) => {
    const [command, ...rest] = argv;
    if (!command || command === "--help" || command === "-h" || command === "help") {
      process.stdout.write(`${usage}\n`);
      return command ? 0 : EXIT_USAGE;
    }
    const run = Object.hasOwn(commands, command) ? commands[command] : undefined;
    if (!run) throw new I3DError("usage", `unknown command "${command}" (see ${program} --help)`);
    return run(rest);
  });
}

export function reportError(e: unknown): number {
  const debug = !!process.env.I3D_DEBUG;
  if (e instanceof I3DError) {
    // messages may already say which kind of error they are ("config error: ...")
    process.stderr.write(/^[a-z]+ error: /.test(e.message) ? `${e.message}\n` : `error: ${e.message}\n`);
    if (debug && e.stack) process.stderr.write(`${e.stack}\n`);
    return e.kind === "usage" ? EXIT_USAGE : 1;
  }
  const message = e instanceof Error ? e.message : String(e);
  process.stderr.write(`internal error: ${message.split("\n")[0]} (this is a bug; rerun with I3D_DEBUG=1 for details)\n`);
  if (debug && e instanceof Error && e.stack) process.stderr.write(`${e.stack}\n`);
  return 70;
}

/** waits until stdout and stderr have handed their buffers to the OS */
function flush(): Promise<void> {
  const drain = (s: NodeJS.WriteStream) =>
    new Promise<void>((resolve) => (s.writableNeedDrain ? s.once("drain", () => resolve()) : resolve()));
  return Promise.all([drain(process.stdout), drain(process.stderr)]).then(() => undefined);
}
