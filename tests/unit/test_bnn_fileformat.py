"""The packed model file: a round trip reproduces the engine exactly and stores binary weights
as bits; truncated, corrupt, foreign or other-version files raise a clear ModelFileError."""
import hashlib
import json
import struct

import numpy as np
import pytest

from padl_lib.bnn import engine as ir
from padl_lib.bnn import fileformat
from padl_lib.bnn.fileformat import ModelFileError


def small_engine():
    rng = np.random.default_rng(3)
    ops = [ir.Conv2d(rng.standard_normal((16, 1, 3, 3)), None, 1, 1), ir.BatchNorm(np.zeros(16), np.ones(16)),
           ir.Hardtanh(),
           ir.Residual([ir.BinaryConv2d(rng.standard_normal((16, 16, 3, 3)), rng.random(16), None, 1, 1)]),
           ir.BinaryConv2d(rng.standard_normal((256, 16, 3, 3)), rng.random(256), rng.standard_normal(256), 2, 1),
           ir.GlobalAvgPool(), ir.Flatten(), ir.Linear(rng.standard_normal((10, 256)), np.zeros(10))]
    return ir.Engine(ops, input_shape=(1, 8, 8), meta={"name": "small"})


def test_round_trip_reproduces_outputs(tmp_path):
    engine = small_engine()
    path = engine.save(tmp_path / "model.padlbnn")
    loaded = fileformat.load(path)
    x = np.random.default_rng(0).standard_normal((4, 1, 8, 8)).astype(np.float32)
    assert np.array_equal(loaded(x), engine(x))
    assert loaded.meta == {"name": "small"} and loaded.input_shape == (1, 8, 8)
    assert [type(op) for op in loaded.ops] == [type(op) for op in engine.ops]
    assert [p.name for p in tmp_path.iterdir()] == ["model.padlbnn"]  # written atomically


def test_binary_weights_are_stored_as_bits(tmp_path):
    engine = small_engine()
    path = engine.save(tmp_path / "model.padlbnn")
    sizes = engine.sizes()
    assert path.stat().st_size < sizes["binary_weight_bytes"] + sizes["float_param_bytes"] + 4096
    assert sizes["binary_weight_fp32_bytes"] / sizes["binary_weight_bytes"] >= 25


@pytest.mark.parametrize("cut", [0, 7, 20, 60, -1])
def test_truncated_files_raise(cut):
    data = fileformat.to_bytes(small_engine())
    with pytest.raises(ModelFileError, match="truncated|not a padl"):
        fileformat.from_bytes(data[:cut])


def test_every_corrupted_region_raises():
    data = fileformat.to_bytes(small_engine())
    for position in (8, 20, 40, 70, 200, len(data) // 2, len(data) - 1):
        broken = bytearray(data)
        broken[position] ^= 0x10
        with pytest.raises(ModelFileError):
            fileformat.from_bytes(bytes(broken))


def test_foreign_and_other_version_files_raise(tmp_path):
    with pytest.raises(ModelFileError, match="not a padl BNN model file"):
        fileformat.from_bytes(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)
    data = bytearray(fileformat.to_bytes(small_engine()))
    struct.pack_into("<I", data, 8, fileformat.FORMAT_VERSION + 1)
    with pytest.raises(ModelFileError, match="version"):
        fileformat.from_bytes(bytes(data))
    with pytest.raises(FileNotFoundError):
        fileformat.load(tmp_path / "missing.padlbnn")


def _with_header(header: dict) -> bytes:
    head = json.dumps(header).encode()
    return struct.pack("<8sIIQ32s", fileformat.MAGIC, fileformat.FORMAT_VERSION, len(head), 0,
                       hashlib.sha256(head).digest()) + head


def test_consistent_but_wrong_contents_raise():
    with pytest.raises(ModelFileError, match="unknown op 'Teleport'"):
        fileformat.from_bytes(_with_header({"ops": [{"type": "Teleport"}]}))
    ref = {"array": {"dtype": "float32", "shape": [4, 4], "offset": 0, "nbytes": 64}}
    with pytest.raises(ModelFileError, match="does not fit"):
        fileformat.from_bytes(_with_header({"ops": [{"type": "Linear", "weight": ref}]}))
    with pytest.raises(ModelFileError, match="invalid engine|at least one op"):
        fileformat.from_bytes(_with_header({"ops": []}))


def test_layers_that_do_not_fit_together_raise():
    rng = np.random.default_rng(0)
    ops = [ir.BinaryConv2d(rng.standard_normal((70, 3, 3, 3)), padding=1),
           ir.BinaryConv2d(rng.standard_normal((8, 80, 3, 3)), padding=1)]  # 70 channels in, 80 expected
    data = fileformat.to_bytes(ir.Engine(ops, input_shape=(3, 8, 8)))
    with pytest.raises(ModelFileError, match="80 input channels"):
        fileformat.from_bytes(data)
