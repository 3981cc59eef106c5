// WGSL shared by the kernels that walk output positions of a temporal chunk (the conv's GEMM
// rows, max-pool's items): output row m of a batch -> (view, ot, oh, ow). Both read the same
// uniforms: the chunk holds `toutChunk` output frames per view starting at frame `outT0`,
// each `hout` x `wout`.

export const OUTPUT_POSITION_FN = `
// (view, ot, oh, ow) of output row m
fn outputPosition(m: u32) -> vec4<u32> {
  let hw = u.hout * u.wout;
  let perView = u.toutChunk * hw;
  let v = m / perView;
  let p = m - v * perView;
  let q = p % hw;
  let oh = q / u.wout;
  return vec4<u32>(v, u.outT0 + p / hw, oh, q - oh * u.wout);
}`;
