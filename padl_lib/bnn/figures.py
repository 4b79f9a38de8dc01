"""The BNN topic's plots (shared by the notebooks, the live app and the report) and
`make_figures`, which measures and writes the report's BNN figures and tables."""
from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from padl_lib.bnn.bench import ENGINES, GOALS, goal_rows, lookup, run_bench
from padl_lib.figures import ReportOutput

__all__ = ["ENGINE_COLORS", "plot_sign_and_ste", "plot_latency", "plot_speedups", "plot_history", "bench_table",
           "goal_table", "make_figures"]

ENGINE_COLORS = {"padl": "#1a7f37", "torch": "#d4572a", "mxnet": "#2a6fd4", "lce": "#8a4fc7"}


def plot_sign_and_ste(ax) -> None:
    """sign(x) and the gradients the two straight-through estimators use in its place."""
    import torch

    from padl_lib.bnn.layers import approx_sign, ste_sign

    x = torch.linspace(-2, 2, 401, requires_grad=True)
    ax.plot(x.detach(), torch.where(x >= 0, 1.0, -1.0).detach(), color="black", label="sign(x) (forward)")
    for fn, label, style in ((ste_sign, "STE gradient 1{|x| <= 1}", "--"),
                             (approx_sign, "approx-sign gradient (Bi-Real)", ":")):
        x.grad = None
        fn(x).sum().backward()
        ax.plot(x.detach(), x.grad, style, label=label)
    ax.set_xlabel("x")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(alpha=0.3)


def _cases(results: Sequence[dict]) -> tuple[list[str], list[str]]:
    names = list(dict.fromkeys(r["name"] for r in results))
    engines = [e for e in ENGINES if any(r["engine"] == e for r in results)]
    return names, engines


def plot_latency(ax, results: Sequence[dict], threads: int | None = None) -> None:
    """Grouped bars: median latency per case and engine (log scale; lower is better)."""
    names, engines = _cases(results)
    width = 0.8 / max(1, len(engines))
    for i, engine in enumerate(engines):
        values = [lookup(results, n, engine) for n in names]
        xs = [j + i * width for j, v in enumerate(values) if v is not None]
        ax.bar(xs, [v for v in values if v is not None], width, label=engine, color=ENGINE_COLORS.get(engine))
    ax.set_xticks([j + width * (len(engines) - 1) / 2 for j in range(len(names))])
    ax.set_xticklabels(names, rotation=15, fontsize=8)
    ax.set_yscale("log")
    ax.set_ylabel("median latency (ms, batch 1)")
    ax.set_title("latency per case" + (f", {threads} thread(s)" if threads else ""), fontsize=10)
    if engines:
        ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3, which="both")


def plot_speedups(ax, results: Sequence[dict]) -> None:
    """padl's speedup over each other engine per case, with the goals as markers."""
    names, engines = _cases(results)
    others = [e for e in engines if e != "padl"]
    width = 0.8 / max(1, len(others))
    for i, engine in enumerate(others):
        for j, name in enumerate(names):
            padl, other = lookup(results, name, "padl"), lookup(results, name, engine)
            if padl and other:
                ax.bar(j + i * width, other / padl, width, color=ENGINE_COLORS.get(engine),
                       label=f"vs {engine}" if j == 0 else None)
    for name, engine, target in GOALS:
        if name in names and engine in others:
            j, i = names.index(name), others.index(engine)
            ax.plot([j + i * width - width / 2, j + i * width + width / 2], [target, target], color="black", lw=2)
    ax.axhline(1, color="grey", lw=0.8)
    ax.set_xticks([j + width * (len(others) - 1) / 2 for j in range(len(names))])
    ax.set_xticklabels(names, rotation=15, fontsize=8)
    ax.set_ylabel("speedup of padl (x)")
    ax.set_title("padl's speedup (black bars: goals)", fontsize=10)
    if others:
        ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)


def plot_history(ax, history) -> None:
    """Train and test accuracy per epoch of a `padl_lib.bnn.train.History`."""
    epochs = np.arange(1, len(history.test_accuracy) + 1)
    ax.plot(epochs, history.train_accuracy, label="train")
    ax.plot(epochs, history.test_accuracy, label="test")
    ax.set_xlabel("epoch")
    ax.set_ylabel("accuracy")
    ax.set_ylim(0, 1.01)
    ax.legend()
    ax.grid(alpha=0.3)


def bench_table(results: Sequence[dict]) -> tuple[list[str], list[list[object]]]:
    """Header and rows: median ms per case (rows) and engine (columns)."""
    names, engines = _cases(results)
    rows = [[name] + [f"{v:.3f}" if (v := lookup(results, name, e)) is not None else "--" for e in engines]
            for name in names]
    return ["case"] + [f"{e} (ms)" for e in engines], rows


def goal_table(bench: dict) -> tuple[list[str], list[list[object]]]:
    """Header and rows: each goal, its target, the measured value and whether it is met."""
    def ratio(value: float | None) -> str:
        return f"{value:.2f}x" if value is not None else "--"

    def verdict(row: dict) -> str:
        return "not measured" if row["measured"] is None else "yes" if row["met"] else "no"

    rows = [[r["goal"], f">= {r['target']:g}x", ratio(r["measured"]), ratio(r["measured_cpu"]), verdict(r)]
            for r in goal_rows(bench)]
    return ["goal", "target", "wall clock", "CPU time", "met"], rows


def make_figures(out: ReportOutput) -> None:
    """Measure (benchmark and training at 1 thread) and write the BNN figures and tables."""
    import torch

    from padl_lib import set_threads

    threads = torch.get_num_threads()
    set_threads(1)
    try:
        _make_figures(out)
    finally:
        set_threads(threads)


def _make_figures(out: ReportOutput) -> None:
    import matplotlib.pyplot as plt

    from padl_lib.bnn.train import train_digits_bnn
    from padl_lib.settings import quick

    fig, ax = plt.subplots(figsize=(5, 3))
    plot_sign_and_ste(ax)
    out.figure(fig, "bnn_ste")

    _, history = train_digits_bnn(epochs=5 if quick() else 30)
    fig, ax = plt.subplots(figsize=(5, 3))
    plot_history(ax, history)
    out.figure(fig, "bnn_training")

    bench = run_bench(threads=1)
    fig, ax = plt.subplots(figsize=(7, 3.5))
    plot_latency(ax, bench["results"], bench["threads"])
    out.figure(fig, "bnn_latency")
    fig, ax = plt.subplots(figsize=(7, 3.5))
    plot_speedups(ax, bench["results"])
    out.figure(fig, "bnn_speedup")
    out.table("bnn_bench", *bench_table(bench["results"]), caption="median latency, batch 1, 1 thread")
    out.table("bnn_bench_cpu", *bench_table(bench["cpu_results"]), caption="median CPU time, batch 1, 1 thread")
    out.table("bnn_goals", *goal_table(bench), caption="goals against measurements")
    sizes = bench["sizes"]
    out.table("bnn_sizes", ["parameters of Bi-Real-Net-18", "bytes"], [
        ["binary weights, fp32", f"{sizes['binary_weight_fp32_bytes']:,}"],
        ["binary weights, packed (1 bit)", f"{sizes['binary_weight_bytes']:,}"],
        ["float parameters (stem, shortcuts, BN, classifier)", f"{sizes['float_param_bytes']:,}"],
        ["compression of the binary weights", f"{sizes['binary_weight_ratio']:.1f}x"]], caption="model sizes")
