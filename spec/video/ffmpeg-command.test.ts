// The pure parts of the FFmpeg plumbing: select expressions, ffprobe parsing, command lines,
// message cleaning, and the swscale coefficients of the yuv420p converter.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";
import { decodeArgs, lastLine, parseProbe } from "../../runtime/video/ffmpeg-command.ts";
import { arithmeticRuns, runsContain, selectExpression } from "../../runtime/video/select-expression.ts";
import { yuv2rgbTables, yuv420pFrameBytes, yuv420pToRgb } from "../../runtime/video/yuv420-to-rgb.ts";

const test = suite("video/ffmpeg-command");

test("arithmetic runs cover exactly the wanted frames", () => {
  let seed = 99;
  const rand = () => (seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32;
  for (let trial = 0; trial < 50; trial++) {
    const n = 50 + Math.floor(rand() * 3000);
    const wanted = new Set<number>();
    const stride = 1 + Math.floor(rand() * 5);
    for (let i = Math.floor(rand() * 10); i < n; i += stride) if (rand() < 0.9) wanted.add(i);
    const sorted = [...wanted].sort((a, b) => a - b);
    const runs = arithmeticRuns(sorted);
    for (let i = 0; i < n; i++) assert.is(runsContain(runs, i), wanted.has(i), `frame ${i}`);
  }
});

test("select expression: runs as between/mod terms, summed as a balanced tree", () => {
  assert.is(selectExpression([7]), "eq(n,7)");
  assert.is(selectExpression([3, 4, 5, 6]), "between(n,3,6)");
  assert.is(selectExpression([10, 12, 14]), "between(n,10,14)*not(mod(n-10,2))");
  assert.is(selectExpression([1, 2, 3, 10, 20]), "(between(n,1,3)+between(n,10,20)*not(mod(n-10,10)))");
  // 2000 scattered frames: nesting depth stays logarithmic
  const many = Array.from({ length: 2000 }, (_, i) => i * i);
  const expr = selectExpression(many);
  let depth = 0, maxDepth = 0;
  for (const ch of expr) {
    if (ch === "(") maxDepth = Math.max(maxDepth, ++depth);
    if (ch === ")") depth--;
  }
  assert.ok(maxDepth < 20, `depth ${maxDepth}`);
});

const probeJson = (stream: Record<string, unknown> | null) => JSON.stringify({ programs: [], streams: stream ? [stream] : [] });

test("ffprobe output: packets, sizes, rotation, output format choice", () => {
  const p = parseProbe(probeJson({ codec_name: "h264", width: 340, height: 256, pix_fmt: "yuv420p", avg_frame_rate: "28/1", nb_read_packets: "280" }), "a.mp4", "");
  assert.is(p.packets, 280);
  assert.is(p.fps, 28);
  assert.equal(p.output, { kind: "yuv420p", pixFmt: "yuv420p", matrix: "bt601", fullRange: false });
  const r = parseProbe(probeJson({ width: 96, height: 64, pix_fmt: "yuvj420p", color_space: "bt709", nb_read_packets: "3", side_data_list: [{ rotation: -90 }] }), "b.mp4", "");
  assert.is(r.rotation, 90);
  assert.is(r.width, 64);
  assert.is(r.height, 96);
  assert.equal(r.output, { kind: "yuv420p", pixFmt: "yuvj420p", matrix: "bt709", fullRange: true });
  const odd = parseProbe(probeJson({ width: 97, height: 63, pix_fmt: "yuv420p", nb_read_packets: "3" }), "c.mkv", "");
  assert.equal(odd.output, { kind: "rgb24" });
  assert.equal(parseProbe(probeJson({ width: 8, height: 8, pix_fmt: "yuv444p", nb_read_packets: "1" }), "d", "").output, { kind: "rgb24" });
});

test("ffprobe failures become one-line video errors naming the file", () => {
  const cases: [string, string, RegExp][] = [
    [probeJson(null), "", /x.wav: no video stream/],
    [probeJson({ width: 8, height: 8, nb_read_packets: "0" }), "", /no frames/],
    [probeJson({ nb_read_packets: "4" }), "", /no frame size/],
    ["", "x.wav: Invalid data found when processing input\n", /^x.wav: Invalid data found when processing input$/],
    ["", "/i3d/input-3.mp4: Invalid data found when processing input\nAborted()\n", /^x.wav: Invalid data found/],
  ];
  for (const [json, stderr, re] of cases) {
    const e = (() => { try { parseProbe(json, "x.wav", stderr); } catch (x) { return x; } })();
    assert.ok(e instanceof I3DError && e.kind === "video");
    assert.match((e as Error).message, re);
  }
  assert.is(lastLine("a\nb\n\n"), "b");
  assert.is(lastLine(""), undefined);
});

test("decode command: select, passthrough timing (-vsync on old ffmpeg), frame limit, raw output", () => {
  const probe = parseProbe(probeJson({ width: 16, height: 8, pix_fmt: "yuv420p", nb_read_packets: "9" }), "v.mp4", "");
  const args = decodeArgs("in.mp4", "pipe:1", [1, 2, 3], probe, true);
  const s = args.join(" ");
  assert.match(s, /-vf select='between\(n,1,3\)'/);
  assert.match(s, /-fps_mode passthrough/);
  assert.match(s, /-frames:v 3/);
  assert.match(s, /-pix_fmt yuv420p -f rawvideo -y pipe:1$/);
  assert.match(decodeArgs("in", "out", [0], probe, false).join(" "), /-vsync passthrough/);
  const rgb = parseProbe(probeJson({ width: 16, height: 8, pix_fmt: "yuv422p", nb_read_packets: "9" }), "v", "");
  assert.match(decodeArgs("in", "out", [0], rgb, true).join(" "), /-sws_flags bicubic\+accurate_rnd\+bitexact -pix_fmt rgb24/);
});

test("yuv420p -> RGB: swscale's coefficients and fixed-point arithmetic", () => {
  // limited range BT.601: Y 16 -> 0, Y 235 -> 255 at neutral chroma; full range: identity
  const t = yuv2rgbTables("bt601", false);
  const frame = (y: number, u: number, v: number) => {
    const b = new Uint8Array(yuv420pFrameBytes(2, 2));
    b.fill(y, 0, 4);
    b[4] = u;
    b[5] = v;
    return yuv420pToRgb(b, 2, 2, t).slice(0, 3);
  };
  assert.equal([...frame(16, 128, 128)], [0, 0, 0]);
  assert.equal([...frame(235, 128, 128)], [255, 255, 255]);
  assert.equal([...frame(126, 128, 128)], [128, 128, 128]);
  // BT.601 limited-range red
  assert.equal([...frame(81, 90, 240)], [253, 0, 0]); // what ffmpeg 5.1 (x86) prints for this pixel
  const full = yuv2rgbTables("bt601", true);
  for (const y of [0, 77, 200, 255]) assert.is(full.y[y], y);
  assert.is(yuv420pFrameBytes(97, 63), 97 * 63 + 2 * 49 * 32);
});

test.run();
