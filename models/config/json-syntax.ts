// Why JSON.parse refused a text, in one line of our own: "unexpected 'x' at line 2, column 12".
// JSON.parse's own messages cannot be passed on: V8 quotes the source text in them, line
// breaks included, and every runtime words them differently. So once JSON.parse has failed,
// this scanner walks the text by the JSON grammar (RFC 8259, exactly what JSON.parse accepts)
// without recursion and describes the first place it breaks. It runs only after a failure.

import { shown } from "./issues.ts";

interface Break {
  at: number;
  what: string;
}

const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const HEX4 = /^[0-9a-fA-F]{4}$/;

function charAt(text: string, at: number): string {
  const cp = text.codePointAt(at)!;
  return `'${shown(String.fromCodePoint(cp), 12)}'`;
}

/** the first break in `text` by the JSON grammar, or undefined if there is none */
function firstBreak(text: string): Break | undefined {
  const n = text.length;
  const stack: string[] = []; // the closing bracket of each open container
  type State = "value" | "firstValue" | "key" | "firstKey" | "colon" | "after";
  let state: State = "value";
  let i = 0;

  const string = (): Break | undefined => {
    const start = i;
    i++; // "
    for (;;) {
      if (i >= n) return { at: start, what: "unterminated string" };
      const c = text.charCodeAt(i);
      if (c === 0x22) {
        i++;
        return undefined;
      }
      if (c < 0x20) return { at: i, what: "control character inside a string (escape it)" };
      if (c === 0x5c) {
        const e = text[i + 1];
        if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else if (e === "u" && HEX4.test(text.slice(i + 2, i + 6))) i += 6;
        else return { at: i, what: "invalid escape in a string" };
        continue;
      }
      i++;
    }
  };

  for (;;) {
    while (i < n && (text[i] === " " || text[i] === "\t" || text[i] === "\n" || text[i] === "\r")) i++;
    if (i >= n) {
      return state === "after" && stack.length === 0 ? undefined : { at: i, what: "unexpected end of the text" };
    }
    const c = text[i];
    switch (state) {
      case "value":
      case "firstValue": {
        if (c === "]" && state === "firstValue") {
          stack.pop();
          i++;
          state = "after";
        } else if (c === "{" || c === "[") {
          stack.push(c === "{" ? "}" : "]");
          i++;
          state = c === "{" ? "firstKey" : "firstValue";
        } else if (c === '"') {
          const b = string();
          if (b) return b;
          state = "after";
        } else if (c === "-" || (c >= "0" && c <= "9")) {
          NUMBER.lastIndex = i;
          const m = NUMBER.exec(text);
          if (!m) return { at: i, what: "malformed number" };
          i += m[0].length;
          state = "after";
        } else {
          const word = ["true", "false", "null"].find((w) => text.startsWith(w, i));
          if (!word) return { at: i, what: `unexpected ${charAt(text, i)} where a value should be` };
          i += word.length;
          state = "after";
        }
        break;
      }
      case "key":
      case "firstKey": {
        if (c === "}" && state === "firstKey") {
          stack.pop();
          i++;
          state = "after";
          break;
        }
        if (c !== '"') return { at: i, what: `expected a property name in double quotes, found ${charAt(text, i)}` };
        const b = string();
        if (b) return b;
        state = "colon";
        break;
      }
      case "colon":
        if (c !== ":") return { at: i, what: `expected ':' after a property name, found ${charAt(text, i)}` };
        i++;
        state = "value";
        break;
      case "after": {
        const close = stack[stack.length - 1];
        if (close === undefined) return { at: i, what: `unexpected ${charAt(text, i)} after the end of the JSON value` };
        if (c === ",") {
          i++;
          state = close === "]" ? "value" : "key";
        } else if (c === close) {
          stack.pop();
          i++;
        } else {
          return { at: i, what: `expected ',' or '${close}', found ${charAt(text, i)}` };
        }
        break;
      }
    }
  }
}

/** 1-based line and column of offset `at` (\n, \r\n and \r end lines) */
function lineColumn(text: string, at: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = 0; i < at; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x0a || (c === 0x0d && text.charCodeAt(i + 1) !== 0x0a)) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: at - lineStart + 1 };
}

/**
 * One line saying where and why `text` is not JSON (for a text JSON.parse refused), without
 * echoing the source beyond one shown character.
 */
export function describeJsonError(text: string): string {
  const b = firstBreak(text);
  if (!b) return "it does not parse";
  const { line, column } = lineColumn(text, b.at);
  return `${b.what} at line ${line}, column ${column}`;
}
