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

// --- hostile sources (fuzz reproducers): bounded nesting, bounded growth, one-line messages

test("brackets nest at most 100 deep: 100 levels parse, 101 (or 100000) are refused at file:line", () => {
  const nested = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
  let v: unknown = parse(`x = ${nested(100)}\n`).x;
  for (let depth = 1; depth < 100; depth++) v = (v as unknown[])[0];
  assert.equal(v, []);
  throwsConfig(() => parse(`a = 1\nx = ${nested(101)}\n`), "inline.py:2:", "nest more than 100 levels deep");
  throwsConfig(() => parse(`x = ${nested(100_000)}\n`), "inline.py:1:", "nest more than 100 levels deep");
  throwsConfig(() => parse(`x = ${"dict(a=".repeat(200)}1${")".repeat(200)}\n`), "nest more than 100 levels deep");
});

test("a run of 200000 unary signs is read without recursion, with Python's result", () => {
  assert.is(parse(`x = ${"-".repeat(200_000)}7\n`).x, 7);
  assert.is(parse(`x = ${"- ".repeat(200_001)}7\n`).x, -7);
  assert.is(parse("x = +-+-2.5\ny = -(-(3))\n").x, 2.5);
  assert.is(parse("y = -(-(3))\n").y, 3);
  throwsConfig(() => parse(`x = ${"-".repeat(5000)}'a'\n`), "unary '-' applies to numbers only");
});

test("names referenced inside brackets: the assigned value may not nest beyond 100 levels", () => {
  const lines = ["a0 = [0]"];
  for (let i = 1; i <= 150; i++) lines.push(`a${i} = [a${i - 1}]`);
  // a99 holds 100 levels, a100 would hold 101
  throwsConfig(() => parse(lines.join("\n") + "\n"), "inline.py:101:", "the value of 'a100' nests more than 100 levels deep");
});

test("'billion laughs': names copying names are refused once they build a million values", () => {
  const laughs = ["a = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]"];
  for (let i = 1; i < 10; i++) laughs.push(`${String.fromCharCode(97 + i)} = [${Array(10).fill(String.fromCharCode(96 + i)).join(", ")}]`);
  const started = performance.now();
  // line 6 holds 10^6 values
  throwsConfig(() => parse(laughs.join("\n") + "\n"), "inline.py:6:", "the config is too large: it builds more than 1000000 values");
  assert.ok(performance.now() - started < 5000, "refused before the copies grow");
  // the same growth through f-strings of f-strings
  const texts = ["a = 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx'"];
  for (let i = 1; i < 12; i++) texts.push(`${String.fromCharCode(97 + i)} = f'${`{${String.fromCharCode(96 + i)}}`.repeat(10)}'`);
  throwsConfig(() => parse(texts.join("\n") + "\n"), "the config is too large");
  // below the limit, references still copy (Python's values, mmcv's copies)
  const ok = parse("a = [1, 2]\nb = [a, a]\nc = dict(x=b)\n");
  assert.equal(ok.c, { x: [[1, 2], [1, 2]] });
});

test("*x of a list longer than a call's argument limit", () => {
  const src = [
    "a = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0]",
    "b = [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]",
    "c = [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]",
    "d = [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]",
    "e = [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]",
    "f = [*e, *e]",
    "g = [*f]",
  ];
  assert.is((parse(src.join("\n") + "\n").g as unknown[]).length, 200_000);
});

test("names are Python identifiers (XID, NFKC): U+2028 is no name character, and messages stay one line", () => {
  const e = throwsConfig(() => parse("a = 1\u2028b = 2\n"), "inline.py:1:", "unexpected character '\\u2028' (U+2028)");
  assert.not.match(e.message, /[\u2028\u2029\r]/);
  throwsConfig(() => parse("x\u2029y = 1\n"), "unexpected character '\\u2029'");
  throwsConfig(() => parse("x = 1\u00a0\n"), "unexpected character", "(U+00A0)");
  // Python reads these as names, and normalises them (PEP 3131)
  assert.equal(parse("\u00e9t\u00e9 = 1\n\ufb01le = 2\nd = dict(\u212bngstr\u00f6m=3)\n"), { "\u00e9t\u00e9": 1, file: 2, d: { "\u00c5ngstr\u00f6m": 3 } });
});

test("long names, numbers and f-string fields are shown shortened and escaped", () => {
  const name = "n".repeat(70_000);
  const e1 = throwsConfig(() => parse(`x = ${name}\n`), "inline.py:1:", "is not defined");
  assert.ok(e1.message.length < 300, `${e1.message.length} characters`);
  const e2 = throwsConfig(() => parse(`x = ${"9".repeat(70_000)}\n`), "is too large");
  assert.ok(e2.message.length < 300, `${e2.message.length} characters`);
  const e3 = throwsConfig(() => parse('a = 1\nx = f"""{a\nb}"""\n'), "f-string field {a\\x0ab} is not supported");
  assert.ok(e3.message.length < 300);
  const e4 = throwsConfig(() => parse(`x = dict(${"k".repeat(70_000)}=1, ${"k".repeat(70_000)}=2)\n`), "multiple values for keyword argument");
  assert.ok(e4.message.length < 300);
  // the file name is shown the same way
  const e5 = throwsConfig(() => parsePyConfig("import os\n", `dir\n/${"f".repeat(5000)}.py`), "dir\\x0a/", "import statements");
  assert.ok(e5.message.length < 400);
});

for (const [src, where, what] of rejected) {
  test(`rejects ${JSON.stringify(src.split("\n").filter(Boolean).pop())}`, () => {
    throwsConfig(() => parse(src), `config error: ${where} `, what);
  });
}

test.run();
