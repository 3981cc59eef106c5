// Dev tool for the quick-start fixture (see spec/e2e/reference/make_quickstart_reference.py):
//   node tools/node-ts.js spec/e2e/quickstart/make-checkpoint.ts --search-input
//       prints find_nonce.cu's arguments: the SHA-256 state before the last block, that
//       block's 48 bytes (hex, nonce zeroed), the file size, the nonce's offset, the target
//   node tools/node-ts.js spec/e2e/quickstart/make-checkpoint.ts --set-nonce <16 hex>
//       checks the file's sha256 starts with the zoo name's prefix and records the nonce,
//       the sha256 and the size in checkpoint.json
//   node tools/node-ts.js spec/e2e/quickstart/make-checkpoint.ts --write FILE [--nonce HEX]

import { readFileSync, writeFileSync } from "node:fs";
import process from "node:process";
import { sha256PrefixFromName } from "../../../runtime/download/zoo-url.ts";
import { sha256Finish, sha256State } from "./sha256-state.ts";
import { buildCheckpoint, FIXTURE_DIR, LAST_BLOCK_FILL, loadCheckpointInfo, NONCE_LENGTH, sha256Hex } from "./zoo-checkpoint.ts";

const { info, dataPkl } = loadCheckpointInfo();
const [flag, value, ...rest] = process.argv.slice(2);
const target = sha256PrefixFromName(info.zoo_file)!;

function build(nonce: string) {
  const built = buildCheckpoint(info, dataPkl, nonce);
  if (built.weightsSha256 !== info.weights_sha256) {
    throw new Error(`weights differ from synthetic_weights.py's: ${built.weightsSha256} vs ${info.weights_sha256}`);
  }
  return built.bytes;
}

if (flag === "--search-input") {
  const bytes = build("0".repeat(NONCE_LENGTH));
  const head = bytes.length - LAST_BLOCK_FILL;
  const state = sha256State(bytes.subarray(0, head));
  const tail = bytes.subarray(head);
  // self-check: state + last block reproduce node:crypto's digest
  if (sha256Finish(state, tail, bytes.length) !== sha256Hex(bytes)) throw new Error("sha256State disagrees with node:crypto");
  const hex = (a: ArrayLike<number>, w: number) => Array.from(a, (x) => x.toString(16).padStart(w, "0")).join("");
  process.stdout.write(`${hex(state, 8)} ${hex(tail, 2)} ${bytes.length} ${LAST_BLOCK_FILL - NONCE_LENGTH} ${target}\n`);
} else if (flag === "--set-nonce") {
  const bytes = build(value);
  const digest = sha256Hex(bytes);
  if (!digest.startsWith(target)) throw new Error(`sha256 ${digest} does not start with ${target}`);
  const path = `${FIXTURE_DIR}checkpoint.json`;
  const text = readFileSync(path, "utf8")
    .replace(/"nonce": [^\n]*,\n/, `"nonce": ${JSON.stringify(value)},\n`)
    .replace(/"file_sha256": [^\n]*,\n/, `"file_sha256": ${JSON.stringify(digest)},\n`)
    .replace(/"file_size": [^\n]*,\n/, `"file_size": ${bytes.length},\n`);
  writeFileSync(path, text);
  process.stdout.write(`${info.zoo_file}: ${bytes.length} bytes, sha256 ${digest}\n`);
} else if (flag === "--write") {
  const nonce = rest[0] === "--nonce" ? rest[1] : info.nonce ?? "0".repeat(NONCE_LENGTH);
  const bytes = build(nonce);
  writeFileSync(value, bytes);
  process.stdout.write(`${value}: ${bytes.length} bytes, sha256 ${sha256Hex(bytes)}\n`);
} else {
  process.stderr.write("usage: make-checkpoint.ts --search-input | --set-nonce HEX | --write FILE [--nonce HEX]\n");
  process.exit(2);
}
