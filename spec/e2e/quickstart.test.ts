// The README's quick start, run exactly as written (minus `npm install`, which the checkout has
// already had): `npx i3d infer spec/fixtures/media/demo.mp4` from the repository root, default
// config, default backend, the zoo checkpoint downloaded through $I3D_ZOO_URL from a server on
// 127.0.0.1 into a fresh $I3D_CACHE.
//
// The server holds a stand-in for the zoo file (zoo-checkpoint.ts): full-size i3d_r50 weights
// made from committed rules, whose sha256 really starts with the e31c6f52 of the zoo file name,
// so the download's verification runs unchanged. What the CLI prints is checked against
// MMAction2's pipeline and the PyTorch reference in float64 on those weights
// (spec/e2e/fixtures/quickstart/expected.json, make_quickstart_reference.py).
//
// Slow by nature: the zoo's 30 views of the full model, ~2.6 TFLOP (about 2 minutes on WASM
// on a 2-core machine).

import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import process from "node:process";
import { suite } from "uvu";
import * as assert from "uvu/assert";
import { KINETICS400_LABELS } from "../../runtime/labels/kinetics400.ts";
import { sha256PrefixFromName } from "../../runtime/download/zoo-url.ts";
import { ROOT } from "../helpers/run-cli.ts";
import { E2E_FIXTURES, FLOAT32_TOLERANCES, sameRanking, TORCH_ERROR_FACTOR } from "./reference-cases.ts";
import { buildCheckpoint, loadCheckpointInfo, sha256Hex } from "./quickstart/zoo-checkpoint.ts";

const test = suite("README quick start");

const ASSUMED = "npx i3d infer spec/fixtures/media/demo.mp4";

/** The quick-start command from README.md's first fenced block holding `npx i3d infer`. */
function quickStartCommand(): { command: string; from: string } {
  const readme = join(ROOT, "README.md");
  if (existsSync(readme)) {
    for (const block of readFileSync(readme, "utf8").matchAll(/```[^\n]*\n([\s\S]*?)```/g)) {
      for (const line of block[1].split("\n")) {
        // `npm install && npx i3d infer …`: the install step is the checkout's, not the test's
        const part = line.split("&&").map((p) => p.trim().replace(/^\$\s*/, "")).find((p) => p.startsWith("npx i3d infer"));
        if (part) return { command: part, from: "README.md" };
      }
    }
  }
  return { command: ASSUMED, from: "assumed (no README.md quick-start block with `npx i3d infer`)" };
}

interface Expected {
  zoo_file: string;
  media: string;
  config: string;
  frame_indices: number[][];
  top5: number[];
  top5_prob: number[];
  gaps: number[];
  torch_float32_error: { logits: number; prob: number };
}

function run(cmd: string, args: string[], env: Record<string, string>, timeoutMs: number) {
  return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: ROOT, env: { ...process.env, NO_COLOR: "1", ...env }, stdio: ["ignore", "pipe", "pipe"] });
    let stdout = "", stderr = "";
    child.stdout.on("data", (d) => (stdout += d));
    child.stderr.on("data", (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill("SIGKILL");
      reject(new Error(`${cmd} ${args.join(" ")} timed out; stderr: ${stderr}`));
    }, timeoutMs);
    child.on("error", reject);
    child.on("close", (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

test("npx i3d infer spec/fixtures/media/demo.mp4, checkpoint from a zoo mirror", async () => {
  const { command, from } = quickStartCommand();
  const [npx, ...args] = command.split(/\s+/);
  assert.is(npx, "npx", `quick start (${from}): ${command}`);
  const expected = JSON.parse(readFileSync(`${E2E_FIXTURES}quickstart/expected.json`, "utf8")) as Expected;
  assert.is(args.at(-1), `spec/fixtures/media/${expected.media}`, `the quick start (${from}) classifies another file than the fixture's`);

  // the stand-in zoo file, rebuilt and checked against what the fixtures promise
  const { info, dataPkl } = loadCheckpointInfo();
  assert.is(info.zoo_file, expected.zoo_file);
  const built = buildCheckpoint(info, dataPkl, info.nonce!);
  assert.is(built.weightsSha256, info.weights_sha256, "TypeScript weights = synthetic_weights.py's");
  const digest = sha256Hex(built.bytes);
  assert.is(digest, info.file_sha256);
  assert.ok(digest.startsWith(sha256PrefixFromName(info.zoo_file)!), `${digest} vs ${info.zoo_file}`);

  const requests: string[] = [];
  const server: Server = createServer((req, res) => {
    requests.push(`${req.method} ${req.url}`);
    if (req.method === "GET" && req.url === `/${info.zoo_file}`) {
      res.writeHead(200, { "content-type": "application/octet-stream", "content-length": built.bytes.length });
      res.end(built.bytes);
    } else {
      res.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const cache = mkdtempSync(join(tmpdir(), "i3d-quickstart-cache-"));
  try {
    const port = (server.address() as AddressInfo).port;
    const start = performance.now();
    const r = await run(npx, args, { I3D_ZOO_URL: `http://127.0.0.1:${port}`, I3D_CACHE: cache }, 20 * 60_000);
    const seconds = (performance.now() - start) / 1000;
    assert.is(r.code, 0, r.stderr);
    assert.not.match(r.stderr, /error/i);

    // downloaded once, from the mirror, under the zoo name, verified and cached
    assert.equal(requests, [`GET /${info.zoo_file}`]);
    assert.equal(readdirSync(cache).filter((f) => !f.endsWith(".lock")), [info.zoo_file]);
    assert.is(sha256Hex(new Uint8Array(readFileSync(join(cache, info.zoo_file)))), info.file_sha256);

    // the human output: a header, then the top-5 labels with their averaged probabilities
    const [head, ...rows] = r.stdout.trimEnd().split("\n");
    assert.match(head, new RegExp(`^spec/fixtures/media/${expected.media}: 30 views, ${expected.config} on (wasm|webgpu)$`));
    assert.is(rows.length, 5, r.stdout);
    const printed = rows.map((row) => {
      const m = /^\s+(.+?)\s{2,}(\d\.\d{4})$/.exec(row);
      assert.ok(m, `row "${row}"`);
      const index = KINETICS400_LABELS.indexOf(m![1]);
      assert.ok(index >= 0, `"${m![1]}" is not a Kinetics-400 label`);
      return { index, score: Number(m![2]) };
    });
    const tol = Math.max(FLOAT32_TOLERANCES.prob, TORCH_ERROR_FACTOR * expected.torch_float32_error.prob);
    const { checked, error } = sameRanking(printed.map((p) => p.index), expected, tol);
    assert.not.ok(error, error);
    assert.ok(checked >= 4, `only ${checked} ranks determined`);
    printed.forEach((p, i) => {
      const want = expected.top5_prob[expected.top5.indexOf(p.index)];
      // printed to 4 decimals: rounding adds up to 5e-5
      assert.ok(Math.abs(p.score - want) <= tol + 5e-5, `rank ${i + 1}: ${p.score} vs ${want}`);
    });
    if (process.env.I3D_E2E_TIMINGS) {
      process.stdout.write(`\nquick start (${from}): "${command}" ${seconds.toFixed(1)} s\n${r.stdout}`);
    }
  } finally {
    server.close();
    rmSync(cache, { recursive: true, force: true });
  }
});

test.run();
