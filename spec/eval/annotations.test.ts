import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";
import { type AnnotationOptions, loadAnnotations, pythonPathJoin, readAnnotations } from "../../runtime/eval/annotations.ts";
import { readLines } from "../../runtime/eval/read-lines.ts";

const test = suite("eval annotations");
const dir = mkdtempSync(join(tmpdir(), "i3d-ann-"));
let n = 0;

function file(content: string | Uint8Array, ext = ".txt"): string {
  const path = join(dir, `list${n++}${ext}`);
  writeFileSync(path, content);
  return path;
}

async function rejects(p: Promise<unknown>, kind: string, message: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, I3DError);
    assert.is((e as I3DError).kind, kind, (e as Error).message);
    assert.match((e as Error).message, message);
    return;
  }
  assert.unreachable(`no error (expected ${message})`);
}

const video: AnnotationOptions = { format: "video" };
const frames: AnnotationOptions = { format: "rawframes" };

test("video list: whitespace-split, CRLF, tabs, no final newline; start_index 0", async () => {
  const path = file("a.mp4 3\n  b/c.mp4\t12  \r\nd.mp4 +0\r\ne.mp4 0_7");
  const items = await loadAnnotations(path, video);
  assert.equal(
    items.map((i) => [i.path, i.label, i.source]),
    [
      ["a.mp4", 3, `${path}:1`],
      ["b/c.mp4", 12, `${path}:2`],
      ["d.mp4", 0, `${path}:3`],
      ["e.mp4", 7, `${path}:4`], // Python's int() reads "0_7" as 7
    ],
  );
  assert.ok(items.every((i) => i.format === "video" && i.startIndex === 0 && i.totalFrames === undefined));
});

test("labels and frame counts in any script's decimal digits, as Python's int() reads them", async () => {
  // int("٣") == 3, int("１２") == 12 (fullwidth), int("𝟗") == 9 (mathematical bold), int("-0") == 0
  const items = await loadAnnotations(file("a.mp4 \u0663\nb.mp4 \uff11\uff12\nc.mp4 \u{1d7d7}\nd.mp4 -0\ne.mp4 \u0967_\u0966\n"), video);
  assert.equal(items.map((i) => i.label), [3, 12, 9, 0, 10]);
  assert.ok(Object.is(items[3].label, 0), "not -0");
  const rawframes = await loadAnnotations(file("d \u09e9\u09e6 \u0e52\n"), frames);
  assert.equal([rawframes[0].totalFrames, rawframes[0].label], [30, 2]);
  await rejects(loadAnnotations(file("a.mp4 \u00b2\n"), video), "input", /is not an integer/); // superscript two: not Nd
});

test("data_prefix: joined like os.path.join, realpath'd when it is a directory", async () => {
  const real = join(dir, "videos");
  mkdirSync(real);
  const link = join(dir, "videos-link");
  symlinkSync(real, link);
  const path = file("x.mp4 1\n/abs/y.mp4 2\n");
  const viaLink = await loadAnnotations(path, { ...video, dataPrefix: link });
  assert.equal(viaLink.map((i) => i.path), [`${real}/x.mp4`, "/abs/y.mp4"]);
  // a prefix that is not a directory is used as given, no normalisation
  const missing = await loadAnnotations(path, { ...video, dataPrefix: "data/./kinetics" });
  assert.is(missing[0].path, "data/./kinetics/x.mp4");
  assert.is(pythonPathJoin("data/", "x.mp4"), "data/x.mp4");
  assert.is(pythonPathJoin("", "x.mp4"), "x.mp4");
});

test("video list errors name file:line", async () => {
  await rejects(loadAnnotations(file("a.mp4 1\n\nb.mp4 2\n"), video), "input", /list\d+\.txt:2: blank line/);
  await rejects(loadAnnotations(file("a.mp4 1\n   \t\n"), video), "input", /:2: blank line/);
  await rejects(loadAnnotations(file("a.mp4 1 2\n"), video), "input", /:1: expected "<video> <label>", got 3 fields/);
  await rejects(loadAnnotations(file("a.mp4 1\nb.mp4\n"), video), "input", /:2: expected "<video> <label>", got 1 field$/);
  await rejects(loadAnnotations(file("a.mp4 one\n"), video), "input", /:1: label "one" is not an integer/);
  await rejects(loadAnnotations(file("a.mp4 1.5\n"), video), "input", /label "1\.5" is not an integer/);
  await rejects(loadAnnotations(file("a.mp4 1__0\n"), video), "input", /label "1__0" is not an integer/);
  await rejects(loadAnnotations(file("a.mp4 -1\n"), video), "input", /:1: label -1 is negative/);
  await rejects(loadAnnotations(file(""), video), "input", /annotation list is empty/);
  await rejects(loadAnnotations(join(dir, "nope.txt"), video), "io", /cannot open annotation file .*nope\.txt/);
});

test("multi_class video lists: every field after the path is a label (none is allowed)", async () => {
  const path = file("a.mp4 1 3 5\nb.mp4\n");
  const items = await loadAnnotations(path, { ...video, multiClass: true, numClasses: 6 });
  assert.equal(items.map((i) => i.label), [[1, 3, 5], []]);
  await rejects(loadAnnotations(path, { ...video, multiClass: true }), "usage", /need num_classes/);
  await rejects(loadAnnotations(path, { ...video, multiClass: true, numClasses: 5 }), "input", /:1: label 5 is not below num_classes 5/);
});

test("rawframe list: frame_dir total_frames label; start_index 1, img_{:05}.jpg", async () => {
  const items = await loadAnnotations(file("train/abc 300 5\ntrain/def 12 0\n"), { ...frames, dataPrefix: "root" });
  assert.equal(items[0], {
    source: items[0].source,
    format: "rawframes",
    path: "root/train/abc",
    label: 5,
    startIndex: 1,
    filenameTmpl: "img_{:05}.jpg",
    totalFrames: 300,
  });
  assert.is(items[1].totalFrames, 12);
  const custom = await loadAnnotations(file("d 10 1\n"), { ...frames, startIndex: 0, filenameTmpl: "{:06}.png" });
  assert.is(custom[0].startIndex, 0);
  assert.is(custom[0].filenameTmpl, "{:06}.png");
});

test("rawframe list with_offset and multi_class", async () => {
  const [item] = await loadAnnotations(file("d 40 300 5\n"), { ...frames, withOffset: true });
  assert.equal([item.offset, item.totalFrames, item.label], [40, 300, 5]);
  const multi = await loadAnnotations(file("d 300 1 2\ne 30 7\n"), { ...frames, multiClass: true, numClasses: 8 });
  assert.equal(multi.map((i) => i.label), [[1, 2], [7]]);
  await rejects(loadAnnotations(file("d 300\n"), { ...frames, multiClass: true, numClasses: 8 }), "input", /:1: expected "<frame_dir> <total_frames> <label>", got 2 fields/);
  await rejects(loadAnnotations(file("a.mp4 1\n"), { ...video, withOffset: true }), "usage", /rawframe lists only/);
});

test("rawframe list errors", async () => {
  await rejects(loadAnnotations(file("d 300 1 2\n"), frames), "input", /:1: expected "<frame_dir> <total_frames> <label>", got 4 fields/);
  await rejects(loadAnnotations(file("d 300\n"), frames), "input", /got 2 fields/);
  await rejects(loadAnnotations(file("d x300 1\n"), frames), "input", /:1: total_frames "x300" is not an integer/);
  await rejects(loadAnnotations(file("d 1 300 1\nd 300 1\n"), { ...frames, withOffset: true }), "input", /:2: expected "<frame_dir> <offset> <total_frames> <label>", got 3 fields/);
  await rejects(loadAnnotations(file("d -4 300 1\n"), { ...frames, withOffset: true }), "input", /offset -4 is negative/);
});

test("line breaks as Python reads them: \\n, \\r\\n and a lone \\r, across any chunk boundary", async () => {
  const text = "a 1\r\nb 2\rc 3\n\r\nd 4";
  for (const chunkBytes of [1, 2, 3, 5, 64]) {
    const lines = [];
    for await (const l of readLines(file(text), { chunkBytes })) lines.push([l.lineNo, l.text]);
    assert.equal(lines, [[1, "a 1"], [2, "b 2"], [3, "c 3"], [4, ""], [5, "d 4"]], `chunk ${chunkBytes}`);
  }
});

test("bounded: long lines and binary files fail fast with the line number", async () => {
  await rejects(loadAnnotations(file(`a.mp4 1\n${"x".repeat(300)} 2\n`), { ...video, maxLineLength: 100, chunkBytes: 16 }), "input", /:2: line longer than 100 characters/);
  await rejects(loadAnnotations(file(`a.mp4 1\n${"x".repeat(300)}`), { ...video, maxLineLength: 100 }), "input", /:2: line longer than 100/);
  const binary = Uint8Array.from([...Buffer.from("a.mp4 1\nb.mp4 2\nc"), 0xff, 0xfe, 10]);
  await rejects(loadAnnotations(file(binary), video), "input", /:3: not UTF-8 text/);
});

test("streams: the first items arrive before the rest of a huge file is read", async () => {
  // a valid first line, then a megabyte of junk: only reading (and parsing) it all would fail
  const path = file(`first.mp4 4\n${"junk junk junk\n".repeat(70_000)}`);
  const gen = readAnnotations(path, { ...video, chunkBytes: 4096 });
  const first = await gen.next();
  assert.is(first.done, false);
  assert.is((first.value as { path: string }).path, "first.mp4");
  await gen.return(undefined); // closes the file
});

test(".json lists (load_json_annotations): path key from the first entry, labels as lists", async () => {
  const videos = await loadAnnotations(file(JSON.stringify([{ filename: "a.mp4", label: [3] }, { filename: "b.mp4", label: [0] }]), ".json"), { ...video, dataPrefix: "v" });
  assert.equal(videos.map((i) => [i.path, i.label, i.source.replace(/.*\//, "")]), [
    ["v/a.mp4", 3, "list" + (n - 1) + ".json[0]"],
    ["v/b.mp4", 0, "list" + (n - 1) + ".json[1]"],
  ]);
  const rawframes = await loadAnnotations(file(JSON.stringify([{ frame_dir: "d", total_frames: 30, label: [1, 2] }]), ".json"), { ...frames, multiClass: true, numClasses: 3 });
  assert.equal([rawframes[0].path, rawframes[0].totalFrames, rawframes[0].label], ["d", 30, [1, 2]]);
  await rejects(loadAnnotations(file(JSON.stringify([{ filename: "a", label: [1, 2] }]), ".json"), video), "input", /\[0\]: expected one label, got 2/);
  await rejects(loadAnnotations(file(JSON.stringify([{ filename: "a", label: 1 }]), ".json"), video), "input", /"label" must be a list/);
  await rejects(loadAnnotations(file(JSON.stringify([{ frame_dir: "a", label: [1] }, { filename: "b", label: [1] }]), ".json"), frames), "input", /\[0\]: "total_frames"|\[1\]: "frame_dir"/);
  await rejects(loadAnnotations(file("[{", ".json"), video), "input", /not valid JSON/);
});

test("broken JSON and long fields: our own one-line messages, no source quoted (fuzz reproducers)", async () => {
  const broken = file('[{"filename": "a.mp4",\n  "label": x}]\n', ".json");
  await rejects(loadAnnotations(broken, video), "input", /: not valid JSON \(unexpected 'x' where a value should be at line 2, column 12\)$/);
  await rejects(loadAnnotations(file('[{"filename": "a\u2028b",\r\n "label": [1],}]', ".json"), video), "input",
    /not valid JSON \(expected a property name in double quotes, found '\}' at line 2, column 15\)$/);
  try {
    await loadAnnotations(broken, video);
  } catch (e) {
    assert.not.match((e as Error).message, /[\n\r\u2028\u2029]|"filename"/);
  }
  // a field as long as a line is shown shortened
  for (const line of [`a.mp4 ${"x".repeat(60_000)}\n`, `a.mp4 -${"9".repeat(60_000)}\n`, `a.mp4 ${"9".repeat(60_000)}\n`]) {
    try {
      await loadAnnotations(file(line), video);
      assert.unreachable("accepted");
    } catch (e) {
      assert.instance(e, I3DError);
      assert.ok((e as Error).message.length < 400, `${(e as Error).message.length} characters`);
    }
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));

test.run();
