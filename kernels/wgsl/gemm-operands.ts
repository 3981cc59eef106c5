// The plain operand hooks of kernels/wgsl/gemm-core.wgsl.ts for GEMMs over matrices stored
// row-major in a binding (the conv's implicit-GEMM A loader lives in conv3d-gemm.wgsl.ts):
//   matrixLoadA    A[m][k..k+3] from `binding`, row m starting at WGSL index `rowStart`
//                  (an expression of m and z); vec4 loads when K and every row start are
//                  multiples of 4, else four guarded scalars; zero past M or K
//   weightMatrixLoadB  B[k][n..n+3] of a [K][N] matrix in the `w` binding (f32 or f16, widened to
//                  f32) from WGSL index `start`; vec4 when N and start are multiples of 4

export function matrixLoadA(binding: string, vec4: boolean, rowStart: string): string {
  const load = vec4
    ? `if (!r.ok || k >= u.K) { return vec4<f32>(0.0); }\n  return ${binding}[(r.base + k) / 4u];`
    : `if (!r.ok) { return vec4<f32>(0.0); }
  var q = vec4<f32>(0.0);
  for (var j = 0u; j < 4u; j++) {
    if (k + j < u.K) { q[j] = ${binding}[r.base + k + j]; }
  }
  return q;`;
  return `
struct ARow { ok: bool, base: u32 }
fn aRow(m: u32, z: u32) -> ARow {
  return ARow(m < u.M, ${rowStart});
}
fn loadA(r: ARow, k: u32) -> vec4<f32> {
  ${load}
}`;
}

export function weightMatrixLoadB(nVec4: boolean, start: string): string {
  const load = nVec4
    ? "return vec4<f32>(w[b / 4u]);"
    : `var q = vec4<f32>(f32(w[b]), 0.0, 0.0, 0.0);
  if (n + 1u < u.N) { q.y = f32(w[b + 1u]); }
  if (n + 2u < u.N) { q.z = f32(w[b + 2u]); }
  if (n + 3u < u.N) { q.w = f32(w[b + 3u]); }
  return q;`;
  return `
fn loadB(z: u32, k: u32, n: u32) -> vec4<f32> {
  if (k >= u.K || n >= u.N) { return vec4<f32>(0.0); }
  let b = ${start} + k * u.N + n;
  ${load}
}`;
}
