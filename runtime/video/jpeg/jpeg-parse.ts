// Baseline and extended-sequential JPEG (SOF0/SOF1, 8-bit, Huffman): markers, tables and the
// entropy-coded scans, decoded into quantized DCT coefficients per component. Interleaved and
// single-component scans and restart intervals are handled. Anything else (progressive,
// arithmetic coding, lossless, 12-bit) raises UnsupportedJpegError so the caller can fall
// back to FFmpeg. Corrupt entropy data is treated as libjpeg treats it: missing bits read as
// zeros.

export class UnsupportedJpegError extends Error {}
export class CorruptJpegError extends Error {}

/** Zigzag position -> natural (row-major) position. */
export const ZIGZAG = new Uint8Array([
  0, 1, 8, 16, 9, 2, 3, 10, 17, 24, 32, 25, 18, 11, 4, 5, 12, 19, 26, 33, 40, 48, 41, 34, 27, 20, 13, 6, 7, 14, 21,
  28, 35, 42, 49, 56, 57, 50, 43, 36, 29, 22, 15, 23, 30, 37, 44, 51, 58, 59, 52, 45, 38, 31, 39, 46, 53, 60, 61,
  54, 47, 55, 62, 63,
]);

export interface JpegComponent {
  id: number;
  h: number;
  v: number;
  tq: number;
  /** blocks per line / column, padded to whole MCUs */
  blocksPerLine: number;
  blocksPerColumn: number;
  /** coefficients, 64 per block, natural order */
  coefs: Int16Array;
  /** quantization table (natural order) captured when the frame was decoded */
  quant: Uint16Array;
}

export interface JpegFrame {
  width: number;
  height: number;
  maxH: number;
  maxV: number;
  components: JpegComponent[];
  sawJfif: boolean;
  adobeTransform: number | null;
  /** EXIF orientation tag (1 = as stored) */
  orientation: number;
}

interface HuffmanTable {
  /** 9-bit lookahead: (length << 8) | value, 0 when the code is longer */
  fast: Uint16Array;
  maxcode: Int32Array;
  valptr: Int32Array;
  mincode: Int32Array;
  values: Uint8Array;
}

const LOOKAHEAD = 9;

function buildHuffman(counts: Uint8Array, values: Uint8Array): HuffmanTable {
  const maxcode = new Int32Array(18).fill(-1);
  const valptr = new Int32Array(17);
  const mincode = new Int32Array(17);
  const fast = new Uint16Array(1 << LOOKAHEAD);
  let code = 0;
  let k = 0;
  for (let len = 1; len <= 16; len++) {
    valptr[len] = k;
    mincode[len] = code;
    for (let i = 0; i < counts[len - 1]; i++) {
      if (len <= LOOKAHEAD) {
        const shift = LOOKAHEAD - len;
        const base = code << shift;
        for (let j = 0; j < 1 << shift; j++) fast[base + j] = (len << 8) | values[k];
      }
      code++;
      k++;
    }
    maxcode[len] = counts[len - 1] ? code - 1 : -1;
    if (code > 1 << len) throw new CorruptJpegError("bad Huffman table");
    code <<= 1;
  }
  maxcode[17] = 0x7fffffff;
  return { fast, maxcode, valptr, mincode, values };
}

/** Bit reader over entropy-coded data: skips stuffed zeros, stops (reading zeros) at markers. */
class BitReader {
  pos: number;
  private acc = 0;
  private bits = 0;
  hitMarker = false;

  constructor(private readonly data: Uint8Array, start: number) {
    this.pos = start;
  }

  private fill(): void {
    while (this.bits <= 24) {
      let byte = 0;
      if (!this.hitMarker && this.pos < this.data.length) {
        byte = this.data[this.pos];
        if (byte === 0xff) {
          const next = this.data[this.pos + 1];
          if (next === 0) this.pos += 2;
          else {
            this.hitMarker = true;
            byte = 0;
          }
        } else this.pos++;
      }
      this.acc = ((this.acc << 8) | byte) >>> 0;
      this.bits += 8;
    }
  }

  peek(n: number): number {
    if (this.bits < n) this.fill();
    return (this.acc >>> (this.bits - n)) & ((1 << n) - 1);
  }

  skip(n: number): void {
    // bits above the count are never read (peek masks), and shift out on refill
    this.bits -= n;
  }

  read(n: number): number {
    if (n === 0) return 0;
    const v = this.peek(n);
    this.skip(n);
    return v;
  }

  decode(t: HuffmanTable): number {
    const look = this.peek(LOOKAHEAD);
    const f = t.fast[look];
    if (f) {
      this.skip(f >> 8);
      return f & 0xff;
    }
    let code = this.read(LOOKAHEAD);
    let len = LOOKAHEAD;
    while (code > t.maxcode[len]) {
      code = (code << 1) | this.read(1);
      len++;
      if (len > 16) return 0; // corrupt: libjpeg warns and uses 0
    }
    return t.values[t.valptr[len] + code - t.mincode[len]];
  }

  /** Byte-align and consume an expected RSTn marker (resynchronize like libjpeg if absent). */
  restart(): void {
    this.acc = 0;
    this.bits = 0;
    this.hitMarker = false;
    while (this.pos + 1 < this.data.length) {
      if (this.data[this.pos] === 0xff && this.data[this.pos + 1] >= 0xd0 && this.data[this.pos + 1] <= 0xd7) {
        this.pos += 2;
        return;
      }
      if (this.data[this.pos] === 0xff && this.data[this.pos + 1] !== 0 && this.data[this.pos + 1] !== 0xff) return;
      this.pos++;
    }
  }

  /** Position of the next marker after the scan. */
  end(): number {
    let p = this.pos;
    while (p + 1 < this.data.length && !(this.data[p] === 0xff && this.data[p + 1] !== 0 && !(this.data[p + 1] >= 0xd0 && this.data[p + 1] <= 0xd7))) p++;
    return p;
  }
}

function extend(v: number, s: number): number {
  return v < 1 << (s - 1) ? v - (1 << s) + 1 : v;
}

function readExifOrientation(data: Uint8Array, start: number, end: number): number {
  // "Exif\0\0" then a TIFF header
  if (end - start < 14 || String.fromCharCode(...data.subarray(start, start + 4)) !== "Exif") return 1;
  const t = start + 6;
  const little = data[t] === 0x49;
  const u16 = (p: number) => (little ? data[p] | (data[p + 1] << 8) : (data[p] << 8) | data[p + 1]);
  const u32 = (p: number) => (little ? (data[p] | (data[p + 1] << 8) | (data[p + 2] << 16)) + data[p + 3] * 2 ** 24 : data[p] * 2 ** 24 + ((data[p + 1] << 16) | (data[p + 2] << 8) | data[p + 3]));
  const ifd = t + u32(t + 4);
  if (ifd + 2 > end) return 1;
  const n = u16(ifd);
  for (let i = 0; i < n; i++) {
    const e = ifd + 2 + i * 12;
    if (e + 12 > end) break;
    if (u16(e) === 0x0112) {
      const v = u16(e + 8);
      return v >= 1 && v <= 8 ? v : 1;
    }
  }
  return 1;
}

/** Parse a JPEG file and entropy-decode all its scans. */
export function parseJpeg(data: Uint8Array): JpegFrame {
  if (data.length < 4 || data[0] !== 0xff || data[1] !== 0xd8) throw new CorruptJpegError("not a JPEG file (no SOI marker)");
  const quant: (Uint16Array | undefined)[] = [];
  const dcTables: (HuffmanTable | undefined)[] = [];
  const acTables: (HuffmanTable | undefined)[] = [];
  let frame: JpegFrame | null = null;
  let restartInterval = 0;
  let sawJfif = false;
  let adobeTransform: number | null = null;
  let orientation = 1;
  let scans = 0;
  let pos = 2;
  for (;;) {
    // find the next marker (libjpeg skips garbage bytes with a warning)
    while (pos < data.length && data[pos] !== 0xff) pos++;
    while (pos < data.length && data[pos] === 0xff) pos++;
    if (pos >= data.length) {
      if (frame && scans > 0) return frame; // missing EOI: libjpeg warns and keeps the image
      throw new CorruptJpegError("truncated JPEG file");
    }
    const marker = data[pos++];
    if (marker === 0xd9) break; // EOI
    if (marker >= 0xd0 && marker <= 0xd7) continue; // stray RST
    if (marker === 0x01) continue; // TEM
    if (pos + 2 > data.length) throw new CorruptJpegError("truncated JPEG file");
    const len = (data[pos] << 8) | data[pos + 1];
    const seg = pos + 2;
    const segEnd = pos + len;
    if (len < 2 || segEnd > data.length) throw new CorruptJpegError("truncated JPEG segment");
    switch (marker) {
      case 0xe0:
        if (len >= 7 && String.fromCharCode(...data.subarray(seg, seg + 5)) === "JFIF\0") sawJfif = true;
        break;
      case 0xe1:
        orientation = readExifOrientation(data, seg, segEnd);
        break;
      case 0xee:
        if (len >= 14 && String.fromCharCode(...data.subarray(seg, seg + 5)) === "Adobe") adobeTransform = data[seg + 11];
        break;
      case 0xdb: {
        let p = seg;
        while (p < segEnd) {
          const pq = data[p] >> 4;
          const tq = data[p] & 15;
          p++;
          const table = new Uint16Array(64);
          for (let k = 0; k < 64; k++) {
            table[ZIGZAG[k]] = pq ? (data[p] << 8) | data[p + 1] : data[p];
            p += pq ? 2 : 1;
          }
          quant[tq] = table;
        }
        break;
      }
      case 0xc4: {
        let p = seg;
        while (p < segEnd) {
          const tc = data[p] >> 4;
          const th = data[p] & 15;
          const counts = data.subarray(p + 1, p + 17);
          let total = 0;
          for (const c of counts) total += c;
          const values = data.subarray(p + 17, p + 17 + total);
          (tc === 0 ? dcTables : acTables)[th] = buildHuffman(counts, values);
          p += 17 + total;
        }
        break;
      }
      case 0xdd:
        restartInterval = (data[seg] << 8) | data[seg + 1];
        break;
      case 0xc0:
      case 0xc1: {
        if (frame) throw new CorruptJpegError("two SOF markers");
        if (data[seg] !== 8) throw new UnsupportedJpegError(`${data[seg]}-bit JPEG`);
        const height = (data[seg + 1] << 8) | data[seg + 2];
        const width = (data[seg + 3] << 8) | data[seg + 4];
        const n = data[seg + 5];
        if (!width || !height) throw new UnsupportedJpegError("JPEG with the height in a DNL marker");
        if (n !== 1 && n !== 3) throw new UnsupportedJpegError(`JPEG with ${n} components`);
        const comps: JpegComponent[] = [];
        for (let i = 0; i < n; i++) {
          const b = seg + 6 + i * 3;
          const h = data[b + 1] >> 4;
          const v = data[b + 1] & 15;
          if (h < 1 || h > 4 || v < 1 || v > 4) throw new CorruptJpegError("bad sampling factors");
          comps.push({ id: data[b], h, v, tq: data[b + 2], blocksPerLine: 0, blocksPerColumn: 0, coefs: new Int16Array(0), quant: new Uint16Array(64) });
        }
        const maxH = Math.max(...comps.map((c) => c.h));
        const maxV = Math.max(...comps.map((c) => c.v));
        const mcusX = Math.ceil(width / (8 * maxH));
        const mcusY = Math.ceil(height / (8 * maxV));
        for (const c of comps) {
          c.blocksPerLine = mcusX * c.h;
          c.blocksPerColumn = mcusY * c.v;
          c.coefs = new Int16Array(c.blocksPerLine * c.blocksPerColumn * 64);
        }
        frame = { width, height, maxH, maxV, components: comps, sawJfif, adobeTransform, orientation };
        break;
      }
      case 0xc2:
      case 0xc6:
      case 0xca:
      case 0xce:
        throw new UnsupportedJpegError("progressive JPEG");
      case 0xc3:
      case 0xc5:
      case 0xc7:
      case 0xc9:
      case 0xcb:
      case 0xcd:
      case 0xcf:
        throw new UnsupportedJpegError("lossless, hierarchical or arithmetic-coded JPEG");
      case 0xda: {
        if (!frame) throw new CorruptJpegError("scan before the frame header");
        const ns = data[seg];
        const scanComps: { c: JpegComponent; dc: HuffmanTable; ac: HuffmanTable }[] = [];
        for (let i = 0; i < ns; i++) {
          const id = data[seg + 1 + i * 2];
          const tables = data[seg + 2 + i * 2];
          const c = frame.components.find((x) => x.id === id);
          const dc = dcTables[tables >> 4];
          const ac = acTables[tables & 15];
          if (!c || !dc || !ac) throw new CorruptJpegError("scan refers to a missing component or table");
          const q = quant[c.tq];
          if (!q) throw new CorruptJpegError("missing quantization table");
          c.quant = q;
          scanComps.push({ c, dc, ac });
        }
        frame.sawJfif = sawJfif;
        frame.adobeTransform = adobeTransform;
        frame.orientation = orientation;
        pos = decodeScan(data, segEnd, frame, scanComps, restartInterval);
        scans++;
        continue;
      }
      default:
        break; // APPn, COM and the like
    }
    pos = segEnd;
  }
  if (!frame || scans === 0) throw new CorruptJpegError("JPEG without image data");
  return frame;
}

function decodeBlock(br: BitReader, coefs: Int16Array, offset: number, dc: HuffmanTable, ac: HuffmanTable, pred: Int32Array, ci: number): void {
  const t = br.decode(dc);
  const diff = t === 0 ? 0 : extend(br.read(t), t);
  pred[ci] += diff;
  coefs[offset] = pred[ci];
  for (let k = 1; k < 64;) {
    const rs = br.decode(ac);
    const s = rs & 15;
    const r = rs >> 4;
    if (s === 0) {
      if (r !== 15) break;
      k += 16;
      continue;
    }
    k += r;
    if (k > 63) break;
    coefs[offset + ZIGZAG[k]] = extend(br.read(s), s);
    k++;
  }
}

function decodeScan(
  data: Uint8Array,
  start: number,
  frame: JpegFrame,
  comps: { c: JpegComponent; dc: HuffmanTable; ac: HuffmanTable }[],
  restartInterval: number,
): number {
  const br = new BitReader(data, start);
  const pred = new Int32Array(comps.length);
  let todo = restartInterval;
  const restart = () => {
    br.restart();
    pred.fill(0);
    todo = restartInterval;
  };
  if (comps.length === 1) {
    // non-interleaved: only the component's real blocks, no MCU padding
    const { c, dc, ac } = comps[0];
    const bw = Math.ceil(Math.ceil((frame.width * c.h) / frame.maxH) / 8);
    const bh = Math.ceil(Math.ceil((frame.height * c.v) / frame.maxV) / 8);
    for (let by = 0; by < bh; by++) {
      for (let bx = 0; bx < bw; bx++) {
        if (restartInterval && todo === 0) restart();
        decodeBlock(br, c.coefs, (by * c.blocksPerLine + bx) * 64, dc, ac, pred, 0);
        todo--;
      }
    }
  } else {
    const mcusX = Math.ceil(frame.width / (8 * frame.maxH));
    const mcusY = Math.ceil(frame.height / (8 * frame.maxV));
    for (let my = 0; my < mcusY; my++) {
      for (let mx = 0; mx < mcusX; mx++) {
        if (restartInterval && todo === 0) restart();
        for (let ci = 0; ci < comps.length; ci++) {
          const { c, dc, ac } = comps[ci];
          for (let v = 0; v < c.v; v++) {
            for (let h = 0; h < c.h; h++) {
              const row = my * c.v + v;
              const col = mx * c.h + h;
              decodeBlock(br, c.coefs, (row * c.blocksPerLine + col) * 64, dc, ac, pred, ci);
            }
          }
        }
        todo--;
      }
    }
  }
  return br.end();
}
