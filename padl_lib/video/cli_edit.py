"""The `render` and `export` subcommands of `python -m padl_lib.video` (registered by `__main__`).

    python -m padl_lib.video render MEDIA T.json EDITED.txt -o OUT.mp4 [--transition none|dissolve|morph]
    python -m padl_lib.video export T.json EDITED.txt --edl OUT.edl --fcpxml OUT.fcpxml --srt OUT.srt
"""
from __future__ import annotations

import argparse
import codecs
from pathlib import Path

from padl_lib.io import write_text_atomic
from padl_lib.progress import tqdm_progress
from padl_lib.video.edit import EditList, edit_list
from padl_lib.video.export import timeline_text, write_subtitles
from padl_lib.video.media import load_audio
from padl_lib.video.render import TRANSITIONS, recording_length, render, written_by_render
from padl_lib.video.transcript import Transcript

__all__ = ["add_edit_commands", "load_edit", "read_text_file"]
# byte-order marks of the encodings Windows editors save text in besides UTF-8 (Notepad's "Unicode")
_BOMS = ((codecs.BOM_UTF8, "utf-8-sig"), (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"))


def read_text_file(path: str | Path, what: str) -> str:
    """The text of the user's file `path` (`what` names it in errors): UTF-8, or UTF-8 or UTF-16
    with a byte-order mark, as Windows editors save text."""
    try:
        data = Path(path).read_bytes()
    except FileNotFoundError as exc:
        raise ValueError(f"{what} not found: {path}") from exc
    except IsADirectoryError as exc:
        raise ValueError(f"{path} is a folder: give the {what}") from exc
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), "utf-8")
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path} is not UTF-8 text ({exc.reason} at byte {exc.start}): save it as UTF-8") from exc


def load_edit(transcript_path: str | Path, edited_path: str | Path,
              media: str | Path | None = None) -> tuple[Transcript, EditList]:
    """The transcript (checked against `media`) and the cut list of the edited text file."""
    transcript = Transcript.load(transcript_path, media=media)
    text = read_text_file(edited_path, "edited text file")
    audio = load_audio(transcript.media, track=transcript.audio_track)
    return transcript, edit_list(transcript, text, audio=audio, duration=recording_length(transcript.media, audio))


def _refuse_overwriting_inputs(outputs: list[str], inputs: list[str | Path]) -> None:
    """Raise if an output path is one of the inputs (the recording, the transcript or the edit)."""
    sources = {Path(p).resolve() for p in inputs if p}
    for output in outputs:
        if Path(output).resolve() in sources:
            raise ValueError(f"refusing to overwrite the input file {output}; choose another output path")


def _render(args: argparse.Namespace) -> None:
    _refuse_overwriting_inputs([args.output], [args.media, args.transcript, args.edited])
    if Path(args.output).is_dir():
        raise ValueError(f"{args.output} is a folder: give a file name")
    if Path(args.output).exists() and not args.force and not written_by_render(args.output):
        raise ValueError(f"{args.output} exists and is not a render of padl's (a recording of yours?); choose "
                         f"another name or pass --force")
    transcript, edits = load_edit(args.transcript, args.edited, media=args.media)
    result = render(transcript.media, [(s.start, s.end) for s in edits.spans], args.output,
                    fade=args.fade_ms / 1000, transition=args.transition, audio_track=transcript.audio_track,
                    progress=tqdm_progress("frame"))
    print(f"wrote {result.path}: {result.duration:.2f} s from {edits.source_duration:.2f} s, "
          f"{len(result.spans)} span(s), " + (f"{result.frames} frames" if result.frames else "audio only"))


def _export(args: argparse.Namespace) -> None:
    targets = [p for p in (args.edl, args.fcpxml, args.otio, args.srt, args.vtt) if p]
    if not targets:
        raise ValueError("nothing to export: give --edl, --fcpxml, --otio, --srt and/or --vtt")
    _refuse_overwriting_inputs(targets, [args.media, args.transcript, args.edited])
    existing = [p for p in targets if Path(p).exists()]
    if existing and not args.force:
        raise ValueError(f"{', '.join(existing)} exist(s) and may hold your own changes; choose other names or pass "
                         f"--force to replace them")
    transcript, edits = load_edit(args.transcript, args.edited, media=args.media)
    _refuse_overwriting_inputs(targets, [transcript.media])
    # every timeline is made before any is written: one the media cannot have writes none
    timelines = {path: timeline_text(edits, transcript.media, path) for path in (args.edl, args.fcpxml, args.otio)
                 if path}
    for path, text in timelines.items():
        print(f"wrote {write_text_atomic(path, text)}")
    for path in (args.srt, args.vtt):
        if path:
            print(f"wrote {write_subtitles(transcript, edits, path)}")


def add_edit_commands(subparsers) -> None:
    """Add `render` and `export` to the `python -m padl_lib.video` argument parser."""
    p = subparsers.add_parser("render", help="render the edited text of a transcript as a new video or audio file")
    p.add_argument("media", help="the recording the transcript belongs to")
    p.add_argument("transcript", help="its transcript (.json from `transcribe`)")
    p.add_argument("edited", help="the transcript's text as edited by you (UTF-8 .txt)")
    p.add_argument("-o", "--output", required=True,
                   help="output file (.mp4, .mov, .mkv, .webm; audio: .m4a, .wav, .mp3, .flac, .ogg)")
    p.add_argument("--transition", choices=TRANSITIONS, default="none", help="hide jump cuts (default: none)")
    p.add_argument("--fade-ms", type=float, default=10.0, help="audio fade at every cut, 5-20 ms (default 10)")
    p.add_argument("--force", action="store_true",
                   help="replace an existing output file that padl did not render (its own renders are replaced)")
    p.set_defaults(func=_render)

    p = subparsers.add_parser("export", help="export the edit as EDL / FCPXML / OTIO and subtitles of the edit")
    p.add_argument("transcript", help="the transcript (.json from `transcribe`)")
    p.add_argument("edited", help="the transcript's text as edited by you (UTF-8 .txt)")
    p.add_argument("--media", help="the recording (default: the path stored in the transcript)")
    p.add_argument("--edl", help="CMX 3600 edit decision list")
    p.add_argument("--fcpxml", help="Final Cut Pro X XML")
    p.add_argument("--otio", help="OpenTimelineIO JSON")
    p.add_argument("--srt", help="SubRip subtitles of the edited video")
    p.add_argument("--vtt", help="WebVTT subtitles of the edited video")
    p.add_argument("--force", action="store_true", help="replace existing output files")
    p.set_defaults(func=_export)
