// The one binding file: padl_lib.bnn._kernels (numpy in, numpy out; shapes checked here).
#include <pybind11/numpy.h>
#include <pybind11/pybind11.h>
#include <pybind11/stl.h>

#include <stdexcept>

#include "bnn.h"

namespace py = pybind11;
using padl::words_for;

namespace {

template <typename T>
using Array = py::array_t<T, py::array::c_style | py::array::forcecast>;

void require(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

// Fill the output transform from either (scale, bias) or (thresh, flip).
padl::Transform make_transform(int64_t outputs, const py::object& scale, const py::object& bias,
                               const py::object& thresh, const py::object& flip,
                               std::vector<py::object>& keep) {
  padl::Transform t;
  const bool float_mode = !scale.is_none() || !bias.is_none();
  const bool bit_mode = !thresh.is_none() || !flip.is_none();
  require(float_mode != bit_mode, "give either scale and bias (float output) or thresh and flip (bit output)");
  if (float_mode) {
    auto s = Array<float>::ensure(scale), b = Array<float>::ensure(bias);
    require(s && b && s.size() == outputs && b.size() == outputs,
            "scale and bias need one float32 per output channel (" + std::to_string(outputs) + ")");
    t.scale = s.data();
    t.bias = b.data();
    keep.push_back(s);
    keep.push_back(b);
  } else {
    auto th = Array<int32_t>::ensure(thresh);
    auto fl = Array<uint8_t>::ensure(flip);
    require(th && th.size() == outputs, "thresh needs one int32 per output channel (" + std::to_string(outputs) + ")");
    require(fl && fl.size() == (outputs + 7) / 8, "flip needs one packed byte per 8 output channels");
    t.thresh = th.data();
    t.flip = fl.data();
    keep.push_back(th);
    keep.push_back(fl);
  }
  return t;
}

py::array allocate_output(padl::Transform& t, std::vector<py::ssize_t> shape, int64_t outputs, const py::object& out) {
  if (t.thresh) {
    shape.back() = words_for(outputs);
    py::array_t<uint64_t> result = out.is_none() ? py::array_t<uint64_t>(shape) : out.cast<py::array_t<uint64_t>>();
    require(result.ndim() == static_cast<py::ssize_t>(shape.size()) && (result.flags() & py::array::c_style) &&
                std::equal(shape.begin(), shape.end(), result.shape()),
            "out must be a C-contiguous uint64 array of the output's shape");
    t.bits = result.mutable_data();
    t.ld_bits = words_for(outputs);
    return result;
  }
  shape.back() = outputs;
  py::array_t<float> result = out.is_none() ? py::array_t<float>(shape) : out.cast<py::array_t<float>>();
  require(result.ndim() == static_cast<py::ssize_t>(shape.size()) && (result.flags() & py::array::c_style) &&
              std::equal(shape.begin(), shape.end(), result.shape()),
          "out must be a C-contiguous float32 array of the output's shape");
  t.out = result.mutable_data();
  t.ld_out = outputs;
  return result;
}

// Attach a fused residual (float mode only): a float32 array of exactly the output's shape.
void attach_residual(padl::Transform& t, const py::array& result, const py::object& residual,
                     std::vector<py::object>& keep) {
  if (residual.is_none()) return;
  require(!t.bits, "a residual can only be added to float output");
  auto r = Array<float>::ensure(residual);
  require(r && r.ndim() == result.ndim() && std::equal(result.shape(), result.shape() + result.ndim(), r.shape()),
          "residual must have the output's shape (n, oh, ow, outputs)");
  t.residual = r.data();
  keep.push_back(r);
}

py::array pack(Array<float> x, int64_t channels_hint) {
  require(x.ndim() >= 1, "pack needs an array whose last axis is the channels");
  const int64_t channels = x.shape(x.ndim() - 1);
  require(channels_hint < 0 || channels_hint == channels, "pack: channel count mismatch");
  std::vector<py::ssize_t> shape(x.shape(), x.shape() + x.ndim());
  shape.back() = words_for(channels);
  py::array_t<uint64_t> out(shape);
  const int64_t rows = channels ? x.size() / channels : 0;
  {
    py::gil_scoped_release release;
    if (channels) padl::pack_rows(x.data(), rows, channels, channels, out.mutable_data());
  }
  return out;
}

py::array gemm(Array<uint64_t> a, Array<uint64_t> b, int32_t nbits, py::object scale, py::object bias,
               py::object thresh, py::object flip, py::object corr, py::object pattern) {
  require(a.ndim() == 2 && b.ndim() == 2 && a.shape(1) == b.shape(1), "gemm needs a (rows, words) and b (outputs, words)");
  const int64_t outputs = b.shape(0);
  std::vector<py::object> keep;
  padl::Transform t = make_transform(outputs, scale, bias, thresh, flip, keep);
  py::array result = allocate_output(t, {a.shape(0), 0}, outputs, py::none());
  std::vector<uint64_t> blocked = padl::block_weights(b.data(), outputs, b.shape(1));
  padl::Gemm g;
  g.a = a.data();
  std::vector<int64_t> row_offset, k_offset;
  padl::dense_offsets(a.shape(0), a.shape(1), row_offset, k_offset);
  g.row_offset = row_offset.data();
  g.k_offset = k_offset.data();
  g.rows = a.shape(0);
  g.kw = a.shape(1);
  g.b = blocked.data();
  g.outputs = outputs;
  g.nbits = nbits;
  g.t = t;
  Array<int32_t> corr_arr;
  Array<uint8_t> pattern_arr;
  std::vector<float> base;
  if (!corr.is_none() || !pattern.is_none()) {
    corr_arr = Array<int32_t>::ensure(corr);
    pattern_arr = Array<uint8_t>::ensure(pattern);
    const int64_t width = padl::blocks_for(outputs) * padl::kBlock;
    require(corr_arr && pattern_arr && corr_arr.ndim() == 2 && corr_arr.shape(1) == width &&
                pattern_arr.size() == g.rows,
            "corr must be (patterns, outputs rounded up to 8) and pattern one id per row");
    const uint8_t* p = pattern_arr.data();
    for (int64_t r = 0; r < g.rows; ++r) require(p[r] < corr_arr.shape(0), "pattern id out of range");
    g.corr = corr_arr.data();
    g.pattern = pattern_arr.data();
    base = padl::base_table(nbits, g.corr, corr_arr.size());
    g.base = base.data();
  }
  {
    py::gil_scoped_release release;
    padl::active_isa().gemm(g, 0, g.rows);
    padl::zero_bit_tails(g, 0, g.rows);
  }
  return result;
}

struct PyBinaryConv {
  padl::BinaryConv conv;
  int64_t kh, kw;

  PyBinaryConv(Array<uint64_t> weight, Array<int32_t> wsum, int64_t channels, std::pair<int64_t, int64_t> kernel,
               std::pair<int64_t, int64_t> stride, std::pair<int64_t, int64_t> padding)
      : conv(checked(weight, wsum, channels, kernel), wsum.data(), weight.shape(0), channels, kernel.first,
             kernel.second, stride.first, stride.second, padding.first, padding.second),
        kh(kernel.first), kw(kernel.second) {}

  static const uint64_t* checked(const Array<uint64_t>& weight, const Array<int32_t>& wsum, int64_t channels,
                                 std::pair<int64_t, int64_t> kernel) {
    require(channels > 0 && kernel.first > 0 && kernel.second > 0, "channels and kernel must be positive");
    const int64_t taps = kernel.first * kernel.second;
    require(weight.ndim() == 2 && weight.shape(1) == taps * words_for(channels),
            "weight must be packed signs of shape (outputs, kh * kw * words(channels))");
    require(wsum.ndim() == 2 && wsum.shape(0) == weight.shape(0) && wsum.shape(1) == taps,
            "wsum must be (outputs, kh * kw)");
    return weight.data();
  }

  py::array run(Array<uint64_t> x, py::object scale, py::object bias, py::object thresh, py::object flip,
                py::object out, py::object residual) {
    require(x.ndim() == 4 && x.shape(3) == words_for(conv.channels()),
            "input must be packed NHWC: (n, h, w, " + std::to_string(words_for(conv.channels())) + ")");
    padl::ConvShape s = conv.shape(x.shape(0), x.shape(1), x.shape(2));
    std::vector<py::object> keep;
    padl::Transform t = make_transform(conv.outputs(), scale, bias, thresh, flip, keep);
    py::array result = allocate_output(t, {s.n, s.oh(), s.ow(), 0}, conv.outputs(), out);
    attach_residual(t, result, residual, keep);
    {
      py::gil_scoped_release release;
      conv.run(x.data(), s.n, s.h, s.w, t);
    }
    return result;
  }
};

py::array reference_conv(Array<uint64_t> x, Array<uint64_t> weight, int64_t channels, std::pair<int64_t, int64_t> kernel,
                         std::pair<int64_t, int64_t> stride, std::pair<int64_t, int64_t> padding, py::object scale,
                         py::object bias, py::object thresh, py::object flip, py::object residual) {
  const int64_t cw = words_for(channels);
  require(x.ndim() == 4 && x.shape(3) == cw, "input must be packed NHWC");
  require(weight.ndim() == 2 && weight.shape(1) == kernel.first * kernel.second * cw, "weight shape mismatch");
  padl::ConvShape s{x.shape(0), x.shape(1), x.shape(2), channels, kernel.first, kernel.second,
                    stride.first, stride.second, padding.first, padding.second};
  require(s.oh() > 0 && s.ow() > 0, "input smaller than the kernel");
  const int64_t outputs = weight.shape(0);
  std::vector<py::object> keep;
  padl::Transform t = make_transform(outputs, scale, bias, thresh, flip, keep);
  py::array result = allocate_output(t, {s.n, s.oh(), s.ow(), 0}, outputs, py::none());
  attach_residual(t, result, residual, keep);
  padl::reference_conv(x.data(), s, weight.data(), outputs, t);
  return result;
}

}  // namespace

PYBIND11_MODULE(_kernels, m) {
  m.doc() = "padl's bit-packed BNN kernels (see padl_lib/bnn/kernels/bnn.h for the bit encoding)";
  m.def("isa", [] { return std::string(padl::active_isa().name); }, "Name of the active kernel ISA.");
  m.def("available_isas", &padl::available_isas, "ISAs this CPU runs, best first.");
  m.def("select_isa", &padl::select_isa, py::arg("name"), "Force an ISA by name ('auto' = best).");
  m.def("set_threads", &padl::set_threads, py::arg("n"));
  m.def(
      "peak",
      [](int64_t iterations) {
        require(iterations > 0, "iterations must be positive");
        py::gil_scoped_release release;
        const padl::Isa& isa = padl::active_isa();
        return std::make_pair(isa.peak(iterations), isa.peak_bits * iterations);
      },
      py::arg("iterations"),
      "Run the active ISA's in-register xor+popcount loop; returns (checksum, bit-MACs done).");
  m.def("threads", &padl::threads);
  m.def("pack", &pack, py::arg("x"), py::arg("channels") = -1,
        "Pack float32 (..., C) to sign bits (..., words(C)) uint64; bit 1 = negative.");
  m.def("gemm", &gemm, py::arg("a"), py::arg("b"), py::arg("nbits"), py::arg("scale") = py::none(),
        py::arg("bias") = py::none(), py::arg("thresh") = py::none(), py::arg("flip") = py::none(),
        py::arg("corr") = py::none(), py::arg("pattern") = py::none(),
        "Binary GEMM of packed rows a (P, K words) with packed weights b (O, K words) and the output transform.");
  m.def("reference_conv", &reference_conv, py::arg("x"), py::arg("weight"), py::arg("channels"), py::arg("kernel"),
        py::arg("stride"), py::arg("padding"), py::arg("scale") = py::none(), py::arg("bias") = py::none(),
        py::arg("thresh") = py::none(), py::arg("flip") = py::none(), py::arg("residual") = py::none());
  py::class_<PyBinaryConv>(m, "BinaryConv")
      .def(py::init<Array<uint64_t>, Array<int32_t>, int64_t, std::pair<int64_t, int64_t>, std::pair<int64_t, int64_t>,
                    std::pair<int64_t, int64_t>>(),
           py::arg("weight"), py::arg("wsum"), py::arg("channels"), py::arg("kernel"), py::arg("stride"),
           py::arg("padding"))
      .def("run", &PyBinaryConv::run, py::arg("x"), py::arg("scale") = py::none(), py::arg("bias") = py::none(),
           py::arg("thresh") = py::none(), py::arg("flip") = py::none(), py::arg("out") = py::none(),
           py::arg("residual") = py::none())
      .def_property_readonly("outputs", [](const PyBinaryConv& c) { return c.conv.outputs(); })
      .def_property_readonly("channels", [](const PyBinaryConv& c) { return c.conv.channels(); });
}
