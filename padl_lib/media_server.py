"""Media files streamed to the browser by the Jupyter server, with HTTP range requests.

A lecture recording is often a gigabyte or more. Sent through the kernel's websocket it must
arrive whole before the browser can play any of it, and the browser must hold all of it; a
873 MB hour-long recording never played. Served over HTTP, the browser's player fetches only
the ranges it plays or seeks to, as it does for any video on the web.

- Kernel side: `publish(path)` links the file into `served_dir()` under an unguessable name and
  returns its URL relative to the server's base URL (`padl/media/NAME?v=VERSION`).
- Server side: this module is a Jupyter server extension that serves `served_dir()` at
  `{base_url}padl/media/`, to logged-in users only, through tornado's static file handler
  (ranges, HEAD, ETag). `make demo` loads it; `python -m padl_lib.media_server`, run by
  `make`'s setup and by Binder, enables it for JupyterLab.

Where the extension is not loaded (another Jupyter server), the URL fails and the widgets in
`padl_lib.widgets.media` fall back to streaming the file through the kernel.
"""
from __future__ import annotations

import json
import secrets
import sys
from pathlib import Path

from padl_lib.settings import work_dir

URL_PREFIX = "padl/media/"
__all__ = ["URL_PREFIX", "served_dir", "publish", "enable"]


def served_dir() -> Path:
    """The folder of links to the files the server may send: `work_dir()/served`."""
    folder = (work_dir() / "served").resolve()
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def publish(path: str | Path) -> str:
    """Let the server send the file at `path`; return its URL relative to the server's base URL.

    A file keeps its link (and name) while it exists; the URL changes when the file does (its
    modification time is the `v` query), so a player reloads a file rewritten in place and a
    browser never shows a stale copy. Links to files that are gone are removed."""
    path = Path(path).resolve()
    if not path.is_file():
        raise FileNotFoundError(f"no such file to publish: {path}")
    link = None
    for existing in served_dir().iterdir():
        if not existing.is_symlink():
            continue
        if not existing.exists():
            existing.unlink(missing_ok=True)
        elif link is None and existing.resolve() == path:
            link = existing
    if link is None:
        link = served_dir() / f"{secrets.token_urlsafe(16)}{path.suffix.lower()}"
        link.symlink_to(path)
    return f"{URL_PREFIX}{link.name}?v={path.stat().st_mtime_ns}"


def _jupyter_server_extension_points() -> list[dict]:
    return [{"module": "padl_lib.media_server"}]


def _media_handler():
    """Tornado's static file handler (ranges, HEAD, ETag) behind Jupyter's login. The links may
    point anywhere (padl's kernels make them, for files the user opened), so symlinks are
    followed outside the folder; the Jupyter file handler's hidden-path rule is not applied to
    their targets (the bundled samples live in ~/.cache)."""
    from jupyter_server.auth.decorator import authorized
    from jupyter_server.base.handlers import JupyterHandler
    from tornado import web

    class MediaHandler(JupyterHandler, web.StaticFileHandler):
        auth_resource = "contents"

        @web.authenticated
        @authorized
        def head(self, path: str):
            return web.StaticFileHandler.get(self, path, include_body=False)

        @web.authenticated
        @authorized
        def get(self, path: str, include_body: bool = True):
            return web.StaticFileHandler.get(self, path, include_body=include_body)

    return MediaHandler


def _load_jupyter_server_extension(server_app) -> None:
    """Serve `served_dir()` at `{base_url}padl/media/`."""
    from jupyter_server.utils import url_path_join

    pattern = url_path_join(server_app.web_app.settings["base_url"], URL_PREFIX, "(.+)")
    options = {"path": str(served_dir()), "allowed_symlink_directory": "/"}
    server_app.web_app.add_handlers(".*$", [(pattern, _media_handler(), options)])
    server_app.log.info("padl serves media from %s", served_dir())


def enable(prefix: str | Path = sys.prefix) -> Path:
    """Enable the extension for Jupyter servers of the environment at `prefix`; return the config
    file written. (`jupyter server extension enable` refuses an extension not yet in the config.)"""
    config = Path(prefix) / "etc" / "jupyter" / "jupyter_server_config.d" / "padl_lib.media_server.json"
    config.parent.mkdir(parents=True, exist_ok=True)
    config.write_text(json.dumps({"ServerApp": {"jpserver_extensions": {"padl_lib.media_server": True}}}, indent=2))
    return config


if __name__ == "__main__":
    print(f"padl: media server extension enabled in {enable()}")
