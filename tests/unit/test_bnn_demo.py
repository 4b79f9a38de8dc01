"""The real-time demo: a stream of real test digits, and camera frames of a digit on paper."""
import cv2
import numpy as np
import pytest

from padl_lib.bnn import convert
from padl_lib.bnn.demo import camera_to_digit, classify_stream
from padl_lib.bnn.models import load_digits_bnn
from padl_lib.bnn.train import load_digits


@pytest.fixture(scope="module")
def digits_engine():
    data = load_digits()
    return convert(load_digits_bnn(), data.x_test[:16]), data


def test_stream_of_test_digits_is_classified_with_labels_and_fps(digits_engine):
    engine, data = digits_engine
    x, y = data.x_test.numpy()[:50], data.y_test.numpy()[:50]
    frames = list(classify_stream(engine, x, y, frames=60))  # cycles past the 50 images
    assert [f.index for f in frames] == list(range(60))
    assert frames[55].label == int(y[5])
    assert sum(f.predicted == f.label for f in frames) / len(frames) > 0.85
    assert frames[-1].fps > 0 and all(f.latency_ms > 0 for f in frames)


def test_live_stream_has_no_labels_and_stops_after_frames(digits_engine):
    engine, data = digits_engine
    live = (img for img in data.x_test.numpy())  # an endless source would work the same way
    frames = list(classify_stream(engine, live, frames=5))
    assert len(frames) == 5 and all(f.label is None for f in frames)
    with pytest.raises(ValueError, match="labels"):
        next(classify_stream(engine, iter([]), labels=np.zeros(3)))


def test_camera_frame_of_a_digit_on_paper_becomes_a_digits_image(digits_engine):
    engine, data = digits_engine
    digit = data.x_test.numpy()[int(np.argmax(data.y_test.numpy() == 0))][0]  # a real 0
    paper = np.full((480, 640, 3), 235, np.uint8)  # a camera frame: dark ink on light paper
    ink = cv2.resize(((digit + 1) / 2 * 255).astype(np.uint8), (480, 480), interpolation=cv2.INTER_NEAREST)
    paper[:, 80:560] -= (ink[..., None] * 0.8).astype(np.uint8)
    image = camera_to_digit(paper)
    assert image.shape == (1, 8, 8) and image.min() == -1.0 and image.max() == 1.0
    assert np.corrcoef(image.ravel(), digit.ravel())[0, 1] > 0.9
    assert int(np.argmax(engine(image[None]))) == 0
    with pytest.raises(ValueError, match="BGR"):
        camera_to_digit(np.zeros((4, 4)))
