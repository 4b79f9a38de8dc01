"""torch -> engine conversion: every supported module, padl's models (residual blocks included)
and the shipped digits BNN on real test digits; clear errors for what is not supported."""
import subprocess
import sys

import numpy as np
import pytest
import torch
from torch import nn

from padl_lib.bnn import BinaryConv2d, BinaryLinear, ConversionError, convert, load, models
from padl_lib.bnn.convert import TOLERANCE, relative_error
from padl_lib.bnn.train import load_digits


def _randomize_batchnorm(model: nn.Module, seed: int = 0) -> nn.Module:
    """Give every BatchNorm non-trivial statistics, as a trained model has."""
    g = torch.Generator().manual_seed(seed)
    for m in model.modules():
        if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
            n = m.num_features
            m.running_mean.copy_(torch.rand(n, generator=g) - 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.rand(n, generator=g) - 0.5)
    return model.eval()


def _assert_reproduces(model: nn.Module, x: np.ndarray):
    engine = convert(model, x)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    result = engine(x)
    assert result.shape == expected.shape
    assert relative_error(result, expected) <= TOLERANCE
    assert np.array_equal(result.reshape(len(x), -1).argmax(1), expected.reshape(len(x), -1).argmax(1))
    return engine


def test_every_supported_layer_kind():
    torch.manual_seed(0)
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, stride=1, padding=1), nn.BatchNorm2d(16), nn.PReLU(16),
        BinaryConv2d(16, 32, 3, 2, 1, bias=True), nn.BatchNorm2d(32), nn.Hardtanh(),
        BinaryConv2d(32, 32, 3, padding=1, bias=False, scale_weights=False), nn.BatchNorm2d(32), nn.ReLU(),
        nn.MaxPool2d(3, 2, 1), BinaryConv2d(32, 64, 1, input_quantizer=None), nn.AvgPool2d(2, 1),
        nn.AdaptiveAvgPool2d(2), nn.Flatten(),
        BinaryLinear(256, 64, bias=True), nn.BatchNorm1d(64), nn.PReLU(), nn.Dropout(0.5), nn.Linear(64, 10),
    )
    _assert_reproduces(_randomize_batchnorm(model), np.random.default_rng(0).standard_normal((3, 3, 20, 20), dtype=np.float32))


@pytest.mark.parametrize("make", [models.birealnet18, models.quicknet])
def test_residual_models_convert(make):
    torch.manual_seed(1)
    model = _randomize_batchnorm(make(num_classes=10))
    engine = _assert_reproduces(model, np.random.default_rng(1).standard_normal((1, 3, 32, 32), dtype=np.float32))
    assert sum(type(op).__name__ == "Residual" for op in engine.ops) == 16


def test_shipped_digits_bnn_runs_the_test_set_like_torch():
    data = load_digits()
    model = models.load_digits_bnn()
    engine = _assert_reproduces(model, data.x_test.numpy())
    accuracy = (engine(data.x_test.numpy()).argmax(1) == data.y_test.numpy()).mean()
    assert accuracy > 0.95


def test_saved_engine_loads_and_reproduces(tmp_path):
    data = load_digits()
    engine = convert(models.load_digits_bnn(), data.x_test[:4])
    path = engine.save(tmp_path / "digits.bnn")
    again = load(path)
    np.testing.assert_allclose(again(data.x_test.numpy()), engine(data.x_test.numpy()), rtol=0, atol=1e-5)


def test_conversion_keeps_the_training_flag():
    model = models.digits_bnn().train()
    convert(model, np.zeros((2, 1, 8, 8), np.float32))
    assert model.training


@pytest.mark.parametrize("module, named", [
    (nn.GELU(), "GELU"), (nn.Conv2d(3, 3, 3, groups=3), "groups=3"),
    (nn.Conv2d(3, 3, 3, dilation=2), "dilation"), (nn.MaxPool2d(2, ceil_mode=True), "ceil_mode"),
])
def test_unsupported_modules_are_named(module, named):
    model = nn.Sequential(nn.Conv2d(3, 3, 1), module)
    with pytest.raises(ConversionError, match=named) as info:
        convert(model, np.zeros((1, 3, 8, 8), np.float32))
    assert "1 (" in str(info.value)  # the module's path inside the model


def test_custom_forward_is_not_silently_converted():
    class Doubled(nn.ReLU):
        def forward(self, x):
            return 2 * super().forward(x)

    with pytest.raises(ConversionError, match="Doubled"):
        convert(nn.Sequential(Doubled()), np.zeros((1, 1, 2, 2), np.float32))


def test_example_input_must_be_nchw():
    with pytest.raises(ConversionError, match="NCHW"):
        convert(models.digits_bnn(), np.zeros((8, 8), np.float32))


def test_cli_converts_the_digits_bnn_and_evaluates_the_saved_file(tmp_path):
    out = tmp_path / "digits.bnn"
    run = [sys.executable, "-m", "padl_lib.bnn"]
    converted = subprocess.run([*run, "convert", "digits", str(out)], capture_output=True, text=True, timeout=300)
    assert converted.returncode == 0, converted.stderr[-2000:]
    evaluated = subprocess.run([*run, "evaluate", str(out)], capture_output=True, text=True, timeout=300)
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    assert float(evaluated.stdout.split("accuracy ")[1].split()[0]) > 0.95


def test_cli_converts_a_users_saved_module_and_needs_its_shape(tmp_path):
    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), nn.BatchNorm2d(8), BinaryConv2d(8, 16, 3, padding=1),
                          nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(16, 4)).eval()
    torch.save(model, tmp_path / "user.pt")
    run = [sys.executable, "-m", "padl_lib.bnn", "convert", str(tmp_path / "user.pt"), str(tmp_path / "user.bnn")]
    no_shape = subprocess.run(run, capture_output=True, text=True, timeout=300)
    assert no_shape.returncode != 0 and "--shape" in no_shape.stderr
    converted = subprocess.run([*run, "--shape", "3,16,16"], capture_output=True, text=True, timeout=300)
    assert converted.returncode == 0, converted.stderr[-2000:]
    x = np.random.default_rng(2).standard_normal((2, 3, 16, 16), dtype=np.float32)
    with torch.no_grad():
        expected = model(torch.from_numpy(x)).numpy()
    assert relative_error(load(tmp_path / "user.bnn")(x), expected) <= TOLERANCE
