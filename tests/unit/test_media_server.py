"""padl's media server: files published by a kernel, served by a real Jupyter server with ranges,
behind its login, and nothing outside the published links."""
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest

from padl_lib.media_server import URL_PREFIX, enable, publish, served_dir
from padl_lib.widgets import DownloadLink, MediaPlayer

TOKEN = "padl-test-token"


def test_publish_links_a_file_under_an_unguessable_name_that_follows_rewrites(tmp_path, monkeypatch):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "my lecture.MP4"
    media.write_bytes(b"first")
    url = publish(media)
    assert url.startswith(URL_PREFIX) and ".mp4?v=" in url and "lecture" not in url
    link = served_dir() / url[len(URL_PREFIX):].split("?")[0]
    assert link.is_symlink() and link.resolve() == media.resolve()
    assert publish(media) == url  # unchanged file: same address, the browser keeps what it has

    replacement = tmp_path / "new.mp4"
    replacement.write_bytes(b"second")
    os.utime(replacement, ns=(time.time_ns() + 10**9,) * 2)
    replacement.replace(media)  # rewritten atomically, as renders are
    again = publish(media)
    assert again.split("?")[0] == url.split("?")[0] and again != url  # same link, new version

    media.unlink()
    other = tmp_path / "other.wav"
    other.write_bytes(b"x")
    publish(other)
    assert not link.exists() and not link.is_symlink()  # a deleted file's link is cleared
    with pytest.raises(FileNotFoundError, match="no such file"):
        publish(tmp_path / "missing.mp4")


def test_widgets_publish_what_they_show(tmp_path, monkeypatch):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    media = tmp_path / "talk.mp4"
    media.write_bytes(b"\0" * 100)
    player, link = MediaPlayer(), DownloadLink()
    player.load(media)
    link.load(media)
    assert player.url == link.url == publish(media) and player.name == link.name == "talk.mp4"


def test_enable_writes_the_server_config(tmp_path):
    config = enable(tmp_path)
    assert json.loads(config.read_text()) == {"ServerApp": {"jpserver_extensions": {"padl_lib.media_server": True}}}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(tmp_path):
    """A Jupyter server with padl's extension and a login token, sharing a work folder with the test."""
    port, work = _free_port(), tmp_path / "work"
    env = {**os.environ, "PADL_WORK": str(work)}
    proc = subprocess.Popen([sys.executable, "-m", "jupyter", "server", f"--port={port}", "--ip=127.0.0.1",
                             "--no-browser", "--allow-root", f"--IdentityProvider.token={TOKEN}",
                             f"--ServerApp.root_dir={tmp_path}", "--ServerApp.port_retries=0",
                             "--ServerApp.jpserver_extensions={'padl_lib.media_server': True}"],
                            env=env, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    break
            assert proc.poll() is None and time.monotonic() < deadline, "the Jupyter server did not start"
            time.sleep(0.2)
        yield f"http://127.0.0.1:{port}/", work
    finally:
        proc.terminate()
        proc.wait(timeout=20)


def _get(url: str, login: bool = True, **headers) -> tuple[int, bytes]:
    if login:
        headers["Authorization"] = f"token {TOKEN}"
    request = urllib.request.Request(url, headers=headers)
    opener = urllib.request.build_opener(_NoRedirect)
    try:
        with opener.open(request, timeout=20) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, b""


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_the_server_sends_published_files_in_ranges_to_logged_in_users_only(server, tmp_path, monkeypatch):
    base, work = server
    monkeypatch.setenv("PADL_WORK", str(work))
    media = tmp_path / "outside the work folder.mp4"
    data = os.urandom(3 << 20)
    media.write_bytes(data)
    url = base + publish(media)

    assert _get(url) == (200, data)
    status, part = _get(url, Range="bytes=1000000-1000099")  # what a player fetches on a seek
    assert status == 206 and part == data[1000000:1000100]
    assert _get(url, login=False)[0] in (302, 403)  # to the login page, not the file
    secret = tmp_path / "secret.txt"
    secret.write_text("not published")
    for path in ("secret.txt", "..%2Fsecret.txt", "..%2F..%2Fsecret.txt"):
        assert _get(base + URL_PREFIX + path)[0] in (403, 404)
