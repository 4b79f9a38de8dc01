"""The foundation: settings, atomic output, uploads confined to the work folder, the course map."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

import padl_lib
from padl_lib import settings
from padl_lib.figures import latex_table
from padl_lib.io import atomic_path, write_json_atomic
from padl_lib.widgets import LargeFileUpload, course_map, discover_apps, landing_page, save_upload
from padl_lib.widgets.landing import read_notebook_info


def test_quick_mode_follows_environment(monkeypatch):
    monkeypatch.setenv("PADL_QUICK", "1")
    assert settings.quick()
    monkeypatch.setenv("PADL_QUICK", "0")
    assert not settings.quick()


def test_mxnet_import_keeps_torch_threads():
    torch = pytest.importorskip("torch")
    torch.set_num_threads(2)
    padl_lib.import_mxnet()
    assert torch.get_num_threads() == 2


def test_atomic_write_replaces_only_on_success(tmp_path):
    dest = tmp_path / "out.json"
    write_json_atomic(dest, {"a": 1})
    with pytest.raises(RuntimeError):
        with atomic_path(dest) as tmp:
            tmp.write_text("half")
            raise RuntimeError("render failed")
    assert json.loads(dest.read_text()) == {"a": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_atomic_write_has_ordinary_permissions(tmp_path):
    path = write_json_atomic(tmp_path / "table.json", [1])
    assert path.stat().st_mode & 0o644 == 0o644


def test_an_output_in_a_read_only_folder_is_named_in_the_error(tmp_path, monkeypatch):
    """The error named the hidden temporary file (".out.h56u6k00.mp4.part"), not the output."""
    import errno
    import tempfile

    def read_only(prefix, suffix, dir):
        raise OSError(errno.EROFS, "Read-only file system", str(Path(dir) / f"{prefix}h56u6k00{suffix}"))

    monkeypatch.setattr(tempfile, "mkstemp", read_only)
    with pytest.raises(OSError) as caught, atomic_path(tmp_path / "out.mp4"):
        pass
    assert caught.value.errno == errno.EROFS and caught.value.filename == str(tmp_path / "out.mp4")


def test_atomic_path_refuses_to_overwrite_source(tmp_path):
    source = tmp_path / "lecture.mp4"
    source.write_bytes(b"precious")
    with pytest.raises(ValueError, match="source"):
        with atomic_path(source, protect=(source,)):
            pass
    assert source.read_bytes() == b"precious"


def test_uploads_cannot_escape_work_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    for name in ["../../etc/passwd", "/abs/evil.sh", "..\\win.mp4", "...", "ok clip.mp4"]:
        path = save_upload(name, b"x")
        assert path.parent == (tmp_path / "work" / "uploads").resolve()
        assert path.read_bytes() == b"x"


def test_upload_names_keep_their_letters(tmp_path, monkeypatch):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    assert save_upload("Übung – Vorlesung 3.mp4", b"x").name == "Ubung_Vorlesung_3.mp4"
    assert save_upload("ﬁnal.mov", b"y").name == "final.mov"


def test_course_map_lists_every_numbered_notebook():
    table = course_map()
    assert "00_start_here.ipynb" in table
    for app in discover_apps():
        assert app.path.name in table
        assert f'href="{app.url}"' in landing_page()


def test_notebook_without_title_is_rejected(tmp_path):
    nb = tmp_path / "10_x.ipynb"
    nb.write_text(json.dumps({"cells": [{"cell_type": "code", "source": ["1"]}]}))
    with pytest.raises(ValueError, match="Title"):
        read_notebook_info(nb)


def test_latex_table_escapes_cells():
    tex = latex_table(["name", "ms"], [["conv3x3_64_56", 1.23456], ["50% & more", 2]])
    assert r"conv3x3\_64\_56 & 1.23 \\" in tex
    assert r"50\% \& more" in tex
    assert tex.count(r"\toprule") == 1


def test_environment_files_do_not_drift():
    result = subprocess.run([sys.executable, "tools/envfiles.py", "--check"], cwd=settings.REPO_ROOT,
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stderr


def test_binder_follows_repo2docker_conventions():
    binder = settings.REPO_ROOT / "binder"
    post_build = (binder / "postBuild").read_text()
    assert post_build.startswith("#!") and "set -e" in post_build
    assert (binder / "apt.txt").read_text().split()
    assert (binder / "environment.yml").exists()


def test_large_upload_arrives_in_chunks_atomically_and_a_restart_drops_the_unfinished_part(tmp_path, monkeypatch):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    upload = LargeFileUpload()
    acks = []
    monkeypatch.setattr(upload, "send", acks.append)
    folder = (tmp_path / "work" / "uploads").resolve()
    upload._on_message(upload, {"event": "start", "name": "../lecture 1.mp4", "size": 6}, [])
    upload._on_message(upload, {"event": "chunk", "offset": 0}, [memoryview(b"abc")])
    assert upload.received == 3 and upload.saved is None and not (folder / "lecture_1.mp4").exists()
    upload._on_message(upload, {"event": "start", "name": "other.mp4", "size": 4}, [])  # a new choice mid-way
    assert [p.name.split(".")[1] for p in folder.iterdir()] == ["other"]  # only the new .part
    for chunk in (b"wx", b"yz"):
        upload._on_message(upload, {"event": "chunk"}, [memoryview(chunk)])
    upload._on_message(upload, {"event": "end"}, [])
    assert upload.saved == folder / "other.mp4" and upload.saved.read_bytes() == b"wxyz"
    assert acks == [{"event": "ack"}] * 3 and sorted(p.name for p in folder.iterdir()) == ["other.mp4"]


def test_an_upload_never_replaces_another_file_of_the_same_name(tmp_path, monkeypatch):
    monkeypatch.setenv("PADL_WORK", str(tmp_path / "work"))
    first = save_upload("talk.mp4", b"first")
    assert save_upload("talk.mp4", b"first") == first  # the same file again: reused
    second = save_upload("talk.mp4", b"second")
    assert second.name == "talk-2.mp4" and first.read_bytes() == b"first" and second.read_bytes() == b"second"
    assert save_upload("talk.mp4", b"third").name == "talk-3.mp4"
    assert not [p for p in first.parent.iterdir() if p.name.endswith(".part")]
