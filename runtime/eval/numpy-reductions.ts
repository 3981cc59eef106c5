// The numpy reductions MMAction2's metrics go through, with numpy's exact semantics so the
// metrics match to the last bit:
//   np.argmax  — the FIRST index of the maximum (a NaN counts as the maximum: the first NaN wins)
//   np.sum     — float64 pairwise summation (numpy/core/src/umath/loops_utils.h.src,
//                DOUBLE_pairwise_sum, blocks of 128 summed with 8 accumulators)
//   np.mean    — that sum / n

/** `np.argmax(values)` for one row; -1 for an empty row (numpy raises there) */
export function numpyArgmax(values: ArrayLike<number>): number {
  let best = -1;
  let bestValue = -Infinity;
  for (let i = 0; i < values.length; i++) {
    const x = values[i];
    if (x !== x) return i;
    if (best < 0 || x > bestValue) {
      best = i;
      bestValue = x;
    }
  }
  return best;
}

const PW_BLOCKSIZE = 128;

/** numpy's DOUBLE_pairwise_sum over values[start, start + n) */
function pairwiseSum(values: ArrayLike<number>, start: number, n: number): number {
  if (n < 8) {
    let res = -0.0;
    for (let i = 0; i < n; i++) res += values[start + i];
    return res;
  }
  if (n <= PW_BLOCKSIZE) {
    const r = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let j = 0; j < 8; j++) r[j] = values[start + j];
    let i = 8;
    for (; i < n - (n % 8); i += 8) for (let j = 0; j < 8; j++) r[j] += values[start + i + j];
    // prettier-ignore
    let res = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]));
    for (; i < n; i++) res += values[start + i];
    return res;
  }
  let n2 = Math.floor(n / 2);
  n2 -= n2 % 8;
  return pairwiseSum(values, start, n2) + pairwiseSum(values, start + n2, n - n2);
}

/** `np.sum(values)` of a contiguous float64 array (0 for an empty one) */
export function numpySum(values: ArrayLike<number>): number {
  // np.add.reduce starts from the identity 0 and adds the pairwise sum of the whole array
  return 0 + pairwiseSum(values, 0, values.length);
}

/** `np.mean(values)` of float64 values (NaN for an empty list, as numpy gives with a warning) */
export function numpyMean(values: ArrayLike<number>): number {
  return numpySum(values) / values.length;
}
