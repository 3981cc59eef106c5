// Bounds on the values a config may build, and the walkers that enforce them without recursion.
// Configs are untrusted text: a .json nested 100000 deep, or ten lines of names that each hold
// ten copies of the previous one ("billion laughs"), must be refused before anything recursive
// (merging, substitution, zod, messages) or anything that grows with the copies runs.
// MMAction2 configs nest about 6 deep and hold a few hundred values, so the limits are far
// from anything real.

/** containers (lists, tuples, dicts) nested inside one config value, at most */
export const MAX_CONFIG_DEPTH = 100;
/** values (containers and leaves) built while loading one config with its _base_ files, at most */
export const MAX_CONFIG_VALUES = 1_000_000;

/** Counts the values built during one load; `spend` says whether the limit still holds. */
export class ValueBudget {
  private used = 0;

  constructor(readonly limit = MAX_CONFIG_VALUES) {}

  spend(n: number): boolean {
    this.used += n;
    return this.used <= this.limit;
  }
}

type Container = unknown[] | Record<string, unknown>;

function isContainer(v: unknown): v is Container {
  return typeof v === "object" && v !== null;
}

/** Sets an own property even for keys such as "__proto__" (configs are untrusted text). */
function setOwn(obj: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(obj, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * A deep copy of plain config data (arrays and plain objects), built without recursion. Every
 * container and leaf copied is spent from `budget`; when it runs out, `exceeded` is called
 * (it throws) before the copy grows further.
 */
export function copyValue<T>(value: T, budget?: ValueBudget, exceeded?: () => never): T {
  if (!isContainer(value)) return value;
  const root: Container = Array.isArray(value) ? [] : {};
  const work: Array<[Container, Container]> = [[value, root]];
  /** the copy of x: x itself for a leaf, an empty container queued for filling otherwise */
  const shell = (x: unknown): unknown => {
    if (!isContainer(x)) return x;
    const c: Container = Array.isArray(x) ? [] : {};
    work.push([x, c]);
    return c;
  };
  while (work.length > 0) {
    const [from, to] = work.pop()!;
    if (Array.isArray(from)) {
      if (budget && !budget.spend(from.length + 1)) exceeded?.();
      const out = to as unknown[];
      for (let i = 0; i < from.length; i++) out.push(shell(from[i]));
    } else {
      const entries = Object.entries(from);
      if (budget && !budget.spend(entries.length + 1)) exceeded?.();
      for (const [k, x] of entries) setOwn(to as Record<string, unknown>, k, shell(x));
    }
  }
  return root as T;
}

/**
 * How deep containers nest in `value` (0 for a leaf, 1 for a flat list), walked without
 * recursion; the walk stops as soon as `maxDepth` is passed (returning maxDepth + 1). Shared
 * references are walked once per path, so only use it on trees (parsed config data).
 */
export function valueDepth(value: unknown, maxDepth = MAX_CONFIG_DEPTH): number {
  if (!isContainer(value)) return 0;
  let deepest = 0;
  const work: Array<[Container, number]> = [[value, 1]];
  while (work.length > 0) {
    const [v, depth] = work.pop()!;
    if (depth > deepest) deepest = depth;
    if (deepest > maxDepth) return maxDepth + 1;
    for (const x of Array.isArray(v) ? v : Object.values(v)) {
      if (isContainer(x)) work.push([x, depth + 1]);
    }
  }
  return deepest;
}

/** containers and leaves in `value` (a tree), counted without recursion */
export function valueCount(value: unknown): number {
  let count = 1;
  const work: unknown[] = [value];
  while (work.length > 0) {
    const v = work.pop();
    if (!isContainer(v)) continue;
    const items = Array.isArray(v) ? v : Object.values(v);
    count += items.length;
    for (const x of items) if (isContainer(x)) work.push(x);
  }
  return count;
}
