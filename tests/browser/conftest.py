"""Browser tests of padl's Voilà apps: a real Voilà server on loopback, driven by Playwright
in Debian's Chromium. Every test saves a screenshot under artifacts/screenshots/.

Use the `open_app` fixture: `page = open_app("19_app_transcript_editor.ipynb")` returns a
Playwright page once the app's kernel has built it (the `.padl-ready` marker is shown).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlparse

import pytest

from padl_lib.serve import server_command
from padl_lib.settings import REPO_ROOT

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = REPO_ROOT / "artifacts" / "screenshots"
APP_TIMEOUT_MS = 180_000
ERROR_OUTPUT = '[data-mime-type="application/vnd.jupyter.stderr"]'
_READY_OR_RAISED = f"""() => document.querySelector('.padl-ready') !== null ||
  Array.from(document.querySelectorAll('{ERROR_OUTPUT}')).some(e => e.innerText.includes('Traceback'))"""
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage",
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait_for_port(port: int, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"Voilà server exited with {proc.returncode}:\n{log.read_text()[-3000:]}")
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.25)
    raise TimeoutError(f"Voilà server did not open port {port} in {timeout} s:\n{log.read_text()[-3000:]}")


def _kill_group(proc: subprocess.Popen) -> None:
    for sig, wait in ((signal.SIGTERM, 10), (signal.SIGKILL, 5)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="session")
def voila_url(tmp_path_factory) -> str:
    """Serve notebooks/ with Voilà (as `make demo` does) on a free loopback port."""
    port = _free_port()
    work = tmp_path_factory.mktemp("padl-work")
    log = work / "voila.log"
    env = {**os.environ, "PADL_QUICK": "1", "PADL_WORK": str(work),
           "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}"}
    with log.open("w") as out:
        proc = subprocess.Popen(server_command(port), cwd=REPO_ROOT, env=env, stdout=out,
                                stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    try:
        _wait_for_port(port, proc, log)
        yield f"http://127.0.0.1:{port}"
    finally:
        _kill_group(proc)


@pytest.fixture(scope="session")
def browser():
    playwright = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: run `make test`, which installs Debian's chromium")
    with playwright.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


def _block_remote(route) -> None:
    host = urlparse(route.request.url).hostname or ""
    if route.request.url.startswith(("data:", "blob:")) or host in {"127.0.0.1", "localhost", "::1"}:
        route.continue_()
    else:
        route.abort()


@pytest.fixture
def page(browser, request):
    """A fresh browser page that can reach loopback only; screenshots itself at the end."""
    context = browser.new_context(viewport={"width": 1280, "height": 900}, accept_downloads=True)
    context.route("**/*", _block_remote)
    context.set_default_timeout(APP_TIMEOUT_MS)
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    try:
        page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
    finally:
        context.close()


@pytest.fixture
def open_app(page, voila_url):
    """Open a notebook as a Voilà app and wait until its kernel has built it."""

    def _open(notebook: str):
        page.goto(f"{voila_url}/voila/render/{notebook}", wait_until="domcontentloaded")
        wait_until_ready(page)
        return page

    return _open


def wait_until_ready(page, timeout_ms: int = APP_TIMEOUT_MS) -> None:
    """Wait for the app's `.padl-ready` marker; fail at once with the traceback if a cell raised."""
    page.wait_for_function(_READY_OR_RAISED, timeout=timeout_ms)
    traceback = page.locator(ERROR_OUTPUT).filter(has_text="Traceback")
    if traceback.count():
        pytest.fail(f"the app raised while starting:\n{traceback.first.inner_text()[-3000:]}")
    page.wait_for_selector(".padl-ready", state="visible", timeout=timeout_ms)


def wait_for_status(page, text: str, timeout_ms: int = APP_TIMEOUT_MS) -> str:
    """Wait until the app's status line contains `text` (kernel-side work finished); return it."""
    locator = page.locator(".padl-status")
    locator.filter(has_text=text).first.wait_for(timeout=timeout_ms)
    return locator.first.inner_text()
