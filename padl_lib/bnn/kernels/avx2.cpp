// AVX2 kernels for x86-64 CPUs without AVX-512 VPOPCNTDQ. AVX2 has no vector popcount:
// bytes are counted with a nibble lookup table (vpshufb), summed as bytes for up to 31 words
// (8 per byte per word, so at most 248), then widened with vpsadbw.
// An 8-channel block is two ymm of four uint64 lanes; a tile is one block x NR rows.
#include "bnn.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx2,popcnt")

namespace padl {
namespace {

void pack_avx2(const float* x, int64_t rows, int64_t channels, int64_t ldx, uint64_t* out) {
  const int64_t cw = words_for(channels);
  const __m256 zero = _mm256_setzero_ps();
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = x + r * ldx;
    for (int64_t word = 0; word < cw; ++word) {
      uint64_t bits = 0;
      int64_t c0 = word * 64, full = channels - c0 >= 64 ? 64 : channels - c0;
      int i = 0;
      for (; i + 8 <= full; i += 8) {
        uint64_t m = static_cast<uint32_t>(_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(src + c0 + i), zero, _CMP_LT_OQ)));
        bits |= m << i;
      }
      for (; i < full; ++i) bits |= static_cast<uint64_t>(src[c0 + i] < 0.0f) << i;
      out[r * cw + word] = bits;
    }
  }
}

inline __m256i popcount_bytes(__m256i v, __m256i lut, __m256i low) {
  __m256i lo = _mm256_and_si256(v, low);
  __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lut, lo), _mm256_shuffle_epi8(lut, hi));
}

template <int NR>
inline __attribute__((always_inline)) void tile(const Gemm& g, int64_t r0, int64_t blk) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                       0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0F);
  const uint64_t* b = g.b + blk * g.kw * kBlock;
  const uint64_t* a[NR];
  for (int r = 0; r < NR; ++r) a[r] = g.a + g.row_offset[r0 + r];
  const int64_t* ko = g.k_offset;
  __m256i total[NR][2];
  for (int r = 0; r < NR; ++r) total[r][0] = total[r][1] = _mm256_setzero_si256();
  for (int64_t k0 = 0; k0 < g.kw; k0 += 31) {
    const int64_t k1 = k0 + 31 < g.kw ? k0 + 31 : g.kw;
    __m256i bytes[NR][2];
    for (int r = 0; r < NR; ++r) bytes[r][0] = bytes[r][1] = _mm256_setzero_si256();
    for (int64_t k = k0; k < k1; ++k) {
      __m256i w0 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + k * kBlock));
      __m256i w1 = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + k * kBlock + 4));
      for (int r = 0; r < NR; ++r) {
        __m256i v = _mm256_set1_epi64x(static_cast<int64_t>(a[r][ko[k]]));
        bytes[r][0] = _mm256_add_epi8(bytes[r][0], popcount_bytes(_mm256_xor_si256(v, w0), lut, low));
        bytes[r][1] = _mm256_add_epi8(bytes[r][1], popcount_bytes(_mm256_xor_si256(v, w1), lut, low));
      }
    }
    for (int r = 0; r < NR; ++r)
      for (int h = 0; h < 2; ++h)
        total[r][h] = _mm256_add_epi64(total[r][h], _mm256_sad_epu8(bytes[r][h], _mm256_setzero_si256()));
  }
  for (int r = 0; r < NR; ++r) {
    alignas(32) int64_t pop[kBlock];
    _mm256_store_si256(reinterpret_cast<__m256i*>(pop), total[r][0]);
    _mm256_store_si256(reinterpret_cast<__m256i*>(pop + 4), total[r][1]);
    store_block_popcounts(g, r0 + r, blk, pop);
  }
}

void gemm_avx2(const Gemm& g, int64_t row_begin, int64_t row_end) {
  for_each_row_tile(g, row_begin, row_end,
                    [&](auto rows, int64_t r, int64_t blk) { tile<decltype(rows)::value>(g, r, blk); });
}

constexpr int kPeakChains = 4;

uint64_t peak_avx2(int64_t iterations) {
  const __m256i lut = _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4,
                                       0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0F);
  const __m256i w = _mm256_set1_epi64x(0x5DEECE66D1234567LL);
  __m256i x[kPeakChains], total[kPeakChains];
  for (int i = 0; i < kPeakChains; ++i) {
    x[i] = _mm256_set1_epi64x(0x9E3779B97F4A7C15LL * (i + 1));
    total[i] = _mm256_setzero_si256();
  }
  for (int64_t it0 = 0; it0 < iterations; it0 += 31) {  // byte sums fold every 31 steps, as in gemm
    const int64_t steps = iterations - it0 < 31 ? iterations - it0 : 31;
    __m256i bytes[kPeakChains];
    for (int i = 0; i < kPeakChains; ++i) bytes[i] = _mm256_setzero_si256();
    for (int64_t it = 0; it < steps; ++it) {
      for (int i = 0; i < kPeakChains; ++i) {
        x[i] = _mm256_add_epi64(x[i], w);
        bytes[i] = _mm256_add_epi8(bytes[i], popcount_bytes(x[i], lut, low));
      }
    }
    for (int i = 0; i < kPeakChains; ++i)
      total[i] = _mm256_add_epi64(total[i], _mm256_sad_epu8(bytes[i], _mm256_setzero_si256()));
  }
  alignas(32) uint64_t lanes[4];
  __m256i sum = total[0];
  for (int i = 1; i < kPeakChains; ++i) sum = _mm256_add_epi64(sum, total[i]);
  _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sum);
  return lanes[0] + lanes[1] + lanes[2] + lanes[3];
}

const Isa kAvx2{"avx2", pack_avx2, gemm_avx2, peak_avx2, kPeakChains * 256};

}  // namespace

const Isa* isa_avx2() { return &kAvx2; }

}  // namespace padl

#pragma GCC pop_options

#else

namespace padl {
const Isa* isa_avx2() { return nullptr; }
}  // namespace padl

#endif
