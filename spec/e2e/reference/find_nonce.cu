// Finds the zip-comment nonce of the quick-start checkpoint (spec/e2e/quickstart/zoo-checkpoint.ts):
// 16 hex digits, the file's last bytes, such that the file's SHA-256 starts with the 8 hex
// digits the zoo file name promises (e31c6f52). Dev tool, run once; ~2^32 candidates, one
// SHA-256 compression each (the state before the last block is computed in TypeScript).
//
//   node tools/node-ts.js spec/e2e/quickstart/make-checkpoint.ts --search-input  -> ARGS
//   nvcc -O3 -arch=sm_90 -o find_nonce spec/e2e/reference/find_nonce.cu && ./find_nonce ARGS
//   g++ -O2 -x c++ -o find_nonce spec/e2e/reference/find_nonce.cu && ./find_nonce ARGS  (CPU;
//       ~2^32 compressions take ~1 h per core, so the CPU build is for checking on a shorter
//       target: pass e.g. e31c6 as the last argument)
//
// ARGS: <state: 64 hex> <last block's bytes: 96 hex, nonce zeroed> <file size> <nonce offset
// in the block> <target hex prefix, 1-8 digits>
// Prints the nonce and the file's full sha256.

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#ifdef __CUDACC__
#define HD __host__ __device__
#else
#define HD
#endif

#define SHA256_K { \
    0x428a2f98, 0x71374491, 0xb5c0fbcf, 0xe9b5dba5, 0x3956c25b, 0x59f111f1, 0x923f82a4, 0xab1c5ed5, \
    0xd807aa98, 0x12835b01, 0x243185be, 0x550c7dc3, 0x72be5d74, 0x80deb1fe, 0x9bdc06a7, 0xc19bf174, \
    0xe49b69c1, 0xefbe4786, 0x0fc19dc6, 0x240ca1cc, 0x2de92c6f, 0x4a7484aa, 0x5cb0a9dc, 0x76f988da, \
    0x983e5152, 0xa831c66d, 0xb00327c8, 0xbf597fc7, 0xc6e00bf3, 0xd5a79147, 0x06ca6351, 0x14292967, \
    0x27b70a85, 0x2e1b2138, 0x4d2c6dfc, 0x53380d13, 0x650a7354, 0x766a0abb, 0x81c2c92e, 0x92722c85, \
    0xa2bfe8a1, 0xa81a664b, 0xc24b8b70, 0xc76c51a3, 0xd192e819, 0xd6990624, 0xf40e3585, 0x106aa070, \
    0x19a4c116, 0x1e376c08, 0x2748774c, 0x34b0bcb5, 0x391c0cb3, 0x4ed8aa4a, 0x5b9cca4f, 0x682e6ff3, \
    0x748f82ee, 0x78a5636f, 0x84c87814, 0x8cc70208, 0x90befffa, 0xa4506ceb, 0xbef9a3f7, 0xc67178f2}
#ifdef __CUDACC__
__constant__ uint32_t K_DEVICE[64] = SHA256_K;
#endif
static const uint32_t K_HOST[64] = SHA256_K;

HD static inline uint32_t sha_k(int t) {
#ifdef __CUDA_ARCH__
  return K_DEVICE[t];
#else
  return K_HOST[t];
#endif
}

HD static inline uint32_t rotr(uint32_t x, int n) { return (x >> n) | (x << (32 - n)); }

// one SHA-256 compression of block w[16] (big-endian words) from state h[8], in place
HD static void compress(uint32_t h[8], const uint32_t block[16]) {
  uint32_t w[64];
  for (int t = 0; t < 16; t++) w[t] = block[t];
  for (int t = 16; t < 64; t++) {
    uint32_t s0 = rotr(w[t - 15], 7) ^ rotr(w[t - 15], 18) ^ (w[t - 15] >> 3);
    uint32_t s1 = rotr(w[t - 2], 17) ^ rotr(w[t - 2], 19) ^ (w[t - 2] >> 10);
    w[t] = w[t - 16] + s0 + w[t - 7] + s1;
  }
  uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (int t = 0; t < 64; t++) {
    uint32_t t1 = hh + (rotr(e, 6) ^ rotr(e, 11) ^ rotr(e, 25)) + ((e & f) ^ (~e & g)) + sha_k(t) + w[t];
    uint32_t t2 = (rotr(a, 2) ^ rotr(a, 13) ^ rotr(a, 22)) + ((a & b) ^ (a & c) ^ (b & c));
    hh = g; g = f; f = e; e = d + t1; d = c; c = b; b = a; a = t1 + t2;
  }
  h[0] += a; h[1] += b; h[2] += c; h[3] += d; h[4] += e; h[5] += f; h[6] += g; h[7] += hh;
}

HD static inline uint32_t hex4(uint64_t n, int shift) {
  // four lowercase hex digits of n, most significant first, starting at nibble `shift`
  uint32_t w = 0;
  for (int i = 0; i < 4; i++) {
    uint32_t v = (uint32_t)(n >> (shift - 4 * i)) & 15;
    w = (w << 8) | (v < 10 ? '0' + v : 'a' + v - 10);
  }
  return w;
}

struct Search {
  uint32_t state[8];
  uint32_t block[16];  // the padded last block, nonce words zero
  int word;            // the nonce's first word in the block
  uint32_t target;     // the digest's first word must equal this in its top `bits` bits
  uint32_t mask;
};

// the digest's first word for candidate n
HD static inline uint32_t try_nonce(const Search &s, uint64_t n, uint32_t out[8]) {
  uint32_t block[16];
  for (int t = 0; t < 16; t++) block[t] = s.block[t];
  for (int k = 0; k < 4; k++) block[s.word + k] = hex4(n, 60 - 16 * k);
  for (int i = 0; i < 8; i++) out[i] = s.state[i];
  compress(out, block);
  return out[0];
}

#ifdef __CUDACC__
__global__ void search(Search s, uint64_t base, unsigned long long *found) {
  uint64_t n = base + (uint64_t)blockIdx.x * blockDim.x + threadIdx.x;
  uint32_t h[8];
  if ((try_nonce(s, n, h) & s.mask) == s.target) atomicMin(found, (unsigned long long)n);
}
#endif

static int parse_hex(const char *s, uint8_t *out, size_t n) {
  if (strlen(s) != 2 * n) return -1;
  for (size_t i = 0; i < n; i++) {
    unsigned v;
    if (sscanf(s + 2 * i, "%2x", &v) != 1) return -1;
    out[i] = (uint8_t)v;
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc != 6) {
    fprintf(stderr, "usage: find_nonce STATE LASTBLOCK SIZE NONCE_OFFSET TARGET\n");
    return 2;
  }
  Search s;
  uint8_t st[32], tail[64] = {0};
  if (parse_hex(argv[1], st, 32) != 0) return fprintf(stderr, "bad state\n"), 2;
  size_t tail_len = strlen(argv[2]) / 2;
  if (tail_len > 55 || parse_hex(argv[2], tail, tail_len) != 0) return fprintf(stderr, "bad block\n"), 2;
  uint64_t size = strtoull(argv[3], 0, 10);
  int offset = atoi(argv[4]);
  const char *target = argv[5];
  int digits = (int)strlen(target);
  if (offset % 4 != 0 || offset + 16 != (int)tail_len || digits < 1 || digits > 8 || size % 64 != tail_len)
    return fprintf(stderr, "bad layout\n"), 2;
  tail[tail_len] = 0x80;
  for (int i = 0; i < 8; i++) tail[63 - i] = (uint8_t)((size * 8) >> (8 * i));
  for (int i = 0; i < 8; i++) s.state[i] = (uint32_t)st[4 * i] << 24 | st[4 * i + 1] << 16 | st[4 * i + 2] << 8 | st[4 * i + 3];
  for (int i = 0; i < 16; i++) s.block[i] = (uint32_t)tail[4 * i] << 24 | tail[4 * i + 1] << 16 | tail[4 * i + 2] << 8 | tail[4 * i + 3];
  s.word = offset / 4;
  for (int k = 0; k < 4; k++) s.block[s.word + k] = 0;
  s.target = (uint32_t)strtoul(target, 0, 16) << (32 - 4 * digits);
  s.mask = digits == 8 ? 0xffffffffu : ~(0xffffffffu >> (4 * digits));

  uint64_t found = ~0ull;
  uint32_t h[8];
#ifdef __CUDACC__
  unsigned long long *d_found;
  cudaMalloc(&d_found, sizeof *d_found);
  cudaMemcpy(d_found, &found, sizeof found, cudaMemcpyHostToDevice);
  const uint64_t per_launch = 1ull << 30;
  const int threads = 256;
  for (uint64_t base = 0; base < (1ull << 44) && found == ~0ull; base += per_launch) {
    search<<<(unsigned)(per_launch / threads), threads>>>(s, base, d_found);
    cudaError_t err = cudaMemcpy(&found, d_found, sizeof found, cudaMemcpyDeviceToHost);
    if (err != cudaSuccess) return fprintf(stderr, "CUDA: %s\n", cudaGetErrorString(err)), 1;
    fprintf(stderr, "searched %llu x 2^30\n", (unsigned long long)(base / per_launch + 1));
  }
#else
  for (uint64_t n = 0; n < (1ull << 40) && found == ~0ull; n++)
    if ((try_nonce(s, n, h) & s.mask) == s.target) found = n;
#endif
  if (found == ~0ull) return fprintf(stderr, "no nonce found\n"), 1;
  try_nonce(s, found, h);  // checked again on the host
  if ((h[0] & s.mask) != s.target) return fprintf(stderr, "host check failed\n"), 1;
  printf("%016llx ", (unsigned long long)found);
  for (int i = 0; i < 8; i++) printf("%08x", h[i]);
  printf("\n");
  return 0;
}
