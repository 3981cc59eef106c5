// numpy's default `np.argsort` (kind="quicksort") for one row of float scores, step for step.
//
// Why a port and not `indices.sort(...)`: MMAction2's top_k_accuracy picks the top k classes as
// `np.argsort(scores, axis=1)[:, -k:][:, ::-1]`. numpy's quicksort is an introsort that is NOT
// stable, so when scores tie (saturated softmax, a row of zeros) which of the tied classes lands
// in the top k depends on the exact partitioning steps. Matching MMAction2's accuracy to the last
// video therefore means replaying numpy's algorithm: `aquicksort_` and `aheapsort_` from
// numpy/core/src/npysort/quicksort.cpp and npysort_heapsort.h (numpy 1.24). Comparison is
// numpy's FLOAT_LT / DOUBLE_LT, which orders NaN after every number.
//
// Which numpy this matches: every numpy <= 1.24 on every CPU (no SIMD argsort there), and later
// numpy wherever its x86-simd-sort argsort is not dispatched (non-x86; 1.25/1.26 without
// AVX-512 SKX; 2.x without AVX2/AVX-512). numpy >= 1.25 on an AVX-512 machine (or 2.x on AVX2)
// orders ties differently (checked: numpy 2.4 on AVX-512 gives 0..16 for 17 zeros, 1.24 gives
// the order in the tests), so MMAction2's own top-k differs between those installs when the
// k-th place is tied. Untied rows give the same top-k everywhere.

/** numpy's SMALL_QUICKSORT: partitions of at most 16 elements are finished by insertion sort */
const SMALL_QUICKSORT = 15;

/** numpy's FLOAT_LT: a < b, with NaN sorting last */
function lessThan(a: number, b: number): boolean {
  return a < b || (b !== b && a === a);
}

/** npy_get_msb: floor(log2(n)) for n >= 1, 0 for n = 0 */
function msb(n: number): number {
  let depth = 0;
  while ((n = Math.floor(n / 2)) > 0) depth++;
  return depth;
}

/** The permutation `np.argsort(values)` returns (ascending, numpy's tie order). */
export function numpyArgsort(values: ArrayLike<number>): Int32Array {
  const n = values.length;
  const idx = new Int32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  if (n < 2) return idx;
  const v = values;
  const swap = (a: number, b: number) => {
    const t = idx[a];
    idx[a] = idx[b];
    idx[b] = t;
  };

  // `pl`/`pr` are positions in `idx` (numpy uses pointers into `tosort`)
  let pl = 0;
  let pr = n - 1;
  const stack: number[] = [];
  const depthStack: number[] = [];
  let cdepth = msb(n) * 2;

  for (;;) {
    if (cdepth < 0) {
      heapsortRange(v, idx, pl, pr - pl + 1);
    } else {
      while (pr - pl > SMALL_QUICKSORT) {
        // median of three, moved to pr - 1 as the sentinel-guarded pivot
        const pm = pl + ((pr - pl) >> 1);
        if (lessThan(v[idx[pm]], v[idx[pl]])) swap(pm, pl);
        if (lessThan(v[idx[pr]], v[idx[pm]])) swap(pr, pm);
        if (lessThan(v[idx[pm]], v[idx[pl]])) swap(pm, pl);
        const vp = v[idx[pm]];
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do {
            ++pi;
          } while (lessThan(v[idx[pi]], vp));
          do {
            --pj;
          } while (lessThan(vp, v[idx[pj]]));
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        // push the larger partition, continue with the smaller one
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depthStack.push(--cdepth);
      }
      // insertion sort of the small remainder
      for (let pi = pl + 1; pi <= pr; pi++) {
        const vi = idx[pi];
        const vp = v[vi];
        let pj = pi;
        let pk = pi - 1;
        while (pj > pl && lessThan(vp, v[idx[pk]])) idx[pj--] = idx[pk--];
        idx[pj] = vi;
      }
    }
    // stack_pop
    if (stack.length === 0) break;
    pr = stack.pop()!;
    pl = stack.pop()!;
    cdepth = depthStack.pop()!;
  }
  return idx;
}

/** `np.argsort(values, kind="heapsort")`: numpy's aheapsort_ alone (exported so tests can check
 * the introsort's fallback against numpy directly; it is hard to reach through quicksort) */
export function numpyHeapArgsort(values: ArrayLike<number>): Int32Array {
  const idx = Int32Array.from({ length: values.length }, (_, i) => i);
  heapsortRange(values, idx, 0, values.length);
  return idx;
}

/** numpy's aheapsort_ on idx[start, start + n): the introsort fallback when recursion runs deep */
function heapsortRange(v: ArrayLike<number>, idx: Int32Array, start: number, n: number): void {
  // numpy indexes the heap from 1: a[k] is idx[start + k - 1]
  const at = (k: number) => idx[start + k - 1];
  const set = (k: number, value: number) => {
    idx[start + k - 1] = value;
  };
  let i: number;
  let j: number;
  let tmp: number;
  for (let l = n >> 1; l > 0; --l) {
    tmp = at(l);
    for (i = l, j = l << 1; j <= n; ) {
      if (j < n && lessThan(v[at(j)], v[at(j + 1)])) j += 1;
      if (lessThan(v[tmp], v[at(j)])) {
        set(i, at(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  }
  for (; n > 1; ) {
    tmp = at(n);
    set(n, at(1));
    n -= 1;
    for (i = 1, j = 2; j <= n; ) {
      if (j < n && lessThan(v[at(j)], v[at(j + 1)])) j++;
      if (lessThan(v[tmp], v[at(j)])) {
        set(i, at(j));
        i = j;
        j += j;
      } else break;
    }
    set(i, tmp);
  }
}
