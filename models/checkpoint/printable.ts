// Names that come from a file (globals, storage keys, zip entries, tensor names) may hold any
// characters; error messages must stay one readable line, so control characters and line
// separators are escaped and long names shortened.

export function printable(name: string, max = 120): string {
  const clean = name.replace(/[\x00-\x1f\x7f-\x9f\u2028\u2029]/g, (c) => {
    const code = c.charCodeAt(0);
    return code <= 0xff ? `\\x${code.toString(16).padStart(2, "0")}` : `\\u${code.toString(16).padStart(4, "0")}`;
  });
  return clean.length > max ? `${clean.slice(0, max - 3)}...` : clean;
}
