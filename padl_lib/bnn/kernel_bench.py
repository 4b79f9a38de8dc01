"""Kernel micro-benchmark: binary GEMM throughput per ISA in Gbit-MAC/s against its ceiling.

One bit-MAC is one xnor+popcount of a weight bit with an activation bit. The GEMM runs as a
1x1 binary conv (no padding, float output transform), so the number includes the epilogue.
The ceiling is measured on the machine: the GEMM's inner loop on registers only
(`native.peak`). For comparison, the topic's figures for its x86 machine (AMD EPYC, Zen 4):
AVX-512 VPOPCNTDQ ~1,300 Gbit-MAC/s per core (about 11x the fp32 FMA rate), AVX2 ~375,
scalar popcnt ~265 (`NOMINAL_CEILING_GBIT_MAC_S`).

    python -m padl_lib.bnn.kernel_bench [--quick] [--threads N] [--json PATH]
"""
from __future__ import annotations

import argparse
import time

import numpy as np

from padl_lib.bnn import native
from padl_lib.io import write_json_atomic
from padl_lib.progress import Progress, report, tqdm_progress
from padl_lib.settings import quick

__all__ = ["NOMINAL_CEILING_GBIT_MAC_S", "peak_throughput", "gemm_throughput", "run", "main"]

NOMINAL_CEILING_GBIT_MAC_S = {"avx512": 1300.0, "avx2": 375.0, "portable": 265.0}


def _median_s(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def peak_throughput(isa: str, seconds: float = 0.001, repeats: int = 20) -> float:
    """The measured ceiling of ISA `isa` in Gbit-MAC/s: the best of `repeats` runs of about
    `seconds` each (short runs, so that on a shared machine one run fits in a time slice)."""
    with native.forced_isa(isa):
        start = time.perf_counter()
        _, bits = native.peak(1000)
        calibration = max(time.perf_counter() - start, 1e-6)
        iterations = max(1000, int(1000 * seconds / calibration))
        best = min(_median_s(lambda: native.peak(iterations), 1) for _ in range(repeats))
    return bits / 1000 * iterations / best / 1e9


def gemm_throughput(isa: str, rows: int = 196, outputs: int = 256, channels: int = 2304,
                    repeats: int = 20) -> dict:
    """Throughput of ISA `isa` on a (rows x channels) by (channels x outputs) binary GEMM
    (the default is conv3x3_256_14's shape) against the ISA's measured ceiling; returns
    isa, gbit_mac_s, ceiling (measured), fraction, nominal (the topic's figure), median_ms."""
    rng = np.random.default_rng(0)
    x = native.pack(rng.standard_normal((1, 1, rows, channels)).astype(np.float32))
    scale, bias = np.ones(outputs, np.float32), np.zeros(outputs, np.float32)
    out = np.empty((1, 1, rows, outputs), np.float32)
    with native.forced_isa(isa):
        conv = native.binary_conv(rng.standard_normal((outputs, channels, 1, 1)).astype(np.float32))
        seconds = _median_s(lambda: conv.run(x, scale, bias, out=out), repeats)
    rate = rows * outputs * channels / seconds / 1e9
    ceiling = peak_throughput(isa, repeats=5 if quick() else 20)
    return {"isa": isa, "gbit_mac_s": rate, "ceiling": ceiling, "fraction": rate / ceiling,
            "nominal": NOMINAL_CEILING_GBIT_MAC_S.get(isa), "median_ms": seconds * 1e3,
            "shape": [rows, outputs, channels]}


def run(isas: list[str] | None = None, threads: int = 1, progress: Progress | None = None) -> list[dict]:
    """`gemm_throughput` for each ISA (default: every optimized one this CPU runs); the slow
    portable kernels time a smaller GEMM."""
    isas = isas or [name for name in native.available_isas() if name != "reference"]
    native.set_threads(threads)
    results = []
    for i, isa in enumerate(isas):
        report(progress, i, len(isas), f"GEMM {isa}")
        slow = isa in ("portable", "reference")
        repeats = 3 if slow or quick() else 20
        results.append(gemm_throughput(isa, rows=49 if slow else 196, repeats=repeats) | {"threads": threads})
    report(progress, len(isas), len(isas), "done")
    return results


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--isa", action="append", help="ISA to measure (repeatable; default all)")
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    results = run(args.isa, args.threads, tqdm_progress())
    for r in results:
        nominal = f", nominal {r['nominal']:.0f}" if r["nominal"] else ""
        print(f"{r['isa']:<10} {r['gbit_mac_s']:8.1f} Gbit-MAC/s = {100 * r['fraction']:3.0f}% of the measured "
              f"ceiling {r['ceiling']:.0f}{nominal} ({r['threads']} thread(s))")
    if args.json:
        write_json_atomic(args.json, {"threads": args.threads, "results": results})


if __name__ == "__main__":
    main()
