// Portable optimized kernels: plain C++ (no ISA extensions), register-blocked over
// 8 output channels x 4 rows so the compiler can keep the accumulators in registers.

#include "bnn.h"

namespace padl {
namespace {

void pack_portable(const float* x, int64_t rows, int64_t channels, int64_t ldx, uint64_t* out) {
  int64_t cw = words_for(channels);
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = x + r * ldx;
    for (int64_t word = 0; word < cw; ++word) {
      int64_t n = channels - word * 64 < 64 ? channels - word * 64 : 64;
      uint64_t bits = 0;
      for (int64_t i = 0; i < n; ++i) bits |= static_cast<uint64_t>(src[word * 64 + i] < 0.0f) << i;
      out[r * cw + word] = bits;
    }
  }
}

// Bit-parallel popcount without a popcnt instruction: per-byte counts from additions and shifts
// (vectorizable with any baseline SIMD), summed as bytes for up to 31 words (at most 8 * 31 =
// 248 per byte), then folded into one count.
inline uint64_t byte_counts(uint64_t v) {
  v = v - ((v >> 1) & 0x5555555555555555ULL);                            // 2-bit counts
  v = (v & 0x3333333333333333ULL) + ((v >> 2) & 0x3333333333333333ULL);  // 4-bit counts
  return (v + (v >> 4)) & 0x0F0F0F0F0F0F0F0FULL;                         // byte counts
}

inline int64_t fold_bytes(uint64_t v) {
  v = (v & 0x00FF00FF00FF00FFULL) + ((v >> 8) & 0x00FF00FF00FF00FFULL);
  v += v >> 16;
  v += v >> 32;
  return static_cast<int64_t>(v & 0xFFFF);
}

template <int Rows>
void block_portable(const Gemm& g, int64_t r0, int64_t blk) {
  int64_t pop[Rows][kBlock] = {};
  const uint64_t* b = g.b + blk * g.kw * kBlock;
  for (int64_t k0 = 0; k0 < g.kw; k0 += 31) {
    const int64_t k1 = k0 + 31 < g.kw ? k0 + 31 : g.kw;
    uint64_t bytes[Rows][kBlock] = {};
    for (int64_t k = k0; k < k1; ++k) {
      for (int r = 0; r < Rows; ++r) {
        const uint64_t a = g.a[g.row_offset[r0 + r] + g.k_offset[k]];
        for (int i = 0; i < kBlock; ++i) bytes[r][i] += byte_counts(a ^ b[k * kBlock + i]);
      }
    }
    for (int r = 0; r < Rows; ++r)
      for (int i = 0; i < kBlock; ++i) pop[r][i] += fold_bytes(bytes[r][i]);
  }
  for (int r = 0; r < Rows; ++r) store_block_popcounts(g, r0 + r, blk, pop[r]);
}

void gemm_portable(const Gemm& g, int64_t row_begin, int64_t row_end) {
  for (int64_t blk = 0; blk < blocks_for(g.outputs); ++blk) {
    int64_t r = row_begin;
    for (; r + 4 <= row_end; r += 4) block_portable<4>(g, r, blk);
    for (; r < row_end; ++r) block_portable<1>(g, r, blk);
  }
}

constexpr int kPeakChains = 8;

uint64_t peak_portable(int64_t iterations) {
  const uint64_t w = 0x5DEECE66D1234567ULL;
  uint64_t x[kPeakChains];
  int64_t total = 0;
  for (int i = 0; i < kPeakChains; ++i) x[i] = 0x9E3779B97F4A7C15ULL * (i + 1);
  for (int64_t it0 = 0; it0 < iterations; it0 += 31) {  // byte sums fold every 31 steps, as in gemm
    const int64_t steps = iterations - it0 < 31 ? iterations - it0 : 31;
    uint64_t bytes[kPeakChains] = {};
    for (int64_t it = 0; it < steps; ++it) {
      for (int i = 0; i < kPeakChains; ++i) {
        x[i] += w;
        bytes[i] += byte_counts(x[i]);
      }
    }
    for (int i = 0; i < kPeakChains; ++i) total += fold_bytes(bytes[i]);
  }
  return static_cast<uint64_t>(total);
}

const Isa kPortable{"portable", pack_portable, gemm_portable, peak_portable, kPeakChains * 64};

}  // namespace

const Isa* isa_portable() { return &kPortable; }

}  // namespace padl
