// Whole binary layers on the active ISA: threaded packing and GEMM, im2col of packed
// activations, and the precomputed zero-padding correction of BinaryConv.
#include <algorithm>
#include <cstring>
#include <stdexcept>

#include "bnn.h"

namespace padl {
namespace {

// Split [0, rows) into one contiguous range per thread (multiples of 12 rows: whole GEMM tiles).
template <typename Fn>
void parallel_rows(int64_t rows, Fn fn) {
  constexpr int64_t kTileRows = 12;
  int n = threads();
  if (n <= 1 || rows < 2 * kTileRows) {
    fn(0, rows);
    return;
  }
  int64_t chunk = ((rows + n - 1) / n + kTileRows - 1) / kTileRows * kTileRows;
#pragma omp parallel for num_threads(n) schedule(static)
  for (int i = 0; i < n; ++i) {
    int64_t begin = i * chunk, end = std::min(rows, begin + chunk);
    if (begin < end) fn(begin, end);
  }
}

void run_gemm(const Gemm& g) {
  const Isa& isa = active_isa();
  parallel_rows(g.rows, [&](int64_t begin, int64_t end) {
    isa.gemm(g, begin, end);
    zero_bit_tails(g, begin, end);
  });
}

std::vector<uint64_t>& scratch() {
  thread_local std::vector<uint64_t> buffer;
  return buffer;
}

}  // namespace

void pack_rows(const float* x, int64_t rows, int64_t channels, int64_t ldx, uint64_t* out) {
  const Isa& isa = active_isa();
  const int64_t cw = words_for(channels);
  parallel_rows(rows, [&](int64_t begin, int64_t end) { isa.pack(x + begin * ldx, end - begin, channels, ldx, out + begin * cw); });
}

std::vector<float> base_table(int32_t nbits, const int32_t* corr, int64_t entries) {
  std::vector<float> base(entries);
  for (int64_t i = 0; i < entries; ++i) base[i] = static_cast<float>(nbits - corr[i]);
  return base;
}

void dense_offsets(int64_t rows, int64_t kw, std::vector<int64_t>& row_offset, std::vector<int64_t>& k_offset) {
  row_offset.resize(rows);
  for (int64_t r = 0; r < rows; ++r) row_offset[r] = r * kw;
  k_offset.resize(kw);
  for (int64_t k = 0; k < kw; ++k) k_offset[k] = k;
}

std::vector<uint64_t> block_weights(const uint64_t* plain, int64_t outputs, int64_t kw) {
  std::vector<uint64_t> blocked(blocks_for(outputs) * kw * kBlock, 0);  // padded outputs: zero weights
  for (int64_t o = 0; o < outputs; ++o)
    for (int64_t k = 0; k < kw; ++k) blocked[((o / kBlock) * kw + k) * kBlock + o % kBlock] = plain[o * kw + k];
  return blocked;
}

BinaryConv::BinaryConv(const uint64_t* weight, const int32_t* wsum, int64_t outputs, int64_t channels, int64_t kh,
                       int64_t kw, int64_t sh, int64_t sw, int64_t ph, int64_t pw)
    : outputs_(outputs), channels_(channels), kh_(kh), kw_(kw), sh_(sh), sw_(sw), ph_(ph), pw_(pw),
      cw_(words_for(channels)) {
  if (outputs < 1 || channels < 1 || kh < 1 || kw < 1 || sh < 1 || sw < 1 || ph < 0 || pw < 0)
    throw std::invalid_argument("binary conv: sizes must be positive (padding non-negative)");
  if (kh > 16 || kw > 16) throw std::invalid_argument("binary conv: kernels up to 16x16 are supported");
  blocked_ = block_weights(weight, outputs, kh * kw * cw_);
  wsum_.assign(wsum, wsum + outputs * kh * kw);
}

ConvShape BinaryConv::shape(int64_t n, int64_t h, int64_t w) const {
  ConvShape s{n, h, w, channels_, kh_, kw_, sh_, sw_, ph_, pw_};
  if (h + 2 * ph_ < kh_ || w + 2 * pw_ < kw_)
    throw std::invalid_argument("binary conv: input " + std::to_string(h) + "x" + std::to_string(w) +
                                " is smaller than the kernel");
  return s;
}

// Group output rows and columns by which kernel rows/columns fall into the padding; each
// (row group, column group) pair is a pattern with one correction per output channel.
void BinaryConv::prepare_padding(int64_t h, int64_t w) {
  if (h == cached_h_ && w == cached_w_) return;
  ConvShape s = shape(1, h, w);
  const int64_t oh = s.oh(), ow = s.ow();
  auto classes = [](int64_t size, int64_t out, int64_t k, int64_t stride, int64_t pad,
                    std::vector<uint32_t>& masks, std::vector<int>& ids) {
    masks.assign(1, 0u);  // class 0: nothing padded
    ids.resize(out);
    for (int64_t y = 0; y < out; ++y) {
      uint32_t mask = 0;
      for (int64_t d = 0; d < k; ++d) {
        int64_t i = y * stride + d - pad;
        if (i < 0 || i >= size) mask |= 1u << d;
      }
      auto it = std::find(masks.begin(), masks.end(), mask);
      ids[y] = static_cast<int>(it - masks.begin());
      if (it == masks.end()) masks.push_back(mask);
    }
  };
  std::vector<uint32_t> row_masks, col_masks;
  std::vector<int> row_ids, col_ids;
  classes(h, oh, kh_, sh_, ph_, row_masks, row_ids);
  classes(w, ow, kw_, sw_, pw_, col_masks, col_ids);
  const int64_t patterns = static_cast<int64_t>(row_masks.size() * col_masks.size());
  if (patterns > 256) throw std::invalid_argument("binary conv: too many padding patterns");
  const int64_t width = blocks_for(outputs_) * kBlock;
  corr_.assign(patterns * width, 0);
  for (size_t ri = 0; ri < row_masks.size(); ++ri)
    for (size_t ci = 0; ci < col_masks.size(); ++ci) {
      int32_t* corr = corr_.data() + (ri * col_masks.size() + ci) * width;
      for (int64_t dy = 0; dy < kh_; ++dy)
        for (int64_t dx = 0; dx < kw_; ++dx) {
          if (!((row_masks[ri] >> dy) & 1) && !((col_masks[ci] >> dx) & 1)) continue;
          for (int64_t o = 0; o < outputs_; ++o) corr[o] += wsum_[o * kh_ * kw_ + dy * kw_ + dx];
        }
    }
  // Indirect GEMM offsets into the zero-padded input (wp words per padded row).
  const int64_t wp = w + 2 * pw_;
  row_offset_.resize(oh * ow);
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x) row_offset_[y * ow + x] = (y * sh_ * wp + x * sw_) * cw_;
  k_offset_.resize(kh_ * kw_ * cw_);
  for (int64_t dy = 0; dy < kh_; ++dy)
    for (int64_t dx = 0; dx < kw_; ++dx)
      for (int64_t c = 0; c < cw_; ++c) k_offset_[(dy * kw_ + dx) * cw_ + c] = (dy * wp + dx) * cw_ + c;
  pattern_.resize(oh * ow);
  for (int64_t y = 0; y < oh; ++y)
    for (int64_t x = 0; x < ow; ++x)
      pattern_[y * ow + x] = static_cast<uint8_t>(row_ids[y] * col_masks.size() + col_ids[x]);
  base_ = base_table(static_cast<int32_t>(kh_ * kw_ * channels_), corr_.data(), static_cast<int64_t>(corr_.size()));
  cached_h_ = h;
  cached_w_ = w;
}

void BinaryConv::run(const uint64_t* x, int64_t n, int64_t h, int64_t w, const Transform& t) {
  ConvShape s = shape(n, h, w);
  std::lock_guard<std::mutex> lock(mutex_);
  const int64_t oh = s.oh(), ow = s.ow(), rows = oh * ow;
  const int64_t hp = h + 2 * ph_, wp = w + 2 * pw_;
  const bool padded = ph_ > 0 || pw_ > 0;
  prepare_padding(h, w);
  Gemm g;
  g.rows = rows;
  g.kw = kh_ * kw_ * cw_;
  g.b = blocked_.data();
  g.outputs = outputs_;
  g.nbits = static_cast<int32_t>(kh_ * kw_ * channels_);
  g.row_offset = row_offset_.data();
  g.k_offset = k_offset_.data();
  if (corr_.size() > static_cast<size_t>(blocks_for(outputs_) * kBlock)) {
    g.corr = corr_.data();
    g.pattern = pattern_.data();
    g.base = base_.data();
  }
  std::vector<uint64_t>& buffer = scratch();
  if (padded && buffer.size() < static_cast<size_t>(hp * wp * cw_)) buffer.resize(hp * wp * cw_);
  for (int64_t img = 0; img < n; ++img) {
    const uint64_t* src = x + img * h * w * cw_;
    if (padded) {  // a zero border (+1 bits, removed again by the padding correction)
      uint64_t* dst = buffer.data();
      std::fill(dst, dst + ph_ * wp * cw_, uint64_t{0});
      std::fill(dst + (ph_ + h) * wp * cw_, dst + hp * wp * cw_, uint64_t{0});
      for (int64_t y = 0; y < h; ++y) {
        uint64_t* row = dst + ((y + ph_) * wp) * cw_;
        std::fill(row, row + pw_ * cw_, uint64_t{0});
        std::memcpy(row + pw_ * cw_, src + y * w * cw_, w * cw_ * sizeof(uint64_t));
        std::fill(row + (pw_ + w) * cw_, row + wp * cw_, uint64_t{0});
      }
      g.a = buffer.data();
    } else {
      g.a = src;
    }
    g.t = t;
    if (t.bits) g.t.bits = t.bits + img * rows * t.ld_bits;
    else g.t.out = t.out + img * rows * t.ld_out;
    if (t.residual) g.t.residual = t.residual + img * rows * t.ld_out;
    run_gemm(g);
  }
}

}  // namespace padl
