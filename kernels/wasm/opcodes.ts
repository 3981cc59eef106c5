// The WebAssembly opcodes the kernel generators use: core, SIMD (0xfd-prefixed, LEB128 after
// the prefix) and relaxed SIMD. Numbers from the WebAssembly 2.0 spec and the relaxed-SIMD
// proposal; spec/wasm/ executes them.

export const Op = {
  block: 0x02, loop: 0x03, if: 0x04, else: 0x05, end: 0x0b, br: 0x0c, brIf: 0x0d, select: 0x1b,
  localGet: 0x20, localSet: 0x21, localTee: 0x22,
  f32Load: 0x2a, f32Store: 0x38,
  i32Const: 0x41, f32Const: 0x43,
  i32Eq: 0x46, i32LtU: 0x49,
  i32Add: 0x6a, i32Sub: 0x6b, i32Mul: 0x6c, i32DivU: 0x6e, i32RemU: 0x70, i32And: 0x71, i32ShrU: 0x76,
  f32Add: 0x92, f32Mul: 0x94, f32Div: 0x95, f32Max: 0x97,
  i32TruncF32S: 0xa8, f32ConvertI32S: 0xb2,
} as const;

export const Simd = {
  v128Load: 0x00, v128Load32Splat: 0x09, v128Store: 0x0b, v128Const: 0x0c,
  f32x4Splat: 0x13, f32x4ExtractLane: 0x1f,
  v128Store32Lane: 0x5a,
  f32x4Nearest: 0x6a,
  i32x4Shl: 0xab, i32x4Add: 0xae,
  f32x4Neg: 0xe1, f32x4Add: 0xe4, f32x4Sub: 0xe5, f32x4Mul: 0xe6, f32x4Div: 0xe7, f32x4Max: 0xe9, f32x4Pmax: 0xeb,
  i32x4TruncSatF32x4S: 0xf8,
  /** relaxed SIMD: a*b+c, fused or not as the hardware prefers */
  f32x4RelaxedMadd: 0x105,
} as const;

export const ValType = { i32: 0x7f, f32: 0x7d, v128: 0x7b } as const;
export type ValTypeName = keyof typeof ValType;
