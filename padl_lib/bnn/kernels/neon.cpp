// NEON kernels for aarch64 (Raspberry Pi 3/4/5). vcnt counts bits per byte; the byte counts
// are pairwise-accumulated into uint16 lanes (vpadal) and widened to uint64 at the end.
// An 8-channel block is four q registers of two uint64 lanes; a tile is one block x NR rows.
#include "bnn.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace padl {
namespace {

void pack_neon(const float* x, int64_t rows, int64_t channels, int64_t ldx, uint64_t* out) {
  const int64_t cw = words_for(channels);
  const uint32_t weights[4] = {1, 2, 4, 8};
  const uint32x4_t lane_bits = vld1q_u32(weights);
  const float32x4_t zero = vdupq_n_f32(0.0f);
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = x + r * ldx;
    for (int64_t word = 0; word < cw; ++word) {
      uint64_t bits = 0;
      int64_t c0 = word * 64, full = channels - c0 >= 64 ? 64 : channels - c0;
      int i = 0;
      for (; i + 4 <= full; i += 4) {
        uint32x4_t neg = vandq_u32(vcltq_f32(vld1q_f32(src + c0 + i), zero), lane_bits);
        bits |= static_cast<uint64_t>(vaddvq_u32(neg)) << i;
      }
      for (; i < full; ++i) bits |= static_cast<uint64_t>(src[c0 + i] < 0.0f) << i;
      out[r * cw + word] = bits;
    }
  }
}

template <int NR>
inline __attribute__((always_inline)) void tile(const Gemm& g, int64_t r0, int64_t blk) {
  const uint64_t* b = g.b + blk * g.kw * kBlock;
  const uint64_t* a[NR];
  for (int r = 0; r < NR; ++r) a[r] = g.a + g.row_offset[r0 + r];
  const int64_t* ko = g.k_offset;
  uint64x2_t total[NR][4];
  for (int r = 0; r < NR; ++r)
    for (int j = 0; j < 4; ++j) total[r][j] = vdupq_n_u64(0);
  for (int64_t k0 = 0; k0 < g.kw; k0 += 4096) {  // uint16 lanes gain at most 16 per word
    const int64_t k1 = k0 + 4096 < g.kw ? k0 + 4096 : g.kw;
    uint16x8_t acc[NR][4];
    for (int r = 0; r < NR; ++r)
      for (int j = 0; j < 4; ++j) acc[r][j] = vdupq_n_u16(0);
    for (int64_t k = k0; k < k1; ++k) {
      uint64x2_t w[4];
      for (int j = 0; j < 4; ++j) w[j] = vld1q_u64(b + k * kBlock + 2 * j);
      for (int r = 0; r < NR; ++r) {
        uint64x2_t v = vdupq_n_u64(a[r][ko[k]]);
        for (int j = 0; j < 4; ++j)
          acc[r][j] = vpadalq_u8(acc[r][j], vcntq_u8(vreinterpretq_u8_u64(veorq_u64(v, w[j]))));
      }
    }
    for (int r = 0; r < NR; ++r)
      for (int j = 0; j < 4; ++j) total[r][j] = vaddq_u64(total[r][j], vpaddlq_u32(vpaddlq_u16(acc[r][j])));
  }
  for (int r = 0; r < NR; ++r) {
    int64_t pop[kBlock];
    for (int j = 0; j < 4; ++j) {
      pop[2 * j] = static_cast<int64_t>(vgetq_lane_u64(total[r][j], 0));
      pop[2 * j + 1] = static_cast<int64_t>(vgetq_lane_u64(total[r][j], 1));
    }
    store_block_popcounts(g, r0 + r, blk, pop);
  }
}

void gemm_neon(const Gemm& g, int64_t row_begin, int64_t row_end) {
  for_each_row_tile(g, row_begin, row_end,
                    [&](auto rows, int64_t r, int64_t blk) { tile<decltype(rows)::value>(g, r, blk); });
}

constexpr int kPeakChains = 8;

uint64_t peak_neon(int64_t iterations) {
  const uint64x2_t w = vdupq_n_u64(0x5DEECE66D1234567ULL);
  uint64x2_t x[kPeakChains], total[kPeakChains];
  for (int i = 0; i < kPeakChains; ++i) {
    x[i] = vdupq_n_u64(0x9E3779B97F4A7C15ULL * (i + 1));
    total[i] = vdupq_n_u64(0);
  }
  for (int64_t it0 = 0; it0 < iterations; it0 += 4096) {  // uint16 lanes, as in gemm
    const int64_t steps = iterations - it0 < 4096 ? iterations - it0 : 4096;
    uint16x8_t acc[kPeakChains];
    for (int i = 0; i < kPeakChains; ++i) acc[i] = vdupq_n_u16(0);
    for (int64_t it = 0; it < steps; ++it) {
      for (int i = 0; i < kPeakChains; ++i) {
        x[i] = vaddq_u64(x[i], w);
        acc[i] = vpadalq_u8(acc[i], vcntq_u8(vreinterpretq_u8_u64(x[i])));
      }
    }
    for (int i = 0; i < kPeakChains; ++i) total[i] = vaddq_u64(total[i], vpaddlq_u32(vpaddlq_u16(acc[i])));
  }
  uint64_t sum = 0;
  for (int i = 0; i < kPeakChains; ++i) sum += vgetq_lane_u64(total[i], 0) + vgetq_lane_u64(total[i], 1);
  return sum;
}

const Isa kNeon{"neon", pack_neon, gemm_neon, peak_neon, kPeakChains * 128};

}  // namespace

const Isa* isa_neon() { return &kNeon; }

}  // namespace padl

#else

namespace padl {
const Isa* isa_neon() { return nullptr; }
}  // namespace padl

#endif
