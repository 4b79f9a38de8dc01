"""The Voilà app "live BNN benchmark": the benchmark runs live on the machine that serves the app
(a Raspberry Pi when deployed there), with latency plots per engine and per layer that update as
each measurement arrives, a thread selector, and real-time digit classification with frames/s."""
from __future__ import annotations

import statistics
import time

import ipywidgets as W

from padl_lib import default_threads
from padl_lib.bnn import bench, native
from padl_lib.bnn.demo import camera_available, camera_frames, classify_stream, digit_png
from padl_lib.bnn.figures import bench_table, goal_table, plot_latency, plot_speedups
from padl_lib.settings import quick
from padl_lib.widgets import AppShell, LivePlot, ProgressBar

__all__ = ["live_benchmark_app"]

INTRO = ("Binary neural networks replace multiply-adds by XNOR and popcount on bit-packed weights and "
         "activations. This app times padl's engine against fp32 PyTorch, fp32 MXNet and Larq Compute "
         "Engine (when installed, <code>make lce</code>) <b>on this machine, now</b>, at batch 1, and "
         "classifies a stream of real handwritten test digits with the BNN trained by padl.")


def _html_table(header: list[str], rows: list[list[object]]) -> str:
    head = "".join(f"<th style='padding:2px 8px'>{h}</th>" for h in header)
    body = "".join("<tr>" + "".join(f"<td style='padding:2px 8px'>{c}</td>" for c in row) + "</tr>" for row in rows)
    return f"<table><tr>{head}</tr>{body}</table>"


class _Benchmark:
    """Thread selector, start button, progress, live plots and the results table."""

    def __init__(self) -> None:
        self.status = None  # the app's StatusLine, set once the shell exists
        cores = max(default_threads(), 1)
        self.threads = W.Dropdown(options=list(range(1, cores + 1)), value=1, description="threads")
        self.threads.add_class("padl-bnn-threads")
        engines = [e for e in bench.ENGINES if e != "lce" or bench.lce_python() is not None]
        self.engines = W.SelectMultiple(options=engines, value=tuple(engines), description="engines", rows=len(engines))
        self.engines.add_class("padl-bnn-engines")
        self.start = W.Button(description="Run benchmark", button_style="primary", icon="play")
        self.start.add_class("padl-bnn-start")
        self.start.on_click(lambda _: self.run())
        self.progress = ProgressBar("benchmark")
        self.latency, self.speedup = LivePlot((7, 3.2)), LivePlot((7, 3.2))
        self.latency.add_class("padl-bnn-latency")
        self.speedup.add_class("padl-bnn-speedup")
        self.table = W.HTML()
        self.table.add_class("padl-bnn-results")
        self.widget = W.VBox([W.HTML("<h3>Benchmark</h3>"), W.HBox([self.threads, self.engines, self.start]),
                              self.progress, self.latency, self.speedup, self.table])

    def run(self) -> None:
        self.start.disabled = True
        threads, engines = int(self.threads.value), list(self.engines.value)
        self.status.set(f"Benchmarking {', '.join(engines)} with {threads} thread(s)...")
        results: list[dict] = []
        try:
            for result in bench.iter_bench(threads, engines, progress=self.progress):
                results.append(result)
                self.latency.update(lambda ax: plot_latency(ax, results, threads))
                self.table.value = _html_table(*bench_table(results))
            self.speedup.update(lambda ax: plot_speedups(ax, results))
            run = bench.package(threads, results, engines)
            self.table.value = _html_table(*bench_table(results)) + "<br>" + _html_table(*goal_table(run))
            isa = native.isa() if native.available() else "numpy reference"
            self.status.set(f"Benchmark done: {len(results)} measurements, {threads} thread(s), padl kernels: {isa}.",
                            level="ok")
        except Exception as exc:  # shown to the user, the app stays usable
            self.status.error(exc)
        finally:
            self.start.disabled = False


class _LiveDigits:
    """Real-time classification of the digits test split with the shipped BNN in the engine."""

    def __init__(self) -> None:
        self.status = None  # the app's StatusLine, set once the shell exists
        self.engine = self.data = None
        self.image = W.Image(format="png", width=128, height=128, layout=W.Layout(min_width="128px", min_height="128px"))
        self.caption = W.HTML()
        self.caption.add_class("padl-bnn-prediction")
        self.fps = W.HTML()
        self.fps.add_class("padl-bnn-fps")
        self.frames = W.IntSlider(value=200 if quick() else 1000, min=50, max=5000, step=50, description="frames")
        self.start = W.Button(description="Classify digits", icon="eye")
        self.start.add_class("padl-bnn-classify")
        self.start.on_click(lambda _: self.run())
        self.widget = W.VBox([W.HTML("<h3>Real-time classification (digits test set)</h3>"),
                              W.HBox([self.frames, self.start]), W.HBox([self.image, W.VBox([self.caption, self.fps])])])

    def _load(self) -> None:
        if self.engine is None:
            from padl_lib.bnn import convert
            from padl_lib.bnn.models import load_digits_bnn
            from padl_lib.bnn.train import load_digits

            self.data = load_digits()
            self.engine = convert(load_digits_bnn(), self.data.x_test[:16])

    def run(self) -> None:
        self.start.disabled = True
        try:
            self._load()
            if camera_available():
                self.status.set("Classifying digits written on paper in front of the camera...")
                stream = classify_stream(self.engine, camera_frames(), frames=int(self.frames.value))
            else:
                self.status.set("No camera: classifying a stream of test digits...")
                x, y = self.data.x_test.numpy(), self.data.y_test.numpy()
                stream = classify_stream(self.engine, x, y, frames=int(self.frames.value))
            latencies, correct, shown, frame = [], 0, 0.0, None
            for frame in stream:
                latencies.append(frame.latency_ms)
                correct += frame.predicted == frame.label
                if time.perf_counter() - shown > 0.05:  # redraw at most 20 times a second
                    self._show(frame, correct, latencies)
                    shown = time.perf_counter()
            self._show(frame, correct, latencies)
            accuracy = "" if frame.label is None else f", accuracy {correct / len(latencies):.1%}"
            self.status.set(f"Classified {len(latencies)} digits at {frame.fps:.0f} frames/s{accuracy}.", level="ok")
        except Exception as exc:
            self.status.error(exc)
        finally:
            self.start.disabled = False

    def _show(self, frame, correct: int, latencies: list[float]) -> None:
        self.image.value = digit_png(frame.image)
        truth = "" if frame.label is None else \
            f"{'✓' if frame.predicted == frame.label else '✗'} (true {frame.label})"
        self.caption.value = (f"<span style='font-size:2em'>{frame.predicted}</span> {truth} "
                              f"&nbsp; frame {frame.index + 1}")
        median = statistics.median(latencies)
        accuracy = "" if frame.label is None else f" &middot; running accuracy {correct / len(latencies):.1%}"
        self.fps.value = (f"<b>{frame.fps:.0f} frames/s</b> (whole loop) &middot; engine {median:.3f} ms per image "
                          f"= {1000 / median:.0f} inferences/s{accuracy}")


def live_benchmark_app() -> AppShell:
    """Build the app (the notebook's last cell displays it)."""
    benchmark, digits = _Benchmark(), _LiveDigits()
    shell = AppShell("Live BNN benchmark", INTRO, [benchmark.widget, digits.widget])
    benchmark.status = digits.status = shell.status
    return shell
