import { test } from "uvu";
import * as assert from "uvu/assert";
import { createProgressBar, formatCount, formatDuration, noProgress } from "../../runtime/download/progress-bar.ts";

function fakeTerminal(isTTY: boolean) {
  const writes: string[] = [];
  let t = 0;
  return {
    writes,
    stream: { isTTY, columns: 100, write: (s: string) => writes.push(s) },
    now: () => t,
    advance: (ms: number) => {
      t += ms;
    },
  };
}

test("no TTY: nothing is written at all", () => {
  const term = fakeTerminal(false);
  const bar = createProgressBar({ label: "x.pth", stream: term.stream, now: term.now });
  assert.is(bar, noProgress);
  bar.start(100);
  bar.update(50);
  bar.done();
  assert.equal(term.writes, []);
});

test("bytes: percent, sizes, rate and ETA; cleared at the end", () => {
  const term = fakeTerminal(true);
  const bar = createProgressBar({ label: "x.pth", unit: "bytes", stream: term.stream, now: term.now });
  bar.start(10_000_000);
  bar.update(0);
  term.advance(1000);
  bar.update(2_500_000);
  const line = term.writes[term.writes.length - 1];
  assert.ok(line.startsWith("\r\x1b[K"), "each draw rewrites the line");
  assert.match(line, /^\r\x1b\[Kx\.pth \[#+-+\]  25% 2\.5 MB\/10\.0 MB 2\.5 MB\/s ETA 0:03$/);
  assert.ok(line.length - 4 <= 99, "fits the terminal");
  bar.done();
  assert.is(term.writes[term.writes.length - 1], "\r\x1b[K");
});

test("a long label is shortened in the middle so the bar still shows", () => {
  const term = fakeTerminal(true);
  const label = "i3d_nl_embedded_gaussian_r50_32x2x1_100e_kinetics400_rgb_20200813-6e6aef1b.pth";
  const bar = createProgressBar({ label, stream: term.stream, now: term.now });
  bar.start(28_000_000);
  term.advance(200);
  bar.update(14_000_000);
  const line = term.writes[term.writes.length - 1].slice(4);
  assert.ok(line.length <= 99, line);
  assert.match(line, /^i3d_nl_.*….*6e6aef1b\.pth \[#{5,}-{5,}\]  50% 14\.0 MB\/28\.0 MB$/);
});

test("redraws at most every minIntervalMs", () => {
  const term = fakeTerminal(true);
  const bar = createProgressBar({ label: "decode", unit: "frames", stream: term.stream, now: term.now, minIntervalMs: 100 });
  bar.start(300);
  const afterStart = term.writes.length;
  for (let i = 1; i <= 300; i++) {
    term.advance(10); // 3 s in all, 300 updates
    bar.update(i);
  }
  const draws = term.writes.length - afterStart;
  assert.ok(draws >= 29 && draws <= 31, `${draws} draws for 3 s`);
  assert.match(term.writes[term.writes.length - 1], /decode \[#+\] 100% 300 frames\/300 frames 100 frames\/s/);
});

test("a resumed download's first update does not count toward the rate", () => {
  const term = fakeTerminal(true);
  const bar = createProgressBar({ label: "x", stream: term.stream, now: term.now });
  bar.start(100_000_000);
  bar.update(90_000_000); // the part already on disk
  term.advance(2000);
  bar.update(92_000_000);
  assert.match(term.writes[term.writes.length - 1], / 1\.0 MB\/s ETA 0:08$/);
});

test("unknown total: count and rate only", () => {
  const term = fakeTerminal(true);
  const bar = createProgressBar({ label: "test", unit: "videos", stream: term.stream, now: term.now });
  bar.start();
  bar.update(0);
  term.advance(2000);
  bar.update(4);
  assert.is(term.writes[term.writes.length - 1], "\r\x1b[Ktest 4 videos 2 videos/s");
});

test("formatters", () => {
  assert.is(formatCount(999, "bytes"), "999 B");
  assert.is(formatCount(1_500, "bytes"), "1.5 kB");
  assert.is(formatCount(123_456_789, "bytes"), "123.5 MB");
  assert.is(formatCount(12.4, "views"), "12 views");
  assert.is(formatDuration(65), "1:05");
  assert.is(formatDuration(3725), "1:02:05");
});

test.run();
