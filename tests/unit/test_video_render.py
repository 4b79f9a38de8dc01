"""Rendering real media: lengths match the kept spans, cuts are frame-exact, audio fades, sources untouched."""
import subprocess
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
import pytest

from padl_lib.video.media import TIMESTAMP_SLACK, MediaError, load_audio, probe, sha256_file, track_offset
from padl_lib.video.render import AUDIO_ONLY, frame_grid, render, span_frame_counts, transition_windows
from padl_lib.video import render_audio
from padl_lib.video.render_audio import BLOCK_SECONDS, apply_fades, cut_blocks
from padl_lib.video.samples import SCREENCAST
from padl_lib.video.smart import AvcConfig, Piece, parameter_set_id, plan_pieces
from padl_lib.video.sync_check import SYNC_SOURCES, SYNC_SPANS, make_sync_video, sync_errors

SPANS = [(0.5, 2.0), (3.0, 4.2), (1.0, 1.5), (6.0, 8.3)]
SCREENCAST_AVI = "/usr/share/forensics-samples/original-files/movie2/movie-hello.avi"


def make_counter_video(path: Path, extra: list[str]) -> Path:
    """4 s of ffmpeg's testsrc2 (every frame differs) at 25 fps with a steady 440 Hz tone."""
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4",
                    "-c:v", "libx264", "-g", "25", "-pix_fmt", "yuv420p", "-c:a", "aac", *extra, "-shortest",
                    str(path)], check=True)
    return path


@pytest.fixture(scope="module", params=["b-frames", "no-b-frames"])
def counter_video(request, tmp_path_factory) -> Path:
    """The counter video with B-frames and without (smart render copies GOPs of both)."""
    extra = ["-bf", "0"] if request.param == "no-b-frames" else []
    return make_counter_video(tmp_path_factory.mktemp("media") / f"{request.param}.mp4", extra)


def decoded_frames(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="gray").astype(np.float32) for f in c.decode(video=0)]


def counted_frames(path: Path) -> int:
    with av.open(str(path)) as c:
        return sum(1 for _ in c.decode(video=0))


def test_screencast_render_matches_kept_spans_and_leaves_source_untouched(tmp_path):
    before = sha256_file(SCREENCAST)
    result = render(SCREENCAST, SPANS, tmp_path / "out.mp4")
    info = probe(result.path)
    expected = sum(b - a for a, b in SPANS)
    frame = 1 / 30
    assert abs(result.duration - expected) <= frame
    assert abs(info.duration - expected) <= frame
    assert abs(counted_frames(result.path) / 30 - expected) <= frame
    assert abs(len(load_audio(result.path)) / 16_000 - expected) <= frame
    assert sha256_file(SCREENCAST) == before
    assert not list(tmp_path.glob("*.part"))


@pytest.mark.parametrize("smart", [True, False])
def test_cuts_are_frame_exact(counter_video, tmp_path, smart):
    spans = [(0.4, 1.0), (2.2, 3.5), (0.0, 0.2), (1.1, 4.0)]
    result = render(counter_video, spans, tmp_path / "cut.mp4", smart=smart)
    out = result.path
    assert result.strategy.startswith("smart" if smart else "re-encoded")
    if smart:
        copied = int(result.strategy.split()[1])
        assert 0 < copied < result.frames
    assert_frames_are_the_kept_ones(counter_video, spans, out)


def assert_frames_are_the_kept_ones(source_path: Path, spans, out: Path, fps: int = 25) -> None:
    """`out` decodes cleanly; its frames last as long as the spans, and each is the source frame
    on screen at the source time its middle maps to (within 1 ms)."""
    errors = subprocess.run(["ffmpeg", "-v", "error", "-i", str(out), "-f", "null", "-"],
                            capture_output=True, text=True)
    assert errors.returncode == 0 and not errors.stderr
    source, grid = decoded_frames(source_path), frame_grid(source_path)
    with av.open(str(out)) as c:
        times = [f.time for f in c.decode(video=0)]
    rendered = decoded_frames(out)
    offsets = np.cumsum([0] + [b - a for a, b in spans])
    assert abs(times[-1] + 1 / fps - offsets[-1]) <= 1 / fps
    for frame, t in zip(rendered, times):
        middle = t + 0.5 / fps
        j = min(int(np.searchsorted(offsets, middle, side="right")) - 1, len(spans) - 1)
        shown = spans[j][0] + middle - offsets[j]
        allowed = {int(np.searchsorted(grid, shown + d, side="right")) - 1 for d in (-1e-3, 1e-3)}
        near = range(max(0, min(allowed) - 3), min(len(source), max(allowed) + 4))
        assert min(near, key=lambda k: np.mean((frame - source[k]) ** 2)) in allowed


@pytest.mark.parametrize("suffix, codecs", [(".ts", ["-g", "250"]), (".mpg", ["-c:v", "mpeg2video", "-c:a", "mp2"])])
def test_cuts_are_frame_exact_where_the_container_seeks_by_bytes(tmp_path, suffix, codecs):
    """MPEG-TS (one keyframe, streams starting at 1.4 s) and MPEG-PS seek by bytes and land after
    their target; the render must still start every span at its own frame."""
    source = make_counter_video(tmp_path / f"counter{suffix}", codecs)
    spans = [(0.4, 1.0), (2.2, 3.5), (0.0, 0.2), (1.1, 4.0)]
    result = render(source, spans, tmp_path / "cut.mp4")
    assert_frames_are_the_kept_ones(source, spans, result.path)


def test_containers_that_hide_their_length_or_cannot_seek_render_every_kept_frame(tmp_path):
    """A browser's MediaRecorder WebM says no duration (the span check read 0 s), the screencast's
    H.264 AVI shows its first keyframe at pts 2 (no seek found a keyframe 'before' 0 s), and an
    MKV cut short may not seek at all (smart render's scan failed)."""
    streamed = tmp_path / "recorded.webm"
    with open(streamed, "wb") as pipe:
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
                        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4", "-c:v", "libvpx",
                        "-deadline", "realtime", "-c:a", "libopus", "-f", "webm", "pipe:1"], stdout=pipe, check=True)
    assert probe(streamed).duration == 0.0
    avi = Path(SCREENCAST_AVI)
    whole = make_counter_video(tmp_path / "whole.mkv", [])
    cut_short = tmp_path / "cut-short.mkv"
    cut_short.write_bytes(whole.read_bytes()[:whole.stat().st_size * 3 // 4])
    spans = [(0.0, 0.6), (2.2, 2.8), (1.0, 1.4)]
    for source in (streamed, avi, cut_short):
        result = render(source, spans, tmp_path / f"{source.stem}-cut.mp4")
        assert abs(probe(result.path).duration - sum(b - a for a, b in spans)) <= 0.04
        if source != avi:  # the screencast's frames repeat: which one was kept cannot be told by looking
            assert_frames_are_the_kept_ones(source, spans, result.path)


@pytest.mark.parametrize("suffix", [".mp4", ".ts"])
def test_frame_edges_on_slot_centres_keep_every_frame_on_its_own_slot(tmp_path, suffix):
    """Spans placed so that their frames' edges fall on output slot centres (0.34 s is 8.5 frames
    at 25 fps; word times in ms meet the frame grid so often): each frame still gets a slot of its
    own, on the 25 fps grid. Float error there gave frames half a slot apart, and MP4 rejected
    an MPEG-TS source's frames on one tick."""
    source = make_counter_video(tmp_path / f"counter{suffix}", [])
    spans = [(0.0, 0.34), (2.0, 3.0), (0.6, 1.3)]
    result = render(source, spans, tmp_path / "out.mp4")
    with av.open(str(result.path)) as c:
        stream = c.streams.video[0]
        times = sorted(p.pts * stream.time_base for p in c.demux(stream) if p.pts is not None)
    assert len(set(times)) == len(times) == result.frames and all((t * 25).denominator == 1 for t in times)
    if suffix == ".mp4":  # every frame 1/25 s long: none dropped (MPEG-TS holds its late first frame)
        assert set(np.diff(times)) == {Fraction(1, 25)}
    assert_frames_are_the_kept_ones(source, spans, result.path)


def test_every_cut_fades_the_audio(counter_video, tmp_path):
    out = render(counter_video, [(0.5, 1.5), (2.5, 3.5)], tmp_path / "fade.mp4", fade=0.01).path
    with av.open(str(out)) as c:
        rate = c.streams.audio[0].rate
    audio = load_audio(out, sample_rate=rate)
    cut = int(1.0 * rate)
    rms = lambda a, b: float(np.sqrt(np.mean(audio[a:b] ** 2)))  # noqa: E731
    steady = rms(cut - int(0.2 * rate), cut - int(0.1 * rate))
    at_cut = rms(cut - int(0.002 * rate), cut + int(0.002 * rate))
    assert steady > 0.05  # ffmpeg sine: amplitude 1/8
    assert at_cut < 0.3 * steady


def test_a_video_render_keeps_every_audio_track_cut_alike(tmp_path):
    """OBS records the microphone and the desktop's sound on tracks of their own: a video render
    keeps each track, cut at the same spans and with its title; one that starts later than the
    first stays in sync with it."""
    media = tmp_path / "tracks.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=4",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4",
                    "-f", "lavfi", "-i", "aevalsrc=0.1*t*sin(2*PI*880*t):s=48000:d=4",  # its level tells the time
                    "-itsoffset", "1", "-f", "lavfi", "-i", "aevalsrc=0.1*t*sin(2*PI*660*t):s=48000:d=3",  # from 1 s
                    "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:a", "-c:v", "libx264", "-g", "25",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", "-metadata:s:a:1", "title=desktop", str(media)], check=True)
    out = render(media, [(0.5, 1.5), (2.5, 3.5)], tmp_path / "out.mp4").path
    with av.open(str(out)) as c:
        assert len(c.streams.audio) == 3 and "desktop" in c.streams.audio[1].metadata.values()
        assert all(abs(track_offset(c, track)) < 0.001 for track in range(3))  # the render starts them together
    for track, starts in ((1, 0.0), (2, 1.0)):
        sound = load_audio(out, sample_rate=48000, track=track)
        level = lambda t: float(np.sqrt(2 * np.mean(sound[int((t - 0.1) * 48000):int((t + 0.1) * 48000)] ** 2)))  # noqa: E731
        # output 0.5 s and 1.5 s show source 1 s and 3 s: the track's own times 1 - starts and 3 - starts
        assert level(0.5) == pytest.approx(0.1 * (1 - starts), abs=0.01)
        assert level(1.5) == pytest.approx(0.1 * (3 - starts), abs=0.01)
    assert np.abs(load_audio(out, sample_rate=48000)).max() > 0.1  # the first track's tone
    draft = render(media, [(0.5, 1.5)], tmp_path / "draft.mp4", draft=True, audio_track=1).path
    with pytest.raises(MediaError, match=r"audio track 3 of .* starts \+[01]\.\d+ s from the first"):
        load_audio(media, track=2)  # transcript times are the first track's: a later one cannot be transcribed
    with av.open(str(draft)) as c:  # a preview keeps the transcript's track alone
        assert len(c.streams.audio) == 1


def test_fade_shape_is_a_raised_cosine_at_both_sides_of_a_join():
    pieces = [np.ones((1, 1000), np.float32), np.ones((1, 1000), np.float32)]
    joined = apply_fades(pieces, rate=1000, fade=0.01, fade_first=False, fade_last=False)[0]
    assert joined[0] == 1 and joined[-1] == 1
    assert joined[999] < 0.05 and joined[1000] == 0
    assert np.all(np.diff(joined[990:1000]) < 0) and np.all(np.diff(joined[1000:1010]) > 0)


def test_transitions_keep_the_length_and_change_only_frames_around_cuts(counter_video, tmp_path):
    spans = [(0.0, 1.0), (2.0, 3.0)]
    plain = decoded_frames(render(counter_video, spans, tmp_path / "plain.mp4").path)
    for kind in ("dissolve", "morph"):
        mixed = decoded_frames(render(counter_video, spans, tmp_path / f"{kind}.mp4", transition=kind).path)
        assert len(mixed) == len(plain) == 50
        changed = [i for i, (a, b) in enumerate(zip(plain, mixed)) if np.mean(np.abs(a - b)) > 2]
        assert changed and set(changed) <= set(range(*transition_windows([25, 25], 3)[0]))


def test_webm_output_is_vp9_and_opus_with_the_kept_frames(counter_video, tmp_path):
    spans = [(0.4, 1.0), (2.2, 3.5)]
    result = render(counter_video, spans, tmp_path / "cut.webm")
    with av.open(str(result.path)) as c:
        assert (c.streams.video[0].codec_context.name, c.streams.audio[0].codec_context.name) == ("vp9", "opus")
    expected = sum(span_frame_counts(result.spans, frame_grid(counter_video)))  # spans snapped to frames
    assert result.frames == counted_frames(result.path) == expected
    assert len(load_audio(result.path)) / 16_000 == pytest.approx(expected / 25, abs=0.03)


def test_audio_only_media_renders_audio(tmp_path):
    wav = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav")
    result = render(wav, [(0.2, 1.0), (1.5, 2.5)], tmp_path / "short.wav")
    assert not probe(result.path).has_video
    assert len(load_audio(result.path)) / 16_000 == pytest.approx(1.8, abs=1e-3)


@pytest.mark.parametrize("rate, suffix, encoded", [(96_000, ".mp3", 48_000), (192_000, ".m4a", 96_000),
                                                    (44_100, ".ogg", 48_000), (22_050, ".mp3", 22_050)])
def test_an_output_format_that_cannot_hold_the_source_rate_gets_the_next_it_can(tmp_path, rate, suffix, encoded):
    """MP3 stops at 48 kHz and AAC at 96 kHz: a studio recording at 96 or 192 kHz is resampled."""
    source = tmp_path / "studio.flac"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"sine=frequency=440:sample_rate={rate}:duration=3",
                    str(source)], check=True)
    result = render(source, [(0.2, 1.0), (1.5, 2.5)], tmp_path / f"out{suffix}")
    with av.open(str(result.path)) as c:
        assert c.streams.audio[0].codec_context.sample_rate == encoded
    assert len(load_audio(result.path)) / 16_000 == pytest.approx(1.8, abs=0.06)


@pytest.mark.parametrize("suffix, codecs", [(".mp3", ["-c:a", "libmp3lame", "-c:v", "mjpeg"]),
                                            (".m4a", ["-c:a", "aac", "-c:v", "png"])])
def test_cover_art_is_not_video(tmp_path, suffix, codecs):
    """An MP3 or M4A lecture with cover art is audio: it renders, to audio or to an .mp4."""
    wav = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav")
    source = tmp_path / f"talk{suffix}"
    subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-f", "lavfi", "-i", "testsrc2=size=300x300:duration=0.04",
                    "-frames:v", "1", "-map", "0:a", "-map", "1:v", *codecs, "-disposition:v", "attached_pic",
                    str(source)], check=True)
    assert not probe(source).has_video
    for output in ("out.mp4", f"out{suffix}"):
        result = render(source, [(0.2, 1.0), (1.5, 2.5)], tmp_path / output)
        assert result.strategy == "audio only" and not probe(result.path).has_video
        assert len(load_audio(result.path)) / 16_000 == pytest.approx(1.8, abs=0.06)  # mp3/AAC add priming


def rotated_copy(source: Path, path: Path, degrees: int) -> Path:
    """`source` remuxed with a display matrix, as phones store portrait video (sideways, turned upright
    by the player)."""
    with av.open(str(source)) as src, av.open(str(path), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in src.streams if s.type in ("video", "audio")}
        streams[src.streams.video[0].index].set_display_rotation(degrees)
        for packet in src.demux():
            if packet.dts is not None and packet.stream.index in streams:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return path


def first_frame_rotation(path: Path) -> int:
    with av.open(str(path)) as c:
        return next(c.decode(video=0)).rotation


@pytest.mark.parametrize("suffix, smart", [(".mp4", True), (".mp4", False), (".webm", True)])
def test_a_portrait_phone_video_stays_upright(counter_video, tmp_path, suffix, smart):
    source = rotated_copy(counter_video, tmp_path / "phone.mp4", 90)
    assert first_frame_rotation(source) != 0
    result = render(source, [(0.5, 2.0), (2.6, 3.6)], tmp_path / f"out{suffix}", smart=smart)
    assert first_frame_rotation(result.path) == first_frame_rotation(source)


@pytest.mark.parametrize("suffix, smart", [(".mp4", True), (".mp4", False), (".mkv", False), (".webm", True)])
def test_an_anamorphic_video_keeps_its_pixel_aspect_ratio(tmp_path, suffix, smart):
    """PAL widescreen stores 720x576 pixels that players stretch to 16:9; re-encoded with square
    pixels it played squeezed to 5:4. WebM cannot say so: its pixels are made square."""
    source = make_counter_video(tmp_path / "pal.mp4", ["-vf", "scale=720:576,setsar=64/45"])
    result = render(source, [(0.5, 2.0), (2.6, 3.6)], tmp_path / f"out{suffix}", smart=smart,
                    transition="none" if smart else "dissolve")
    with av.open(str(result.path)) as c:
        stream = c.streams.video[0]
        shape = (stream.width * (stream.sample_aspect_ratio or 1), stream.height)
        assert shape == (1024, 576) and stream.height == 576


@pytest.mark.parametrize("smart", [True, False])
@pytest.mark.parametrize("order", ["tff", "bff"])
def test_an_interlaced_video_keeps_its_fields_in_order(tmp_path, order, smart):
    """DV and broadcast TV are interlaced: encoded as progressive frames, players showed the combs."""
    source = make_counter_video(tmp_path / "tv.mp4", ["-flags", "+ildct+ilme", "-x264-params", f"{order}=1"])
    result = render(source, [(0.5, 2.0), (2.6, 3.6)], tmp_path / "out.mp4", smart=smart)
    with av.open(str(result.path)) as c:
        frames = list(c.decode(video=0))
    assert all(f.interlaced_frame for f in frames)
    assert subprocess.run(["ffprobe", "-v", "error", "-select_streams", "v", "-show_entries", "stream=field_order",
                           "-of", "csv=p=0", str(result.path)], capture_output=True, text=True,
                          check=True).stdout.strip() == {"tff": "tt", "bff": "bb"}[order]


def shown_luma(frame: av.VideoFrame) -> float:
    """Mean luma on a 0-255 display scale, whichever range the frame is in."""
    y = frame.to_ndarray()[:frame.height].astype(float)
    return float(y.mean()) if frame.color_range == 2 else float((y.mean() - 16) * 255 / 219)


@pytest.mark.parametrize("smart", [True, False])
@pytest.mark.parametrize("tags", [["-colorspace", "smpte170m", "-color_primaries", "smpte170m", "-color_trc",
                                   "smpte170m"], ["-vf", "scale=out_range=full", "-color_range", "pc"]],
                         ids=["bt601", "full-range"])
def test_colours_look_as_in_the_source(tmp_path, smart, tags):
    """BT.601 SD video and the full range of many phones: tagged and shown as the source is."""
    source = make_counter_video(tmp_path / "source.mp4", tags)
    result = render(source, [(0.48, 2.0), (2.6, 3.6)], tmp_path / "out.mp4", smart=smart)
    with av.open(str(source)) as src, av.open(str(result.path)) as out:
        original = list(src.decode(video=0))
        frames = list(out.decode(video=0))
    assert {(f.colorspace, f.color_primaries, f.color_trc) for f in frames} == {
        (original[0].colorspace, original[0].color_primaries, original[0].color_trc)}
    for n, k in ((0, 12), (len(frames) - 1, 89)):  # first and last kept frame
        assert shown_luma(frames[n]) == pytest.approx(shown_luma(original[k]), abs=1.5)


def test_a_dissolve_keeps_the_colours_of_a_tagged_source(tmp_path):
    """The dissolve blends in RGB; read with BT.709 and written back with BT.601, a red wall turned
    9 levels brighter during it."""
    source = tmp_path / "red.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "color=c=0xC03020:size=320x240:rate=25:duration=3",
                    "-vf", "scale=out_color_matrix=bt709,format=yuv420p", "-c:v", "libx264", "-colorspace", "bt709",
                    "-color_primaries", "bt709", "-color_trc", "bt709", str(source)], check=True)
    result = render(source, [(0.2, 1.2), (1.6, 2.6)], tmp_path / "out.mp4", transition="dissolve")
    with av.open(str(result.path)) as c:
        planes = [f.to_ndarray().astype(float) for f in c.decode(video=0)]
    means = np.array([[p[:240].mean(), p[240:300].mean(), p[300:].mean()] for p in planes])  # Y, U, V
    assert np.abs(means - means[0]).max() <= 3


def test_bad_requests_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="refusing to overwrite"):
        render(SCREENCAST, SPANS, SCREENCAST)
    with pytest.raises(ValueError, match="unknown transition"):
        render(SCREENCAST, SPANS, tmp_path / "x.mp4", transition="wipe")
    with pytest.raises(ValueError, match="5-20 ms"):
        render(SCREENCAST, SPANS, tmp_path / "x.mp4", fade=0.1)
    with pytest.raises(ValueError, match="end > start"):
        render(SCREENCAST, [(2.0, 1.0)], tmp_path / "x.mp4")
    with pytest.raises(ValueError, match=r"span 8.00-9.50 s ends after movie-hello.mp4, which lasts 8.3"):
        render(SCREENCAST, [(1.0, 2.0), (8.0, 9.5)], tmp_path / "x.mp4")
    corrupt = tmp_path / "corrupt.mp4"
    corrupt.write_bytes(b"not a video at all" * 100)
    with pytest.raises(ValueError, match="corrupt|FFmpeg"):
        render(corrupt, SPANS, tmp_path / "y.mp4")


def test_a_recording_joined_from_two_picture_sizes_renders_at_one_size(tmp_path):
    """Pieces of 320x240 and 160x120 joined with -c copy: the MP4's avcC knows only the first size,
    the second comes with its own SPS inside the packets. Copying its GOPs would change the size
    mid-file; everything is re-encoded at the first size instead."""
    for name, size in (("a", "320x240"), ("b", "160x120")):
        subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", f"testsrc2=size={size}:rate=25:duration=2",
                        "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=2", "-c:v", "libx264",
                        "-g", "10", "-pix_fmt", "yuv420p", "-c:a", "aac", str(tmp_path / f"{name}.ts")], check=True)
    (tmp_path / "list.txt").write_text("file 'a.ts'\nfile 'b.ts'\n")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "concat", "-i", str(tmp_path / "list.txt"), "-c", "copy",
                    str(tmp_path / "joined.mp4")], check=True)
    result = render(tmp_path / "joined.mp4", [(0.5, 1.5), (2.3, 3.7)], tmp_path / "out.mp4")
    with av.open(str(result.path)) as c:
        sizes = {(f.width, f.height) for f in c.decode(video=0)}
    assert sizes == {(320, 240)} and result.strategy.startswith("re-encoded (its parameter sets change")


def test_smart_plan_copies_whole_gops_only():
    keys = [0, 12, 24, 36]
    assert plan_pieces([(3, 30)], keys, 48) == [Piece(False, 3, 12), Piece(True, 12, 24), Piece(False, 24, 30)]
    assert plan_pieces([(0, 48)], keys, 48) == [Piece(True, 0, 48)]
    assert plan_pieces([(13, 20), (24, 36)], keys, 48) == [Piece(False, 13, 20), Piece(True, 24, 36)]


def test_avcc_record_round_trips_and_finds_a_free_parameter_set_id():
    with av.open(str(SCREENCAST)) as c:
        extradata = bytes(c.streams.video[0].codec_context.extradata)
    config = AvcConfig.parse(extradata)
    assert config.to_bytes() == extradata
    assert [parameter_set_id(n) for n in config.sps] == [0] and config.free_id() == 1


def test_smart_and_full_re_encode_agree_on_frames(tmp_path):
    spans = [(0.0, 1.9), (4.4, 8.4)]  # the last span runs to the end (past the edit list's discarded packet)
    smart = render(SCREENCAST, spans, tmp_path / "smart.mp4")
    full = render(SCREENCAST, spans, tmp_path / "full.mp4", smart=False)
    assert smart.strategy.startswith("smart") and full.strategy.startswith("re-encoded")
    assert smart.frames == full.frames == counted_frames(smart.path) == counted_frames(full.path)


def test_edit_round_trip_hears_every_kept_word_and_no_deleted_one(tmp_path):
    """Transcribe the real screencast, delete its middle phrase by text, render, transcribe again."""
    from padl_lib.video.edit import edit_list, phrases, shorten_pauses, token_key, tokenize
    from padl_lib.video.transcript import parse_pause_token
    from padl_lib.video.pipeline import transcribe

    transcript = transcribe(SCREENCAST)
    parts = phrases(transcript.text())
    assert len(parts) >= 3
    edited = shorten_pauses(transcript.text().replace(parts[1], "", 1), 0.3)
    edits = edit_list(transcript, edited, audio=load_audio(SCREENCAST))
    output = render(SCREENCAST, edits.source_spans(), tmp_path / "edited.mp4").path
    heard = [token_key(w.text) for w in transcribe(output).words if w.kind == "word"]
    assert heard == [token_key(t) for t in tokenize(edited) if parse_pause_token(t) is None]
    assert not set(heard) & {token_key(t) for t in parts[1].split()}


@pytest.mark.parametrize("smart", [True, False])
def test_variable_frame_rate_stays_in_sync(tmp_path, smart):
    """4 of every 10 frames dropped (a phone-like VFR recording): frames keep their own times."""
    vfr = make_counter_video(tmp_path / "vfr.mp4", ["-vf", "select='lt(mod(n,10),6)'", "-fps_mode", "vfr"])
    spans = [(0.5, 2.7), (3.1, 3.9)]
    result = render(vfr, spans, tmp_path / "out.mp4", smart=smart)
    grid = frame_grid(vfr)
    assert result.frames == counted_frames(result.path) == sum(span_frame_counts(result.spans, grid))
    with av.open(str(result.path)) as c:
        video, audio = c.streams.video[0], c.streams.audio[0]
        video_seconds, audio_seconds = float(video.duration * video.time_base), float(audio.duration * audio.time_base)
    assert abs(video_seconds - result.duration) <= 1 / 25 and abs(audio_seconds - result.duration) <= 1 / 25


@pytest.mark.parametrize("smart", [True, False])
@pytest.mark.parametrize("source", SYNC_SOURCES, ids=lambda source: source.name)
def test_every_beep_meets_its_flash_after_cuts(tmp_path, source, smart):
    """Lip sync: after cuts, every beep starts within half a frame (25 fps) of its white frame."""
    result = render(make_sync_video(tmp_path, source), SYNC_SPANS, tmp_path / "out.mp4", smart=smart)
    errors = sync_errors(result.path)
    assert len(errors) >= 5 and errors.max() <= 0.021, errors


@pytest.mark.parametrize("source", [s for s in SYNC_SOURCES if s.name.endswith(".mp4")], ids=lambda s: s.name)
def test_sync_holds_where_the_audio_is_decoded_from_a_seek(tmp_path, source):
    """Spans late in an MP4 recording: its audio is decoded from shortly before them."""
    result = render(make_sync_video(tmp_path, source, seconds=24), [(14.3, 15.6), (20.5, 21.5), (10.3, 11.7)],
                    tmp_path / "out.mp4")
    errors = sync_errors(result.path)
    assert len(errors) >= 5 and errors.max() <= 0.021, errors


def joined_recording(folder: Path) -> Path:
    """Three flash-and-beep recordings joined with `ffmpeg -f concat -c copy`: each keeps its AAC
    encoder delay, so the audio packets overlap by some 20 ms at every join."""
    piece = make_sync_video(folder, SYNC_SOURCES[0], seconds=8)
    (folder / "list.txt").write_text(f"file '{piece}'\n" * 3)
    subprocess.run(["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(folder / "list.txt"),
                    "-c", "copy", str(folder / "joined.mp4")], check=True)
    return folder / "joined.mp4"


def dropped_recording(folder: Path) -> Path:
    """A flash-and-beep recording whose audio packets from 3 to 3.5 s are missing (dropped sound)."""
    source, path = make_sync_video(folder, SYNC_SOURCES[0], seconds=12), folder / "dropped.mp4"
    with av.open(str(source)) as inp, av.open(str(path), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        for packet in inp.demux():
            at = None if packet.pts is None else packet.pts * packet.time_base
            lost = packet.stream.type == "audio" and at is not None and 3.0 <= at < 3.5
            if packet.dts is not None and not lost:
                packet.stream = streams[packet.stream.index]
                out.mux(packet)
    return path


def resampled_recording(folder: Path) -> Path:
    """A 48 kHz mono flash-and-beep recording joined with its copy at 44.1 kHz stereo (-c copy, into
    MPEG-TS, which may change them): the decoder changes its rate and channels midway."""
    piece = make_sync_video(folder, SYNC_SOURCES[0], seconds=8)
    for name, options in (("a.ts", []), ("b.ts", ["-ar", "44100", "-ac", "2"])):
        subprocess.run(["ffmpeg", "-v", "error", "-i", str(piece), "-c:v", "copy", "-c:a", "aac", *options,
                        str(folder / name)], check=True)
    (folder / "list.txt").write_text("file 'a.ts'\nfile 'b.ts'\n")
    subprocess.run(["ffmpeg", "-v", "error", "-f", "concat", "-i", str(folder / "list.txt"), "-c", "copy",
                    str(folder / "resampled.ts")], check=True)
    return folder / "resampled.ts"


@pytest.mark.parametrize("make", [joined_recording, dropped_recording], ids=["joined", "dropped"])
def test_audio_whose_packets_overlap_or_leave_gaps_stays_in_sync(tmp_path, make):
    """Decoders hand out one sample after another; the audio is kept on its timestamps instead."""
    media = make(tmp_path)
    source_errors = sync_errors(media)  # `load_audio`, the transcript's clock, against the picture
    assert len(source_errors) >= 10 and source_errors.max() <= 0.021, source_errors
    spans = [(0.9, 2.3), (6.4, 7.5), (9.5, 11.0)]
    for smart in (True, False):
        errors = sync_errors(render(media, spans, tmp_path / f"out-{smart}.mp4", smart=smart).path)
        assert len(errors) >= 5 and errors.max() <= 0.021, errors


def test_audio_that_changes_its_rate_and_channels_midway_is_decoded(tmp_path):
    media = resampled_recording(tmp_path)
    assert len(load_audio(media)) / 16_000 == pytest.approx(16.0, abs=0.1)
    errors = sync_errors(render(media, [(0.9, 2.3), (9.5, 11.0), (13.0, 15.0)], tmp_path / "out.mp4").path)
    # the pieces' own tracks lie apart (MPEG-TS does not say how long AAC's encoder delay is, and the
    # concat demuxer starts the second piece after the longer track of the first): within a frame
    assert len(errors) >= 6 and errors.max() <= 0.04, errors


@pytest.mark.parametrize("source", [s for s in SYNC_SOURCES if not s.name.endswith(".mp4")], ids=lambda s: s.name)
def test_a_draft_decodes_audio_from_a_seek_in_any_container_and_keeps_sync(tmp_path, source, monkeypatch):
    """Previews late in Matroska and MPEG-TS recordings seek too; their audio may lie a few ms off."""
    seeks = []
    seek_near = render_audio._seek_near
    monkeypatch.setattr(render_audio, "_seek_near", lambda *args: seeks.append(seek_near(*args)) or seeks[-1])
    media, spans = make_sync_video(tmp_path, source, seconds=24), [(14.3, 15.6), (20.5, 21.5), (10.3, 11.7)]
    draft = render(media, spans, tmp_path / "draft.mp4", draft=True)
    exact = render(media, spans, tmp_path / "exact.mp4")
    assert seeks == [True, False] and draft.strategy == "re-encoded (draft)"
    errors = sync_errors(draft.path)
    assert len(errors) >= 5 and errors.max() <= 0.021, errors
    a, b = load_audio(draft.path), load_audio(exact.path)
    n = min(len(a), len(b)) - 200
    fit = [np.corrcoef(a[100:100 + n], b[100 + k:100 + k + n])[0, 1] for k in range(-80, 81)]  # +-5 ms at 16 kHz
    assert max(fit) > 0.9  # the same audio, shifted by at most 5 ms


@pytest.mark.parametrize("codec", [("wav", "pcm_s16le"), ("mp3", "libmp3lame"), ("flac", "flac"),
                                   ("ogg", "libvorbis"), ("opus", "libopus")], ids=lambda codec: codec[0])
def test_a_draft_of_an_audio_file_seeks_and_keeps_its_audio_to_the_sample(tmp_path, codec, monkeypatch):
    """Previews late in a podcast-style recording decode from a seek: the same samples as exactly."""
    suffix, encoder = codec
    speech = sorted(Path("/usr/share/pocketsphinx/test/data/librivox").glob("*.wav"))
    media = tmp_path / f"talk.{suffix}"
    subprocess.run(["ffmpeg", "-v", "error", *[a for w in speech for a in ("-i", str(w))], "-filter_complex",
                    f"concat=n={len(speech)}:v=0:a=1,aresample=48000", "-c:a", encoder, str(media)], check=True)
    seeks = []
    seek_near = render_audio._seek_near
    monkeypatch.setattr(render_audio, "_seek_near", lambda *args: seeks.append(seek_near(*args)) or seeks[-1])
    spans = [(12.3, 14.1), (20.2, 21.0)]
    draft = render(media, spans, tmp_path / "draft.wav", draft=True)
    exact = render(media, spans, tmp_path / "exact.wav")
    assert seeks == [True, False]
    a, b = load_audio(draft.path), load_audio(exact.path)
    assert len(a) == len(b) and np.abs(a - b).max() < 1e-3


def test_audio_after_the_video_ends_keeps_the_last_frame(tmp_path):
    source = tmp_path / "short-video.mp4"
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=320x240:rate=25:duration=3",
                    "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=48000:duration=4", "-c:v", "libx264",
                    "-pix_fmt", "yuv420p", "-c:a", "aac", str(source)], check=True)
    result = render(source, [(1.0, 1.5), (3.3, 3.8)], tmp_path / "out.mp4")
    assert len(load_audio(result.path)) / 16_000 == pytest.approx(1.0, abs=0.03)
    rendered, last = decoded_frames(result.path), decoded_frames(source)[-1]
    assert len(rendered) == 13 and np.mean((rendered[-1] - last) ** 2) < 1.0


def test_render_attributable_misses_are_those_the_splice_heard():
    from padl_lib.video.render_bench import render_attributable

    result = {"missing": ["he", "ill", "he"], "splice": {"missing": ["ill", "he", "young"]}}
    assert render_attributable(result) == ["he"]
    assert render_attributable({"missing": [], "splice": {"missing": ["x"]}}) == []


@pytest.mark.parametrize("suffix", sorted(AUDIO_ONLY))
def test_every_audio_output_type_renders_the_kept_audio(tmp_path, suffix):
    wav = Path("/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-0880.wav")
    result = render(wav, [(1.5, 2.5), (0.2, 1.0)], tmp_path / f"short{suffix}")
    assert probe(result.path).has_audio
    assert len(load_audio(result.path)) / 16_000 == pytest.approx(1.8, abs=0.06)  # mp3/AAC add priming


@pytest.mark.parametrize("suffix", [".m4a", ".mp3", ".ogg"])
@pytest.mark.parametrize("speech", ["/usr/share/pocketsphinx/test/data/librivox/sense_and_sensibility_01_austen_64kb-"
                                    "0880.wav", "/usr/share/forensics-samples/original-files/audio2/deleted.wav"])
def test_lossy_audio_keeps_its_coding_noise_20_db_under_the_voice(tmp_path, suffix, speech):
    """16 kHz read speech and a 44.1 kHz voice: the encoders' default rates left the noise 12 and 17 dB under."""
    span = (0.2, 1.6)
    voice = load_audio(speech)[round(span[0] * 16_000):round(span[1] * 16_000)]
    coded = load_audio(render(speech, [span], tmp_path / f"out{suffix}").path)[:len(voice)]
    inner = slice(1600, len(voice) - 1600)  # away from the fades
    noise_db = 10 * np.log10(np.mean((coded[inner] - voice[inner]) ** 2) / np.mean(voice[inner] ** 2))
    assert noise_db < -20


def test_the_audio_of_a_long_render_is_streamed_from_a_scratch_file(tmp_path):
    rate, seconds = 48_000, 12.0
    tone = (0.1 * np.sin(2 * np.pi * 220 * np.arange(int(rate * seconds)) / rate)).astype(np.float32)
    blocks = list(cut_blocks(np.stack([tone, tone]), rate, [(0.0, 11.0), (11.5, 12.0)], fade=0.01))
    assert max(b.shape[1] for b in blocks) <= BLOCK_SECONDS * rate
    joined = np.concatenate(blocks, axis=1)
    assert joined.shape == (2, int(11.5 * rate))
    assert apply_fades([np.stack([tone, tone])[:, :11 * rate], np.stack([tone, tone])[:, int(11.5 * rate):]],
                       rate, 0.01, fade_first=False, fade_last=False) == pytest.approx(joined)


def damaged_copy(source: Path, path: Path, audio_packets: range, video_packets: range) -> Path:
    """`source` remuxed with the payload of some packets replaced by random bytes (a damaged
    recording: a failing card, a crashed recorder), their timestamps kept."""
    rng = np.random.default_rng(0)
    with av.open(str(source)) as inp, av.open(str(path), "w") as out:
        streams = {s.index: out.add_stream_from_template(s) for s in inp.streams}
        seen = {"audio": 0, "video": 0}
        for packet in inp.demux():
            if not packet.size:
                continue
            kind, index = packet.stream.type, packet.stream.index
            if seen[kind] in (audio_packets if kind == "audio" else video_packets):
                garbage = av.Packet(rng.integers(0, 256, packet.size, dtype=np.uint8).tobytes())
                garbage.pts, garbage.dts, garbage.time_base = packet.pts, packet.dts, packet.time_base
                packet = garbage
            seen[kind] += 1
            packet.stream = streams[index]
            out.mux(packet)
    return path


def test_a_recording_with_corrupt_packets_is_transcribed_and_rendered_with_a_warning(tmp_path):
    """ffmpeg passes over packets its decoders refuse; padl refused the whole recording ("the
    audio track is corrupt"). Now the sound there is silence, a lost frame's slot shows the frame
    before, and timing stays: the same length of sound, the same number of frames."""
    clean = make_counter_video(tmp_path / "clean.mp4", ["-bf", "0"])
    damaged = damaged_copy(clean, tmp_path / "damaged.mp4", audio_packets=range(60, 64), video_packets=range(37, 39))
    with pytest.warns(UserWarning, match=r"damaged.mp4: 4 of \d+ audio packets are corrupt near 1\.3 s"):
        audio = load_audio(damaged)
    reference = load_audio(damaged_copy(clean, tmp_path / "remuxed.mp4", range(0), range(0)))
    assert abs(len(audio) - len(reference)) <= TIMESTAMP_SLACK * 16_000  # sound stays where its timestamps put it
    quiet = np.abs(audio[int(1.2 * 16_000):int(1.45 * 16_000)]) < 1e-3  # the tone is lost for 4 AAC frames
    assert np.convolve(quiet, np.ones(int(0.06 * 16_000)), "valid").max() == int(0.06 * 16_000)  # 60 ms of silence
    with pytest.warns(UserWarning, match=r"2 of \d+ video packets are corrupt near 1\.[56] s .*frame before them held"):
        result = render(damaged, [(1.0, 2.0), (3.0, 3.6)], tmp_path / "out.mp4", smart=False)
    frames = decoded_frames(result.path)
    assert result.frames == len(frames) == 25 + 15
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    assert steps[11] < 0.2 * np.median(steps) and steps[12] < 0.2 * np.median(steps)  # 1.48, 1.52 s: 1.44's held
    with pytest.warns(UserWarning, match="video packets are corrupt"):  # lost at a span's start: 1.56's shown
        frames = decoded_frames(render(damaged, [(1.48, 2.0)], tmp_path / "start.mp4", smart=False).path)
    steps = [np.abs(b - a).mean() for a, b in zip(frames, frames[1:])]
    assert len(frames) == 13 and max(steps[:2]) < 0.2 * np.median(steps)
