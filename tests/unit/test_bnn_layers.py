"""padl's binary layers: sign conventions, STE gradients, scaling, clipping, torch-compatible args,
the model zoo's shapes and training the digits BNN on real handwritten digits."""
import pytest
import torch
from torch import nn

from padl_lib.bnn import BinaryConv2d, BinaryLinear, approx_sign, clip_latent_weights, ste_sign
from padl_lib.bnn import models
from padl_lib.bnn.layers import frozen, quantizer, sign
from padl_lib.bnn.train import evaluate, load_digits, train_digits_bnn


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def test_sign_is_plus_minus_one_with_zero_positive():
    x = torch.tensor([-2.0, -1e-7, 0.0, 1e-7, 3.0])
    assert sign(x).tolist() == [-1, -1, 1, 1, 1]


def test_ste_sign_gradient_passes_inside_unit_interval_only():
    x = torch.tensor([-2.0, -0.5, 0.0, 0.5, 1.0, 1.5], requires_grad=True)
    ste_sign(x).sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 1, 1, 0]


def test_approx_sign_gradient_is_bireal_piecewise_quadratic():
    x = torch.tensor([-1.5, -0.5, 0.0, 0.25, 1.0], requires_grad=True)
    approx_sign(x).sum().backward()
    assert x.grad.tolist() == pytest.approx([0.0, 1.0, 2.0, 1.5, 0.0])


def test_unknown_quantizer_is_named_in_the_error():
    with pytest.raises(ValueError, match="magic_sign"):
        quantizer("magic_sign")
    with pytest.raises(ValueError, match="weight quantizer"):
        BinaryLinear(4, 2, weight_quantizer=None)


def test_binary_conv_takes_torch_conv_arguments_in_order():
    ours, theirs = BinaryConv2d(3, 8, 3, 2, 1, 1, 1, False), nn.Conv2d(3, 8, 3, 2, 1, 1, 1, False)
    for attr in ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups"):
        assert getattr(ours, attr) == getattr(theirs, attr)
    assert ours.bias is None and theirs.bias is None
    assert BinaryLinear(5, 7).weight.shape == nn.Linear(5, 7).weight.shape


def test_binary_conv_binarizes_input_and_weights_with_channel_scale():
    torch.manual_seed(0)
    layer = BinaryConv2d(4, 6, 3, padding=1, bias=False)
    x = torch.randn(2, 4, 5, 5)
    alpha = layer.weight.abs().mean(dim=(1, 2, 3))
    expected = nn.functional.conv2d(sign(x), sign(layer.weight), padding=1) * alpha.view(1, -1, 1, 1)
    torch.testing.assert_close(layer(x), expected)
    # only signs matter: scaling the input changes nothing
    torch.testing.assert_close(layer(3 * x), layer(x))


def test_weights_only_binary_linear_keeps_real_input():
    layer = BinaryLinear(3, 2, bias=False, input_quantizer=None, scale_weights=False)
    x = torch.tensor([[0.5, -2.0, 1.0]])
    torch.testing.assert_close(layer(x), x @ sign(layer.weight).T)


def test_latent_weights_get_gradients_and_clipping():
    layer = BinaryLinear(8, 4)
    layer(torch.randn(3, 8)).pow(2).sum().backward()
    assert layer.weight.grad is not None and layer.weight.grad.abs().sum() > 0
    with torch.no_grad():
        layer.weight.mul_(10)
    clip_latent_weights(nn.Sequential(layer))
    assert layer.weight.abs().max() <= 1.0


def test_bad_padding_mode_is_rejected():
    with pytest.raises(ValueError, match="padding_mode"):
        BinaryConv2d(3, 3, 3, padding=1, padding_mode="reflect")


@pytest.mark.parametrize("make, size", [(models.birealnet18, 64), (models.quicknet, 64)])
def test_imagenet_shaped_models_run(make, size):
    model = make(num_classes=17).eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, size, size)).shape == (1, 17)
    assert len([m for m in model.modules() if isinstance(m, BinaryConv2d)]) == 16


def test_shipped_digits_checkpoint_classifies_held_out_digits():
    data = load_digits()
    assert evaluate(models.load_digits_bnn(), data.x_test, data.y_test) > 0.95


def test_training_a_few_epochs_learns_digits():
    model, history = train_digits_bnn(epochs=3)
    assert len(history.test_accuracy) == 3
    assert history.test_accuracy[-1] > 0.7
    assert all(layer.weight.abs().max() <= 1.0 for layer in model.modules() if isinstance(layer, BinaryConv2d))


def test_missing_checkpoint_says_how_to_make_one(tmp_path):
    with pytest.raises(FileNotFoundError, match="python -m padl_lib.bnn train"):
        models.load_digits_bnn(tmp_path / "nope.pt")


def test_frozen_layers_reuse_their_binary_weights_until_unfrozen():
    layer = BinaryConv2d(4, 4, 3, padding=1, bias=False)
    x = torch.randn(1, 4, 6, 6)
    with torch.no_grad():
        before = layer(x)
        with frozen(layer):
            layer.weight.neg_()
            torch.testing.assert_close(layer(x), before)  # still the weights of entry
        torch.testing.assert_close(layer(x), -before)  # follows the latent weights again
