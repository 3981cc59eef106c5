// Reads the data-only subset of Python that MMAction2 0.x `.py` configs are written in, and
// returns the module's top-level names with their values. Nothing is executed: the source is
// tokenized and each assignment is evaluated by a small recursive-descent parser that knows
// literals, `dict(...)` calls, displays (lists, tuples, dicts), unary minus and references to
// names assigned earlier in the same file. Anything else (imports, defs, arithmetic, attribute
// access, comprehensions, calls other than dict) is rejected with file:line and what was found.
//
// Values come back as plain JSON-like data: tuples become arrays (as mmcv's JSON dump writes
// them), dicts become plain objects.
//
// Hostile text is bounded (value-limits.ts): brackets nest at most MAX_CONFIG_DEPTH deep, no
// assigned value is deeper than that (a name referenced inside brackets adds its own depth),
// and every value built -- literal or copied from a name -- is spent from a budget, so names
// that reference names ("billion laughs") are refused instead of growing 10x per line.

import { configFailure, shown } from "./issues.ts";
import { copyValue, MAX_CONFIG_DEPTH, ValueBudget, valueDepth } from "./value-limits.ts";

export type PyValue = string | number | boolean | null | PyValue[] | PyDict;
export interface PyDict {
  [key: string]: PyValue;
}

/** Sets an own property even for keys such as "__proto__" (configs are untrusted text). */
export function setOwn<T>(obj: Record<string, T>, key: string, value: T): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

export function isPyDict(v: unknown): v is PyDict {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** A deep copy of config data, made without recursion (value-limits.ts: copyValue). */
export function deepCopy<T>(v: T): T {
  return copyValue(v);
}

// ---------------------------------------------------------------------------------------------
// Tokens

type TokenKind = "name" | "number" | "string" | "fstring" | "op" | "newline" | "indent" | "eof";

interface Token {
  kind: TokenKind;
  /** name text, operator text, or the raw literal text */
  text: string;
  line: number;
  /** decoded value of a number or string token */
  value?: number | string;
}

const OPERATORS = [
  "**=", "//=", ">>=", "<<=", "...",
  "**", "//", "==", "!=", "<=", ">=", "->", ":=", "+=", "-=", "*=", "/=", "%=", "&=", "|=",
  "^=", "@=", "<<", ">>",
  "(", ")", "[", "]", "{", "}", ",", ":", ";", ".", "=", "+", "-", "*", "/", "%", "@", "&",
  "|", "^", "~", "<", ">", "!",
];

/** the operators by their first character, longest first (as OPERATORS lists them) */
const OPERATORS_BY_FIRST = new Map<string, string[]>();
for (const o of OPERATORS) OPERATORS_BY_FIRST.set(o[0], [...(OPERATORS_BY_FIRST.get(o[0]) ?? []), o]);

// Python 3 numeric literals (underscores between digits allowed).
const DIGITS = String.raw`\d(?:_?\d)*`;
const EXPONENT = String.raw`[eE][+-]?${DIGITS}`;
const NUMBER_RE = new RegExp(
  String.raw`0[xX](?:_?[0-9a-fA-F])+|0[oO](?:_?[0-7])+|0[bB](?:_?[01])+` +
    String.raw`|(?:${DIGITS}\.(?:${DIGITS})?|\.${DIGITS})(?:${EXPONENT})?` +
    String.raw`|${DIGITS}${EXPONENT}` +
    String.raw`|${DIGITS}`,
  "y",
);
// Python identifiers: XID_Start or '_', then XID_Continue (PEP 3131), NFKC-normalised by the
// tokenizer. Nothing else -- in particular no line or paragraph separator -- is a name.
const NAME_RE = /[\p{XID_Start}_]\p{XID_Continue}*/uy;
/** f-strings take ASCII names only (a stricter subset) */
const FIELD_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]*$/;
/** long literals are shown shortened in messages */
const SHOWN = 40;

/**
 * Produces tokens on demand, so that the parser reports the first problem in the file (an
 * import on line 1 before an unterminated string on line 9).
 */
class Tokenizer {
  private pos = 0;
  private line = 1;
  private depth = 0;
  private atLineStart = true;
  private lastKind: TokenKind | null = null;
  private done = false;
  private readonly pending: Token[] = [];

  constructor(private readonly src: string, private readonly file: string) {}

  fail(line: number, message: string): never {
    throw configFailure(`${this.file}:${line}: ${message}`);
  }

  next(): Token {
    while (this.pending.length === 0) this.step();
    const t = this.pending.shift()!;
    this.lastKind = t.kind;
    return t;
  }

  /** Consumes input until at least one token is pending. */
  private step(): void {
    const s = this.src;
    if (this.pos >= s.length) {
      if (this.done) {
        this.push("eof", "");
        return;
      }
      if (this.lastKind !== null && this.lastKind !== "newline") this.push("newline", "\n");
      this.push("eof", "");
      this.done = true;
      return;
    }
    const c = s[this.pos];
    if (this.atLineStart && this.depth === 0) {
      // Leading whitespace of a logical line is only allowed on blank or comment lines.
      let end = this.pos;
      while (s[end] === " " || s[end] === "\t" || s[end] === "\f") end++;
      const next = s[end];
      const blank = next === undefined || next === "\n" || next === "\r" || next === "#";
      this.atLineStart = false;
      if (end > this.pos && !blank) this.push("indent", "indent");
      this.pos = end;
      return;
    }
    if (c === " " || c === "\t" || c === "\f") {
      this.pos++;
    } else if (c === "#") {
      while (this.pos < s.length && s[this.pos] !== "\n") this.pos++;
    } else if (c === "\r" || c === "\n") {
      this.pos += c === "\r" && s[this.pos + 1] === "\n" ? 2 : 1;
      if (this.depth === 0) {
        const last = this.pending.length ? this.pending[this.pending.length - 1].kind : this.lastKind;
        if (last !== null && last !== "newline") this.push("newline", "\n");
        this.atLineStart = true;
      }
      this.line++;
    } else if (c === "\\") {
      const m = /\\\r?\n/y;
      m.lastIndex = this.pos;
      const hit = m.exec(s);
      if (!hit) this.fail(this.line, "unexpected character '\\' (a backslash must end the line)");
      this.pos += hit[0].length;
      this.line++;
    } else if (c === "'" || c === '"') {
      this.string("");
    } else if (/[0-9]/.test(c) || (c === "." && /[0-9]/.test(s[this.pos + 1] ?? ""))) {
      this.number();
    } else {
      // (ASCII punctuation goes straight to the operators: most tokens of a long line of signs)
      let name: RegExpExecArray | null = null;
      if (c >= "\u0080" || /[A-Za-z_]/.test(c)) {
        NAME_RE.lastIndex = this.pos;
        name = NAME_RE.exec(s);
      }
      if (name) {
        const text = name[0];
        const quote = s[this.pos + text.length];
        this.pos += text.length;
        if ((quote === "'" || quote === '"') && /^(?:[rRuUbBfF]|[rR][bBfF]|[bBfF][rR])$/.test(text)) {
          this.string(text);
        } else {
          this.push("name", text.normalize("NFKC"));
        }
        return;
      }
      const op = OPERATORS_BY_FIRST.get(c)?.find((o) => s.startsWith(o, this.pos));
      if (!op) {
        const cp = s.codePointAt(this.pos)!;
        this.fail(this.line, `unexpected character '${shown(String.fromCodePoint(cp))}' (U+${cp.toString(16).toUpperCase().padStart(4, "0")})`);
      }
      if (op === "(" || op === "[" || op === "{") this.depth++;
      if (op === ")" || op === "]" || op === "}") this.depth = Math.max(0, this.depth - 1);
      this.pos += op.length;
      this.push("op", op);
    }
  }

  private push(kind: TokenKind, text: string, value?: number | string, line = this.line): void {
    this.pending.push({ kind, text, line, value });
  }

  private number(): void {
    const start = this.pos;
    NUMBER_RE.lastIndex = start;
    const m = NUMBER_RE.exec(this.src)!;
    const text = m[0];
    this.pos += text.length;
    const after = this.src[this.pos] ?? "";
    if (/[jJ]/.test(after)) this.fail(this.line, `complex number ${shown(text + after, SHOWN)} is not supported`);
    if (/[A-Za-z0-9_]/.test(after)) this.fail(this.line, `invalid number literal ${shown(text + after, SHOWN)}`);
    const clean = text.replace(/_/g, "");
    const isFloat = !/^0[xXoObB]/.test(clean) && /[.eE]/.test(clean);
    if (!isFloat && /^0+[1-9]/.test(clean)) {
      this.fail(this.line, `invalid number literal ${shown(text, SHOWN)} (leading zeros are not allowed in Python 3)`);
    }
    // Number() reads decimal, 0x, 0o and 0b forms alike.
    const value = Number(clean);
    if (!isFloat && !Number.isSafeInteger(value)) this.fail(this.line, `integer ${shown(text, SHOWN)} is too large`);
    this.push("number", text, value);
  }

  private string(prefix: string): void {
    const s = this.src;
    const startLine = this.line;
    const p = prefix.toLowerCase();
    if (p.includes("b")) this.fail(startLine, "bytes literals are not supported");
    const formatted = p.includes("f");
    const raw = p.includes("r");
    const q = s[this.pos];
    const triple = s.startsWith(q.repeat(3), this.pos);
    const close = triple ? q.repeat(3) : q;
    this.pos += close.length;
    let out = "";
    for (;;) {
      if (this.pos >= s.length) this.fail(startLine, "unterminated string literal");
      const c = s[this.pos];
      if (s.startsWith(close, this.pos)) {
        this.pos += close.length;
        break;
      }
      if (c === "\n" || c === "\r") {
        if (!triple) this.fail(startLine, "unterminated string literal (a newline inside quotes)");
        const n = c === "\r" && s[this.pos + 1] === "\n" ? 2 : 1;
        out += "\n";
        this.pos += n;
        this.line++;
        continue;
      }
      if (c === "\\") {
        const next = s[this.pos + 1];
        if (next === undefined) this.fail(startLine, "unterminated string literal");
        if (raw) {
          // Raw strings keep the backslash, but it still protects the next quote or newline.
          out += c + next;
          if (next === "\n") this.line++;
          this.pos += 2;
          continue;
        }
        this.pos += 2;
        out += this.escape(next);
        continue;
      }
      out += c;
      this.pos++;
    }
    this.push(formatted ? "fstring" : "string", "string", out, startLine);
  }

  /** Decodes the escape after a backslash (this.pos is already past `\` and `next`). */
  private escape(next: string): string {
    const s = this.src;
    const simple: Record<string, string> = {
      "\\": "\\", "'": "'", '"': '"', a: "\x07", b: "\b", f: "\f", n: "\n", r: "\r", t: "\t", v: "\v",
    };
    if (Object.hasOwn(simple, next)) return simple[next];
    if (next === "\n") {
      this.line++;
      return "";
    }
    if (next === "\r") {
      if (s[this.pos] === "\n") this.pos++;
      this.line++;
      return "";
    }
    if (/[0-7]/.test(next)) {
      let digits = next;
      while (digits.length < 3 && /[0-7]/.test(s[this.pos] ?? "")) digits += s[this.pos++];
      return String.fromCodePoint(parseInt(digits, 8));
    }
    const hexLen = next === "x" ? 2 : next === "u" ? 4 : next === "U" ? 8 : 0;
    if (hexLen > 0) {
      const hex = s.slice(this.pos, this.pos + hexLen);
      if (!new RegExp(`^[0-9a-fA-F]{${hexLen}}$`).test(hex)) {
        this.fail(this.line, `truncated \\${next} escape in a string`);
      }
      this.pos += hexLen;
      const cp = parseInt(hex, 16);
      if (cp > 0x10ffff) this.fail(this.line, `invalid \\${next} escape in a string`);
      return String.fromCodePoint(cp);
    }
    if (next === "N") this.fail(this.line, "\\N{...} escapes are not supported");
    // Python keeps unknown escapes verbatim.
    return "\\" + next;
  }
}

// ---------------------------------------------------------------------------------------------
// Parser / evaluator

const STATEMENT_KEYWORDS: Record<string, string> = {
  import: "import statements are not supported (configs are read as data, never executed)",
  from: "import statements are not supported (configs are read as data, never executed)",
  def: "function definitions are not supported",
  class: "class definitions are not supported",
  if: "if statements are not supported",
  elif: "if statements are not supported",
  else: "if statements are not supported",
  for: "for loops are not supported",
  while: "while loops are not supported",
  try: "try statements are not supported",
  with: "with statements are not supported",
  del: "del statements are not supported",
  assert: "assert statements are not supported",
  raise: "raise statements are not supported",
  return: "return statements are not supported",
  global: "global statements are not supported",
  nonlocal: "nonlocal statements are not supported",
  pass: "pass statements are not supported",
  lambda: "lambda expressions are not supported",
  async: "async code is not supported",
  await: "await is not supported",
  yield: "yield is not supported",
  match: "match statements are not supported",
};

const RESERVED = new Set([
  "False", "None", "True", "and", "as", "assert", "async", "await", "break", "class", "continue",
  "def", "del", "elif", "else", "except", "finally", "for", "from", "global", "if", "import",
  "in", "is", "lambda", "nonlocal", "not", "or", "pass", "raise", "return", "try", "while",
  "with", "yield",
]);

const ARITHMETIC = new Set([
  "+", "-", "*", "/", "//", "%", "**", "@", "&", "|", "^", "<<", ">>", "~",
]);
const COMPARISON = new Set(["==", "!=", "<", ">", "<=", ">="]);

function describe(t: Token): string {
  switch (t.kind) {
    case "name": return `'${shown(t.text, SHOWN)}'`;
    case "number": return `number ${shown(t.text, SHOWN)}`;
    case "string": case "fstring": return "a string";
    case "newline": return "end of line";
    case "eof": return "end of file";
    default: return `'${shown(t.text, SHOWN)}'`;
  }
}

class Parser {
  private i = 0;
  readonly names = new Map<string, PyValue>();
  private readonly tokens: Token[] = [];
  /** brackets open around the token being parsed */
  private depth = 0;

  constructor(private readonly lexer: Tokenizer, private readonly file: string, private readonly budget: ValueBudget) {}

  /** spends `n` values built at `t` from the budget */
  private spend(t: Token, n: number): void {
    if (!this.budget.spend(n)) this.tooLarge(t);
  }

  private tooLarge(t: Token): never {
    return this.fail(t, `the config is too large: it builds more than ${this.budget.limit} values (names that copy names?)`);
  }

  /** a copy of an earlier name's value, spent from the budget */
  private copy(t: Token, v: PyValue): PyValue {
    return copyValue(v, this.budget, () => this.tooLarge(t));
  }

  /** entering a bracket: nesting is bounded, as the parser recurses once per level */
  private open(t: Token): void {
    if (++this.depth > MAX_CONFIG_DEPTH) this.fail(t, `brackets nest more than ${MAX_CONFIG_DEPTH} levels deep`);
  }

  /** the token at index k, reading more of the source when needed (eof repeats) */
  private at(k: number): Token {
    while (this.tokens.length <= k) {
      const last = this.tokens[this.tokens.length - 1];
      if (last?.kind === "eof") return last;
      this.tokens.push(this.lexer.next());
    }
    return this.tokens[k];
  }

  private get tok(): Token {
    return this.at(this.i);
  }

  private peek(n = 1): Token {
    return this.at(this.i + n);
  }

  private fail(t: Token, message: string): never {
    throw configFailure(`${this.file}:${t.line}: ${message}`);
  }

  private isOp(text: string, t = this.tok): boolean {
    return t.kind === "op" && t.text === text;
  }

  private expectOp(text: string, what: string): Token {
    const t = this.tok;
    if (!this.isOp(text)) this.unexpected(t, `expected '${text}' ${what}`);
    this.i++;
    return t;
  }

  /** Explains why a token cannot appear here, naming the unsupported construct if it is one. */
  private unexpected(t: Token, fallback: string): never {
    if (t.kind === "op") {
      if (t.text === ".") this.fail(t, "attribute access ('.') is not supported");
      if (t.text === "...") this.fail(t, "Ellipsis ('...') is not supported");
      if (ARITHMETIC.has(t.text)) this.fail(t, `arithmetic ('${t.text}') is not supported; write the value out`);
      if (COMPARISON.has(t.text)) this.fail(t, `comparisons ('${t.text}') are not supported`);
      if (t.text.length >= 2 && t.text.endsWith("=") && t.text !== "==" && t.text !== ":=") {
        this.fail(t, `augmented assignment ('${t.text}') is not supported`);
      }
      if (t.text === ":=") this.fail(t, "assignment expressions (':=') are not supported");
    }
    if (t.kind === "name") {
      if (t.text === "if" || t.text === "else") this.fail(t, "conditional expressions ('if ... else') are not supported");
      if (t.text === "for" || t.text === "async") this.fail(t, "comprehensions are not supported");
      if (["and", "or", "not", "in", "is"].includes(t.text)) this.fail(t, `'${t.text}' expressions are not supported`);
      if (t.text === "lambda") this.fail(t, "lambda expressions are not supported");
    }
    this.fail(t, `${fallback}, found ${describe(t)}`);
  }

  parseModule(): Map<string, PyValue> {
    while (this.tok.kind !== "eof") {
      if (this.tok.kind === "newline" || this.isOp(";")) {
        this.i++;
        continue;
      }
      this.statement();
      if (this.isOp(";")) {
        this.i++;
        continue;
      }
      const end: Token = this.tok; // (re-read: statement() moved past the earlier tokens)
      if (end.kind !== "newline" && end.kind !== "eof") {
        this.unexpected(end, "expected the end of the statement");
      }
    }
    return this.names;
  }

  private statement(): void {
    const t = this.tok;
    if (t.kind === "indent") this.fail(t, "unexpected indent (a config is a flat list of assignments)");
    if (t.kind === "name" && Object.hasOwn(STATEMENT_KEYWORDS, t.text) && !this.isOp("=", this.peek())) {
      this.fail(t, STATEMENT_KEYWORDS[t.text]);
    }
    if (t.kind === "op" && t.text === "@") this.fail(t, "decorators are not supported");
    if (t.kind === "string" || t.kind === "fstring") {
      // A bare string (a docstring) evaluates to nothing.
      this.expression();
      return;
    }
    const targets: Token[] = [];
    while (this.tok.kind === "name" && this.isOp("=", this.peek())) {
      targets.push(this.tok);
      this.i += 2;
    }
    if (targets.length === 0) {
      const next = this.peek();
      if (t.kind === "name") {
        if (this.isOp(",", next)) this.fail(next, "tuple unpacking is not supported; assign one name per line");
        if (this.isOp(":", next)) this.fail(next, "annotated assignments are not supported");
        if (this.isOp("[", next)) this.fail(next, `item assignment ('${shown(t.text, SHOWN)}[...] = ...') is not supported`);
        if (this.isOp(".", next)) this.fail(next, `attribute access ('${shown(t.text, SHOWN)}.') is not supported`);
        if (this.isOp("(", next)) this.fail(next, "function calls are not statements here; only `name = value` assignments are supported");
        this.unexpected(next, `expected '=' after '${shown(t.text, SHOWN)}'`);
      }
      this.unexpected(t, "expected an assignment `name = value`");
    }
    for (const target of targets) {
      if (RESERVED.has(target.text)) this.fail(target, `cannot assign to keyword '${target.text}'`);
    }
    const value = this.expression();
    // a name referenced inside brackets nests its value deeper: bound what is kept
    if (valueDepth(value) > MAX_CONFIG_DEPTH) {
      this.fail(targets[0], `the value of '${shown(targets[0].text, SHOWN)}' nests more than ${MAX_CONFIG_DEPTH} levels deep`);
    }
    targets.forEach((target, k) => {
      this.names.set(target.text, k === targets.length - 1 ? value : this.copy(target, value));
    });
  }

  /** expression := ('-'|'+')* atom, followed by nothing that would make it a larger expression */
  private expression(): PyValue {
    const value = this.unary();
    const t = this.tok;
    if (t.kind === "op" && (ARITHMETIC.has(t.text) || COMPARISON.has(t.text) || t.text === "." || t.text === "...")) {
      this.unexpected(t, "");
    }
    if (t.kind === "name" && ["if", "else", "for", "and", "or", "not", "in", "is", "async"].includes(t.text)) {
      this.unexpected(t, "");
    }
    return value;
  }

  /** ('-'|'+')* postfix, read in a loop (a run of 200000 signs is no deeper than one) */
  private unary(): PyValue {
    let negate = false;
    let sign: Token | undefined;
    while (this.isOp("-") || this.isOp("+")) {
      sign = this.tok;
      if (sign.text === "-") negate = !negate;
      this.i++;
    }
    const t = this.tok;
    if (this.isOp("~")) this.fail(t, "the '~' operator is not supported");
    if (t.kind === "name" && t.text === "not") this.fail(t, "'not' expressions are not supported");
    const v = this.postfix();
    if (sign === undefined) return v;
    if (typeof v !== "number") this.fail(sign, `unary '${sign.text}' applies to numbers only`);
    return negate ? (v === 0 ? 0 : -v) : v;
  }

  private postfix(): PyValue {
    const start = this.tok;
    const v = this.atom();
    const t = this.tok;
    if (this.isOp(".")) this.fail(t, "attribute access ('.') is not supported");
    if (this.isOp("[")) this.fail(t, "subscripts (x[...]) are not supported");
    if (this.isOp("(")) {
      this.fail(t, start.kind === "name"
        ? `calls are not supported except dict(...) (found a call of '${shown(start.text, SHOWN)}')`
        : "calls are not supported except dict(...)");
    }
    return v;
  }

  private atom(): PyValue {
    const t = this.tok;
    switch (t.kind) {
      case "number":
        this.i++;
        this.spend(t, 1);
        return t.value as number;
      case "string":
      case "fstring": {
        this.spend(t, 1);
        let s = "";
        while (this.tok.kind === "string" || this.tok.kind === "fstring") {
          const part = this.tok;
          this.i++;
          s += part.kind === "fstring" ? this.formatString(part) : part.value as string;
        }
        return s;
      }
      case "name":
        return this.nameAtom();
      case "op":
        if (t.text === "(") return this.parenthesised();
        if (t.text === "[") return this.list();
        if (t.text === "{") return this.braces();
        return this.unexpected(t, "expected a value");
      default:
        return this.unexpected(t, "expected a value");
    }
  }

  /**
   * f-strings are accepted only with plain `{name}` fields naming an earlier string or int
   * (MMAction2 configs build paths that way); any other expression inside braces is code.
   */
  private formatString(t: Token): string {
    const body = t.value as string;
    let out = "";
    for (let k = 0; k < body.length; k++) {
      const c = body[k];
      if ((c === "{" || c === "}") && body[k + 1] === c) {
        out += c;
        k++;
      } else if (c === "}") {
        this.fail(t, "single '}' is not allowed in an f-string");
      } else if (c === "{") {
        const end = body.indexOf("}", k);
        const field = end < 0 ? body.slice(k) : body.slice(k + 1, end);
        const name = field.trim();
        if (end < 0 || !FIELD_NAME_RE.test(name) || RESERVED.has(name)) {
          this.fail(t, `f-string field {${shown(field, SHOWN)}} is not supported; only {name} of an earlier variable is`);
        }
        if (!this.names.has(name)) this.fail(t, `name '${shown(name, SHOWN)}' is not defined (in an f-string)`);
        const v = this.names.get(name)!;
        // the copied text is spent too: f-strings of f-strings grow like lists of lists
        let piece = "";
        if (typeof v === "string") piece = v;
        else if (typeof v === "number" && Number.isInteger(v)) piece = String(v);
        else this.fail(t, `f-string field {${shown(name, SHOWN)}} must name a string or an int`);
        this.spend(t, Math.ceil(piece.length / 64));
        out += piece;
        k = end;
      } else {
        out += c;
      }
    }
    return out;
  }

  /** true when a `for` follows at this bracket level, i.e. we are inside a comprehension */
  private comprehensionAhead(): boolean {
    let depth = 0;
    for (let k = this.i; ; k++) {
      const t = this.at(k);
      if (t.kind === "newline" || t.kind === "eof") return false;
      if (t.kind === "op" && "([{".includes(t.text)) depth++;
      if (t.kind === "op" && ")]}".includes(t.text)) {
        if (depth === 0) return false;
        depth--;
      }
      if (depth === 0 && t.kind === "name" && t.text === "for") return true;
    }
  }

  private nameAtom(): PyValue {
    const t = this.tok;
    if (t.text === "True" || t.text === "False" || t.text === "None") {
      this.i++;
      this.spend(t, 1);
      return t.text === "None" ? null : t.text === "True";
    }
    if (t.text === "lambda") this.fail(t, "lambda expressions are not supported");
    if (t.text === "dict" && this.isOp("(", this.peek()) && !this.names.has("dict")) {
      return this.dictCall();
    }
    if (RESERVED.has(t.text)) this.unexpected(t, "expected a value");
    this.i++;
    // Say what the construct is before complaining that the name is unknown (`os.path...`).
    const name = shown(t.text, SHOWN);
    if (this.isOp("(")) {
      this.fail(this.tok, `calls are not supported except dict(...) (found a call of '${name}')`);
    }
    if (this.isOp(".")) this.fail(this.tok, `attribute access ('${name}.') is not supported`);
    if (this.isOp("[")) this.fail(this.tok, `subscripts ('${name}[...]') are not supported`);
    if (!this.names.has(t.text)) {
      if (this.comprehensionAhead()) this.fail(t, "comprehensions are not supported");
      this.fail(t, `name '${name}' is not defined (only names assigned earlier in this file can be used)`);
    }
    return this.copy(t, this.names.get(t.text)!);
  }

  /**
   * dict(mapping?, key=value..., **other...) with Python's rules: keyword arguments (written
   * or unpacked) override the positional mapping, but may not repeat each other.
   */
  private dictCall(): PyValue {
    this.i++; // dict
    this.open(this.expectOp("(", "after dict"));
    this.spend(this.tok, 1);
    const out: PyDict = {};
    const keywords = new Set<string>();
    let sawKeyword = false;
    let first = true;
    const keyword = (t: Token, k: string, v: PyValue) => {
      if (keywords.has(k)) this.fail(t, `dict() got multiple values for keyword argument '${shown(k, SHOWN)}'`);
      keywords.add(k);
      setOwn(out, k, v);
    };
    while (!this.isOp(")")) {
      const t = this.tok;
      if (this.isOp("**")) {
        this.i++;
        const v = this.expression();
        if (!isPyDict(v)) this.fail(t, "dict(**x) needs x to be a dict");
        for (const [k, x] of Object.entries(v)) keyword(t, k, x);
        sawKeyword = true;
      } else if (this.isOp("*")) {
        this.fail(t, "dict(*args) is not supported");
      } else if (t.kind === "name" && this.isOp("=", this.peek())) {
        if (RESERVED.has(t.text)) this.fail(t, `'${shown(t.text, SHOWN)}' cannot be a keyword argument`);
        this.i += 2;
        const v = this.expression();
        keyword(t, t.text, v);
        sawKeyword = true;
      } else {
        const v = this.expression();
        if (sawKeyword) this.fail(t, "a positional argument follows keyword arguments in dict(...)");
        if (!first) this.fail(t, "dict() takes at most one positional argument");
        if (!isPyDict(v)) this.fail(t, "dict(x) is supported only when x is a dict");
        for (const [k, x] of Object.entries(v)) setOwn(out, k, x);
      }
      first = false;
      if (this.isOp(",")) {
        this.i++;
        continue;
      }
      if (!this.isOp(")")) this.unexpected(this.tok, "expected ',' or ')' in dict(...)");
    }
    this.i++; // )
    this.depth--;
    return out;
  }

  /** (expr) | () | (a, b, ...) | (a,) */
  private parenthesised(): PyValue {
    this.open(this.tok);
    this.i++; // (
    if (this.isOp(")")) {
      this.i++;
      this.depth--;
      this.spend(this.tok, 1);
      return [];
    }
    const items: PyValue[] = [];
    let tuple = false;
    for (;;) {
      this.element(items);
      if (this.isOp(",")) {
        tuple = true;
        this.i++;
        if (this.isOp(")")) break;
        continue;
      }
      if (this.isOp(")")) break;
      this.unexpected(this.tok, "expected ',' or ')'");
    }
    this.i++; // )
    this.depth--;
    if (tuple) this.spend(this.tok, 1);
    return tuple ? items : items[0];
  }

  private list(): PyValue {
    this.open(this.tok);
    this.spend(this.tok, 1);
    this.i++; // [
    const items: PyValue[] = [];
    while (!this.isOp("]")) {
      this.element(items);
      if (this.isOp(",")) {
        this.i++;
        continue;
      }
      if (!this.isOp("]")) this.unexpected(this.tok, "expected ',' or ']'");
    }
    this.i++; // ]
    this.depth--;
    return items;
  }

  /** one display element: value or *iterable (a list/tuple value) */
  private element(items: PyValue[]): void {
    const t = this.tok;
    if (this.isOp("*")) {
      this.i++;
      const v = this.expression();
      if (!Array.isArray(v)) this.fail(t, "*x in a list or tuple needs x to be a list or tuple");
      // (a loop: spreading a long list into push's arguments overflows the stack)
      for (const x of v) items.push(x);
      return;
    }
    items.push(this.expression());
  }

  /** {key: value, **other} (a set display {a, b} is rejected) */
  private braces(): PyValue {
    this.open(this.tok);
    this.spend(this.tok, 1);
    this.i++; // {
    const out: PyDict = {};
    while (!this.isOp("}")) {
      const t = this.tok;
      if (this.isOp("**")) {
        this.i++;
        const v = this.expression();
        if (!isPyDict(v)) this.fail(t, "{**x} needs x to be a dict");
        // A repeated key keeps its first position and takes the later value, as in Python.
        for (const [k, x] of Object.entries(v)) setOwn(out, k, x);
      } else {
        const key = this.expression();
        if (!this.isOp(":")) {
          if (this.isOp(",") || this.isOp("}")) this.fail(t, "set literals are not supported");
          this.unexpected(this.tok, "expected ':' after a dict key");
        }
        this.i++; // :
        const value = this.expression();
        let k: string;
        if (typeof key === "string") k = key;
        else if (typeof key === "number") k = String(key); // as mmcv's JSON dump writes int keys
        else this.fail(t, "dict keys must be strings or numbers");
        setOwn(out, k, value);
      }
      if (this.isOp(",")) {
        this.i++;
        continue;
      }
      if (!this.isOp("}")) this.unexpected(this.tok, "expected ',' or '}'");
    }
    this.i++; // }
    this.depth--;
    return out;
  }
}

/**
 * Parses a config's Python source into its top-level names (in assignment order), leaving out
 * names that start with "__" as mmcv does. `file` only labels error messages (shown escaped
 * and shortened). `budget` bounds the values built, shared by the files of one _base_ chain.
 */
export function parsePyConfig(source: string, file: string, budget = new ValueBudget()): PyDict {
  const text = source.startsWith("\ufeff") ? source.slice(1) : source;
  const label = shown(file, 200);
  const names = new Parser(new Tokenizer(text, label), label, budget).parseModule();
  const out: PyDict = {};
  for (const [k, v] of names) if (!k.startsWith("__")) setOwn(out, k, v);
  return out;
}
