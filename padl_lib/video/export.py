"""Export an edit for other tools: CMX 3600 EDL and FCPXML (OpenTimelineIO), subtitles of the edit.

The timeline has one track of clips that all reference the source media; each clip's source
range is one kept span, rounded to whole frames. Editors (Resolve, Premiere, Final Cut, Kdenlive)
relink the media by its path. Subtitles are the kept words moved onto the edited timeline.
"""
from __future__ import annotations

import os
import re
from fractions import Fraction
from pathlib import Path

import opentimelineio as otio

from padl_lib.io import atomic_path
from padl_lib.video.edit import EditList
from padl_lib.video.media import probe
from padl_lib.video.render import frame_grid, frame_rate
from padl_lib.video.transcript import Transcript

ADAPTERS = {".edl": "cmx_3600", ".fcpxml": "fcpx_xml", ".otio": "otio_json"}
AUDIO_ONLY_RATE = Fraction(25)
EVENT_CHANNEL = re.compile(r"^(\d{3,}  .{8} )V     ", re.MULTILINE)  # "001  REEL     V     C  ..."
__all__ = ["timeline", "write_timeline", "write_subtitles", "edited_transcript"]


def _rate(media: Path) -> tuple[float, bool, bool]:
    """Frame rate of the timeline (the video's, else 25), and whether there is video / audio."""
    info = probe(media)
    rate = frame_rate(frame_grid(media)) if info.has_video else AUDIO_ONLY_RATE
    return float(rate), info.has_video, info.has_audio


def timeline(edits: EditList, media: str | os.PathLike, name: str = "padl edit") -> otio.schema.Timeline:
    """An OpenTimelineIO timeline of the kept spans of `media` in output order (video and audio tracks)."""
    media = Path(media).resolve()
    rate, has_video, has_audio = _rate(media)
    available = otio.opentime.TimeRange(otio.opentime.RationalTime(0, rate),
                                        otio.opentime.RationalTime(round(edits.source_duration * rate), rate))
    reel = (re.sub(r"[^A-Za-z0-9]", "", media.stem).upper() or "PADL")[:8]
    result = otio.schema.Timeline(name=name)
    kinds = [(otio.schema.TrackKind.Video, "V1")] * has_video + [(otio.schema.TrackKind.Audio, "A1")] * has_audio
    for kind, track_name in kinds:
        track = otio.schema.Track(name=track_name, kind=kind)
        for n, span in enumerate(edits.spans, start=1):
            first, last = round(span.start * rate), round(span.end * rate)
            if last > first:
                track.append(otio.schema.Clip(
                    name=f"{media.name} #{n}",
                    media_reference=otio.schema.ExternalReference(target_url=media.as_uri(),
                                                                  available_range=available),
                    source_range=otio.opentime.TimeRange(otio.opentime.RationalTime(first, rate),
                                                         otio.opentime.RationalTime(last - first, rate)),
                    metadata={"cmx_3600": {"reel": reel}}))
        result.tracks.append(track)
    return result


def write_timeline(edits: EditList, media: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Write the edit as .edl (CMX 3600), .fcpxml (Final Cut Pro X) or .otio, chosen by the suffix."""
    path = Path(path)
    adapter = ADAPTERS.get(path.suffix.lower())
    if adapter is None:
        raise ValueError(f"unknown timeline format {path.suffix!r}: use one of {', '.join(ADAPTERS)}")
    result = timeline(edits, media, name=path.stem)
    if adapter == "fcpx_xml" and not result.video_tracks():  # OTIO's writer needs a primary storyline
        raise ValueError(f"{Path(media).name} has no video: FCPXML export needs a video track; "
                         f"export an .edl or .otio for an audio recording")
    text = _edl(result) if adapter == "cmx_3600" else otio.adapters.write_to_string(result, adapter)
    with atomic_path(path, protect=(media,)) as tmp:
        tmp.write_text(text, encoding="utf-8")
    return path


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


def edited_transcript(transcript: Transcript, edits: EditList, media: str | os.PathLike | None = None) -> Transcript:
    """The kept words on the edited timeline, as a transcript of the rendered `media` (not checksummed)."""
    return Transcript(words=edits.remap(transcript), media=Path(media or transcript.media), checksum="",
                      language=transcript.language, model=transcript.model, aligner=transcript.aligner,
                      extra={"edited_from": str(transcript.media)})


def write_subtitles(transcript: Transcript, edits: EditList, path: str | os.PathLike) -> Path:
    """Subtitles (.srt or .vtt) for the edited video."""
    return edited_transcript(transcript, edits).save_subtitles(path)
