"""The style picker's pure helpers: canvas drawings become word images the recognizer can read."""
from __future__ import annotations

import base64

import numpy as np
import pytest

from padl_lib.handwriting.style_app import canvas_to_word_image, png_data_url


def test_canvas_drawing_is_cropped_to_its_ink_and_scaled_to_32_px():
    rgba = np.full((110, 420, 4), 255, np.uint8)
    rgba[40:70, 100:260, :3] = 0  # a dark bar: the "word"
    image = canvas_to_word_image(rgba)
    assert image.shape[0] == 32 and image.dtype == np.float32
    assert image.min() < 0.1 and image.max() > 0.9   # ink and paper both present
    assert 32 * 160 / 42 - 8 < image.shape[1] < 32 * 172 / 42 + 8  # crop keeps a 6-px margin


def test_transparent_canvas_pixels_count_as_paper():
    rgba = np.zeros((50, 80, 4), np.uint8)  # fully transparent black
    rgba[10:30, 20:60] = (0, 0, 0, 255)
    image = canvas_to_word_image(rgba)
    assert image[:, :2].min() > 0.9 and image.min() < 0.1


def test_empty_canvas_is_refused():
    with pytest.raises(ValueError, match="canvas is empty"):
        canvas_to_word_image(np.full((50, 80, 4), 255, np.uint8))


def test_png_data_url_roundtrips_through_pillow():
    import io

    from PIL import Image

    url = png_data_url(np.linspace(0, 1, 32 * 10, dtype=np.float32).reshape(32, 10))
    assert url.startswith("data:image/png;base64,")
    image = Image.open(io.BytesIO(base64.b64decode(url.split(",", 1)[1])))
    assert image.size == (10, 32)


def test_recorded_strokes_become_a_word_image():
    from padl_lib.handwriting.style_app import strokes_to_rgba

    rgba = strokes_to_rgba([[(40, 20), (40, 90)], [(60, 50), (90, 50)], [(120, 60)]], 420, 110)
    assert rgba.shape == (110, 420, 4) and rgba[50, 40, 0] < 50 and rgba[5, 5, 0] == 255
    image = canvas_to_word_image(rgba)
    assert image.shape[0] == 32 and image.min() < 0.2
