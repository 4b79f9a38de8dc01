"""espeak-ng through its library: speech with the onset of every word, as the synthesizer reports it."""
import numpy as np
import pytest

from padl_lib.video.bench import onset_errors
from padl_lib.video.espeak import synthesize
from padl_lib.video.transcript import Word


def test_every_token_gets_an_onset_in_order_and_a_word_after_a_pause_starts_with_its_sound():
    speech = synthesize("Welcome back. Today we look at networks.", "en-us", 150)
    assert speech.rate > 0 and len(speech.onsets) == 7
    assert all(a < b for a, b in zip(speech.onsets, speech.onsets[1:]))
    assert speech.onsets[-1] < len(speech.audio) / speech.rate
    today = int(speech.onsets[2] * speech.rate)  # after the full stop's pause: silence, then "Today"
    hop = speech.rate // 100
    assert np.abs(speech.audio[today - 5 * hop:today]).max() < 1e-3
    assert np.abs(speech.audio[today:today + 10 * hop]).max() > 0.05


def test_a_language_name_picks_its_voice_and_an_unknown_voice_is_an_error():
    assert len(synthesize("Hello there.", "en-gb").audio) > 0
    with pytest.raises(ValueError, match="no voice or language"):
        synthesize("Hello there.", "xx-nowhere")


def test_the_same_text_gives_the_same_speech_whatever_was_spoken_before():
    # the library alone carries state between utterances: its output for this text varied by ~1 %
    text = "Welcome back. Today we look at networks."
    first = synthesize(text)
    synthesize("Willkommen zur Vorlesung.", "de")
    again = synthesize(text)
    assert np.array_equal(first.audio, again.audio) and first.onsets == again.onsets


def test_onset_errors_match_words_by_text_and_skip_the_first_and_fillers():
    speech = synthesize("Well, um, the model learns.", "en-us")
    words = [Word("Well,", 0.0, 0.3), Word("um", 0.35, 0.6, "filler"),
             *[Word(t, on + 0.02, on + 0.2) for t, on in zip(["the", "model", "learns."], speech.onsets[2:])]]
    assert onset_errors(speech, words) == pytest.approx([20.0, 20.0, 20.0])
