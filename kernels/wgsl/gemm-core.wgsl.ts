// The tiled GEMM core every matrix-shaped kernel shares (3-D conv as implicit GEMM, the
// attention products): C[M, N] = A[M, K] · B[K, N], one BM x BN tile per workgroup, K walked
// in BK steps through workgroup-memory tiles of A and B, a tm x tn register block per thread
// (tm = 4 or 8 rows of A times tn / 4 vec4s of B columns per k; a thread's vec4 columns are
// BN / tn quads apart, so neighbouring threads read neighbouring vec4s of the B tile).
//
// The operands are reached only through three typed hooks (the caller's WGSL):
//   A:  struct ARow; fn aRow(m: u32, z: u32) -> ARow       once per A row a thread loads
//       fn loadA(r: ARow, k: u32) -> vec4<f32>             A[m][k..k+3], zero past M or K
//   B:  fn loadB(z: u32, k: u32, n: u32) -> vec4<f32>      B[k][n..n+3], zero past K or N
//   C:  fn storeC(z: u32, m: u32, n: u32, v: vec4<f32>)    C[m][n..n+3] for m < M, n < N,
//                                                          n % 4 == 0; drops columns >= N
// so the conv's im2col happens inside loadA (nothing is materialised) and bias / residual /
// ReLU happen inside storeC. aRow lets the loader hoist per-row index math (the output
// position's decode) out of the K loop.
//
// workgroup_id: x = N tile, y = M tile, z = batch entry ("batch": every z runs all of K) or
// K slice ("split-k": z covers K[z*kSplit, (z+1)*kSplit); storeC then writes partial sums).
//
// Products in f16 (math "f16", needs shader-f16: the fast path beside the exact fp32 one): the
// workgroup tiles hold f16, each thread's products over ~32 terms of K (F16_SUM_TERMS, whole
// K steps) are summed in f16 registers and then added to its f32 accumulators, so the f16
// rounding stays that of short sums (rel. ~2^-11 per term) however long K is, and a GPU with double-rate f16 (NVIDIA
// since Pascal's GP100, AMD since Vega) runs the FMAs two per instruction; half the workgroup
// memory traffic. The hooks still load and store f32.

import type { UniformField } from "./kernel.ts";

export interface GemmTile {
  /** rows of C per workgroup (multiple of 4) */
  bm: number;
  /** columns of C per workgroup (multiple of 4) */
  bn: number;
  /** K step per workgroup-memory tile (multiple of 4) */
  bk: number;
  /** rows of C per thread (4 or 8; default 4) */
  tm?: number;
  /** columns of C per thread (4 or 8; default 4): the register block is tm x tn */
  tn?: number;
  /**
   * the K-step loop runs to the constant BK, so a GPU's compiler unrolls it and folds the
   * workgroup-memory offsets; default false: the bound is the uniform kStep, because
   * lavapipe's LLVM unrolls constant loops too and then takes 7-40 s to compile one shader
   */
  unrollK?: boolean;
}

export type GemmZMode = "batch" | "split-k";

/** the element type of the workgroup tiles and of the products within one K step */
export type GemmMath = "f32" | "f16";

export interface GemmHooks {
  /** bindings, helper functions, ARow/aRow/loadA */
  a: string;
  /** loadB */
  b: string;
  /** storeC */
  c: string;
}

/** Uniform fields the core reads; callers append their own. */
export const GEMM_UNIFORMS: readonly UniformField[] = [
  { name: "M", type: "u32" },
  { name: "N", type: "u32" },
  { name: "K", type: "u32" },
  /** K per slice in split-k mode (multiple of bk); unused in batch mode */
  { name: "kSplit", type: "u32" },
  /** = bk; see the note on the inner loop */
  { name: "kStep", type: "u32" },
];

/**
 * f16 products: terms summed in f16 before they join the f32 accumulators (whole K steps: BK
 * = 8 flushes every 4 steps, 16 every 2, 32 and more every step). Each flush costs a conversion
 * and an f32 add per accumulator; at one per 8 terms that would eat half of what double-rate
 * f16 FMAs save, at one per 32 an eighth; 32-term f16 sums stay within ~3e-3 relative.
 */
export const F16_SUM_TERMS = 32;

export function gemmThreads(tile: GemmTile): number {
  return (tile.bm / (tile.tm ?? 4)) * (tile.bn / (tile.tn ?? 4));
}

export function gemmWorkgroupBytes(tile: GemmTile, math: GemmMath = "f32"): number {
  // A and B tiles, double-buffered
  return 2 * (math === "f16" ? 2 : 4) * tile.bk * (tile.bm + tile.bn);
}

export function checkTile(tile: GemmTile): void {
  for (const [k, v] of Object.entries(tile)) {
    if (k === "unrollK") continue;
    if (!Number.isInteger(v) || v < 4 || v % 4 !== 0) throw new Error(`gemm tile ${k} = ${v} must be a multiple of 4`);
  }
  if (tile.bm % (tile.tm ?? 4) !== 0) throw new Error(`gemm tile bm ${tile.bm} is not a multiple of tm ${tile.tm}`);
  if (tile.bn % (tile.tn ?? 4) !== 0) throw new Error(`gemm tile bn ${tile.bn} is not a multiple of tn ${tile.tn}`);
}

export function gemmCoreSource(tile: GemmTile, zMode: GemmZMode, hooks: GemmHooks, math: GemmMath = "f32"): string {
  checkTile(tile);
  const h16 = math === "f16";
  /** an f32 expression as the tiles' element type */
  const narrow = (type: string, e: string) => h16 ? `${type}(${e})` : e;
  const { bm, bn, bk } = tile;
  const tm = tile.tm ?? 4;
  const quadsPerThread = (tile.tn ?? 4) / 4;
  const threads = gemmThreads(tile);
  const blocks = tm * quadsPerThread;
  /** where one K step's products are summed */
  const sum = h16 ? "part" : "acc";
  // f16 partial sums go to the f32 accumulators every flushSteps K steps (and after the last)
  const flushSteps = Math.max(1, Math.floor(F16_SUM_TERMS / bk));
  const flushBody = Array.from({ length: blocks }, (_, i) =>
    `      acc[${i}] += vec4<f32>(part[${i}]);\n      part[${i}] = vec4<f16>(0.0);`).join("\n");
  const flush = flushSteps === 1 ? `\n    {\n${flushBody}\n    }` : `
    sinceFlush++;
    if (sinceFlush == ${flushSteps}u || !more) {
${flushBody}
      sinceFlush = 0u;
    }`;
  const aQuads = (bm * bk) / 4, bQuads = (bk * bn) / 4;
  const aLoads = Math.ceil(aQuads / threads), bLoads = Math.ceil(bQuads / threads);
  const kRange = zMode === "split-k"
    ? "let kBegin = z * u.kSplit;\n  let kEnd = min(u.K, kBegin + u.kSplit);"
    : "let kBegin = 0u;\n  let kEnd = u.K;";
  // when the quads divide evenly among the threads the guard is statically true
  const aGuard = aQuads % threads === 0 ? "true" : "e < A_QUADS";
  const bGuard = bQuads % threads === 0 ? "true" : "e < B_QUADS";
  /** registers (pa, pb) -> half `h` of the workgroup tiles */
  const store = (h: string) => `  for (var j = 0u; j < A_LOADS; j++) {
    let e = lid + j * THREADS;
    if (${aGuard}) {
      let r = e / (BK / 4u);
      let kq = (e % (BK / 4u)) * 4u;
      let q = (${h}) * A_TILE + kq * (BM / 4u) + r / 4u;
      let lane = r % 4u;
      tileA[q][lane] = ${narrow("f16", "pa[j].x")};
      tileA[q + BM / 4u][lane] = ${narrow("f16", "pa[j].y")};
      tileA[q + 2u * (BM / 4u)][lane] = ${narrow("f16", "pa[j].z")};
      tileA[q + 3u * (BM / 4u)][lane] = ${narrow("f16", "pa[j].w")};
    }
  }
  for (var j = 0u; j < B_LOADS; j++) {
    let e = lid + j * THREADS;
    if (${bGuard}) { tileB[(${h}) * B_TILE + e] = ${narrow("vec4<f16>", "pb[j]")}; }
  }`;
  /** global -> registers (pa, pb) for the K step at k */
  const fetch = (k: string) => `  for (var j = 0u; j < A_LOADS; j++) {
    let e = lid + j * THREADS;
    if (${aGuard}) { pa[j] = loadA(rows[j], ${k} + (e % (BK / 4u)) * 4u); }
  }
  for (var j = 0u; j < B_LOADS; j++) {
    let e = lid + j * THREADS;
    if (${bGuard}) { pb[j] = loadB(z, ${k} + e / (BN / 4u), n0 + (e % (BN / 4u)) * 4u); }
  }`;
  return `
${hooks.a}
${hooks.b}
${hooks.c}

const BM: u32 = ${bm}u;
const BN: u32 = ${bn}u;
const BK: u32 = ${bk}u;
const TX: u32 = ${bn / (4 * quadsPerThread)}u;
const THREADS: u32 = ${threads}u;
const A_QUADS: u32 = ${aQuads}u;
const B_QUADS: u32 = ${bQuads}u;
const A_LOADS: u32 = ${aLoads}u;
const B_LOADS: u32 = ${bLoads}u;

// A tile stored k-major ([BK][BM]) as vec4s, so a thread reads its tm rows at one k as tm / 4
// vec4 loads (one 16-byte workgroup-memory access instead of four); two halves (A_TILE each)
const A_TILE: u32 = ${(bk * bm) / 4}u;
var<workgroup> tileA: array<vec4<${math}>, ${(bk * bm) / 2}>;
// B tile [BK][BN / 4] as vec4 columns; two halves
const B_TILE: u32 = ${(bk * bn) / 4}u;
var<workgroup> tileB: array<vec4<${math}>, ${(bk * bn) / 2}>;

@compute @workgroup_size(${threads})
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) lid: u32) {
  let z = wg.z;
  let m0 = wg.y * BM;
  let n0 = wg.x * BN;
  ${kRange}
  let tx = lid % TX;
  let ty = lid / TX;
  var rows: array<ARow, ${aLoads}>;
  for (var j = 0u; j < A_LOADS; j++) {
    rows[j] = aRow(m0 + (lid + j * THREADS) / (BK / 4u), z);
  }
  var acc: array<vec4<f32>, ${blocks}>;${h16 ? `
  // this K step's products, summed in f16 (see the note at the top)
  var part: array<vec4<f16>, ${blocks}>;` : ""}
  // Software pipelining: the next K step's operands are fetched into registers (pa, pb) and
  // stored to the other half of the double-buffered tiles while this step computes from its
  // half, so the global loads' latency hides behind the FMAs and one barrier per step suffices.
  var pa: array<vec4<f32>, ${aLoads}>;
  var pb: array<vec4<f32>, ${bLoads}>;
${fetch("kBegin")}
${store("0u")}
  workgroupBarrier();
  var slot = 0u;${h16 && flushSteps > 1 ? "\n  var sinceFlush = 0u;" : ""}
  for (var k0 = kBegin; k0 < kEnd; k0 += BK) {
    let more = k0 + BK < kEnd;
    if (more) {
${fetch("k0 + BK")}
    }
    let aHalf = slot * A_TILE;
    let bHalf = slot * B_TILE;
    // Without unrollK the bound is the uniform kStep (always = BK), not the constant: with a
    // constant bound LLVM unrolls this loop fully and lavapipe spends 7-40 s compiling one shader.
    for (var kk = 0u; kk < ${tile.unrollK ? "BK" : "u.kStep"}; kk++) {
      let ao = aHalf + kk * (BM / 4u) + ty * ${tm / 4}u;
${Array.from({ length: quadsPerThread }, (_, j) => `      let b${j} = tileB[bHalf + kk * (BN / 4u) + tx${j ? ` + ${j}u * TX` : ""}];`).join("\n")}
${Array.from({ length: tm / 4 }, (_, q) => `      let aq${q} = tileA[ao${q ? ` + ${q}u` : ""}];`).join("\n")}
${Array.from({ length: tm }, (_, i) =>
    Array.from({ length: quadsPerThread }, (_, j) => `      ${sum}[${i * quadsPerThread + j}] += aq${i >> 2}.${"xyzw"[i & 3]} * b${j};`).join("\n")
  ).join("\n")}
    }${h16 ? flush : ""}
    if (more) {
${store("1u - slot")}
    }
    workgroupBarrier();
    slot = 1u - slot;
  }
  for (var i = 0u; i < ${tm}u; i++) {
    let m = m0 + ty * ${tm}u + i;
    for (var j = 0u; j < ${quadsPerThread}u; j++) {
      let n = n0 + (tx + j * TX) * 4u;
      if (m < u.M && n < u.N) {
        storeC(z, m, n, acc[i * ${quadsPerThread}u + j]);
      }
    }
  }
}
`;
}

/** Workgroup counts for a GEMM of M x N with `z` batch entries or K slices. */
export function gemmWorkgroups(tile: GemmTile, m: number, n: number, z: number): [number, number, number] {
  return [Math.ceil(n / tile.bn), Math.ceil(m / tile.bm), z];
}
