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

export class I3DError extends Error {
  readonly kind: I3DErrorKind;

  constructor(kind: I3DErrorKind, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "I3DError";
    this.kind = kind;
  }
}

export function isI3DError(e: unknown): e is I3DError {
  return e instanceof I3DError;
}
