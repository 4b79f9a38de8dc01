"""The engine: the numpy reference of every op equals torch's module, the native fast path
equals the reference on graphs using every op (residual blocks, packed activations between
binary layers, weights-only binary layers), on every ISA; bad input gets clear errors."""
import numpy as np
import pytest
import torch
import torch.nn.functional as F

from padl_lib.bnn import engine as ir
from padl_lib.bnn import native, reference
from padl_lib.bnn.runtime import BinaryStep, Plan

RNG = np.random.default_rng(0)


def bn(c):
    return ir.BatchNorm(RNG.standard_normal(c) * 0.1, RNG.random(c) + 0.5, RNG.standard_normal(c), RNG.standard_normal(c) * 0.1)


def bconv(ci, co, stride=1, padding=1, k=3, **kw):
    return ir.BinaryConv2d(RNG.standard_normal((co, ci, k, k)), RNG.random(co) + 0.5, None, stride, padding, **kw)


def every_op_graph():
    return [
        ir.Conv2d(RNG.standard_normal((32, 3, 3, 3)), RNG.standard_normal(32), 1, 1), bn(32), ir.Hardtanh(),
        bconv(32, 70), bn(70), ir.MaxPool2d(2),
        bconv(70, 70), ir.Affine(RNG.standard_normal(70), RNG.standard_normal(70)), ir.MaxPool2d(3, 1, 1),
        bconv(70, 130, stride=2), bn(130), ir.PReLU(RNG.random(130)),
        ir.Residual([bconv(130, 130), bn(130)]),
        ir.Residual([bconv(130, 130, stride=2), bn(130)], [ir.AvgPool2d(2), bn(130)]),
        ir.MaxPool2d(3, 1, 1),
        ir.Residual([bconv(130, 64), ir.ReLU(), bn(64)],
                    [ir.Conv2d(RNG.standard_normal((64, 130, 1, 1))), bn(64)]),
        bconv(64, 64, k=1, padding=0, binarize_input=False), ir.AvgPool2d(3, 1, 1, count_include_pad=False),
        ir.ReLU(), ir.Flatten(),
        ir.BinaryLinear(RNG.standard_normal((100, 64 * 2 * 2)), RNG.random(100)), bn(100),
        ir.BinaryLinear(RNG.standard_normal((50, 100)), bias=RNG.standard_normal(50)), ir.PReLU([0.25]),
        ir.Linear(RNG.standard_normal((10, 50)), RNG.standard_normal(10)),
    ]


def test_reference_ops_match_torch():
    x = torch.randn(2, 6, 9, 11)
    w = torch.randn(5, 6, 3, 3)
    alpha, bias = torch.rand(5) + 0.5, torch.randn(5)
    sign = lambda t: torch.where(t >= 0, 1.0, -1.0)  # noqa: E731
    cases = [
        (ir.BinaryConv2d(w.numpy(), alpha.numpy(), bias.numpy(), 2, 1),
         F.conv2d(sign(x), sign(w) * alpha.view(-1, 1, 1, 1), bias, 2, 1)),
        (ir.Conv2d(w.numpy(), bias.numpy(), 1, 1), F.conv2d(x, w, bias, 1, 1)),
        (ir.MaxPool2d(3, 2, 1), F.max_pool2d(x, 3, 2, 1)),
        (ir.AvgPool2d(3, 2, 1), F.avg_pool2d(x, 3, 2, 1)),
        (ir.AvgPool2d(3, 2, 1, count_include_pad=False), F.avg_pool2d(x, 3, 2, 1, count_include_pad=False)),
        (ir.GlobalAvgPool(), F.adaptive_avg_pool2d(x, 1)),
        (ir.PReLU(np.arange(6) / 6), F.prelu(x, torch.arange(6) / 6)),
        (ir.Hardtanh(-0.5, 0.5), F.hardtanh(x, -0.5, 0.5)),
        (ir.BatchNorm(np.arange(6), np.arange(6) + 1.0, np.ones(6) * 2, np.ones(6)),
         F.batch_norm(x, torch.arange(6.0), torch.arange(6.0) + 1, torch.ones(6) * 2, torch.ones(6))),
    ]
    for op, want in cases:
        got = reference.run_op(op, x.numpy())
        assert got.dtype == np.float32
        np.testing.assert_allclose(got, want.numpy(), rtol=1e-5, atol=1e-5, err_msg=type(op).__name__)
    flat = x.flatten(1)
    lw = torch.randn(4, flat.shape[1])
    np.testing.assert_allclose(reference.run_op(ir.BinaryLinear(lw.numpy()), flat.numpy()),
                               F.linear(sign(flat), sign(lw)).numpy(), rtol=1e-6)


@pytest.mark.parametrize("isa", native.available_isas() if native.available() else [])
def test_fast_path_matches_reference_on_every_isa(isa):
    engine = ir.Engine(every_op_graph(), input_shape=(3, 16, 16))
    x = RNG.standard_normal((3, 3, 16, 16)).astype(np.float32)
    want = engine.reference(x)
    with native.forced_isa(isa):
        got = engine(x)
    assert got.shape == want.shape == (3, 10)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())
    assert (got.argmax(1) == want.argmax(1)).all()


def test_numpy_float_layers_without_torch(monkeypatch):
    from padl_lib.bnn import runtime

    engine = ir.Engine(every_op_graph())
    x = RNG.standard_normal((2, 3, 16, 16)).astype(np.float32)
    monkeypatch.setattr(runtime, "_torch", lambda: None)
    got = Plan(engine.ops)(x)
    want = engine.reference(x)
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * np.abs(want).max())


def test_binary_layers_pass_packed_bits_when_the_next_layer_binarizes():
    steps = Plan(every_op_graph()).steps
    binary = [s for s in steps if isinstance(s, BinaryStep)]
    # conv(32->70)+BN feeds a MaxPool, then a binary conv: bits (max-pooled as bits);
    # conv(70->70)+Affine feeds a padded MaxPool, then a binary conv: bits; conv(70->130)+BN feeds PReLU: float;
    # BinaryLinear(256->100)+BN feeds BinaryLinear: bits; the last BinaryLinear: float.
    assert [s.to_bits for s in binary] == [True, True, False, True, False]


def test_engine_layer_times_a_whole_binary_layer():
    run, x = ir.engine_layer(64, 32, 10, stride=2)
    y = run(x)
    assert y.shape == (1, 5, 5, 32) and y.dtype == np.float32
    assert np.isfinite(y).all()


def test_weights_are_25x_smaller():
    sizes = ir.Engine([bconv(256, 256), bconv(256, 256)]).sizes()
    assert sizes["binary_weight_fp32_bytes"] / sizes["binary_weight_bytes"] == 32


def test_bad_input_raises_clear_errors():
    engine = ir.Engine([bconv(3, 8)], input_shape=(3, 8, 8))
    with pytest.raises(ValueError, match="NCHW"):
        engine(np.zeros((3, 8, 8), np.float32))
    with pytest.raises(ValueError, match=r"shape \(N, 3, 8, 8\)"):
        engine(np.zeros((1, 4, 8, 8), np.float32))
    with pytest.raises(ValueError, match="at least one op"):
        ir.Engine([])
    with pytest.raises(ValueError, match="one value per channel"):
        ir.BinaryConv2d(np.ones((4, 3, 3, 3)), alpha=np.ones(3))
    with pytest.raises(ValueError, match="not an engine op"):
        ir.Engine([torch.nn.ReLU()])
    with pytest.raises(ValueError, match="4 dimensions"):
        ir.Conv2d(np.ones((3, 3)))


def test_any_batch_size_dtype_and_memory_layout():
    engine = ir.Engine([ir.Conv2d(RNG.standard_normal((8, 3, 3, 3))), bconv(8, 8), ir.GlobalAvgPool(), ir.Flatten(),
                        ir.BinaryLinear(RNG.standard_normal((6, 8))), ir.BinaryLinear(RNG.standard_normal((5, 6))),
                        ir.Linear(RNG.standard_normal((4, 5)))])
    assert engine(np.zeros((0, 3, 6, 6), np.float32)).shape == (0, 4)
    x = RNG.standard_normal((2, 3, 6, 6))  # float64, then a Fortran-ordered copy and a torch tensor
    want = engine.reference(x)
    for variant in (x, np.asfortranarray(x), torch.from_numpy(x)):
        np.testing.assert_allclose(engine(variant), want, rtol=1e-4, atol=1e-4)
