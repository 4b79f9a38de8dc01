"""Kernel micro-benchmark: binary GEMM throughput per ISA in Gbit-MAC/s against its ceiling.

One bit-MAC is one xnor+popcount of a weight bit with an activation bit. The GEMM runs as a
1x1 binary conv (no padding, float output transform), so the number includes the epilogue.

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

__all__ = ["CEILING_GBIT_MAC_S", "gemm_throughput", "run", "main"]

# Per-core ceilings of the xnor+popcount inner loop on the seminar's x86 machine (AMD EPYC,
# Zen 4): AVX-512 VPOPCNTDQ retires one 512-bit xor+popcount+add per 1.5 cycles (about 11x
# the fp32 FMA rate), AVX2 counts bytes with vpshufb, scalar code runs one 64-bit popcnt per
# cycle. The scalar figure bounds the portable kernels (which may lack the popcnt instruction).
CEILING_GBIT_MAC_S = {"avx512": 1300.0, "avx2": 375.0, "portable": 265.0, "reference": 265.0}


def _median_s(fn, repeats: int) -> float:
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def gemm_throughput(isa: str, rows: int = 196, outputs: int = 256, channels: int = 2304,
                    repeats: int = 20) -> dict:
    """Throughput of ISA `isa` on a (rows x channels) by (channels x outputs) binary GEMM
    (the default is conv3x3_256_14's shape); returns isa, gbit_mac_s, ceiling, fraction."""
    rng = np.random.default_rng(0)
    x = native.pack(rng.standard_normal((1, 1, rows, channels)).astype(np.float32))
    scale, bias = np.ones(outputs, np.float32), np.zeros(outputs, np.float32)
    out = np.empty((1, 1, rows, outputs), np.float32)
    with native.forced_isa(isa):
        conv = native.binary_conv(rng.standard_normal((outputs, channels, 1, 1)).astype(np.float32))
        seconds = _median_s(lambda: conv.run(x, scale, bias, out=out), repeats)
    rate = rows * outputs * channels / seconds / 1e9
    ceiling = CEILING_GBIT_MAC_S.get(isa)
    return {"isa": isa, "gbit_mac_s": rate, "ceiling": ceiling,
            "fraction": rate / ceiling if ceiling else None, "median_ms": seconds * 1e3,
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
        share = f"{100 * r['fraction']:.0f}% of {r['ceiling']:.0f}" if r["fraction"] else "no ceiling"
        print(f"{r['isa']:<10} {r['gbit_mac_s']:8.1f} Gbit-MAC/s  ({share}; {r['threads']} thread(s))")
    if args.json:
        write_json_atomic(args.json, {"threads": args.threads, "results": results})


if __name__ == "__main__":
    main()
