// Token-aware mutations of `.py` configs: the source is split into rough Python tokens
// (strings, numbers, names, operators, newlines, comments, whitespace) and tokens are swapped,
// duplicated, deleted, or replaced by huge numbers, long or odd strings and statements the
// data-only parser must refuse; values are wrapped in deep nesting; `_base_`, `_delete_` and
// `{{ _base_.x }}` are injected.

import type { Rng } from "./rng.ts";

const TOKEN = /("""[\s\S]*?"""|'''[\s\S]*?'''|[rRbBuUfF]{0,2}"(?:\\.|[^"\\\n])*"|[rRbBuUfF]{0,2}'(?:\\.|[^'\\\n])*'|\d[\d_]*(?:\.\d*)?(?:[eE][+-]?\d+)?|[A-Za-z_]\w*|#[^\n]*|\r?\n|[ \t]+|\*\*|\/\/|==|!=|<=|>=|[\s\S])/gy;

export function pyTokens(text: string): string[] {
  const out: string[] = [];
  TOKEN.lastIndex = 0;
  for (let m = TOKEN.exec(text); m && m[0] !== ""; m = TOKEN.exec(text)) out.push(m[0]);
  return out;
}

const insertions = [
  "import os", "from os import system", "__import__('os').system('echo pwned')", "lambda: 0", "[x for x in y]",
  "if True: pass", "def f(): pass", "exec('1')", "a.b", "x[0]", "1 + 1", "not x", "...", "@", "\\\n", "\t", " ",
  "#", "'''", '"', "f'{model}'", "f'{__import__}'", "b'x'", "{1, 2}", "**", "*", "=", ":", ",", "(", ")", "[", "]",
  "{", "}", "dict(", "dict(**model)", "None", "True", "_base_", "_delete_=True", "'{{ _base_.model }}'",
  "'{{ fileDirname }}'", "\ufeff", "\u0000", "\r", ";", "del model", "global x", "x: int = 1", "a, b = 1, 2",
  "x += 1", "(yield)", "await x", "match x:", "0o777", "0b102", "1j", "1__0", "0777", "1e", ".5", "0x", "r'\\'",
  "'\\N{DASH}'", "'\\x4'", "'\\U00110000'", "'\\777'", "'''unterminated",
];

const hugeNumbers = [
  "1" + "0".repeat(400), "1e999", "-1e999", "1e-999", "0x" + "f".repeat(40), "9007199254740993", "9007199254740992",
  "2147483648", "4294967296", "1_000_000", "0", "-0", "0.0", "00", "1.", ".1e5", "1e308", "18446744073709551616",
];

const oddStrings = [
  "''", `'${"x".repeat(70_000)}'`, "'\\u2028'", "'\\x00'", "'__proto__'", "'constructor'", "'\\ud800'", "'😀'",
  "'../../../../etc/passwd'", "'nonexistent.py'", "'a.yaml'", "'~/x.py'", "'/dev/null.py'", "'\\\\'", "r'\\n'",
  "'{{ _base_.nope }}'", "'''\na\n'''",
];

function wrapDeep(value: string, rng: Rng): { text: string; how: string } {
  const depth = rng.pick([50, 500, 2000, 10_000, 100_000]);
  const kind = rng.int(6);
  if (kind === 0) return { text: "[".repeat(depth) + value + "]".repeat(depth), how: `[] x${depth}` };
  if (kind === 1) return { text: "(".repeat(depth) + value + ")".repeat(depth), how: `() x${depth}` };
  if (kind === 2) return { text: "{'a': ".repeat(depth) + value + "}".repeat(depth), how: `{} x${depth}` };
  if (kind === 3) return { text: "dict(a=".repeat(depth) + value + ")".repeat(depth), how: `dict() x${depth}` };
  if (kind === 4) return { text: "-".repeat(depth) + "1", how: `unary minus x${depth}` };
  return { text: "[*".repeat(depth) + "[" + value + "]" + "]".repeat(depth), how: `[*] x${depth}` };
}

export function mutatePy(text: string, rng: Rng): { text: string; how: string } {
  const tokens = pyTokens(text);
  if (tokens.length === 0) return { text: rng.pick(insertions), how: "py: replace empty" };
  const solid = tokens.map((t, i) => i).filter((i) => !/^[ \t]+$/.test(tokens[i]));
  const i = solid.length ? rng.pick(solid) : 0;
  const j = solid.length ? rng.pick(solid) : 0;
  const out = [...tokens];
  let how: string;
  switch (rng.int(10)) {
    case 0:
      [out[i], out[j]] = [out[j], out[i]];
      how = `py: swap ${JSON.stringify(tokens[i])} and ${JSON.stringify(tokens[j])}`;
      break;
    case 1: {
      const n = rng.chance(0.2) ? rng.small(2000) : 1;
      out.splice(i, 0, ...Array.from({ length: n }, () => tokens[i]));
      how = `py: duplicate ${JSON.stringify(tokens[i])} x${n}`;
      break;
    }
    case 2:
      out.splice(i, 1);
      how = `py: delete ${JSON.stringify(tokens[i])}`;
      break;
    case 3: {
      const ins = rng.pick(insertions);
      out.splice(i, 0, rng.chance(0.5) ? ins : ` ${ins} `);
      how = `py: insert ${JSON.stringify(ins)}`;
      break;
    }
    case 4: {
      const nums = solid.filter((k) => /^\d/.test(tokens[k]));
      const k = nums.length ? rng.pick(nums) : i;
      out[k] = rng.pick(hugeNumbers);
      how = `py: number -> ${out[k].slice(0, 20)}`;
      break;
    }
    case 5: {
      const strs = solid.filter((k) => /^[rRbBuUfF]{0,2}['"]/.test(tokens[k]));
      const k = strs.length ? rng.pick(strs) : i;
      out[k] = rng.pick(oddStrings);
      how = `py: string -> ${out[k].slice(0, 20)}`;
      break;
    }
    case 6: {
      // wrap a value (what follows an '=' or ':') in deep nesting
      const values = solid.filter((k) => (tokens[k - 1] === "=" || tokens[k - 2] === "=" || tokens[k - 1] === ":" || tokens[k - 2] === ":") && /^[\w'"]/.test(tokens[k]));
      const k = values.length ? rng.pick(values) : i;
      const w = wrapDeep(tokens[k], rng);
      out[k] = w.text;
      how = `py: nesting ${w.how}`;
      break;
    }
    case 7: {
      const line = rng.pick([
        "_base_ = 'nonexistent.py'", "_base_ = ['../../../../../../etc/passwd.py']", "_base_ = [1]", "_base_ = 'a.yaml'",
        "_base_ = '/'", "_base_ = '.'", "filename = 'x'", "__x = 1", "_deprecation_ = 1", "model = None",
        "model = dict(_delete_=True)", "data = dict(test=dict(pipeline=[dict(type='SampleFrames')]*100000))",
        "x = '{{ _base_.model }}'", "model = dict(backbone=dict(stage_blocks=[3, 4, 6, 2147483648], inflate=1, non_local=0))",
        "model = dict(backbone=dict(base_channels=9007199254740991))", "model = dict(cls_head=dict(num_classes=2147483648))",
      ]);
      out.push("\n", line, "\n");
      how = `py: append ${JSON.stringify(line.slice(0, 60))}`;
      break;
    }
    case 8: {
      const nl = rng.pick(["\r\n", "\r", "\n\n\n", "\u2028", "\x0c", "\x1a"]);
      for (let k = 0; k < out.length; k++) if (/^\r?\n$/.test(out[k]) && rng.chance(0.5)) out[k] = nl;
      how = `py: line ends -> ${JSON.stringify(nl)}`;
      break;
    }
    default: {
      const cut = rng.int(text.length + 1);
      return { text: text.slice(0, cut), how: `py: cut at ${cut}` };
    }
  }
  return { text: out.join(""), how };
}
