// The data-only Python reader: it must read what real Python reads (golden from mmcv 1.x run
// under CPython) and refuse everything else with file:line and the construct it found.
import { readFileSync } from "node:fs";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { parsePyConfig } from "../../models/config/py-parser.ts";
import { loadConfigFile } from "../../models/config/load-config.ts";
import { fixture, throwsConfig } from "./helpers.ts";

const test = suite("py-parser");

const parse = (src: string) => parsePyConfig(src, "inline.py");

test("reads every supported construct exactly as Python does (key order included)", async () => {
  const expected = JSON.parse(readFileSync(fixture("syntax/literals.expected.json"), "utf8"));
  const got = await loadConfigFile(fixture("syntax/literals.py"));
  assert.equal(Object.keys(got), Object.keys(expected));
  for (const key of Object.keys(expected)) {
    assert.is(JSON.stringify(got[key]), JSON.stringify(expected[key]), key);
  }
});

test("spot checks: escapes, implicit concatenation, numbers, dict(**x, k=v)", () => {
  const d = parse(
    "s = 'a\\tb' \"c\"\n" +
      "n = (-1e-4, 0x10, 1_000, -(2))\n" +
      "base = dict(x=1, y=dict(z=2))\n" +
      "m = dict(**base, w=None)\n" +
      "t = (base,)\n",
  );
  assert.is(d.s, "a\tbc");
  assert.equal(d.n, [-1e-4, 16, 1000, -2]);
  assert.equal(d.m, { x: 1, y: { z: 2 }, w: null });
  // references are values: changing the copy leaves the original alone
  ((d.t as unknown[])[0] as Record<string, unknown>).x = 5;
  assert.is((d.base as Record<string, unknown>).x, 1);
});

test("a key named __proto__ is data, not a prototype", () => {
  const d = parse("x = {'__proto__': 1}\ny = dict(constructor=2)\n");
  assert.equal(Object.keys(d.x as object), ["__proto__"]);
  assert.is(Object.getPrototypeOf(d.x), Object.prototype);
  assert.is((d.y as Record<string, unknown>).constructor, 2);
});

const rejected: [string, string, string][] = [
  ["import os\n", "inline.py:1:", "import statements are not supported"],
  ["a = 1\nfrom os import path\n", "inline.py:2:", "import statements are not supported"],
  ["def f():\n    return 1\n", "inline.py:1:", "function definitions are not supported"],
  ["class A:\n    pass\n", "inline.py:1:", "class definitions are not supported"],
  ["f = lambda x: x\n", "inline.py:1:", "lambda"],
  ["x = 1\ny = 2 + x\n", "inline.py:2:", "arithmetic ('+')"],
  ["lr = 0.01 *\\\n  8\n", "inline.py:1:", "arithmetic ('*')"],
  ["x = dict(a=1)\ny = x.a\n", "inline.py:2:", "attribute access"],
  ["p = os.path.join('a')\n", "inline.py:1:", "attribute access ('os.')"],
  ["x = [1]\ny = x[0]\n", "inline.py:2:", "subscripts"],
  ["x = [i for i in range(3)]\n", "inline.py:1:", "comprehensions are not supported"],
  ["x = {i: 1\n     for i in (1, 2)}\n", "inline.py:1:", "comprehensions are not supported"],
  ["x = list((1, 2))\n", "inline.py:1:", "calls are not supported except dict(...)"],
  ["x = 1 if True else 2\n", "inline.py:1:", "conditional expressions"],
  ["if True:\n    x = 1\n", "inline.py:1:", "if statements are not supported"],
  ["x = {1, 2}\n", "inline.py:1:", "set literals are not supported"],
  ["x = undefined_name\n", "inline.py:1:", "name 'undefined_name' is not defined"],
  ["x = 1\n  y = 2\n", "inline.py:2:", "unexpected indent"],
  ["x = 'abc\n", "inline.py:1:", "unterminated string"],
  ["x = '''abc\n\n", "inline.py:1:", "unterminated string"],
  ["x = b'abc'\n", "inline.py:1:", "bytes literals"],
  ["n = 1\nx = f'{n + 1}'\n", "inline.py:2:", "f-string field {n + 1} is not supported"],
  ["x = 1\nx += 1\n", "inline.py:2:", "augmented assignment"],
  ["a, b = 1, 2\n", "inline.py:1:", "tuple unpacking"],
  ["d = dict()\nd['k'] = 1\n", "inline.py:2:", "item assignment"],
  ["x = dict(a=1, a=2)\n", "inline.py:1:", "multiple values for keyword argument 'a'"],
  ["b = dict(a=1)\nx = dict(a=2, **b)\n", "inline.py:2:", "multiple values for keyword argument 'a'"],
  ["x = dict(type='a',, depth=50)\n", "inline.py:1:", "expected a value, found ','"],
  ["x = (1, 2\ny = 3\n", "inline.py:2:", "expected ',' or ')'"],
  ["x = 1 2\n", "inline.py:1:", "expected the end of the statement, found number 2"],
  ["x = 3j\n", "inline.py:1:", "complex number"],
  ["x = 012\n", "inline.py:1:", "leading zeros"],
  ["x = -'a'\n", "inline.py:1:", "unary '-' applies to numbers only"],
  ["True = 1\n", "inline.py:1:", "cannot assign to keyword 'True'"],
  ["x = 1 == 1\n", "inline.py:1:", "comparisons"],
  ["x = ...\n", "inline.py:1:", "Ellipsis"],
  ["x = $\n", "inline.py:1:", "unexpected character"],
];

for (const [src, where, what] of rejected) {
  test(`rejects ${JSON.stringify(src.split("\n").filter(Boolean).pop())}`, () => {
    throwsConfig(() => parse(src), `config error: ${where} `, what);
  });
}

test.run();
