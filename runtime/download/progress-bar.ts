// A one-line progress bar on stderr for long waits (checkpoint downloads, video decoding,
// `i3d test` over many videos). Drawn only when stderr is a terminal, so logs and pipes never
// see control characters; redrawn at most every `minIntervalMs`; erased when done.

/** What a long operation reports to. `total` is unknown when omitted. */
export interface ProgressSink {
  start(total?: number): void;
  update(done: number): void;
  done(): void;
}

export const noProgress: ProgressSink = { start() {}, update() {}, done() {} };

/** The slice of a stream the bar needs (process.stderr in real use; a fake in tests). */
export interface ProgressStream {
  isTTY?: boolean;
  columns?: number;
  write(text: string): unknown;
}

export interface ProgressBarOptions {
  /** printed before the bar, e.g. the file name or "decode" */
  label: string;
  /** "bytes" formats sizes and rates as kB/MB/GB; any other word is printed after plain counts */
  unit?: string;
  stream?: ProgressStream;
  minIntervalMs?: number;
  /** clock in ms (tests inject one) */
  now?: () => number;
}

const CLEAR_LINE = "\r\x1b[K";
const WIDEST_TAIL = " 100% 999.9 MB/999.9 MB 999.9 MB/s ETA 9:59:59".length;

/** A progress bar on `stream` (default stderr), or `noProgress` when the stream is not a TTY. */
export function createProgressBar(opts: ProgressBarOptions): ProgressSink {
  const stream: ProgressStream = opts.stream ?? process.stderr;
  if (!stream.isTTY) return noProgress;
  const unit = opts.unit ?? "bytes";
  const minInterval = opts.minIntervalMs ?? 100;
  const now = opts.now ?? (() => performance.now());

  let total: number | undefined;
  // The rate is measured from the first update, so a resumed download (whose first update is
  // the size already on disk) does not report the old bytes as this run's speed.
  let baseline: { count: number; at: number } | undefined;
  let lastDrawAt = -Infinity;
  let drawn = false;
  let count = 0;

  function draw(): void {
    const elapsed = baseline ? (now() - baseline.at) / 1000 : 0;
    const rate = baseline && elapsed > 0 ? (count - baseline.count) / elapsed : 0;
    const amount = total !== undefined ? `${formatCount(count, unit)}/${formatCount(total, unit)}` : formatCount(count, unit);
    const rateText = rate > 0 ? `${formatCount(rate, unit)}/s` : "";
    const eta = total !== undefined && rate > 0 && count < total ? `ETA ${formatDuration((total - count) / rate)}` : "";
    const width = Math.max(20, (stream.columns ?? 80) - 1);
    let line: string;
    if (total !== undefined && total > 0) {
      const fraction = Math.min(1, count / total);
      const pct = `${Math.floor(fraction * 100)}%`.padStart(4);
      const tail = ` ${pct} ${amount} ${rateText} ${eta}`.trimEnd();
      // a long label (a zoo file name is ~60 characters) gives way to a bar of at least 10
      // (measured against the widest tail, so the label does not jitter as the rate changes)
      const label = shorten(opts.label, width - Math.max(tail.length, WIDEST_TAIL) - 13);
      const barWidth = Math.max(0, Math.min(30, width - label.length - tail.length - 3));
      const filled = Math.round(fraction * barWidth);
      const bar = barWidth > 0 ? ` [${"#".repeat(filled)}${"-".repeat(barWidth - filled)}]` : "";
      line = `${label}${bar}${tail}`;
    } else {
      line = `${opts.label} ${amount} ${rateText}`.trimEnd();
    }
    stream.write(CLEAR_LINE + line.slice(0, width));
    drawn = true;
    lastDrawAt = now();
  }

  return {
    start(t?: number) {
      total = t !== undefined && Number.isFinite(t) && t >= 0 ? t : undefined;
      baseline = undefined;
      count = 0;
      draw();
    },
    update(done: number) {
      count = done;
      if (!baseline) baseline = { count: done, at: now() };
      if (now() - lastDrawAt >= minInterval) draw();
    },
    done() {
      if (drawn) stream.write(CLEAR_LINE);
      drawn = false;
    },
  };
}

/** "long_name_20200614-c25ef9a4.pth" -> "long_na…c25ef9a4.pth" when over `max` characters. */
function shorten(text: string, max: number): string {
  if (text.length <= max) return text;
  if (max < 5) return text.slice(0, Math.max(0, max));
  const tail = Math.ceil((max - 1) / 2);
  return `${text.slice(0, max - 1 - tail)}…${text.slice(text.length - tail)}`;
}

/** 1234567 bytes -> "1.2 MB"; other units -> "120 frames". */
export function formatCount(n: number, unit: string): string {
  if (unit !== "bytes") return `${Math.round(n)} ${unit}`;
  const steps = ["B", "kB", "MB", "GB", "TB"];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < steps.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${Math.round(v)} B` : `${v.toFixed(1)} ${steps[i]}`;
}

/** seconds -> "m:ss" (or "h:mm:ss"). */
export function formatDuration(seconds: number): string {
  const s = Math.max(0, Math.round(seconds));
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, "0");
  return h > 0 ? `${h}:${String(m).padStart(2, "0")}:${ss}` : `${m}:${ss}`;
}
