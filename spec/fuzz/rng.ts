// The fuzzer's only source of randomness: a seeded PRNG (mulberry32, as spec/helpers/random.ts)
// with the helpers mutators need, and a stable hash that turns (seed, target, iteration) into
// the PRNG seed of one input. Every input is therefore a pure function of those three values:
// the watchdog can rebuild the input a hung worker was on, and any run can be replayed.

import { rng } from "../helpers/random.ts";

export class Rng {
  private readonly next01: () => number;

  constructor(seed: number) {
    this.next01 = rng(seed);
  }

  /** in [0, 1) */
  float(): number {
    return this.next01();
  }

  /** an integer in [0, n) (0 when n <= 0) */
  int(n: number): number {
    return n <= 0 ? 0 : Math.floor(this.next01() * n);
  }

  /** an integer in [lo, hi] */
  range(lo: number, hi: number): number {
    return lo + this.int(hi - lo + 1);
  }

  chance(p: number): boolean {
    return this.next01() < p;
  }

  pick<T>(items: readonly T[]): T {
    if (items.length === 0) throw new Error("Rng.pick from an empty list");
    return items[this.int(items.length)];
  }

  /** small counts are much likelier than large ones: 1, 2, 4 ... up to `max` */
  small(max: number): number {
    const bits = this.int(Math.max(1, Math.floor(Math.log2(max)) + 1));
    return Math.min(max, 1 + this.int(2 ** bits));
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) out[i] = this.int(256);
    return out;
  }
}

/** FNV-1a over the parts' text: a stable 32-bit seed for (seed, target, index) */
export function seedFor(...parts: Array<string | number>): number {
  let h = 0x811c9dc5;
  for (const ch of parts.join("\u0000")) {
    h ^= ch.charCodeAt(0);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}
