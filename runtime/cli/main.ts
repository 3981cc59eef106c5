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
