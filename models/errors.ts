// The package's one error type. Everything a user can cause (a bad config, a hostile or
// truncated checkpoint, a corrupt video, no GPU) is reported as an I3DError with a one-line
// message; the CLIs print `error: <message>` and exit non-zero, never a stack trace.
// Any other exception type escaping the package is a bug.

export type I3DErrorKind =
  | "config"
  | "checkpoint"
  | "weights"
  | "video"
  | "input"
  | "device"
  | "download"
  | "usage"
  | "io"
  | "internal";

/**
 * A message as one line: messages often embed what a dependency said, and drivers (Dawn puts
 * its C++ call site on a second line), FFmpeg and the OS may say it over several lines. Stack
 * frames ("at f (file:line)") are dropped, the other lines joined with "; ".
 */
export function oneLine(message: string): string {
  return message.split(/\r\n|\r|\n/).map((l) => l.trim())
    .filter((l) => l && !/^at (?:.+ \(.*\)|\S+:\d+(?::\d+)?)$/.test(l))
    .join("; ");
}

export class I3DError extends Error {
  readonly kind: I3DErrorKind;

  constructor(kind: I3DErrorKind, message: string, options?: { cause?: unknown }) {
    super(oneLine(message), options);
    this.name = "I3DError";
    this.kind = kind;
  }
}

export function isI3DError(e: unknown): e is I3DError {
  return e instanceof I3DError;
}
