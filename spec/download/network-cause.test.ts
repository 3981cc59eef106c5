// The three runtimes' error shapes, as observed from Node 20 (undici), Bun 1.x and Deno 2.x.
import { test } from "uvu";
import * as assert from "uvu/assert";
import { networkCause } from "../../runtime/download/network-cause.ts";

function chained(message: string, cause?: object): Error {
  return Object.assign(new TypeError(message), cause ? { cause } : {});
}

test("refused connection in each runtime", () => {
  const node = chained("fetch failed", { code: "ECONNREFUSED", message: "connect ECONNREFUSED 127.0.0.1:9" });
  const bun = Object.assign(new TypeError("ECONNREFUSED: Unable to connect."), { code: "ECONNREFUSED" });
  const deno = chained("fetch failed", new Error("error sending request: client error (Connect): tcp connect error: Connection refused (os error 111)"));
  for (const e of [node, bun, deno]) assert.equal(networkCause(e, "h:9"), { text: "connection refused by h:9", retryable: false });
});

test("DNS failure in each runtime", () => {
  const node = chained("fetch failed", { code: "ENOTFOUND", message: "getaddrinfo ENOTFOUND nope.invalid" });
  const bun = Object.assign(new TypeError("getaddrinfo ENOTFOUND nope.invalid"), { code: "ENOTFOUND" });
  const deno = chained("fetch failed", new Error("client error (Connect): dns error: failed to lookup address information: Name or service not known"));
  for (const e of [node, bun, deno]) assert.equal(networkCause(e, "nope.invalid"), { text: "cannot resolve host nope.invalid", retryable: false });
  assert.ok(networkCause(chained("fetch failed", { code: "EAI_AGAIN" }), "h").retryable, "a temporary DNS failure may pass");
});

test("dropped connection in each runtime", () => {
  const node = chained("terminated", { name: "SocketError", code: "UND_ERR_SOCKET", message: "other side closed" });
  const bun = Object.assign(new TypeError("ECONNRESET: The socket connection was closed unexpectedly."), { code: "ECONNRESET" });
  const deno = new TypeError("error reading a body from connection");
  for (const e of [node, bun, deno]) assert.equal(networkCause(e, "h"), { text: "connection dropped", retryable: true });
});

test("anything else: the innermost message's first line", () => {
  const e = chained("fetch failed", new Error("something odd\nwith detail"));
  assert.equal(networkCause(e, "h"), { text: "something odd", retryable: true });
  assert.is(networkCause(chained("fetch failed", { code: "CERT_HAS_EXPIRED", message: "certificate has expired" }), "h").text, "TLS error talking to h: certificate has expired");
});

test.run();
