// A separate process for the two-process tests: `fetch-child.ts <url> <cacheDir>` downloads with
// fetchCheckpoint and prints the local path (or `error: <message>` and exits 1).
import { fetchCheckpoint } from "../../runtime/download/fetch-checkpoint.ts";

const [url, cacheDir] = process.argv.slice(2);
try {
  process.stdout.write(`${await fetchCheckpoint(url, { cacheDir, progress: false })}\n`);
} catch (e) {
  process.stdout.write(`error: ${(e as Error).message}\n`);
  process.exitCode = 1;
}
