// Lines of a text file as Python's `for line in open(path)` yields them (universal newlines:
// "\n", "\r\n" and a lone "\r" all end a line; a last line without a terminator still counts),
// streamed in chunks so a million-line annotation list never sits in memory at once, and with a
// cap on line length so a binary file fed by mistake fails fast instead of filling memory.

import { open } from "node:fs/promises";
import { I3DError } from "../../models/errors.ts";

export interface ReadLinesOptions {
  /** longest line accepted, in characters (default 64 Ki) */
  maxLineLength?: number;
  /** read size in bytes (default 64 KiB; tests use tiny chunks to cross every boundary) */
  chunkBytes?: number;
}

export interface NumberedLine {
  /** 1-based, as an editor shows it */
  lineNo: number;
  /** the text without its terminator */
  text: string;
}

/** Stream the lines of `file`; I3DError("io") if it cannot be read, ("input") if not UTF-8 text. */
export async function* readLines(file: string, opts: ReadLinesOptions = {}): AsyncGenerator<NumberedLine> {
  const maxLine = opts.maxLineLength ?? 65536;
  const chunkBytes = opts.chunkBytes ?? 65536;
  let handle;
  try {
    handle = await open(file, "r");
  } catch (e) {
    throw new I3DError("io", `cannot open annotation file ${file}: ${(e as Error).message}`, { cause: e });
  }
  // a leading BOM is dropped (Python's "utf-8" would keep it as part of the first path)
  const decoder = new TextDecoder("utf-8", { fatal: true });
  const buffer = new Uint8Array(chunkBytes);
  let pending = ""; // text after the last line break seen
  let lineNo = 0;
  try {
    for (;;) {
      let bytesRead: number;
      try {
        ({ bytesRead } = await handle.read(buffer, 0, chunkBytes, null));
      } catch (e) {
        throw new I3DError("io", `cannot read annotation file ${file}: ${(e as Error).message}`, { cause: e });
      }
      const eof = bytesRead === 0;
      let text: string;
      try {
        text = eof ? decoder.decode() : decoder.decode(buffer.subarray(0, bytesRead), { stream: true });
      } catch (e) {
        // name the line that holds the first bad byte (the chunk's earlier lines are fine)
        const loose = pending + new TextDecoder("utf-8").decode(buffer.subarray(0, bytesRead));
        const bad = loose.indexOf("\uFFFD");
        const breaks = bad < 0 ? 0 : (loose.slice(0, bad).match(/\r\n|\r|\n/g)?.length ?? 0);
        throw new I3DError("input", `${file}:${lineNo + 1 + breaks}: not UTF-8 text`, { cause: e });
      }
      // pending holds no line break but perhaps a trailing "\r": scan only from there on, so a
      // long line read in small chunks costs linear, not quadratic, time
      const breaks = /\r\n|\r|\n/g;
      breaks.lastIndex = Math.max(0, pending.length - 1);
      pending += text;
      let start = 0;
      for (let m = breaks.exec(pending); m; m = breaks.exec(pending)) {
        // "\r" as the last character may be the first half of a "\r\n" split across chunks
        if (m[0] === "\r" && m.index === pending.length - 1 && !eof) break;
        lineNo++;
        if (m.index - start > maxLine) throw new I3DError("input", `${file}:${lineNo}: line longer than ${maxLine} characters`);
        yield { lineNo, text: pending.slice(start, m.index) };
        start = m.index + m[0].length;
      }
      pending = pending.slice(start);
      if (pending.length > maxLine + 1) throw new I3DError("input", `${file}:${lineNo + 1}: line longer than ${maxLine} characters`);
      if (eof) {
        if (pending.length > 0) yield { lineNo: ++lineNo, text: pending };
        return;
      }
    }
  } finally {
    await handle.close();
  }
}
