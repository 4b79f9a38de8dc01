// Test driver for padl's BNN kernels outside Python (used for aarch64 under qemu-user).
//
// Reads test cases written by tests/arm/test_arm_kernels.py, runs every ISA this CPU supports
// on each (packing and binary conv), checks each against the scalar reference bit for bit,
// and writes the outputs so the test can compare them with the x86 results.
//
// Case file: repeated records of 12 little-endian int64 (n, h, w, c, o, kh, kw, sh, sw, ph, pw,
// bit_mode), then x (n*h*w*c float32, NHWC), weight (o*kh*kw*c float32, O-kh-kw-C), then
// scale and bias (o float32 each) or thresh (o int32) and flip ((o+7)/8 bytes).
// Output file: per case the packed input, then the float (n*oh*ow*o float32) or packed
// (n*oh*ow*words(o) uint64) output.
#include <cstdio>
#include <cstring>
#include <fstream>
#include <iostream>
#include <vector>

#include "bnn.h"

using namespace padl;

template <typename T>
std::vector<T> read(std::ifstream& in, int64_t count) {
  std::vector<T> v(count);
  in.read(reinterpret_cast<char*>(v.data()), count * sizeof(T));
  if (!in) throw std::runtime_error("case file is truncated");
  return v;
}

template <typename T>
void write(std::ofstream& out, const std::vector<T>& v) {
  out.write(reinterpret_cast<const char*>(v.data()), v.size() * sizeof(T));
}

int main(int argc, char** argv) {
  if (argc != 3) {
    std::cerr << "usage: kernel_driver CASES OUTPUT\n";
    return 2;
  }
  std::ifstream in(argv[1], std::ios::binary);
  std::ofstream out(argv[2], std::ios::binary);
  std::vector<std::string> isas = available_isas();
  std::cout << "isas:";
  for (auto& name : isas) std::cout << ' ' << name;
  std::cout << '\n';
  int cases = 0, failures = 0;
  while (in.peek() != EOF) {
    auto head = read<int64_t>(in, 12);
    const int64_t n = head[0], h = head[1], w = head[2], c = head[3], o = head[4], kh = head[5], kw = head[6];
    const int64_t sh = head[7], sw = head[8], ph = head[9], pw = head[10];
    const bool bits = head[11] != 0;
    auto x = read<float>(in, n * h * w * c);
    auto weight = read<float>(in, o * kh * kw * c);
    std::vector<float> scale, bias;
    std::vector<int32_t> thresh;
    std::vector<uint8_t> flip;
    if (bits) {
      thresh = read<int32_t>(in, o);
      flip = read<uint8_t>(in, (o + 7) / 8);
    } else {
      scale = read<float>(in, o);
      bias = read<float>(in, o);
    }
    const int64_t cw = words_for(c), taps = kh * kw;
    ConvShape s{n, h, w, c, kh, kw, sh, sw, ph, pw};
    const int64_t rows = n * s.oh() * s.ow();
    const int64_t out_len = bits ? rows * words_for(o) : rows * o;

    select_isa("reference");
    std::vector<uint64_t> xp(n * h * w * cw), wp(o * taps * cw);
    pack_rows(x.data(), n * h * w, c, c, xp.data());
    pack_rows(weight.data(), o * taps, c, c, wp.data());
    std::vector<int32_t> wsum(o * taps, 0);
    for (int64_t i = 0; i < o * taps; ++i)
      for (int64_t j = 0; j < c; ++j) wsum[i] += weight[i * c + j] < 0 ? -1 : 1;

    auto transform = [&](std::vector<float>& fout, std::vector<uint64_t>& bout) {
      Transform t;
      if (bits) {
        bout.assign(out_len, ~uint64_t{0});
        t.thresh = thresh.data();
        t.flip = flip.data();
        t.bits = bout.data();
        t.ld_bits = words_for(o);
      } else {
        fout.assign(out_len, -12345.0f);
        t.scale = scale.data();
        t.bias = bias.data();
        t.out = fout.data();
        t.ld_out = o;
      }
      return t;
    };
    std::vector<float> ref_f;
    std::vector<uint64_t> ref_b;
    reference_conv(xp.data(), s, wp.data(), o, transform(ref_f, ref_b));

    for (const std::string& name : isas) {
      select_isa(name);
      std::vector<uint64_t> xq(xp.size());
      pack_rows(x.data(), n * h * w, c, c, xq.data());
      BinaryConv conv(wp.data(), wsum.data(), o, c, kh, kw, sh, sw, ph, pw);
      std::vector<float> got_f;
      std::vector<uint64_t> got_b;
      conv.run(xp.data(), n, h, w, transform(got_f, got_b));
      bool same = xq == xp && (bits ? got_b == ref_b : std::memcmp(got_f.data(), ref_f.data(), out_len * 4) == 0);
      if (!same) {
        ++failures;
        std::cout << "MISMATCH case " << cases << " isa " << name << '\n';
      }
    }
    write(out, xp);
    if (bits) write(out, ref_b);
    else write(out, ref_f);
    ++cases;
  }
  std::cout << "cases: " << cases << " failures: " << failures << '\n';
  return failures ? 1 : 0;
}
