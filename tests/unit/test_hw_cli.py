"""`python -m padl_lib.handwriting recognize`: a folder of scans in, PRED.tsv out, clear errors."""
import subprocess
import sys

import numpy as np
import pytest
from PIL import Image

from padl_lib.handwriting.__main__ import main
from padl_lib.handwriting.recognizer import cer
from padl_lib.handwriting.writers import train_writers, word_list


def _scan(path, image, scale):
    """Save a word as a scanner would: bigger, 8-bit, a white border."""
    pil = Image.fromarray((image * 255).astype(np.uint8)).resize((int(image.shape[1] * scale), int(32 * scale)))
    framed = Image.new("L", (pil.width + 20, pil.height + 12), 255)
    framed.paste(pil, (10, 6))
    framed.convert("RGB").save(path)


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    folder = tmp_path_factory.mktemp("scans")
    words = word_list("test")[::400][:12]
    writers = train_writers()
    for k, word in enumerate(words):
        suffix = [".png", ".jpg", ".tif"][k % 3]
        _scan(folder / f"word{k:02d}{suffix}", writers[k % len(writers)].render(word, seed=k), scale=1.5 + k % 3)
    return folder, words


def test_recognize_writes_file_name_tab_text(scans, tmp_path):
    folder, words = scans
    out = tmp_path / "pred.tsv"
    run = subprocess.run([sys.executable, "-m", "padl_lib.handwriting", "recognize", str(folder), "-o", str(out)],
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == 0, run.stderr
    rows = [line.split("\t") for line in out.read_text().splitlines()]
    assert [r[0] for r in rows] == sorted(p.name for p in folder.iterdir())
    assert cer(words, [r[1] for r in rows]) < 0.15


def test_recognize_with_beam_and_explicit_model(scans, tmp_path):
    from padl_lib.handwriting.recognizer import shipped_checkpoint

    folder, words = scans
    out = tmp_path / "pred.tsv"
    assert main(["recognize", "--model", str(shipped_checkpoint()), "--beam", "5", str(folder), "-o", str(out)]) == 0
    assert cer(words, [line.split("\t")[1] for line in out.read_text().splitlines()]) < 0.15


def test_clear_errors(scans, tmp_path, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    assert main(["recognize", str(empty), "-o", str(tmp_path / "p.tsv")]) == 2
    assert "holds no word images" in capsys.readouterr().err
    assert main(["recognize", str(tmp_path / "nowhere"), "-o", str(tmp_path / "p.tsv")]) == 2
    assert "not a folder" in capsys.readouterr().err
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "a.png").write_bytes(b"\x89PNG but not really")
    assert main(["recognize", str(broken), "-o", str(tmp_path / "p.tsv")]) == 2
    assert "a.png" in capsys.readouterr().err
    bad_model = tmp_path / "model.pt"
    bad_model.write_text("not a model")
    assert main(["recognize", "--model", str(bad_model), str(scans[0]), "-o", str(tmp_path / "p.tsv")]) == 2
    assert "not a padl recognizer checkpoint" in capsys.readouterr().err
    assert not (tmp_path / "p.tsv").exists()
