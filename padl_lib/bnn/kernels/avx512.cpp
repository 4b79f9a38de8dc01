// AVX-512 kernels (F, DQ, BW, VL and VPOPCNTDQ). Compiled into every x86-64 build through a
// target pragma and only called after the dispatcher has checked the CPU.
//
// GEMM: each zmm holds 8 output channels (one uint64 lane each). A tile of NB zmm x NR rows
// keeps NB*NR accumulators in registers; per word of K it loads NB weight vectors and
// broadcasts one activation word per row: xor, vpopcntq, add.
#include "bnn.h"

#if defined(__x86_64__)
#include <immintrin.h>

#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512bw,avx512vl,avx512vpopcntdq,popcnt,fma")

namespace padl {
namespace {

void pack_avx512(const float* x, int64_t rows, int64_t channels, int64_t ldx, uint64_t* out) {
  const int64_t cw = words_for(channels);
  const __m512 zero = _mm512_setzero_ps();
  for (int64_t r = 0; r < rows; ++r) {
    const float* src = x + r * ldx;
    for (int64_t word = 0; word < cw; ++word) {
      uint64_t bits = 0;
      for (int part = 0; part < 4; ++part) {
        int64_t c = word * 64 + part * 16;
        int64_t left = channels - c;
        if (left <= 0) break;
        __mmask16 load = left >= 16 ? 0xFFFF : static_cast<__mmask16>((1u << left) - 1);
        __m512 v = _mm512_maskz_loadu_ps(load, src + c);
        uint64_t m = _mm512_mask_cmp_ps_mask(load, v, zero, _CMP_LT_OQ);
        bits |= m << (part * 16);
      }
      out[r * cw + word] = bits;
    }
  }
}

template <int NB, int NR>
inline __attribute__((always_inline)) void tile(const Gemm& g, int64_t r0, int64_t blk0) {
  __m512i acc[NR][NB];
  for (int r = 0; r < NR; ++r)
    for (int j = 0; j < NB; ++j) acc[r][j] = _mm512_setzero_si512();
  const uint64_t* b = g.b + blk0 * g.kw * kBlock;
  const int64_t bstride = g.kw * kBlock;
  const uint64_t* a[NR];
  for (int r = 0; r < NR; ++r) a[r] = g.a + g.row_offset[r0 + r];
  const int64_t* ko = g.k_offset;
  for (int64_t k = 0; k < g.kw; ++k) {
    __m512i w[NB];
    for (int j = 0; j < NB; ++j) w[j] = _mm512_loadu_si512(b + j * bstride + k * kBlock);
    for (int r = 0; r < NR; ++r) {
      __m512i v = _mm512_set1_epi64(static_cast<int64_t>(a[r][ko[k]]));
      for (int j = 0; j < NB; ++j)
        acc[r][j] = _mm512_add_epi64(acc[r][j], _mm512_popcnt_epi64(_mm512_xor_si512(v, w[j])));
    }
  }
  // Epilogue. Float: dot = base - 2 * pop computed in float (exact: integers below 2^24), then
  // dot * scale + bias as the reference does. Bits: the integer dot against the threshold.
  const Transform& t = g.t;
  const int64_t corr_row = blocks_for(g.outputs) * kBlock;
  for (int j = 0; j < NB; ++j) {
    const int64_t blk = blk0 + j, o = blk * kBlock;
    const __mmask8 valid = block_valid_mask(g, blk);
    if (t.bits) {
      const __m512i thresh = _mm512_cvtepi32_epi64(_mm256_maskz_loadu_epi32(valid, t.thresh + o));
      const __mmask8 flip = t.flip[blk];
      const __m512i nbits = _mm512_set1_epi64(g.nbits);
      for (int r = 0; r < NR; ++r) {
        __m512i dot = _mm512_sub_epi64(nbits, _mm512_slli_epi64(acc[r][j], 1));
        if (g.pattern) {
          const int32_t* corr = g.corr + g.pattern[r0 + r] * corr_row + o;
          dot = _mm512_sub_epi64(dot, _mm512_cvtepi32_epi64(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(corr))));
        }
        __mmask8 m = (_mm512_cmplt_epi64_mask(dot, thresh) ^ flip) & valid;
        reinterpret_cast<uint8_t*>(t.bits + (r0 + r) * t.ld_bits)[blk] = m;
      }
      continue;
    }
    const __m256 scale = _mm256_maskz_loadu_ps(valid, t.scale + o);
    const __m256 bias = _mm256_maskz_loadu_ps(valid, t.bias + o);
    const __m256 two = _mm256_set1_ps(2.0f), nbits = _mm256_set1_ps(static_cast<float>(g.nbits));
    for (int r = 0; r < NR; ++r) {
      const __m256 base = g.pattern ? _mm256_loadu_ps(g.base + g.pattern[r0 + r] * corr_row + o) : nbits;
      const __m256 dot = _mm256_fnmadd_ps(_mm512_cvtepi64_ps(acc[r][j]), two, base);
      __m256 y = _mm256_add_ps(_mm256_mul_ps(dot, scale), bias);
      if (t.residual) y = _mm256_add_ps(y, _mm256_maskz_loadu_ps(valid, t.residual + (r0 + r) * t.ld_out + o));
      _mm256_mask_storeu_ps(t.out + (r0 + r) * t.ld_out + o, valid, y);
    }
  }
}

// Rows [row_begin, row_end) for output blocks [blk0, blk0 + NB) in tiles of NR rows.
template <int NB, int NR>
void rows_avx512(const Gemm& g, int64_t row_begin, int64_t row_end, int64_t blk0) {
  int64_t r = row_begin;
  for (; r + NR <= row_end; r += NR) tile<NB, NR>(g, r, blk0);
  for (; r < row_end; ++r) tile<NB, 1>(g, r, blk0);
}

// Tiles of 2 blocks (16 channels) x 12 rows: 24 accumulators, 2 weight registers; measured
// best on Zen 4 among 1x24, 2x12, 3x8, 4x6 and 8x3.
void gemm_avx512(const Gemm& g, int64_t row_begin, int64_t row_end) {
  constexpr int NB = 2, NR = 12;
  const int64_t blocks = blocks_for(g.outputs);
  int64_t blk = 0;
  for (; blk + NB <= blocks; blk += NB) rows_avx512<NB, NR>(g, row_begin, row_end, blk);
  if (blk < blocks) rows_avx512<1, NR>(g, row_begin, row_end, blk);
}

constexpr int kPeakChains = 12;

uint64_t peak_avx512(int64_t iterations) {
  __m512i x[kPeakChains], acc[kPeakChains];
  const __m512i w = _mm512_set1_epi64(0x5DEECE66D1234567LL);
  for (int i = 0; i < kPeakChains; ++i) {
    x[i] = _mm512_set1_epi64(0x9E3779B97F4A7C15LL * (i + 1));
    acc[i] = _mm512_setzero_si512();
  }
  for (int64_t it = 0; it < iterations; ++it) {
    for (int i = 0; i < kPeakChains; ++i) {
      x[i] = _mm512_add_epi64(x[i], w);  // a new operand each step (add: x ^ w ^ w would fold)
      acc[i] = _mm512_add_epi64(acc[i], _mm512_popcnt_epi64(x[i]));
    }
  }
  __m512i total = acc[0];
  for (int i = 1; i < kPeakChains; ++i) total = _mm512_add_epi64(total, acc[i]);
  return static_cast<uint64_t>(_mm512_reduce_add_epi64(total));
}

const Isa kAvx512{"avx512", pack_avx512, gemm_avx512, peak_avx512, kPeakChains * 512};

}  // namespace

const Isa* isa_avx512() { return &kAvx512; }

}  // namespace padl

#pragma GCC pop_options

#else

namespace padl {
const Isa* isa_avx512() { return nullptr; }
}  // namespace padl

#endif
