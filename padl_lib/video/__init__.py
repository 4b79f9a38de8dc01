"""Text-based editing of lecture videos: transcribe with word timings, edit the text, render.

Public API: `transcribe` (ASR + forced alignment, or a user's script), the `Transcript` /
`Word` model, and media helpers (`probe`, `load_audio`).
"""
from __future__ import annotations

from padl_lib.video.media import MediaError, MediaInfo, NoAudioError, load_audio, probe, sha256_file
from padl_lib.video.pipeline import transcribe
from padl_lib.video.transcript import Transcript, TranscriptError, Word, parse_pause_token

__all__ = ["transcribe", "Transcript", "Word", "TranscriptError", "parse_pause_token",
           "MediaError", "NoAudioError", "MediaInfo", "probe", "load_audio", "sha256_file"]
