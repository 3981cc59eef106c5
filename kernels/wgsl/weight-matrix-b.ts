// The B operand of a GEMM over packed weights (kernels/wgsl/gemm-core.wgsl.ts's loadB hook):
// B[k][n..n+3] of a [K][N] matrix stored row-major in the `w` binding (f32 or f16, widened to
// f32) from WGSL index `start`, zero past K or N. With nVec4 (N and start multiples of 4) one
// vec4 load; otherwise four guarded scalar loads.

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
