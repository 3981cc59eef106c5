// Bugs the fuzzer found that are not fixed yet, each with the signature of its BUG outcomes.
// The short fuzz run in the default suite (fuzz.test.ts) counts matching outcomes as KNOWN
// instead of failing, so that it keeps catching new bugs meanwhile. Each has a reproducer among
// the hostile cases (hostile-cases.ts, `knownBug: id`), run by known-bugs.test.ts with
// I3D_FUZZ_KNOWN=1. When a bug is fixed: delete its entry here and the `knownBug` mark of its
// case, so that both the hostile case and any fuzz outcome that still matches fail loudly.

import type { FuzzInput, TargetName } from "./fuzz-input.ts";
import type { Outcome } from "./oracle.ts";

export interface KnownBug {
  id: string;
  /** where it is and what goes wrong */
  summary: string;
  matches(target: TargetName, input: FuzzInput, outcome: Outcome): boolean;
}

const text = (input: FuzzInput) => new TextDecoder().decode(input.bytes);
/** frames of the parser itself (deepCopy in the same file is a value walker) */
const parserFrames = /(Parser|Tokenizer)\.\w+ \(models\/config\/py-parser\.ts/;
const stackOverflow = (o: Outcome) => o.bug === "exception" && /RangeError: Maximum call stack size exceeded/.test(o.detail);

export const knownBugs: KnownBug[] = [
  {
    id: "zip-inflate-unbounded",
    summary: "models/checkpoint/zip-reader.ts: a deflated record inflates to up to 1032x the archive (a genuine bomb: 32 KiB -> 32 MiB data.pkl), bounded only by the deflate ratio, not by the file size",
    matches: (_t, _i, o) => o.bug === "allocation" && /zlib\.inflateRawSync/.test(o.detail),
  },
  {
    id: "state-dict-aliasing-amplification",
    summary: "models/checkpoint/pth-reader.ts: any number of state_dict entries may view one storage (memo references), so a 200 KiB file can expand to gigabytes when every tensor is converted (i3dc convert writes them all)",
    matches: (_t, _i, o) => o.bug === "inconsistent" && /entries alias one storage/.test(o.detail),
  },
  {
    id: "npy-unsafe-dimension",
    summary: "models/npy.ts: shape dimensions of 16 digits beyond 2^53 are accepted (rounded) when another dimension is 0: (0, 9999999999999999) loads as shape [0, 10000000000000000]",
    matches: (t, _i, o) => t === "npy" && o.bug === "inconsistent" && /is not a shape/.test(o.detail) && /\d{16,}/.test(o.detail),
  },
  {
    id: "py-config-recursion",
    summary: "models/config/py-parser.ts: the recursive-descent parser has no nesting limit: `x = [[[...]]]` 5000 deep (or 200000 unary minuses) overflows the stack with a RangeError",
    matches: (t, _i, o) => t === "config" && stackOverflow(o) && parserFrames.test(o.where ?? ""),
  },
  {
    id: "config-deep-values",
    summary: "models/config/{issues,load-config,py-parser}.ts: config values are walked recursively (pyRepr's reprInner, deepCopy, mergeConfig, substituteBaseVars, zod): a .json config nested 100000 deep overflows the stack with a RangeError",
    matches: (t, _i, o) => t === "config" && stackOverflow(o) && !parserFrames.test(o.where ?? ""),
  },
  {
    id: "py-config-reference-blowup",
    summary: "models/config/py-parser.ts: every reference to an earlier name is deep-copied, so `a = [0]*10 spelled out; b = [a, a, ...]; c = [b, b, ...]` ... grows 10x per line: ten lines hang and exhaust memory ('billion laughs')",
    matches: (t, i, o) => t === "config" && (o.bug === "hang" || o.bug === "crash") && /^([a-z]) = \[(?:\w+, ){3,}/m.test(text(i)),
  },
  {
    id: "config-stage-blocks-unbounded",
    summary: "models/config/schema.ts + model-spec-from-config.ts: stage_blocks entries have no upper bound; with inflate/non_local given per stage, Array.from({length: 2^31}) hangs and kills the process (V8 heap out of memory)",
    matches: (t, i, o) => t === "config" && (o.bug === "hang" || o.bug === "crash") && /stage_blocks["']?\s*[=:]\s*\[[^\]]*\d{7,}/.test(text(i)),
  },
  {
    id: "config-base-fan-out",
    summary: "models/config/load-config.ts: _base_ files are loaded once per mention, so 7 levels of 10 (key-less) bases each mean 10^6 file loads: a hang",
    matches: (t, i, o) => t === "config" && o.bug === "hang" && /_base_/.test(text(i)) && Object.keys((i.options?.extraFiles ?? {}) as object).length > 0,
  },
  {
    id: "safetensors-dtype-to-string",
    summary: "models/checkpoint/safetensors.ts:95 formats a non-string dtype with String(): {\"F32\": 1} reads 'unsupported dtype [object Object]', {\"toString\": 1} throws a TypeError (Cannot convert object to primitive value) and an array nested 10000 deep a RangeError",
    matches: (_t, _i, o) =>
      (o.bug === "message" && /unsupported dtype .*\[object Object\]/.test(o.detail)) ||
      (o.bug === "exception" && /^(RangeError: Maximum call stack|TypeError: Cannot convert object to primitive value)/.test(o.detail) && /safetensors\.ts/.test(o.where ?? "")),
  },
  {
    id: "legacy-protocol-to-string",
    summary: "models/checkpoint/pth-reader.ts readLegacyFormat formats the protocol-version pickle with String(): a list nested 10000 deep there (after a valid magic number) overflows the stack with a RangeError, and a string with a newline breaks the one-line message",
    matches: (_t, _i, o) =>
      (o.bug === "exception" && /^RangeError: Maximum call stack/.test(o.detail) && /readLegacyFormat/.test(o.where ?? "")) ||
      (o.bug === "message" && /has legacy protocol version/.test(o.detail)),
  },
  {
    id: "checkpoint-message-raw-text",
    summary: "models/checkpoint/pth-reader.ts (persistent id kind) and allowed-globals.ts (_codecs.encode encoding): strings from the pickle go into messages without printable(), so a newline or U+2028 in them breaks the one-line message and a 70000-character one makes a 70 KB message",
    matches: (t, _i, o) => t !== "config" && t !== "annotations" && o.bug === "message" && /persistent id|_codecs\.encode/.test(o.detail),
  },
  {
    id: "config-json-error-multiline",
    summary: "models/config/load-config.ts parseText: the JSON.parse message is copied into the I3DError, and V8 quotes the offending source text there, newlines included",
    matches: (t, _i, o) => t === "config" && o.bug === "message" && /is not valid JSON/.test(o.detail),
  },
  {
    id: "annotations-json-error-multiline",
    summary: "runtime/eval/annotations.ts readJsonAnnotations: the JSON.parse message is copied into the I3DError, and V8 quotes the offending text there, line breaks included",
    matches: (t, _i, o) => t === "annotations" && o.bug === "message" && /not valid JSON/.test(o.detail),
  },
  {
    id: "config-message-raw-text",
    summary: "models/config/{py-parser,load-config}.ts: messages quote source text and paths as they are: U+2028 (which NAME_RE accepts in names) breaks the line, and a 70000-character _base_ path gives a 70 KB message",
    matches: (t, _i, o) => t === "config" && o.bug === "message" && !/is not valid JSON/.test(o.detail),
  },
];

export function knownBugFor(target: TargetName, input: FuzzInput, outcome: Outcome): string | undefined {
  return knownBugs.find((b) => b.matches(target, input, outcome))?.id;
}
