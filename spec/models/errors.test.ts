import { suite } from "uvu";
import * as assert from "uvu/assert";
import { I3DError, oneLine } from "../../models/errors.ts";

const test = suite("models: I3DError");

test("a message is always one line: drivers' and tools' line breaks are joined, stack frames dropped", () => {
  // Dawn's requestDevice error: the message, then its C++ call site
  const dawn = new I3DError("device", "opening the WebGPU device failed: Adapter is \"consumed\"\n    at CreateDeviceInternal (third_party/dawn/src/dawn/native/Adapter.cpp:305)\n");
  assert.is(dawn.message, "opening the WebGPU device failed: Adapter is \"consumed\"");
  assert.is(dawn.kind, "device");
  assert.is(oneLine("a\r\nb\rc\n\n d "), "a; b; c; d");
  assert.is(oneLine("x\n    at f (file:///m.ts:1:2)\n    at file:///m.ts:3:4\nat night we decode"), "x; at night we decode");
  assert.is(oneLine("plain"), "plain");
});

test.run();
