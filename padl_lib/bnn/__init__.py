"""Binary neural networks: train in torch (or Gluon), convert, run on bit-packed kernels.

    from padl_lib import bnn
    model = bnn.models.load_digits_bnn()
    engine = bnn.convert(model, example_input)   # NCHW float32
    engine.save("digits.bnn"); engine = bnn.load("digits.bnn")
"""
from __future__ import annotations

from pathlib import Path

from padl_lib.bnn import models
from padl_lib.bnn.convert import ConversionError, convert
from padl_lib.bnn.engine import Engine
from padl_lib.bnn.layers import BinaryConv2d, BinaryLinear, approx_sign, clip_latent_weights, ste_sign

__all__ = ["BinaryConv2d", "BinaryLinear", "ste_sign", "approx_sign", "clip_latent_weights", "convert",
           "ConversionError", "Engine", "load", "models"]


def load(path: str | Path) -> Engine:
    """Load an engine saved with `Engine.save` (versioned, checksummed packed file)."""
    from padl_lib.bnn.fileformat import load as load_file

    return load_file(path)
