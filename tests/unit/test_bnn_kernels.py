"""The native BNN kernels: every optimized ISA this CPU runs equals the scalar reference bit for
bit (packing, GEMM, conv, both output transforms), and the reference equals the documented
semantics (sign(0) = +1, zero padding after binarization)."""
import numpy as np
import pytest

from padl_lib.bnn import native, reference

ISAS = native.available_isas() if native.available() else []
OPTIMIZED = [name for name in ISAS if name != "reference"]


@pytest.fixture(autouse=True)
def _restore_isa_and_threads():
    import torch

    kernel_threads, torch_threads = native.threads(), torch.get_num_threads()
    yield
    native.select_isa("auto")
    native.set_threads(kernel_threads)
    torch.set_num_threads(torch_threads)


def test_kernels_are_built_with_dispatch():
    assert native.available(), "build the extension: pip install --no-deps --no-build-isolation -e ."
    assert ISAS[-2:] == ["portable", "reference"]
    assert native.isa() == ISAS[0]


def packbits(negative: np.ndarray) -> np.ndarray:
    """The documented bit layout, written with numpy: (..., C) bools -> (..., words) uint64."""
    channels = negative.shape[-1]
    words = -(-channels // 64)
    bits = np.zeros(negative.shape[:-1] + (words * 64,), np.uint8)
    bits[..., :channels] = negative
    return np.packbits(bits.reshape(*negative.shape[:-1], words, 64), axis=-1, bitorder="little").view("<u8")[..., 0]


@pytest.mark.parametrize("isa", OPTIMIZED)
@pytest.mark.parametrize("channels", [1, 3, 63, 64, 65, 130, 256])
def test_pack_matches_numpy(isa, channels):
    rng = np.random.default_rng(channels)
    x = rng.standard_normal((5, channels)).astype(np.float32)
    x[0, :3] = [0.0, -0.0, np.nan][: min(3, channels)]
    with native.forced_isa(isa):
        assert np.array_equal(native.pack(x), packbits(x < 0))


def _gemm_case(rng, rows, outputs, words):
    a = rng.integers(0, 2**63, (rows, words), dtype=np.uint64) * np.uint64(2) + rng.integers(0, 2, (rows, words), dtype=np.uint64)
    b = rng.integers(0, 2**63, (outputs, words), dtype=np.uint64) * np.uint64(2)
    patterns = 3
    corr = rng.integers(-50, 50, (patterns, -(-outputs // 8) * 8)).astype(np.int32)
    pattern = rng.integers(0, patterns, rows).astype(np.uint8)
    return a, b, corr, pattern


@pytest.mark.parametrize("isa", OPTIMIZED)
@pytest.mark.parametrize("rows,outputs,words", [(1, 1, 1), (7, 13, 3), (13, 40, 9), (25, 70, 36), (6, 8, 40)])
def test_gemm_matches_reference(isa, rows, outputs, words):
    rng = np.random.default_rng(rows * outputs)
    a, b, corr, pattern = _gemm_case(rng, rows, outputs, words)
    scale, bias = rng.standard_normal(outputs).astype(np.float32), rng.standard_normal(outputs).astype(np.float32)
    thresh = rng.integers(-64, 64, outputs).astype(np.int32)
    flip = rng.integers(0, 256, -(-outputs // 8)).astype(np.uint8)
    nbits = words * 64
    results = {}
    for name in (isa, "reference"):
        with native.forced_isa(name):
            results[name] = (native.gemm(a, b, nbits, scale, bias, corr=corr, pattern=pattern),
                             native.gemm(a, b, nbits, thresh=thresh, flip=flip, corr=corr, pattern=pattern))
    assert np.array_equal(results[isa][0], results["reference"][0])
    assert np.array_equal(results[isa][1], results["reference"][1])
    pop = np.array([[sum(bin(int(x ^ y)).count("1") for x, y in zip(ra, rb)) for rb in b] for ra in a])
    dot = nbits - 2 * pop - corr[pattern][:, :outputs]
    assert np.array_equal(results["reference"][0], dot.astype(np.float32) * scale + bias)


CONVS = [  # (n, h, w, c, o, k, stride, pad)
    (1, 7, 9, 3, 5, 3, 1, 1), (2, 8, 7, 70, 13, 3, 2, 1), (1, 6, 6, 130, 33, 3, 1, 0), (1, 9, 5, 64, 64, 3, 2, 0),
    (2, 5, 5, 200, 9, 1, 1, 0), (1, 6, 7, 65, 70, 1, 2, 0), (1, 5, 6, 20, 8, 1, 1, 1), (1, 14, 14, 256, 24, 3, 1, 1),
]


def _conv_case(case, seed=0):
    n, h, w, c, o, k, s, p = case
    rng = np.random.default_rng(seed + c * o)
    x = rng.standard_normal((n, h, w, c)).astype(np.float32)
    x[rng.random(x.shape) < 0.05] = 0.0
    weight = rng.standard_normal((o, c, k, k)).astype(np.float32)
    return rng, x, weight, (s, s), (p, p)


@pytest.mark.parametrize("case", CONVS, ids=lambda c: "n{}_{}x{}_c{}_o{}_k{}_s{}_p{}".format(*c))
def test_conv_every_isa_matches_reference(case):
    rng, x, weight, stride, padding = _conv_case(case)
    o = weight.shape[0]
    scale, bias = rng.standard_normal(o).astype(np.float32), rng.standard_normal(o).astype(np.float32)
    thresh = rng.integers(-20, 20, o).astype(np.int32)
    flip = rng.integers(0, 256, -(-o // 8)).astype(np.uint8)
    xp = native.pack(x)
    want_f = native.reference_conv(xp, weight, stride, padding, scale, bias)
    want_b = native.reference_conv(xp, weight, stride, padding, thresh=thresh, flip=flip)
    for isa in ISAS:
        with native.forced_isa(isa):
            conv = native.binary_conv(weight, stride, padding)
            assert np.array_equal(conv.run(xp, scale, bias), want_f), isa
            assert np.array_equal(conv.run(xp, thresh=thresh, flip=flip), want_b), isa


@pytest.mark.parametrize("case", CONVS[:4], ids=str)
def test_reference_conv_is_zero_padded_sign_conv(case):
    _, x, weight, stride, padding = _conv_case(case, seed=1)
    o = weight.shape[0]
    got = native.reference_conv(native.pack(x), weight, stride, padding, np.ones(o, np.float32), np.zeros(o, np.float32))
    want = reference.conv2d(reference.sign(x.transpose(0, 3, 1, 2)), reference.sign(weight), stride, padding)
    assert np.array_equal(got, want.transpose(0, 2, 3, 1))


def test_threshold_output_equals_binarized_float_output():
    _, x, weight, stride, padding = _conv_case(CONVS[1])
    o = weight.shape[0]
    rng = np.random.default_rng(5)
    scale = rng.standard_normal(o).astype(np.float32)
    scale[:3] = [0.0, -1.0, 1.0]
    bias = rng.standard_normal(o).astype(np.float32) * 5
    conv = native.binary_conv(weight, stride, padding)
    xp = native.pack(x)
    dot = conv.run(xp, np.ones(o, np.float32), np.zeros(o, np.float32)).astype(np.float64)
    thresh, flip = native.thresholds(scale, bias)
    assert np.array_equal(conv.run(xp, thresh=thresh, flip=flip), packbits(dot * scale + bias < 0))


@pytest.mark.parametrize("isa", OPTIMIZED)
def test_threads_give_identical_results(isa):
    _, x, weight, stride, padding = _conv_case((1, 20, 20, 100, 40, 3, 1, 1))
    o = weight.shape[0]
    scale, bias = np.ones(o, np.float32), np.zeros(o, np.float32)
    with native.forced_isa(isa):
        conv = native.binary_conv(weight, stride, padding)
        xp = native.pack(x)
        native.set_threads(1)
        one = conv.run(xp, scale, bias)
        native.set_threads(2)
        assert native.threads() == 2
        assert np.array_equal(conv.run(xp, scale, bias), one)


def test_bad_input_raises_clear_errors():
    conv = native.binary_conv(np.ones((4, 10, 3, 3), np.float32), (1, 1), (1, 1))
    ones = np.ones(4, np.float32)
    with pytest.raises(ValueError, match="packed NHWC"):
        conv.run(np.zeros((1, 5, 5, 2), np.uint64), ones, ones)
    with pytest.raises(ValueError, match="one float32 per output channel"):
        conv.run(np.zeros((1, 5, 5, 1), np.uint64), ones[:3], ones)
    with pytest.raises(ValueError, match="either scale and bias"):
        conv.run(np.zeros((1, 5, 5, 1), np.uint64))
    with pytest.raises(ValueError, match="smaller than the kernel"):
        native.binary_conv(np.ones((4, 10, 3, 3), np.float32)).run(np.zeros((1, 2, 2, 1), np.uint64), ones, ones)
    with pytest.raises(ValueError, match="unknown kernel ISA"):
        native.select_isa("sse9")
    with pytest.raises(ValueError, match="at least 1"):
        native.set_threads(0)


def test_one_layer_runs_safely_from_several_python_threads():
    from concurrent.futures import ThreadPoolExecutor

    weight = np.random.default_rng(9).standard_normal((16, 40, 3, 3)).astype(np.float32)
    conv = native.binary_conv(weight, (1, 1), (1, 1))
    ones, zeros = np.ones(16, np.float32), np.zeros(16, np.float32)
    inputs = [native.pack(np.random.default_rng(i).standard_normal((1, 5 + i % 4, 7, 40)).astype(np.float32))
              for i in range(16)]
    serial = [conv.run(x, ones, zeros) for x in inputs]
    with ThreadPoolExecutor(4) as pool:
        parallel = list(pool.map(lambda x: conv.run(x, ones, zeros), inputs))
    assert all(np.array_equal(a, b) for a, b in zip(serial, parallel))


@pytest.mark.parametrize("isa", ISAS)
def test_fused_residual_is_added_last(isa):
    rng, x, weight, stride, padding = _conv_case(CONVS[1])
    o = weight.shape[0]
    scale, bias = rng.standard_normal(o).astype(np.float32), rng.standard_normal(o).astype(np.float32)
    xp = native.pack(x)
    with native.forced_isa(isa):
        conv = native.binary_conv(weight, stride, padding)
        plain = conv.run(xp, scale, bias)
        residual = rng.standard_normal(plain.shape).astype(np.float32)
        fused = conv.run(xp, scale, bias, residual=residual)
        with pytest.raises(ValueError, match="residual must have the output's shape"):
            conv.run(xp, scale, bias, residual=residual[:, :-1])
    assert np.array_equal(fused, plain + residual)
    assert np.array_equal(fused, native.reference_conv(xp, weight, stride, padding, scale, bias, residual=residual))


def test_kernel_bench_reports_throughput_against_the_ceiling():
    from padl_lib.bnn import kernel_bench

    result = kernel_bench.gemm_throughput(ISAS[0], rows=12, outputs=16, channels=128, repeats=2)
    assert result["isa"] == ISAS[0] and result["gbit_mac_s"] > 0
    assert result["shape"] == [12, 16, 128] and result["ceiling"] > 0
    assert result["fraction"] == pytest.approx(result["gbit_mac_s"] / result["ceiling"])


@pytest.mark.parametrize("isa", ISAS)
def test_peak_loop_counts_its_bits(isa):
    with native.forced_isa(isa):
        checksum, bits = native.peak(62)
        assert native.peak(62)[0] == checksum  # deterministic
    assert bits % (62 * 64) == 0 and 0 < checksum <= bits
