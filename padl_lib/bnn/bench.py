"""The BNN benchmark: padl's engine against torch fp32, mxnet fp32 and Larq Compute Engine,
measured side by side in one run at batch 1.

    python -m padl_lib.bnn.bench [--quick] [--threads N] [--json PATH] [--engines padl,torch,...]

Cases: the binary 3x3 conv layers `conv3x3_<C>_<S>` (C -> C channels at S x S, zero padding 1)
and the model `birealnet18` at 224 x 224. JSON:
`{"threads": N, "results": [{"name", "engine", "median_ms"}, ...], "cpu_results": [...], "sizes": {...},
"backend": ..., "lce": ...}`: `results` are wall-clock medians; at one thread `cpu_results` repeat
them as CPU time of the calling thread, which a busy shared machine does not inflate.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

import numpy as np

from padl_lib import import_mxnet, set_threads
from padl_lib.io import write_json_atomic
from padl_lib.progress import Progress, report
from padl_lib.settings import REPO_ROOT, quick

__all__ = ["LAYERS", "MODELS", "ENGINES", "GOALS", "measure", "median_ms", "iter_bench", "run_bench", "goal_rows",
           "lce_python", "lookup", "model_sizes", "package", "summary", "main"]

LAYERS: tuple[tuple[str, int, int], ...] = (
    ("conv3x3_64_56", 64, 56), ("conv3x3_128_28", 128, 28), ("conv3x3_256_14", 256, 14), ("conv3x3_512_7", 512, 7))
MODELS: tuple[tuple[str, int], ...] = (("birealnet18", 224),)
ENGINES = ("padl", "torch", "mxnet", "lce")
LCE_PYTHON = REPO_ROOT / ".lce-venv" / "bin" / "python"
LCE_RUNNER = Path(__file__).with_name("lce_runner.py")

# (case, baseline engine, minimum speedup of padl over it), from the topic's goals.
GOALS: tuple[tuple[str, str, float], ...] = (
    ("conv3x3_256_14", "torch", 8.0), ("conv3x3_64_56", "torch", 8.0),
    ("conv3x3_256_14", "lce", 3.5), ("conv3x3_64_56", "lce", 3.5), ("birealnet18", "torch", 3.0))
SIZE_GOAL = 25.0


def measure(fn: Callable[[], object], repeats: int, warmup: int = 2) -> tuple[float, float]:
    """Medians over `repeats` calls of `fn()` (after `warmup` calls), in milliseconds: wall time,
    and CPU time of the calling thread (the whole cost when the engine runs on one thread; on a
    shared machine it leaves out the time spent waiting for a core)."""
    for _ in range(warmup):
        fn()
    wall, cpu = [], []
    for _ in range(repeats):
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn()
        wall.append((time.perf_counter() - start) * 1e3)
        cpu.append((time.thread_time() - start_cpu) * 1e3)
    return statistics.median(wall), statistics.median(cpu)


def median_ms(fn: Callable[[], object], repeats: int, warmup: int = 2) -> float:
    """Median wall time of `fn()` in milliseconds over `repeats` calls after `warmup` calls."""
    return measure(fn, repeats, warmup)[0]


def lce_python() -> Path | None:
    """The python of the optional LCE venv (`make lce`), or None when it is not there."""
    return LCE_PYTHON if LCE_PYTHON.exists() else None


# --- one timed callable per (engine, case) --------------------------------------------------------

def _torch_layer(channels: int, size: int) -> Callable[[], object]:
    import torch

    conv = torch.nn.Conv2d(channels, channels, 3, padding=1, bias=False).eval().to(memory_format=torch.channels_last)
    x = torch.randn(1, channels, size, size).contiguous(memory_format=torch.channels_last)

    def run():
        with torch.inference_mode():
            return conv(x)
    return run


def _mxnet():
    """mxnet with its synchronous NaiveEngine (unless MXNET_ENGINE_TYPE says otherwise): at batch 1
    the threaded engine's scheduling adds tens of ms on a busy machine, so this is mxnet's best case."""
    os.environ.setdefault("MXNET_ENGINE_TYPE", "NaiveEngine")
    return import_mxnet()


def _mxnet_layer(channels: int, size: int) -> Callable[[], object]:
    mx = _mxnet()
    conv = mx.gluon.nn.Conv2D(channels, 3, padding=1, use_bias=False, in_channels=channels)
    conv.initialize(mx.init.Xavier())
    conv.hybridize(static_alloc=True, static_shape=True)
    x = mx.nd.random.normal(shape=(1, channels, size, size))
    return lambda: conv(x).wait_to_read()


def _padl_layer(channels: int, size: int) -> Callable[[], object]:
    from padl_lib.bnn import native
    from padl_lib.bnn.engine import engine_layer

    if native.available():
        run, x = engine_layer(channels, channels, size)
        return lambda: run(x)
    return _padl_model(_binary_conv_module(channels), size, channels)


def _binary_conv_module(channels: int):
    import torch

    from padl_lib.bnn.layers import BinaryConv2d

    torch.manual_seed(0)
    return BinaryConv2d(channels, channels, 3, padding=1, bias=False)


def _example(channels: int, size: int) -> np.ndarray:
    return np.random.default_rng(0).standard_normal((1, channels, size, size), dtype=np.float32)


def _padl_model(model, size: int, channels: int = 3) -> Callable[[], object]:
    from padl_lib.bnn.convert import convert

    x = _example(channels, size)
    engine = convert(model, x)
    return lambda: engine(x)


def _torch_model(model, size: int) -> Callable[[], object]:
    """The torch module itself in fp32 (channels-last), its binary weights computed once (`freeze`)."""
    import torch

    from padl_lib.bnn.layers import freeze

    model = freeze(model.eval().to(memory_format=torch.channels_last))
    x = torch.from_numpy(_example(3, size)).contiguous(memory_format=torch.channels_last)

    def run():
        with torch.inference_mode():
            return model(x)
    return run


def _mxnet_model(size: int) -> Callable[[], object]:
    _mxnet()
    from padl_lib.bnn import gluon

    net = gluon.birealnet18()
    net.initialize(gluon.mx.init.Xavier())
    net.hybridize(static_alloc=True, static_shape=True)
    x = gluon.mx.nd.array(_example(3, size))
    return lambda: net(x).wait_to_read()


def _bireal_torch():
    from padl_lib.bnn.models import birealnet18
    from padl_lib.settings import seed_everything

    seed_everything(0)
    return birealnet18().eval()


def _lce_results(threads: int, repeats: int, warmup: int, layers, models) -> list[dict]:
    request = {"threads": threads, "repeats": repeats, "warmup": warmup,
               "layers": [{"name": n, "channels": c, "size": s} for n, c, s in layers],
               "models": [{"name": n, "size": s} for n, s in models]}
    env = {**os.environ, "TF_USE_LEGACY_KERAS": "1", "TF_CPP_MIN_LOG_LEVEL": "2"}
    proc = subprocess.run([str(lce_python()), str(LCE_RUNNER)], input=json.dumps(request), capture_output=True,
                          text=True, env=env, timeout=900)
    if proc.returncode != 0:
        raise RuntimeError(f"the LCE runner failed ({proc.returncode}):\n{proc.stderr[-2000:]}")
    return json.loads(proc.stdout)["results"]


# --- the run --------------------------------------------------------------------------------------

def iter_bench(threads: int = 1, engines: Sequence[str] = ENGINES, layers=LAYERS, models=MODELS,
               repeats: int | None = None, progress: Progress | None = None) -> Iterator[dict]:
    """Measure every (case, engine) side by side and yield `{"name", "engine", "median_ms", "cpu_ms"}`
    as each result arrives (LCE's come in one batch from its subprocess, when its venv exists)."""
    unknown = set(engines) - set(ENGINES)
    if unknown:
        raise ValueError(f"unknown engines {sorted(unknown)}; choose from {', '.join(ENGINES)}")
    if threads < 1:
        raise ValueError(f"threads must be at least 1, got {threads}")
    set_threads(threads)
    _set_padl_threads(threads)
    repeats = repeats or (5 if quick() else 30)
    warmup = 1 if quick() else 3
    local = [e for e in engines if e != "lce"]
    total = (len(layers) + len(models)) * len(local) + ("lce" in engines)
    done = 0
    for name, channels, size in layers:
        makers = {"padl": lambda: _padl_layer(channels, size), "torch": lambda: _torch_layer(channels, size),
                  "mxnet": lambda: _mxnet_layer(channels, size)}
        for engine in local:
            wall, cpu = measure(makers[engine](), repeats, warmup)
            yield {"name": name, "engine": engine, "median_ms": wall, "cpu_ms": cpu}
            done += 1
            report(progress, done, total, f"{name} {engine}")
    for name, size in models:
        makers = {"padl": lambda: _padl_model(_bireal_torch(), size), "torch": lambda: _torch_model(_bireal_torch(), size),
                  "mxnet": lambda: _mxnet_model(size)}
        for engine in local:
            wall, cpu = measure(makers[engine](), max(3, repeats // 3), warmup)
            yield {"name": name, "engine": engine, "median_ms": wall, "cpu_ms": cpu}
            done += 1
            report(progress, done, total, f"{name} {engine}")
    if "lce" in engines and lce_python() is not None:
        yield from _lce_results(threads, repeats, warmup, layers, models)
        report(progress, total, total, "lce")


def _set_padl_threads(threads: int) -> None:
    from padl_lib.bnn import native

    if native.available():
        native.set_threads(threads)


def model_sizes() -> dict[str, float]:
    """Parameter bytes of Bi-Real-Net-18 in the engine: binary weights packed vs fp32."""
    from padl_lib.bnn.convert import to_ops
    from padl_lib.bnn.engine import Engine

    ops, _ = to_ops(_bireal_torch(), _example(3, 64))
    sizes = Engine(ops).sizes()
    ratio = sizes["binary_weight_fp32_bytes"] / sizes["binary_weight_bytes"]
    return {"model": "birealnet18", **sizes, "binary_weight_ratio": ratio}


def package(threads: int, measured: Sequence[dict], engines: Sequence[str] = ENGINES) -> dict:
    """The JSON-ready dict of `iter_bench`'s results: `results` hold wall-clock medians; at one
    thread `cpu_results` hold the same cases' CPU-time medians (robust to a busy, shared machine)."""
    from padl_lib.bnn import native

    results = [{k: r[k] for k in ("name", "engine", "median_ms")} for r in measured]
    cpu = [{"name": r["name"], "engine": r["engine"], "median_ms": r["cpu_ms"]} for r in measured] if threads == 1 else []
    return {"threads": threads, "results": results, "cpu_results": cpu, "sizes": model_sizes(),
            "backend": native.isa() if native.available() else "numpy reference",
            "lce": lce_python() is not None and "lce" in engines}


def run_bench(threads: int = 1, engines: Sequence[str] = ENGINES, repeats: int | None = None,
              progress: Progress | None = None) -> dict:
    """The whole benchmark, measured and packaged (see `package`)."""
    return package(threads, list(iter_bench(threads, engines, repeats=repeats, progress=progress)), engines)


def lookup(results: Sequence[dict], name: str, engine: str) -> float | None:
    """The median of case `name` on `engine` in `results`, or None when it was not measured."""
    return next((r["median_ms"] for r in results if r["name"] == name and r["engine"] == engine), None)


def _speedup(results: Sequence[dict], name: str, baseline: str) -> float | None:
    padl, other = lookup(results, name, "padl"), lookup(results, name, baseline)
    return other / padl if padl and other else None


def goal_rows(bench: dict) -> list[dict]:
    """Each goal with its measured value: `{"goal", "target", "measured", "measured_cpu", "met"}`.
    `measured` is the wall-clock speedup, `measured_cpu` the CPU-time one (None when not run);
    a goal is met only when both reach the target."""
    rows = []
    for name, baseline, target in GOALS:
        measured = _speedup(bench["results"], name, baseline)
        measured_cpu = _speedup(bench.get("cpu_results", []), name, baseline)
        met = measured is not None and measured >= target and (measured_cpu is None or measured_cpu >= target)
        rows.append({"goal": f"{name}: padl vs {baseline}", "target": target, "measured": measured,
                     "measured_cpu": measured_cpu, "met": met})
    ratio = bench["sizes"]["binary_weight_ratio"]
    rows.append({"goal": "binary weights smaller than fp32", "target": SIZE_GOAL, "measured": ratio,
                 "measured_cpu": None, "met": ratio >= SIZE_GOAL})
    return rows


def summary(bench: dict) -> str:
    """The results as a text table, then each goal with its measured value."""
    names = list(dict.fromkeys(r["name"] for r in bench["results"]))
    engines = [e for e in ENGINES if any(r["engine"] == e for r in bench["results"])]
    lines = [f"{'case':<16}" + "".join(f"{e:>10}" for e in engines) + "   (median ms, batch 1, "
             f"{bench['threads']} thread(s), padl backend: {bench['backend']})"]
    for name in names:
        cells = [lookup(bench["results"], name, e) for e in engines]
        lines.append(f"{name:<16}" + "".join(f"{c:>10.3f}" if c is not None else f"{'-':>10}" for c in cells))
    lines.append("")
    for row in goal_rows(bench):
        measured = f"{row['measured']:.2f}x" if row["measured"] is not None else "not measured"
        cpu = f", CPU time {row['measured_cpu']:.2f}x" if row["measured_cpu"] is not None else ""
        verdict = "MET " if row["met"] else "MISS" if row["measured"] is not None else "N/A "
        lines.append(f"{verdict} {row['goal']:<36} {measured:>13} (goal >= {row['target']}x{cpu})")
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(prog="python -m padl_lib.bnn.bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="few repeats (also set by PADL_QUICK=1)")
    parser.add_argument("--threads", type=int, default=1, help="threads per engine (default 1)")
    parser.add_argument("--json", type=Path, help="write the results as JSON here")
    parser.add_argument("--engines", default=",".join(ENGINES),
                        help=f"comma-separated subset of {','.join(ENGINES)} (lce needs `make lce`)")
    args = parser.parse_args(argv)
    if args.quick:
        os.environ["PADL_QUICK"] = "1"
    engines = [e.strip() for e in args.engines.split(",") if e.strip()]
    try:
        bench = run_bench(args.threads, engines)
    except ValueError as exc:
        parser.error(str(exc))
    print(summary(bench))
    if "lce" in engines and not bench["lce"]:
        print("lce: skipped, no .lce-venv (run `make lce`)", file=sys.stderr)
    if args.json:
        write_json_atomic(args.json, bench)
    return bench


if __name__ == "__main__":
    main()
