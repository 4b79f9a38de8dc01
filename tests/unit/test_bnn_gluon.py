"""BMXNet 2-style Gluon blocks: the same binary math as the torch layers, trainable on real
digits, exported to padl's engine and packed file format."""
import numpy as np
import pytest
import torch

from padl_lib.bnn import gluon as g
from padl_lib.bnn import convert, load
from padl_lib.bnn.convert import relative_error
from padl_lib.bnn.layers import BinaryConv2d
from padl_lib.bnn.train import load_digits

mx = g.mx


def test_qconv2d_matches_padl_torch_layer():
    block = g.QConv2D(6, 3, padding=1, in_channels=4)
    block.initialize(mx.init.Uniform(1.0))
    block.hybridize()
    x = np.random.default_rng(0).standard_normal((2, 4, 5, 5), dtype=np.float32)
    twin = BinaryConv2d(4, 6, 3, padding=1, bias=False)
    twin.weight.data.copy_(torch.from_numpy(block.weight.data().asnumpy()))
    with torch.no_grad():
        expected = twin(torch.from_numpy(x)).numpy()
    np.testing.assert_allclose(block(mx.nd.array(x)).asnumpy(), expected, rtol=1e-5, atol=1e-5)


def test_det_sign_straight_through_gradient():
    x = mx.nd.array([-2.0, -0.5, 0.0, 0.5, 1.5])
    x.attach_grad()
    with mx.autograd.record():
        y = g.det_sign(mx.nd, x)
    y.backward()
    assert y.asnumpy().tolist() == [-1, -1, 1, 1, 1]
    assert x.grad.asnumpy().tolist() == [0, 1, 1, 1, 0]


@pytest.fixture(scope="module")
def trained():
    data = load_digits()
    net = g.digits_bnn()
    net.hybridize()
    g.train(net, data.x_train.numpy(), data.y_train.numpy(), epochs=3)
    return net, data


def test_gluon_digits_bnn_learns_and_clips(trained):
    net, data = trained
    accuracy = (g.predict(net, data.x_test.numpy()).argmax(1) == data.y_test.numpy()).mean()
    assert accuracy > 0.8
    for block in (b for b in net._children.values() if isinstance(b, (g.QConv2D, g.QDense))):
        assert np.abs(block.weight.data().asnumpy()).max() <= 1.0


def test_export_to_packed_engine_reproduces_gluon(trained, tmp_path):
    net, data = trained
    x = data.x_test.numpy()
    engine = g.export(net, tmp_path / "gluon_digits.bnn", x[:8])
    expected = g.predict(net, x)
    result = load(tmp_path / "gluon_digits.bnn")(x)
    assert relative_error(result, expected) <= 1e-3
    assert np.array_equal(result.argmax(1), expected.argmax(1))
    assert engine.sizes()["binary_weight_bytes"] * 32 == engine.sizes()["binary_weight_fp32_bytes"]
    direct = convert(net, x[:8])  # convert also takes the Gluon network itself
    assert np.array_equal(direct(x).argmax(1), expected.argmax(1))


def test_unsupported_block_is_named():
    net = mx.gluon.nn.HybridSequential()
    net.add(mx.gluon.nn.Conv2D(4, 3, in_channels=1), mx.gluon.nn.LeakyReLU(0.1))
    net.initialize()
    with pytest.raises(ValueError, match="LeakyReLU"):
        g.to_torch(net)


def test_gluon_birealnet18_shape():
    net = g.birealnet18(num_classes=7)
    net.initialize(mx.init.Xavier())
    assert g.predict(net, np.zeros((1, 3, 64, 64), np.float32)).shape == (1, 7)
