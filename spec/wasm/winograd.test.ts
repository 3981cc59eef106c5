// The Winograd F(m, 3) matrices and the transformed-weight packing, in float64, independent of
// the generated kernels: Aᵀ [(G g) ⊙ (Bᵀ d)] must be the correlation y[i] = sum_k d[i+k] g[k]
// (1-D, and separably in 2-D), and packWinogradPanels must put U = G g Gᵀ where the kernel
// reads it. Tolerance: float64 rounding of the fractional G entries, 1e-12.

import { suite } from "uvu";
import * as assert from "uvu/assert";
import { packWinogradPanels, winogradAxesOf, winogradMatrices, winogradPoints, winogradTileGrid } from "../../compiler/winograd.ts";
import { randomNormal } from "../helpers/random.ts";

const test = suite("winograd");

const matVec = (M: number[][], v: number[]) => M.map((row) => row.reduce((s, c, j) => s + c * v[j], 0));

for (const [m, r] of [[2, 3], [4, 3], [3, 3], [2, 4], [3, 4], [4, 4], [6, 3]]) {
  test(`F(${m},${r}): A^T [(G g) . (B^T d)] equals the ${r}-tap correlation`, () => {
    const { a, BT, G, AT } = winogradMatrices(m, r);
    assert.is(a, m + r - 1);
    for (let trial = 0; trial < 20; trial++) {
      const d = Array.from(randomNormal(a, 10 + trial)), g = Array.from(randomNormal(r, 50 + trial));
      const u = matVec(G, g), v = matVec(BT, d);
      const y = matVec(AT, u.map((x, i) => x * v[i]));
      for (let i = 0; i < m; i++) {
        let want = 0;
        for (let k = 0; k < r; k++) want += d[i + k] * g[k];
        assert.ok(Math.abs(y[i] - want) < 1e-12, `y[${i}] = ${y[i]}, want ${want}`);
      }
    }
  });
}

for (const m of [2, 4]) {
  test(`F(${m}x${m},3x3) with packed weights: 2-D correlation of one 3x3 filter per (cin, cout) pair`, () => {
    const { a, BT, AT } = winogradMatrices(m);
    const cin = 2, cout = 3, nr = 4;
    const w = randomNormal(cout * cin * 9, 90 + m);
    const packed = packWinogradPanels(w, cout, cin, "hw", m, 3, 1, nr);
    const points = winogradPoints("hw", m);
    assert.is(points, a * a);
    assert.is(packed.length, points * nr * cin);
    const d = Array.from({ length: cin }, (_, ci) => Array.from(randomNormal(a * a, 200 + ci)));
    for (let co = 0; co < cout; co++) {
      // M[p] = sum_ci V[ci][p] U[p][ci][co], V = Bᵀ d B
      const M = new Array(points).fill(0);
      for (let ci = 0; ci < cin; ci++) {
        const rows = Array.from({ length: a }, (_, j) => d[ci].slice(j * a, j * a + a));
        const cols = Array.from({ length: a }, (_, k) => matVec(BT, rows.map((r) => r[k])));
        const V = Array.from({ length: a }, (_, x) => matVec(BT, cols.map((c) => c[x])));
        for (let p = 0; p < points; p++) M[p] += V[Math.floor(p / a)][p % a] * packed[(p * nr * cin) + ci * nr + co];
      }
      const t2 = Array.from({ length: a }, (_, q) => matVec(AT, Array.from({ length: a }, (_, p) => M[p * a + q])));
      for (let x = 0; x < m; x++) {
        for (let y = 0; y < m; y++) {
          const got = matVec(AT, t2.map((c) => c[x]))[y];
          let want = 0;
          for (let ci = 0; ci < cin; ci++) {
            for (let j = 0; j < 3; j++) for (let k = 0; k < 3; k++) want += d[ci][(x + j) * a + y + k] * w[((co * cin + ci) * 3 + j) * 3 + k];
          }
          assert.ok(Math.abs(got - want) < 1e-5 * (1 + Math.abs(want)), `co ${co} (${x}, ${y}): ${got} vs ${want}`);
        }
      }
    }
    // columns past cout are zero
    for (let p = 0; p < points; p++) for (let ci = 0; ci < cin; ci++) assert.is(packed[p * nr * cin + ci * nr + 3], 0);
  });
}

test("which convs have a Winograd form, and the tile grid", () => {
  const conv = (kernel: number[], padding: number[], stride = [1, 1, 1], dilation = [1, 1, 1]) =>
    winogradAxesOf({ kernel, padding, stride, dilation } as never);
  assert.is(conv([1, 3, 3], [0, 1, 1]), "hw");
  assert.is(conv([3, 1, 1], [1, 0, 0]), "t");
  assert.is(conv([1, 3, 3], [0, 1, 1], [1, 2, 2]), undefined);
  assert.is(conv([3, 1, 1], [2, 0, 0], [1, 1, 1], [2, 1, 1]), undefined);
  assert.is(conv([3, 3, 3], [1, 1, 1]), undefined);
  assert.is(conv([1, 3, 3], [0, 0, 0]), undefined);
  assert.equal(winogradTileGrid("hw", 4, 4, 7, 9), [4, 2, 3]);
  assert.equal(winogradTileGrid("t", 4, 5, 7, 9), [2, 7, 9]);
  assert.throws(() => winogradMatrices(9, 4), /no Winograd/);
  assert.throws(() => winogradMatrices(1), /no Winograd/);
});

test.run();
