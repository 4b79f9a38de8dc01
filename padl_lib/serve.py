"""`make demo`: serve the Voilà apps, with the landing page at the server's root URL."""
from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from padl_lib.settings import REPO_ROOT

LANDING = "home.ipynb"


def server_command(port: int, notebooks: str = "notebooks") -> list[str]:
    """The command line of a Jupyter server that runs only Voilà, on loopback, rooted at notebooks/."""
    return [
        sys.executable, "-m", "jupyter", "server",
        f"--port={port}", "--ip=127.0.0.1", "--no-browser",
        "--ServerApp.port_retries=0", "--allow-root", "--ServerApp.terminals_enabled=False",
        f"--ServerApp.root_dir={REPO_ROOT / notebooks}",
        f"--ServerApp.default_url=/voila/render/{LANDING}",
        "--IdentityProvider.token=",
        "--ServerApp.password=",
        "--ServerApp.jpserver_extensions={'voila': True, 'padl_lib.media_server': True, 'jupyterlab': False, "
        "'notebook_shim': False, 'jupyter_lsp': False, 'jupyter_server_terminals': False}",
        # Voilà's own static files (no CDN fonts); everything else stays on this machine.
        "--VoilaConfiguration.show_tracebacks=True",
        "--VoilaConfiguration.file_allowlist=['.*\\.(png|jpg|svg|mp4|webm|wav|mp3)']",
    ]


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Serve padl's Voilà apps.")
    parser.add_argument("--port", type=int, default=8866)
    args = parser.parse_args(argv)
    os.environ.setdefault("PADL_WORK", str(REPO_ROOT / "work"))
    os.execv(sys.executable, server_command(args.port))


if __name__ == "__main__":
    main()
