"""Time Larq Compute Engine on padl's benchmark cases. Runs *inside* `.lce-venv` (`make lce`),
which has larq, tensorflow and LCE but not padl: this file uses only the stdlib and that venv.

    .lce-venv/bin/python padl_lib/bnn/lce_runner.py < request.json > result.json

request: {"threads": 1, "repeats": 20, "warmup": 3,
          "layers": [{"name": "conv3x3_64_56", "channels": 64, "size": 56}, ...],
          "models": [{"name": "birealnet18", "size": 224}]}
result:  {"results": [{"name": ..., "engine": "lce", "median_ms": ..., "cpu_ms": ...}, ...],
          "versions": {...}}

Each case is built in larq (QuantConv2D with input and kernel quantizers, the fast
`pad_values=1` path), converted with LCE's converter and run by LCE's interpreter with
`use_indirect_bgemm=True`, its fastest kernel on x86.
"""
from __future__ import annotations

import json
import os
import statistics
import sys
import time

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import larq as lq  # noqa: E402
import larq_compute_engine as lce  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
from larq_compute_engine.tflite.python.interpreter import Interpreter  # noqa: E402

keras = tf.keras


def binary_conv(x, channels: int, strides: int = 1, input_quantizer: str = "ste_sign"):
    """larq's binary 3x3 conv with both quantizers set."""
    return lq.layers.QuantConv2D(channels, 3, strides=strides, padding="same", pad_values=1.0,
                                 input_quantizer=input_quantizer, kernel_quantizer="ste_sign",
                                 kernel_constraint="weight_clip", use_bias=False)(x)


def layer_model(channels: int, size: int) -> keras.Model:
    """One C->C binary 3x3 conv at size x size, float in, float out."""
    inp = keras.Input((size, size, channels), batch_size=1)
    return keras.Model(inp, binary_conv(inp, channels))


def birealnet18(size: int = 224, num_classes: int = 1000) -> keras.Model:
    """Bi-Real-Net-18, the same shape as padl_lib.bnn.models.birealnet18."""
    layers = keras.layers
    inp = keras.Input((size, size, 3), batch_size=1)
    x = layers.Conv2D(64, 7, strides=2, padding="same", use_bias=False)(inp)
    x = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(x)
    x = layers.MaxPool2D(3, strides=2, padding="same")(x)
    c_in = 64
    for c_out in (64, 128, 256, 512):
        for i in range(4):
            stride = 2 if (i == 0 and c_out != 64) else 1
            shortcut = x
            if stride != 1 or c_in != c_out:
                shortcut = layers.AvgPool2D(stride, strides=stride, padding="valid")(x) if stride != 1 else x
                shortcut = layers.Conv2D(c_out, 1, use_bias=False)(shortcut)
                shortcut = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(shortcut)
            y = binary_conv(x, c_out, stride, input_quantizer="approx_sign")
            y = layers.BatchNormalization(momentum=0.9, epsilon=1e-5)(y)
            x = layers.add([y, shortcut])
            c_in = c_out
    x = layers.GlobalAvgPool2D()(x)
    return keras.Model(inp, layers.Dense(num_classes)(x))


def time_model(model: keras.Model, threads: int, repeats: int, warmup: int) -> tuple[float, float]:
    """Median wall time and calling-thread CPU time in ms of one batch-1 inference in LCE's interpreter."""
    flatbuffer = lce.convert_keras_model(model)
    interpreter = Interpreter(flatbuffer, num_threads=threads, use_indirect_bgemm=True)
    x = np.random.default_rng(0).standard_normal(model.input_shape[1:], dtype=np.float32)[None]
    run = interpreter.interpreter.predict
    for _ in range(warmup):
        run([x])
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        run([x])
        wall.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.thread_time() - start_cpu) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def main() -> None:
    request = json.load(sys.stdin)
    threads, repeats, warmup = int(request.get("threads", 1)), int(request.get("repeats", 20)), \
        int(request.get("warmup", 3))
    tf.random.set_seed(0)
    results = []
    for case in request.get("layers", []):
        wall, cpu = time_model(layer_model(int(case["channels"]), int(case["size"])), threads, repeats, warmup)
        results.append({"name": case["name"], "engine": "lce", "median_ms": wall, "cpu_ms": cpu})
    for case in request.get("models", []):
        if case["name"] != "birealnet18":
            raise SystemExit(f"lce_runner: unknown model {case['name']!r}")
        wall, cpu = time_model(birealnet18(int(case.get("size", 224))), threads, max(3, repeats // 4), warmup)
        results.append({"name": case["name"], "engine": "lce", "median_ms": wall, "cpu_ms": cpu})
    versions = {"larq_compute_engine": lce.__version__, "tensorflow": tf.__version__, "larq": lq.__version__}
    json.dump({"results": results, "versions": versions}, sys.stdout)


if __name__ == "__main__":
    main()
