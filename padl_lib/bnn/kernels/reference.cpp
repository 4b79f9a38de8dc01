// The plain reference of every op: obviously correct scalar loops, used by the tests as the
// ground truth for every optimized kernel (and as the shared scalar epilogue).
#include <cstring>

#include "bnn.h"

namespace padl {

void store_block_scalar(const Gemm& g, int64_t row, int64_t block, const int64_t* dots) {
  const Transform& t = g.t;
  if (t.bits) {
    uint8_t byte = 0;
    for (int i = 0; i < kBlock; ++i) {
      int64_t o = block * kBlock + i;
      if (o >= g.outputs) break;
      bool bit = (dots[i] < t.thresh[o]) != (((t.flip[o / 8] >> (o % 8)) & 1) != 0);
      byte |= static_cast<uint8_t>(bit) << i;
    }
    reinterpret_cast<uint8_t*>(t.bits + row * t.ld_bits)[block] = byte;
    return;
  }
  for (int i = 0; i < kBlock; ++i) {
    int64_t o = block * kBlock + i;
    if (o >= g.outputs) break;
    float product = static_cast<float>(dots[i]) * t.scale[o];
    float y = product + t.bias[o];
    if (t.residual) y = y + t.residual[row * t.ld_out + o];
    t.out[row * t.ld_out + o] = y;
  }
}

namespace {

void pack_reference(const float* x, int64_t rows, int64_t channels, int64_t ldx, uint64_t* out) {
  int64_t cw = words_for(channels);
  for (int64_t r = 0; r < rows; ++r) {
    uint64_t* dst = out + r * cw;
    std::memset(dst, 0, cw * sizeof(uint64_t));
    for (int64_t c = 0; c < channels; ++c)
      if (x[r * ldx + c] < 0.0f) dst[c / 64] |= uint64_t{1} << (c % 64);
  }
}

int popcount_reference(uint64_t v) {
  int n = 0;
  for (; v; v &= v - 1) ++n;
  return n;
}

void gemm_reference(const Gemm& g, int64_t row_begin, int64_t row_end) {
  for (int64_t r = row_begin; r < row_end; ++r) {
    for (int64_t blk = 0; blk < blocks_for(g.outputs); ++blk) {
      int64_t dots[kBlock];
      for (int i = 0; i < kBlock; ++i) {
        int64_t pop = 0;
        for (int64_t k = 0; k < g.kw; ++k)
          pop += popcount_reference(g.a[g.row_offset[r] + g.k_offset[k]] ^ g.b[(blk * g.kw + k) * kBlock + i]);
        int64_t o = blk * kBlock + i;
        dots[i] = g.nbits - 2 * pop - (o < g.outputs ? corr_at(g, r, o) : 0);
      }
      store_block_scalar(g, r, blk, dots);
    }
  }
}

uint64_t peak_reference(int64_t iterations) {
  uint64_t x = 0x9E3779B97F4A7C15ULL, total = 0;
  for (int64_t it = 0; it < iterations; ++it) {
    x += 0x5DEECE66D1234567ULL;
    total += popcount_reference(x);
  }
  return total;
}

const Isa kReference{"reference", pack_reference, gemm_reference, peak_reference, 64};

}  // namespace

const Isa* isa_reference() { return &kReference; }

void reference_conv(const uint64_t* x, const ConvShape& s, const uint64_t* weight, int64_t outputs,
                    const Transform& t) {
  int64_t cw = words_for(s.c), oh = s.oh(), ow = s.ow();
  Gemm g;  // only for the shared epilogue
  g.outputs = outputs;
  g.t = t;
  for (int64_t n = 0; n < s.n; ++n)
    for (int64_t y = 0; y < oh; ++y)
      for (int64_t xo = 0; xo < ow; ++xo) {
        int64_t row = (n * oh + y) * ow + xo;
        for (int64_t blk = 0; blk < blocks_for(outputs); ++blk) {
          int64_t dots[kBlock] = {};
          for (int i = 0; i < kBlock && blk * kBlock + i < outputs; ++i) {
            int64_t o = blk * kBlock + i;
            for (int64_t dy = 0; dy < s.kh; ++dy)
              for (int64_t dx = 0; dx < s.kw; ++dx) {
                int64_t iy = y * s.sh + dy - s.ph, ix = xo * s.sw + dx - s.pw;
                if (iy < 0 || iy >= s.h || ix < 0 || ix >= s.w) continue;  // zero padding: adds 0
                const uint64_t* a = x + ((n * s.h + iy) * s.w + ix) * cw;
                const uint64_t* wt = weight + ((o * s.kh + dy) * s.kw + dx) * cw;
                for (int64_t c = 0; c < s.c; ++c) {
                  int64_t bit = c % 64, word = c / 64;
                  bool differ = ((a[word] ^ wt[word]) >> bit) & 1;
                  dots[i] += differ ? -1 : 1;
                }
              }
          }
          store_block_scalar(g, row, blk, dots);
        }
        zero_bit_tails(g, row, row + 1);
      }
}

}  // namespace padl
