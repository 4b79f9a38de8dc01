"""Export an edit for other tools: CMX 3600 EDL and FCPXML (OpenTimelineIO), subtitles of the edit.

The timeline has one track of clips that all reference the source media; each clip's source
range is one kept span, rounded to whole frames. Editors (Resolve, Premiere, Final Cut, Kdenlive)
relink the media by its path. Subtitles are the kept words moved onto the edited timeline.

EDL timecode and OpenTimelineIO's FCPXML writer know only the broadcast rates (`TIMECODE_RATES`,
`FCPXML_RATES`); a video at another rate gets the timeline rate of which its own is a divisor
(a 15 fps screen recording: 30, each frame two), else the rate within 1 % of its own (a
variable frame rate phone video at 29.8: 30). A file's start timecode (a camera's, or one an
editor wrote) is where EDL and OTIO source times count from, as editors match them to the media.
"""
from __future__ import annotations

import os
import re
from collections.abc import Sequence
from fractions import Fraction
from pathlib import Path
from xml.etree import ElementTree

import av
import opentimelineio as otio

from padl_lib.io import atomic_path
from padl_lib.video.edit import EditList
from padl_lib.video.media import probe
from padl_lib.video.render import frame_grid, frame_rate, video_start
from padl_lib.video.transcript import Transcript

ADAPTERS = {".edl": "cmx_3600", ".fcpxml": "fcpx_xml", ".otio": "otio_json"}
AUDIO_ONLY_RATE = Fraction(25)
NTSC = Fraction(1000, 1001)
TIMECODE_RATES = tuple(Fraction(r) for r in (24 * NTSC, 24, 25, 30 * NTSC, 30, 48, 50, 60 * NTSC, 60))
FCPXML_RATES = tuple(r for r in TIMECODE_RATES if r != 48)
RATES = {"cmx_3600": TIMECODE_RATES, "fcpx_xml": FCPXML_RATES, "otio_json": None}  # None: any rate
NEAR_RATE = 0.01  # a rate this close to a supported one is taken for it
FCPXML_TIMES = ("offset", "start", "duration", "tcStart")  # attributes that hold times
FCPXML_HEADER = '<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n'

EVENT_CHANNEL = re.compile(r"^(\d{3,}  .{8} )V     ", re.MULTILINE)  # "001  REEL     V     C  ..."
__all__ = ["timeline", "timeline_rate", "timeline_text", "write_timeline", "write_subtitles", "edited_transcript",
           "start_timecode"]


def timeline_rate(rate: Fraction, supported: Sequence[Fraction] | None) -> Fraction:
    """The timeline rate for video at `rate` in a format that knows only the `supported` rates
    (None: any): `rate` itself, else its smallest supported multiple, else a supported rate within
    NEAR_RATE of it; ValueError if none."""
    if supported is None or rate in supported:
        return rate
    multiples = [r for r in supported if (r / rate).denominator == 1]
    near = [r for r in supported if abs(r / rate - 1) <= NEAR_RATE]
    if not multiples + near:
        names = ", ".join(f"{float(r):.3g}" for r in supported)
        raise ValueError(f"this format knows only timelines at {names} fps, which a {float(rate):.4g} fps video "
                         f"does not fit: export an .otio timeline instead")
    return min(multiples) if multiples else min(near, key=lambda r: abs(r - rate))


def timeline(edits: EditList, media: str | os.PathLike, name: str = "padl edit",
             adapter: str = "otio_json") -> otio.schema.Timeline:
    """An OpenTimelineIO timeline of the kept spans of `media` in output order (video and audio
    tracks), at the video's frame rate (25 for audio), or the rate `timeline_rate` picks for
    the OTIO `adapter` that will write it (see ADAPTERS)."""
    media = Path(media).resolve()
    info = probe(media)
    has_video, has_audio = info.has_video, info.has_audio
    own = frame_rate(frame_grid(media)) if has_video else AUDIO_ONLY_RATE
    # editors count a file's time from its first video frame, padl from its first audio sample
    start = video_start(media) if has_video else 0.0
    exact = timeline_rate(own, RATES[adapter])
    # OTIO's FCPXML writer finds NTSC rates by their names (29.97), not their values
    rate = float(round(exact, 2)) if adapter == "fcpx_xml" else float(exact)

    per_frame = exact / own  # timeline frames per video frame
    # a camera's (or editor's) start timecode: the source times editors show count from it. OTIO's
    # FCPXML writer places every asset's media at 0 s, so FCPXML times stay counted from the start
    first_frame = _timecode_frames(media, own) if has_video and adapter != "fcpx_xml" else 0

    def frame(t: float) -> int:  # on a frame of the video: a multiple of frames stays whole
        t = max(0.0, t - start)
        frames = round(t * own) + first_frame
        return frames * int(per_frame) if per_frame.denominator == 1 else round(frames / own * exact)

    available = otio.opentime.TimeRange(otio.opentime.RationalTime(frame(0.0), rate),
                                        otio.opentime.RationalTime(frame(edits.source_duration) - frame(0.0), rate))
    reel = (re.sub(r"[^A-Za-z0-9]", "", media.stem).upper() or "PADL")[:8]
    result = otio.schema.Timeline(name=name, metadata={"padl": {"rate": str(exact)}})
    kinds = [(otio.schema.TrackKind.Video, "V1")] * has_video + [(otio.schema.TrackKind.Audio, "A1")] * has_audio
    for kind, track_name in kinds:
        track = otio.schema.Track(name=track_name, kind=kind)
        for n, span in enumerate(edits.spans, start=1):
            first, last = frame(span.start), frame(span.end)
            if last > first:
                track.append(otio.schema.Clip(
                    name=_clip_name(media, n),
                    media_reference=otio.schema.ExternalReference(target_url=media.as_uri(),
                                                                  available_range=available),
                    source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(first, rate),
                                                         otio.opentime.RationalTime(last - first, rate)),
                    metadata={"cmx_3600": {"reel": reel}}))
        result.tracks.append(track)
    return result


def start_timecode(media: str | os.PathLike) -> str | None:
    """The start timecode a file is tagged with ("01:00:00:00"; ";" before the frames if drop
    frame): the container's, else its video's, else a timecode track's; None if untagged."""
    with av.open(str(media)) as container:
        tags = [container.metadata, *(s.metadata for s in container.streams if s.type in ("video", "data"))]
    return next((value for t in tags for key, value in t.items() if key.lower() == "timecode"), None)


def _timecode_frames(media: Path, rate: Fraction) -> int:
    """Frames at `rate` before the file's first frame by its start timecode (0 if untagged or a
    timecode this rate cannot count)."""
    tc = start_timecode(media)
    try:
        return round(otio.opentime.from_timecode(tc, float(rate)).value) if tc else 0
    except ValueError:  # SMPTE timecode has no 15 fps or variable frame rate
        return 0


def _clip_name(media: Path, n: int) -> str:
    """Clip `n` of `media`, named without straight quotes: OTIO's FCPXML writer finds clips by
    name in an XPath predicate, which a quote in the name ("Bob's talk.mp4") ends."""
    return f"{media.name} #{n}".replace("'", "\u2019").replace('"', "\u201d")


def timeline_text(edits: EditList, media: str | os.PathLike, path: str | os.PathLike) -> str:
    """The edit as the text of a .edl (CMX 3600), .fcpxml (Final Cut Pro X) or .otio file, chosen
    by the suffix of `path` (whose stem names the timeline)."""
    path = Path(path)
    adapter = ADAPTERS.get(path.suffix.lower())
    if adapter is None:
        raise ValueError(f"unknown timeline format {path.suffix!r}: use one of {', '.join(ADAPTERS)}")
    result = timeline(edits, media, name=path.stem, adapter=adapter)
    if adapter == "fcpx_xml" and not result.video_tracks():  # OTIO's writer needs a primary storyline
        raise ValueError(f"{Path(media).name} has no video: FCPXML export needs a video track; "
                         f"export an .edl or .otio for an audio recording")
    text = _edl(result) if adapter == "cmx_3600" else otio.adapters.write_to_string(result, adapter)
    exact = Fraction(result.metadata["padl"]["rate"])
    return _on_frames(text, exact) if adapter == "fcpx_xml" and exact.denominator != 1 else text


def write_timeline(edits: EditList, media: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Write the edit as .edl (CMX 3600), .fcpxml (Final Cut Pro X) or .otio (`timeline_text`)."""
    text = timeline_text(edits, media, path)
    with atomic_path(path, protect=(media,)) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return Path(path)


def _edl(result: otio.schema.Timeline) -> str:
    """CMX 3600 text of the timeline. OTIO writes the events of one video track only; padl's
    tracks cut the same spans, so each event's channel field names all of them: B (video and
    audio 1), V or A. (Written as V alone, editors imported the cut without its sound.)"""
    kinds = {track.kind for track in result.tracks}
    channel = "B" if kinds == {otio.schema.TrackKind.Video, otio.schema.TrackKind.Audio} else \
        "V" if otio.schema.TrackKind.Video in kinds else "A"
    first = result.tracks[0].deepcopy()
    first.kind = otio.schema.TrackKind.Video  # the writer's one track
    single = otio.schema.Timeline(name=result.name, tracks=[first])
    text = otio.adapters.write_to_string(single, "cmx_3600")
    return EVENT_CHANNEL.sub(lambda m: f"{m.group(1)}{channel:<5} ", text)


def _on_frames(fcpxml: str, exact: Fraction) -> str:
    """The FCPXML of OTIO's writer with its times on the frames of the `exact` NTSC rate. The
    writer divides frame counts by the rate's name (29.97), so its times fell between frames (301
    frames: 30100/2997 s, not 301301/30000 s), and it places connected clips (padl's audio, one per
    video clip) at whole frames of the name's integer part (29), up to a frame off; each of them
    starts where its parent clip does in the source."""
    named = Fraction(str(round(float(exact), 2)))
    root = ElementTree.fromstring(fcpxml)
    for element in root.iter():
        for key in FCPXML_TIMES:
            if key in element.attrib:
                frames = round(Fraction(element.get(key).removesuffix("s")) * named)
                element.set(key, f"{frames / exact}s")
    for parent in root.iter("clip"):
        for child in parent.findall("clip[@lane]"):
            child.set("offset", parent.get("start", "0s"))
    ElementTree.indent(root)
    return FCPXML_HEADER + ElementTree.tostring(root, encoding="unicode") + "\n"


def edited_transcript(transcript: Transcript, edits: EditList, media: str | os.PathLike | None = None) -> Transcript:
    """The kept words on the edited timeline, as a transcript of the rendered `media` (not checksummed)."""
    return Transcript(words=edits.remap(transcript), media=Path(media or transcript.media), checksum="",
                      language=transcript.language, model=transcript.model, aligner=transcript.aligner,
                      extra={"edited_from": str(transcript.media)})


def write_subtitles(transcript: Transcript, edits: EditList, path: str | os.PathLike) -> Path:
    """Subtitles (.srt or .vtt) for the edited video."""
    return edited_transcript(transcript, edits).save_subtitles(path)
