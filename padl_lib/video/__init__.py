"""Text-based editing of lecture videos: transcribe with word timings, edit the text, render.

Public API: `transcribe` (ASR + forced alignment, or a user's script), the `Transcript` /
`Word` model, media helpers (`probe`, `load_audio`), the edit algebra (`edit_list`,
`remove_fillers`, `remove_repeats`, `shorten_pauses`), `render`, the editing session `Project`, and exports
(`write_timeline` for EDL/FCPXML/OTIO, `write_subtitles`).
"""
from __future__ import annotations

from padl_lib.video.edit import EditError, EditList, edit_list, remove_fillers, remove_repeats, shorten_pauses
from padl_lib.video.export import write_subtitles, write_timeline
from padl_lib.video.media import MediaError, MediaInfo, NoAudioError, load_audio, probe, sha256_file
from padl_lib.video.pipeline import transcribe
from padl_lib.video.project import Project
from padl_lib.video.render import RenderResult, render
from padl_lib.video.transcript import Transcript, TranscriptError, Word, parse_pause_token

__all__ = ["transcribe", "Transcript", "Word", "TranscriptError", "parse_pause_token",
           "MediaError", "NoAudioError", "MediaInfo", "probe", "load_audio", "sha256_file",
           "EditError", "EditList", "edit_list", "remove_fillers", "remove_repeats", "shorten_pauses",
           "RenderResult", "render", "Project", "write_subtitles", "write_timeline"]
