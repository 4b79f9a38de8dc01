// padl BNN kernels: shared types and the per-ISA kernel table.
//
// Bit encoding: one bit per channel, 64 channels per uint64 word, little-endian bit order
// (channel c is bit c % 64 of word c / 64); bit 1 means -1, bit 0 means +1, so sign(0) = +1
// and all-zero words are +1. Channel tails (c >= C in the last word) are always 0 in both
// activations and weights, so they contribute nothing to popcount(a ^ w).
//
// The dot product of a pixel's K = taps * C real bits with an output channel's weights is
//   dot = K - 2 * popcount(a ^ w) - corr
// where corr removes padded taps (stored as +1 bits, i.e. zero words): corr = sum over the
// padded taps of the weights' channel sum. With it the result equals zero padding exactly.
#pragma once
#include <cstddef>
#include <cstdint>
#include <mutex>
#include <string>
#include <type_traits>
#include <vector>

namespace padl {

constexpr int kBlock = 8;  // output channels per weight block (one zmm of uint64 lanes)

inline int64_t words_for(int64_t channels) { return (channels + 63) / 64; }
inline int64_t blocks_for(int64_t outputs) { return (outputs + kBlock - 1) / kBlock; }

// How a GEMM turns each integer dot product into its output.
struct Transform {
  // Float mode (bits == nullptr): out[p * ld_out + o] = float(dot) * scale[o] + bias[o]
  // (+ residual[p * ld_out + o] when given: a fused residual connection, added last).
  const float* scale = nullptr;
  const float* bias = nullptr;
  const float* residual = nullptr;
  float* out = nullptr;
  int64_t ld_out = 0;  // floats per output row (of out and residual)
  // Bit mode: bit o of row p = (dot < thresh[o]) XOR flip bit o (flip packed: bit o of byte o/8).
  const int32_t* thresh = nullptr;
  const uint8_t* flip = nullptr;
  uint64_t* bits = nullptr;
  int64_t ld_bits = 0;  // words per output row
};

// One binary GEMM: rows of A (pixels) against blocked weights B, with the output transform.
struct Gemm {
  // Row r of A is a[row_offset[r] + k_offset[k]] for k < kw (an indirect GEMM: a conv reads
  // its taps straight from the zero-padded input, no im2col copy).
  const uint64_t* a = nullptr;
  const int64_t* row_offset = nullptr;  // rows entries
  const int64_t* k_offset = nullptr;    // kw entries
  int64_t rows = 0;             // P
  int64_t kw = 0;               // words per row
  const uint64_t* b = nullptr;  // blocked weights [blocks_for(O)][kw][kBlock]
  int64_t outputs = 0;          // O
  int32_t nbits = 0;            // K: real bits per dot product
  const int32_t* corr = nullptr;     // padding correction table [patterns][blocks_for(O) * kBlock]
  const uint8_t* pattern = nullptr;  // per-row pattern id (nullptr: no correction)
  // Optional, for vector epilogues: float(nbits - corr) with the layout of corr (exact integers).
  const float* base = nullptr;
  Transform t;
};

using PackFn = void (*)(const float* x, int64_t rows, int64_t channels, int64_t ldx, uint64_t* out);
using GemmFn = void (*)(const Gemm& g, int64_t row_begin, int64_t row_end);

// The GEMM's inner loop on registers only, no memory traffic: the ceiling of the ISA on this CPU.
// Each step is one simple vector op making a fresh operand (an add, same cost as the xor; an
// xor with a constant would cancel out over two steps), its popcount and the accumulation. Runs `iterations` steps of Isa::peak_bits bit-MACs each and
// returns a checksum (so the work cannot be optimized away).
using PeakFn = uint64_t (*)(int64_t iterations);

struct Isa {
  const char* name;
  PackFn pack;  // rows x channels floats (row stride ldx) -> rows x words_for(channels) words
  GemmFn gemm;  // rows [row_begin, row_end) of g
  PeakFn peak;
  int64_t peak_bits;  // bit-MACs per peak iteration
};

// Per-ISA kernel tables; nullptr when the ISA is not compiled in for this target.
const Isa* isa_reference();
const Isa* isa_portable();
const Isa* isa_avx2();
const Isa* isa_avx512();
const Isa* isa_neon();

// The one select/dispatch point.
const Isa& active_isa();
std::vector<std::string> available_isas();  // compiled in and supported by this CPU, best first
void select_isa(const std::string& name);     // "auto" picks the best; throws on unknown/unsupported
void set_threads(int n);
int threads();

// Shared helpers of the per-ISA kernels.
inline int32_t corr_at(const Gemm& g, int64_t row, int64_t o) {
  return g.pattern ? g.corr[g.pattern[row] * blocks_for(g.outputs) * kBlock + o] : 0;
}
inline uint8_t block_valid_mask(const Gemm& g, int64_t block) {
  int64_t left = g.outputs - block * kBlock;
  return left >= kBlock ? 0xFF : static_cast<uint8_t>((1u << left) - 1);
}
// In bit mode, clear the bytes of output rows [row_begin, row_end) past the last channel block.
inline void zero_bit_tails(const Gemm& g, int64_t row_begin, int64_t row_end) {
  if (!g.t.bits) return;
  int64_t used = blocks_for(g.outputs);
  for (int64_t r = row_begin; r < row_end; ++r)
    for (int64_t i = used; i < g.t.ld_bits * 8; ++i) reinterpret_cast<uint8_t*>(g.t.bits + r * g.t.ld_bits)[i] = 0;
}
// Write one output channel block for one row from its 8 dot products (scalar epilogue).
void store_block_scalar(const Gemm& g, int64_t row, int64_t block, const int64_t* dots);
// Turn one row's popcounts of (activations XOR weights) for an 8-channel block into dot
// products, subtract the zero-padding correction, and write them through the scalar epilogue.
inline void store_block_popcounts(const Gemm& g, int64_t row, int64_t block, const int64_t* pop) {
  int64_t dots[kBlock];
  for (int i = 0; i < kBlock; ++i) {
    int64_t o = block * kBlock + i;
    dots[i] = g.nbits - 2 * pop[i] - (o < g.outputs ? corr_at(g, row, o) : 0);
  }
  store_block_scalar(g, row, block, dots);
}
// Drive a GEMM micro-kernel over rows [row_begin, row_end) of every output channel block:
// four rows per tile, then one tile of the remaining 1-3 rows. `tile(rows, row, block)` gets
// the row count as a std::integral_constant so each ISA instantiates its tile<rows> template.
template <typename Tile>
inline void for_each_row_tile(const Gemm& g, int64_t row_begin, int64_t row_end, Tile tile) {
  for (int64_t blk = 0; blk < blocks_for(g.outputs); ++blk) {
    int64_t r = row_begin;
    for (; r + 4 <= row_end; r += 4) tile(std::integral_constant<int, 4>{}, r, blk);
    switch (row_end - r) {
      case 3: tile(std::integral_constant<int, 3>{}, r, blk); break;
      case 2: tile(std::integral_constant<int, 2>{}, r, blk); break;
      case 1: tile(std::integral_constant<int, 1>{}, r, blk); break;
      default: break;
    }
  }
}

// Whole-layer operations built on the active ISA (conv.cpp).
struct ConvShape {
  int64_t n, h, w, c;           // input (NHWC, packed: words_for(c) words per pixel)
  int64_t kh, kw, sh, sw, ph, pw;
  int64_t oh() const { return (h + 2 * ph - kh) / sh + 1; }
  int64_t ow() const { return (w + 2 * pw - kw) / sw + 1; }
};

// Pack float rows with the active ISA, threaded over rows.
void pack_rows(const float* x, int64_t rows, int64_t channels, int64_t ldx, uint64_t* out);
// float(nbits - corr[i]) for every entry of a correction table (Gemm::base).
std::vector<float> base_table(int32_t nbits, const int32_t* corr, int64_t entries);
// Offsets of a dense row-major (rows, kw) A.
void dense_offsets(int64_t rows, int64_t kw, std::vector<int64_t>& row_offset, std::vector<int64_t>& k_offset);
// Block plain packed weights [O][kw] into [blocks][kw][kBlock].
std::vector<uint64_t> block_weights(const uint64_t* plain, int64_t outputs, int64_t kw);

class BinaryConv {
 public:
  // weight: packed signs, plain layout [O][kh][kw][words_for(C)]; wsum: [O][kh*kw] channel sums of sign(w).
  BinaryConv(const uint64_t* weight, const int32_t* wsum, int64_t outputs, int64_t channels, int64_t kh,
             int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw);
  int64_t outputs() const { return outputs_; }
  int64_t channels() const { return channels_; }
  // x: packed NHWC input; transform as in Transform (out/bits are NHWC with the given row strides).
  void run(const uint64_t* x, int64_t n, int64_t h, int64_t w, const Transform& t);
  ConvShape shape(int64_t n, int64_t h, int64_t w) const;

 private:
  void prepare_padding(int64_t h, int64_t w);
  int64_t outputs_, channels_, kh_, kw_, sh_, sw_, ph_, pw_, cw_;
  std::vector<uint64_t> blocked_;
  std::vector<int32_t> wsum_;
  std::mutex mutex_;  // run() from several threads: the padding tables are per input size
  int64_t cached_h_ = -1, cached_w_ = -1;
  std::vector<int32_t> corr_;
  std::vector<float> base_;
  std::vector<uint8_t> pattern_;
  std::vector<int64_t> row_offset_, k_offset_;
};

// Reference of a whole conv: direct loops over taps, padded taps skipped (no correction).
void reference_conv(const uint64_t* x, const ConvShape& s, const uint64_t* weight, int64_t outputs,
                    const Transform& t);

}  // namespace padl
