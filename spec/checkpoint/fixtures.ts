// Shared access to spec/fixtures/checkpoints (made by make.py there) and small assertions.

import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import * as assert from "uvu/assert";
import { I3DError } from "../../models/errors.ts";

export const fixtureDir = fileURLToPath(new URL("../fixtures/checkpoints/", import.meta.url));

export function fixturePath(name: string): string {
  return fixtureDir + name;
}

export function fixture(name: string): Uint8Array {
  return new Uint8Array(readFileSync(fixturePath(name)));
}

export interface ExpectedTensor {
  dtype: string;
  shape: number[];
  /** float32 bit patterns of the elements (exact, including -0, inf, NaN) */
  bits: number[];
}

export interface Expected {
  train: { stateDict: Record<string, ExpectedTensor>; stateDictStorages: number; totalStorages: number };
  views: { stateDict: Record<string, ExpectedTensor>; stateDictStorages: number };
  module: { stateDict: Record<string, ExpectedTensor> };
  safetensors: { stateDict: Record<string, ExpectedTensor>; metadata: Record<string, string> };
  config: string;
  npy: Record<string, { descr: string; shape: number[]; values: string[] }>;
}

export const expected: Expected = JSON.parse(readFileSync(fixturePath("expected.json"), "utf8"));

export function bitsOf(data: Float32Array): number[] {
  return [...new Uint32Array(data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength))];
}

/** runs `fn` and requires an I3DError with a one-line message; returns the message */
export function i3dError(fn: () => unknown, kind?: string): string {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof I3DError)) {
      throw new Error(`expected an I3DError, got ${(e as Error)?.stack ?? e}`);
    }
    if (kind) assert.is(e.kind, kind);
    assert.not.ok(e.message.includes("\n"), `message is not one line: ${e.message}`);
    return e.message;
  }
  return assert.unreachable("expected an I3DError, nothing was thrown") as never;
}

export async function i3dErrorAsync(fn: () => Promise<unknown>, kind?: string): Promise<string> {
  try {
    await fn();
  } catch (e) {
    if (!(e instanceof I3DError)) {
      throw new Error(`expected an I3DError, got ${(e as Error)?.stack ?? e}`);
    }
    if (kind) assert.is(e.kind, kind);
    assert.not.ok(e.message.includes("\n"), `message is not one line: ${e.message}`);
    return e.message;
  }
  return assert.unreachable("expected an I3DError, nothing was thrown") as never;
}
