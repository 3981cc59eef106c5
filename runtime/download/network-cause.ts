// Turns what `fetch` throws into a short cause for a one-line message, and says whether trying
// again could help. Node (undici), Bun and Deno report the same failure in different shapes:
//   refused  Node: TypeError "fetch failed" <- {code: ECONNREFUSED}
//            Bun:  TypeError {code: ECONNREFUSED}
//            Deno: TypeError "fetch failed" <- Error "... tcp connect error: Connection refused ..."
//   DNS      Node/Bun: code ENOTFOUND; Deno: "... dns error: failed to lookup address information ..."
//   dropped  Node: TypeError "terminated" <- SocketError "other side closed";
//            Bun: code ECONNRESET; Deno: "error reading a body from connection"

export interface NetworkCause {
  text: string;
  retryable: boolean;
}

function causeChain(e: unknown): { codes: string[]; messages: string[] } {
  const codes: string[] = [];
  const messages: string[] = [];
  let cur: unknown = e;
  for (let depth = 0; cur !== undefined && cur !== null && depth < 8; depth++) {
    if (typeof cur === "object") {
      const o = cur as { code?: unknown; message?: unknown; cause?: unknown };
      if (typeof o.code === "string") codes.push(o.code);
      if (typeof o.message === "string") messages.push(o.message);
      cur = o.cause;
    } else {
      messages.push(String(cur));
      break;
    }
  }
  return { codes, messages };
}

export function networkCause(e: unknown, host: string): NetworkCause {
  const { codes, messages } = causeChain(e);
  const all = [...codes, ...messages].join(" | ");
  const has = (re: RegExp) => re.test(all);
  if (has(/ECONNREFUSED|ConnectionRefused|connection refused/i)) {
    return { text: `connection refused by ${host}`, retryable: false };
  }
  if (has(/EAI_AGAIN|temporary failure in name resolution/i)) {
    return { text: `cannot resolve host ${host} (temporary DNS failure)`, retryable: true };
  }
  if (has(/ENOTFOUND|dns error|failed to lookup address|getaddrinfo|name or service not known|name resolution/i)) {
    return { text: `cannot resolve host ${host}`, retryable: false };
  }
  if (has(/CERT|certificate|SSL|TLS/)) {
    return { text: `TLS error talking to ${host}: ${lastLine(messages)}`, retryable: false };
  }
  if (has(/ETIMEDOUT|UND_ERR_CONNECT_TIMEOUT|timed out/i)) {
    return { text: `connection to ${host} timed out`, retryable: true };
  }
  if (has(/ECONNRESET|ConnectionClosed|EPIPE|other side closed|closed unexpectedly|terminated|error reading a body|connection reset|UND_ERR_SOCKET|socket hang up/i)) {
    return { text: "connection dropped", retryable: true };
  }
  return { text: lastLine(messages) || "network error", retryable: true };
}

/** The innermost message's first line: the most specific one in every runtime's chain. */
function lastLine(messages: string[]): string {
  const m = messages[messages.length - 1] ?? "";
  return m.split("\n")[0].trim();
}
