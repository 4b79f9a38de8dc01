"""Media probing and audio decoding on real files (the LibriVox speech, the screencast)."""
import subprocess
from fractions import Fraction

import av
import numpy as np
import pytest

from padl_lib.video.media import (MediaError, NoAudioError, load_audio, placed_samples, probe, sha256_file,
                                  without_dc)

LIBRIVOX = "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav"
SCREENCAST = "/usr/share/forensics-samples/original-files/movie2/movie-hello.mp4"


def test_probe_screencast():
    info = probe(SCREENCAST)
    assert info.has_video and info.has_audio
    assert (info.width, info.height) == (1280, 720)
    assert 29.5 < float(info.fps) < 30.5 and 8.0 < info.duration < 8.5
    assert info.audio_codec == "aac" and info.video_codec == "h264"


def test_probe_audio_only():
    info = probe(LIBRIVOX)
    assert info.has_audio and not info.has_video and info.fps is None
    assert info.duration == pytest.approx(2.99, abs=0.01)


def test_load_audio_resamples_to_16k_mono():
    audio = load_audio(SCREENCAST)
    assert audio.dtype == np.float32 and audio.ndim == 1
    assert len(audio) / 16000 == pytest.approx(probe(SCREENCAST).duration, abs=0.1)
    assert 0.01 < np.sqrt(np.mean(audio**2)) < 0.5 and np.abs(audio).max() <= 1.0


def _stereo_wav(path, left: np.ndarray, right: np.ndarray):
    import wave

    with wave.open(str(path), "wb") as out:
        out.setnchannels(2)
        out.setsampwidth(2)
        out.setframerate(16000)
        out.writeframes((np.stack([left, right], axis=1) * 32767).astype("<i2").tobytes())
    return path


def test_stereo_is_mixed_as_ffmpeg_mixes_it(tmp_path):
    speech = load_audio(LIBRIVOX)
    echo = np.roll(speech, 4000) * 0.5
    audio = load_audio(_stereo_wav(tmp_path / "stereo.wav", speech * 0.5, echo))
    assert np.allclose(audio, without_dc((speech * 0.5 + echo) * np.sqrt(0.5)), atol=2e-4)  # DC-free as always


def test_stereo_channels_that_cancel_give_their_difference(tmp_path):
    speech = load_audio(LIBRIVOX) * 0.5
    with pytest.warns(UserWarning, match="polarity is inverted"):
        audio = load_audio(_stereo_wav(tmp_path / "antiphase.wav", speech, -speech))
    assert np.allclose(audio, without_dc(speech * np.sqrt(2)), atol=2e-4)


def test_a_dc_offset_changes_no_word_time(tmp_path):
    """A cheap sound card's DC offset (here -30 dBFS) masked the quiet ends of words: the aligner
    cut 0.47 s off "selfish" and dropped words as said where there was no sound."""
    from padl_lib.video.media import write_wav
    from padl_lib.video.pipeline import transcribe

    speech = "/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0890.wav"
    offset = write_wav(tmp_path / "offset.wav", load_audio(speech) + np.float32(0.03))
    assert abs(float(np.mean(load_audio(offset)))) < 1e-4
    script = "unless to be rather cold-hearted and rather selfish is to be ill-disposed"
    clean, shifted = (transcribe(path, script=script).spoken() for path in (speech, offset))
    assert [w.text for w in shifted] == [w.text for w in clean]
    assert max(max(abs(a.start - b.start), abs(a.end - b.end)) for a, b in zip(clean, shifted)) <= 0.03


def test_no_audio_track(tmp_path):
    import av

    path = tmp_path / "silent.mp4"
    with av.open(str(path), "w") as out:
        stream = out.add_stream("mpeg4", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 48, "yuv420p"
        for _ in range(5):
            frame = av.VideoFrame.from_ndarray(np.zeros((48, 64, 3), np.uint8), format="rgb24")
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    assert not probe(path).has_audio
    with pytest.raises(NoAudioError, match="no audio track"):
        load_audio(path)


def test_corrupt_and_missing_files(tmp_path):
    corrupt = tmp_path / "broken.mp4"
    corrupt.write_bytes(b"\x00\x01 not a video " * 200)
    with pytest.raises(MediaError, match="corrupt"):
        probe(corrupt)
    with pytest.raises(MediaError, match="corrupt"):
        load_audio(corrupt)
    with pytest.raises(MediaError, match="not found"):
        probe(tmp_path / "nope.mp4")


def test_truncated_video_is_reported(tmp_path):
    truncated = tmp_path / "cut.mp4"
    data = open(SCREENCAST, "rb").read()
    truncated.write_bytes(data[: len(data) // 3])  # the index survives, two thirds of the samples not
    with pytest.raises(MediaError, match="truncated"):
        load_audio(truncated)


def test_checksum_identifies_content(tmp_path):
    a = tmp_path / "a.wav"
    a.write_bytes(open(LIBRIVOX, "rb").read())
    assert sha256_file(a) == sha256_file(LIBRIVOX)
    a.write_bytes(a.read_bytes() + b"\0")
    assert sha256_file(a) != sha256_file(LIBRIVOX)


@pytest.mark.parametrize("suffix, args", [
    (".mp3", ["-ar", "44100", "-ac", "2"]),
    (".webm", ["-c:a", "libopus"]),
    (".m4a", ["-c:a", "aac"]),
    (".mkv", ["-f", "lavfi", "-i", "color=c=blue:s=160x120:r=25", "-shortest", "-c:v", "libx264", "-c:a", "libvorbis"]),
])
def test_any_format_ffmpeg_writes_decodes_fully(tmp_path, suffix, args):

    path = tmp_path / f"speech{suffix}"
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", LIBRIVOX, *args, str(path)], check=True, timeout=60)
    audio = load_audio(path)
    assert len(audio) / 16000 == pytest.approx(2.99, abs=0.08)
    reference = load_audio(LIBRIVOX)
    assert np.sqrt(np.mean(audio**2)) == pytest.approx(np.sqrt(np.mean(reference**2)), rel=0.15)


def test_a_track_some_milliseconds_behind_the_first_counts_as_together(tmp_path):
    """OBS writes desktop sound and microphone on tracks a few ms apart: the microphone's was refused."""

    media = tmp_path / "obs.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "anoisesrc=d=3:a=0.01", "-itsoffset", "0.005",
                    "-i", LIBRIVOX, "-itsoffset", "0.5", "-i", LIBRIVOX, "-map", "0", "-map", "1", "-map", "2",
                    "-c:a", "pcm_s16le", "-ar", "16000", str(media)], check=True)
    assert len(load_audio(media, track=1)) > 16_000
    with pytest.raises(MediaError, match=r"audio track 3 of .* starts \+0\.50\d s from the first"):
        load_audio(media, track=2)


def test_a_matroska_file_cut_short_is_reported(tmp_path):
    """MKV stores no track durations, only the file's: a file cut short decoded without a word."""

    whole, cut = tmp_path / "whole.mkv", tmp_path / "cut.mkv"
    subprocess.run(["ffmpeg", "-v", "error", "-i", SCREENCAST, "-c", "copy", str(whole)], check=True)
    cut.write_bytes(whole.read_bytes()[:whole.stat().st_size // 3])
    with pytest.warns(UserWarning, match=r"cut.mkv says it lasts 8\.\d s, but its sound and picture end at \d\.\d s"):
        load_audio(cut)


def _placed(offsets: list[int], n: int = 1024, rate: int = 48_000) -> np.ndarray:
    """Frames k = 0, 1, ... of n samples of value k + 1, stamped at k * n + offsets[k], as placed."""
    def frames():
        for k, offset in enumerate(offsets):
            frame = av.AudioFrame.from_ndarray(np.full((1, n), k + 1, np.float32), format="fltp", layout="mono")
            frame.sample_rate, frame.time_base, frame.pts = rate, Fraction(1, rate), k * n + offset
            yield frame
    resampler = av.AudioResampler(format="fltp", layout="mono", rate=rate)
    return np.concatenate(list(placed_samples(frames(), resampler)), axis=1)[0]


def test_audio_is_placed_on_its_timestamps_after_a_gap_or_an_overlap():
    steady = _placed([0, 0, 0, 0])
    assert np.array_equal(steady, np.repeat(np.arange(1, 5, dtype=np.float32), 1024))
    gap = _placed([0, 0, 2400, 2400])  # 50 ms of packets missing before the third frame
    assert len(gap) == 4 * 1024 + 2400 and not gap[2048:2048 + 2400].any() and gap[2048 + 2400] == 3
    overlap = _placed([0, 0, -1200, -1200])  # the third frame starts 25 ms before the second ends
    assert len(overlap) == 4 * 1024 - 1200 and overlap[2047] == 2 and overlap[2048] == 4


def test_a_clock_that_starts_again_is_a_clear_error(tmp_path):
    """Two MPEG-TS files joined with `cat`: the second one's timestamps start again, 6 s back."""
    with pytest.raises(MediaError, match="run back 6.0 s at 3.0 s"):
        _placed([0, 0, -48_000 * 6, -48_000 * 6], n=48_000)
    with pytest.raises(MediaError, match="leap ahead 7200.0 s at 3.0 s"):  # MPEG-TS across a programme change
        _placed([0, 0, 48_000 * 7200, 48_000 * 7200], n=48_000)
    pieces = []
    for n in range(2):
        pieces.append(tmp_path / f"{n}.ts")
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "sine=frequency=440:duration=3", "-c:a", "aac",
                        str(pieces[-1])], check=True)
    (tmp_path / "cat.ts").write_bytes(b"".join(p.read_bytes() for p in pieces))
    with pytest.raises(MediaError, match="cat.ts: the audio's timestamps run back .* remux it first"):
        load_audio(tmp_path / "cat.ts")


def test_one_stray_timestamp_moves_no_audio():
    """Vorbis in Ogg stamps a frame here and there ~10 ms off; a single stamp off by more (even
    seconds: a damaged packet) is ignored too."""
    assert np.array_equal(_placed([0, 0, 1500, 0, -1500, 0, -48_000 * 6, 0]), _placed([0] * 8))
