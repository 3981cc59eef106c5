// The fuzzer's mutators, in one place. All are seeded (rng.ts: every input is a pure function
// of seed, target and index) and return the new bytes with a note of what they did.
//   byte-mutations.ts         bit flips, byte insert / delete / duplicate, truncation, splicing
//                             two inputs, boundary integers (0, 1, -1, 2^31-1, 2^32-1, 2^53,
//                             2^63 ...) as little-endian words, LEB128 or ASCII decimal
//   zip-mutations.ts          boundary values in local / central / zip64 / end-record length,
//                             size, offset and count fields; entry-level changes re-packed with
//                             valid CRCs (stored or deflated, aligned or not, zip64 or not);
//                             deflate bombs; overlapping records
//   pickle-mutations.ts       a disassembler, then opcode-argument boundary values, opcode
//                             deletion / duplication / swaps, inserted GLOBAL / STACK_GLOBAL /
//                             REDUCE / BUILD / INST / OBJ / NEWOBJ payloads naming dangerous
//                             callables, memo index tricks, MARK / LIST / TUPLE / dict nesting
//   safetensors-mutations.ts  header length, shapes, dtypes, data_offsets (overlapping, out of
//                             range, reversed), names, __metadata__, the data section
//   npy-mutations.ts          version, header length, shape products that overflow (ASCII),
//                             descr, fortran_order, duplicate keys, data length
//   json-mutations.ts         JSON-aware node changes and text-level duplicate keys, huge
//                             literals, deep nesting (safetensors headers, .json configs and lists)
//   py-mutations.ts           token swaps / duplicates / deletions, huge numbers, long and odd
//                             strings, deep nesting, statements the data-only parser must refuse
//   line-mutations.ts         annotation lists: lines and fields, boundary integers, odd
//                             whitespace and line ends, invalid UTF-8, long lines
// Meaning-preserving rewrites (for the metamorphic check in oracle.ts): repack (zip),
// reorderSafetensors, reencodeNpy, respellLines, and the config re-spellings in targets.ts.

export { boundaryInts, byteMutations, mutateBytes, splice, writeIntLE } from "./byte-mutations.ts";
export { mutateZipEntries, mutateZipField, overlapEntries, repack, unpack, zipFields } from "./zip-mutations.ts";
export { deepNesting, disassemble, disassembleAll, hostileSnippet, memoSnippet, mutatePickle, nestingSnippet } from "./pickle-mutations.ts";
export { mutateSafetensors, reorderSafetensors } from "./safetensors-mutations.ts";
export { mutateNpy, reencodeNpy } from "./npy-mutations.ts";
export { mutateJsonText, mutateJsonValue } from "./json-mutations.ts";
export { mutatePy } from "./py-mutations.ts";
export { mutateLines, respellLines } from "./line-mutations.ts";
