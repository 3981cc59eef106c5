// Exploit payloads: pickles that would run code under torch.load. Each must be refused with
// an I3DError naming the global, before anything else happens. The fixtures were written by
// Python's own pickler (make.py; never loaded); the rest are spelled out opcode by opcode.

import { readFileSync } from "node:fs";
import { test } from "uvu";
import * as assert from "uvu/assert";
import { allowedGlobals } from "../../models/checkpoint/allowed-globals.ts";
import { loadPickle } from "../../models/checkpoint/pickle.ts";
import { parseCheckpoint, readCheckpoint } from "../../models/checkpoint/pth-reader.ts";
import { ZipReader } from "../../models/checkpoint/zip-reader.ts";
import { fixture, fixturePath, i3dError, i3dErrorAsync } from "./fixtures.ts";
import { OP, pickle, PickleWriter } from "./pickle-writer.ts";
import { makeZip } from "./zip-writer.ts";

const refusal = (name: string) =>
  new RegExp(`refusing to load: the checkpoint references ${name.replace(/\./g, "\\.")}\\b.*only tensors and plain data are allowed`);

function load(bytes: Uint8Array): unknown {
  return loadPickle(bytes, 0, { findGlobal: allowedGlobals("evil.pkl") }, "evil.pkl").value;
}

test("payloads written by Python's pickler are refused, naming the global", () => {
  const manifest: Array<{ file: string; global: string }> = JSON.parse(
    readFileSync(fixturePath("hostile/manifest.json"), "utf8"),
  );
  assert.ok(manifest.length >= 7);
  for (const { file, global } of manifest) {
    const message = i3dError(() => load(fixture(`hostile/${file}`)), "checkpoint");
    assert.match(message, refusal(global), file);
  }
});

test("a global hidden in a zip checkpoint's data.pkl (after real tensors) is refused", async () => {
  const message = await i3dErrorAsync(() => readCheckpoint(fixturePath("hostile-zip.pth")), "checkpoint");
  assert.match(message, /^hostile-zip\.pth \(hostile-zip\/data\.pkl\): /);
  assert.match(message, refusal("posix.system"));
});

test("a global hidden in a legacy checkpoint is refused", async () => {
  const message = await i3dErrorAsync(() => readCheckpoint(fixturePath("hostile-legacy.pth")), "checkpoint");
  assert.match(message, /^hostile-legacy\.pth: /);
  assert.match(message, refusal("builtins.eval"));
});

test("hand-written payloads: GLOBAL, STACK_GLOBAL, Python 2 names", () => {
  const cases: Array<[string, string, string]> = [
    ["os", "system", "os.system"],
    ["posix", "system", "posix.system"],
    ["nt", "system", "nt.system"],
    ["builtins", "exec", "builtins.exec"],
    ["__builtin__", "eval", "builtins.eval"],
    ["builtins", "getattr", "builtins.getattr"],
    ["subprocess", "Popen", "subprocess.Popen"],
    ["subprocess", "check_output", "subprocess.check_output"],
    ["torch", "load", "torch.load"],
    ["torch._utils", "_rebuild_tensor", "torch._utils._rebuild_tensor"],
    ["numpy", "load", "numpy.load"],
    ["collections", "UserDict", "collections.UserDict"],
    ["torch.nn.modules.conv", "Conv3d", "torch.nn.modules.conv.Conv3d"],
  ];
  for (const [module, name, shown] of cases) {
    for (const viaStack of [false, true]) {
      const bytes = pickle((w) => {
        if (viaStack) w.stackGlobal(module, name);
        else w.global(module, name);
        w.mark().str("echo pwned").tuple().reduce();
      }, viaStack ? 4 : 2);
      assert.match(i3dError(() => load(bytes), "checkpoint"), refusal(shown), `${shown} stack=${viaStack}`);
    }
  }
});

test("a global is refused even when never called (just referencing it is enough)", () => {
  const bytes = pickle((w) => w.op(OP.EMPTY_LIST).global("os", "system").op(OP.APPEND));
  assert.match(i3dError(() => load(bytes)), refusal("os.system"));
});

test("INST and OBJ (protocol 0/1 class calls) are refused, naming the class", () => {
  // the classic "(S'echo pwned'\nios\nsystem\n." with a BINUNICODE argument
  const inst = new PickleWriter().mark().str("echo pwned").op(OP.INST).line("os").line("system").stop().build();
  assert.match(i3dError(() => load(inst)), refusal("os.system"));
  const obj = new PickleWriter().mark().global("subprocess", "Popen").str("ls").op(OP.OBJ).stop().build();
  assert.match(i3dError(() => load(obj)), refusal("subprocess.Popen"));
  // an allowed data marker (a storage type) is not a constructor either
  const objMarker = new PickleWriter().mark().global("torch", "FloatStorage").int(3).op(OP.OBJ).stop().build();
  assert.match(i3dError(() => load(objMarker)), refusal("torch.FloatStorage"));
});

test("BUILD on anything but the few data objects that accept state is refused", () => {
  const targets: Array<[string, (w: PickleWriter) => void]> = [
    ["list", (w) => w.op(OP.EMPTY_LIST)],
    ["dict", (w) => w.op(OP.EMPTY_DICT)],
    ["str", (w) => w.str("x")],
    ["tuple", (w) => w.op(OP.EMPTY_TUPLE)],
    ["torch.FloatStorage", (w) => w.global("torch", "FloatStorage")],
  ];
  for (const [type, target] of targets) {
    const bytes = pickle((w) => {
      target(w);
      w.op(OP.EMPTY_DICT).str("__class__").str("os.system").op(OP.SETITEM).op(OP.BUILD);
    });
    const message = i3dError(() => load(bytes), "checkpoint");
    assert.match(message, new RegExp(`refusing to load: the checkpoint sets the state \\(BUILD\\) of a ${type.replace(".", "\\.")}`));
  }
  // BUILD whose state smuggles a global: the global is refused first
  const smuggled = pickle((w) =>
    w.global("collections", "OrderedDict").op(OP.EMPTY_TUPLE).reduce()
      .op(OP.EMPTY_DICT).str("x").call("os", "system", "id").op(OP.SETITEM).op(OP.BUILD)
  );
  assert.match(i3dError(() => load(smuggled)), refusal("os.system"));
});

test("nested __reduce__: the first global in the stream is named", () => {
  // getattr(__import__('os'), 'system')('id')
  const bytes = pickle((w) =>
    w.global("builtins", "getattr").mark().call("builtins", "__import__", "os").str("system").tuple().reduce()
      .mark().str("id").tuple().reduce()
  );
  assert.match(i3dError(() => load(bytes)), refusal("builtins.getattr"));
});

test("the extension registry (EXT1/2/4) is refused", () => {
  for (const [op, arg] of [[OP.EXT1, [5]], [OP.EXT2, [5, 0]], [OP.EXT4, [5, 0, 0, 0]]] as const) {
    const bytes = pickle((w) => w.op(op).raw(...arg).op(OP.EMPTY_TUPLE).reduce());
    assert.match(i3dError(() => load(bytes)), /refusing to load: .*extension registry/);
  }
});

test("memo tricks: unset, huge and reused memo slots cannot reach a refused global", () => {
  // read a slot that was never written
  assert.match(i3dError(() => load(pickle((w) => w.op(OP.BINGET).raw(7)))), /memo entry 7 is read before it is written/);
  assert.match(
    i3dError(() => load(pickle((w) => w.op(OP.LONG_BINGET).u32(0xffffffff)))),
    /memo entry 4294967295/,
  );
  // a huge memo index is a map key, not an array length
  const huge = pickle((w) => w.str("x").op(OP.LONG_BINPUT).u32(0xfffffff0).op(OP.LONG_BINGET).u32(0xfffffff0).op(OP.TUPLE2));
  assert.equal(load(huge), ["x", "x"]);
  // an allowed global stashed in the memo and called with a refused one as argument
  const stash = pickle((w) =>
    w.global("collections", "OrderedDict").op(OP.BINPUT).raw(0).op(OP.POP)
      .op(OP.BINGET).raw(0).mark().global("os", "system").tuple().reduce()
  );
  assert.match(i3dError(() => load(stash)), refusal("os.system"));
  // MARK is not a value: it cannot be fetched from the memo or used as a callable
  const markAsValue = new PickleWriter().proto(2).mark().op(OP.BINPUT).raw(0).stop().build();
  assert.match(i3dError(() => load(markAsValue)), /malformed: reads an empty stack/);
});

test("REDUCE of a non-callable value is malformed, not executed", () => {
  const bytes = pickle((w) => w.str("os.system").mark().str("id").tuple().reduce());
  assert.match(i3dError(() => load(bytes)), /malformed: REDUCE calls a str/);
});

test("names with control characters stay on one line in the message", () => {
  const bytes = pickle((w) => w.stackGlobal("os\nsystem", "x\u2028y"), 4);
  const message = i3dError(() => load(bytes));
  assert.ok(message.includes("references os\\x0asystem.x\\u2028y"), message);
});

test("a zip checkpoint whose data.pkl is replaced by a payload is refused", () => {
  const zip = new ZipReader(fixture("views-zip.pth"), { source: "x" });
  for (const payload of ["posix-system.pkl", "builtins-eval-p4.pkl", "subprocess-popen.pkl"]) {
    const entries = zip.names().map((name) => ({
      name,
      data: name.endsWith("data.pkl") ? fixture(`hostile/${payload}`) : zip.read(name),
    }));
    const message = i3dError(() => parseCheckpoint(makeZip(entries, { align: 64 }).bytes, "views.pth"), "checkpoint");
    assert.match(message, /refusing to load/);
  }
});

test("a whole pickled nn.Module is refused by its class", () => {
  // legacy torch.save(model) writes the module class as a GLOBAL
  const bytes = pickle((w) => w.global("mmaction.models.recognizers", "Recognizer3D").op(OP.EMPTY_TUPLE).op(OP.NEWOBJ));
  assert.match(i3dError(() => load(bytes)), refusal("mmaction.models.recognizers.Recognizer3D"));
});

test("pickle text in messages is escaped and shortened: _codecs.encode encodings, numpy byte orders and descriptors", () => {
  const enc = pickle((w) => w.global("_codecs", "encode").mark().str("x").str("no\nsuch\u2028enc").tuple().reduce());
  assert.ok(i3dError(() => load(enc)).includes("_codecs.encode to no\\x0asuch\\u2028enc"));
  const wide = pickle((w) => w.global("_codecs", "encode").mark().str("\u0100").str("x\n".repeat(10_000)).tuple().reduce());
  assert.ok(i3dError(() => load(wide)).length < 300);
  // numpy.dtype('f8') whose BUILD state sets the byte order to a line break
  const order = pickle((w) => {
    w.global("numpy", "dtype").mark().str("f8").op(OP.NEWFALSE).op(OP.NEWTRUE).tuple().reduce();
    w.mark().int(3).str("<\n>").none().none().none().int(-1).int(-1).int(0).tuple().op(OP.BUILD);
  });
  assert.match(i3dError(() => load(order)), /malformed numpy dtype state \(byte order '<\\x0a>'\)$/);
  const descr = pickle((w) => w.global("numpy", "dtype").mark().str(`V${"9".repeat(70_000)}`).op(OP.NEWFALSE).op(OP.NEWTRUE).tuple().reduce());
  const m = i3dError(() => load(descr));
  assert.match(m, /unknown numpy dtype V9+\.\.\./);
  assert.ok(m.length < 300);
});

test.run();
