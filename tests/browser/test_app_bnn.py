"""The live BNN benchmark app, driven like a person: pick threads, run the benchmark, wait for
the status line, check the live plots and table; then classify the digit stream and read fps."""
import re

from conftest import wait_for_status


def test_live_benchmark_and_digit_stream(open_app):
    page = open_app("29_app_live_benchmark.ipynb")
    page.locator(".padl-bnn-threads select").select_option("1")
    page.locator(".padl-bnn-engines select").select_option(["padl", "torch", "mxnet"])  # LCE (optional) is slow to start
    page.locator(".padl-bnn-start").click()
    status = wait_for_status(page, "Benchmark done")
    assert "1 thread" in status
    assert page.locator(".padl-bnn-latency img").count() == 1
    assert page.locator(".padl-bnn-speedup img").count() == 1
    table = page.locator(".padl-bnn-results").inner_text()
    for name in ("conv3x3_64_56", "conv3x3_256_14", "birealnet18", "padl", "torch"):
        assert name in table

    page.locator(".padl-bnn-classify").click()
    status = wait_for_status(page, "Classified")
    fps = float(re.search(r"at (\d+) frames/s", status).group(1))
    accuracy = float(re.search(r"accuracy ([\d.]+)%", status).group(1))
    assert fps > 0 and accuracy > 90
    assert "frames/s" in page.locator(".padl-bnn-fps").inner_text()
    assert page.locator(".padl-bnn-prediction").inner_text().strip()[0].isdigit()
