"""`python -m padl_lib.video COMMAND`: transcribe a recording; render and export edits.

    python -m padl_lib.video transcribe MEDIA -o T.json [--model NAME] [--script TEXT_FILE]
    python -m padl_lib.video text T.json -o EDITED.txt [--remove-fillers] [--remove-repeats] [--shorten-pauses 0.3]

Each subcommand module adds itself with an `add_*_commands(subparsers)` function that sets
`func` on its parser; errors the user can fix are printed as one line and exit with status 2,
warnings as one line each.
"""
from __future__ import annotations

import argparse
import os
import shlex
import sys
import warnings
from pathlib import Path

from padl_lib.io import atomic_path
from padl_lib.progress import close_bars, tqdm_progress
from padl_lib.video.asr import ModelError
from padl_lib.video.cli_edit import add_edit_commands, read_text_file
from padl_lib.video.media import MediaError
from padl_lib.video.transcript import Transcript, TranscriptError, default_path, is_transcript_file


def _transcribe(args: argparse.Namespace) -> None:
    from padl_lib.video.pipeline import transcribe

    script = None if args.script is None else read_text_file(args.script, "script file")
    output = Path(args.output or default_path(args.media))
    if output.exists() and Path(args.media).exists() and output.resolve() == Path(args.media).resolve():
        raise ValueError(f"refusing to overwrite the source file {args.media}; choose another output path")
    if output.exists() and not args.force and not is_transcript_file(output):
        raise ValueError(f"{output} exists and is not a transcript; choose another name or pass --force")
    for target, what, option in ((output, "the transcript", "-o"), (args.srt, "subtitles", "--srt"),
                                 (args.vtt, "subtitles", "--vtt")):
        if not target:
            continue
        folder = next(p for p in (Path(target).parent, *Path(target).parent.parents) if p.exists())  # made later
        if not os.access(folder, os.W_OK):  # said before the work, not after it
            raise ValueError(f"cannot write {what} {target}: {folder} is read-only to you; choose a place with "
                             f"{option}")
    if args.audio_track is not None and args.audio_track < 1:
        raise ValueError(f"--audio-track counts from 1, not {args.audio_track}")
    for subtitles, suffix in ((args.srt, ".srt"), (args.vtt, ".vtt")):
        if subtitles and Path(subtitles).suffix.lower() != suffix:
            raise ValueError(f"subtitles {subtitles} need a {suffix} name")
        if subtitles and Path(subtitles).exists() and not args.force:
            raise ValueError(f"{subtitles} exists and may hold your own changes; choose another name or pass --force")
    progress = tqdm_progress("s")
    transcript = transcribe(args.media, model=args.model, script=script, progress=progress,
                            fillers=not args.no_fillers,
                            audio_track=None if args.audio_track is None else args.audio_track - 1)
    path = transcript.save(output)
    if args.srt:
        transcript.save_subtitles(args.srt)
    if args.vtt:
        transcript.save_subtitles(args.vtt)
    kinds = {k: sum(w.kind == k for w in transcript.words) for k in ("word", "filler", "pause")}
    print(f"wrote {path}: {kinds['word']} words, {kinds['filler']} fillers, {kinds['pause']} pauses; "
          f"its text to edit: python -m padl_lib.video text {shlex.quote(str(path))} -o EDITED.txt")
    if not kinds["word"]:
        print(f"note: no speech was recognized in {args.media}; is it the right file, and is the speech English "
              f"(the bundled model is English only; --model names another)?", file=sys.stderr)


def _text(args: argparse.Namespace) -> None:
    from padl_lib.video.edit import remove_fillers, remove_repeats, shorten_pauses, transcript_fillers

    transcript = Transcript.load(args.transcript, verify=False)
    text = transcript.text()
    if not transcript.words:
        print(f"note: {args.transcript} holds no words (was any speech recognized?)", file=sys.stderr)
    fillers = transcript_fillers(transcript)
    if args.remove_fillers:
        text = remove_fillers(text, fillers)
    if args.remove_repeats:
        text = remove_repeats(text, fillers)
    if args.shorten_pauses is not None:
        text = shorten_pauses(text, args.shorten_pauses)
    if args.output is None:
        sys.stdout.write(text + "\n")
        return
    with atomic_path(args.output, protect=(args.transcript, transcript.media)) as tmp:
        if Path(args.output).exists() and not args.force:
            raise ValueError(f"{args.output} exists and may hold your edits; choose another name or pass --force")
        tmp.write_text(text + "\n", encoding="utf-8")
    print(f"wrote {args.output}: edit it, then `render` it")


def add_transcribe_command(subparsers) -> None:
    """Register `transcribe`."""
    p = subparsers.add_parser("transcribe", help="transcript with word timings (ASR or a script, then alignment)",
                              description="Transcribe any audio or video file FFmpeg reads, with word timings.")
    p.add_argument("media", help="recording (any audio or video file FFmpeg reads)")
    p.add_argument("-o", "--output", help="transcript JSON (default: <media stem>.transcript.json beside it)")
    p.add_argument("--model", help="faster-whisper model (default: the bundled offline tiny.en)")
    p.add_argument("--script", help="text file with what is said: align it instead of running ASR (`text`'s "
                                    "output with misheard words corrected will do; [pause] tokens and [notes] "
                                    "are skipped)")
    p.add_argument("--srt", help="also write subtitles (.srt)")
    p.add_argument("--vtt", help="also write subtitles (.vtt)")
    p.add_argument("--no-fillers", action="store_true", help="do not look for 'uh'/'um' in pauses")
    p.add_argument("--audio-track", type=int, metavar="N", help="the audio track with the speech, from 1 (default: the "
                   "first that holds speech); renders of the transcript's edits keep its sound")
    p.add_argument("--force", action="store_true",
                   help="replace an existing output file that is not a transcript, and existing subtitle files")
    p.set_defaults(func=_transcribe)

    p = subparsers.add_parser("text", help="the transcript's editable text (words, fillers, [pause 1.2s] tokens)",
                              description="Print (or write) the text to edit: delete, move or copy its words, "
                                          "shorten its [pause] tokens, then pass it to `render` or `export`.")
    p.add_argument("transcript", help="the transcript (.json from `transcribe`)")
    p.add_argument("-o", "--output", help="text file to write (default: print)")
    p.add_argument("--remove-fillers", action="store_true",
                   help="leave out the fillers ('uh', 'um', ...) and false starts ('bee- been')")
    p.add_argument("--remove-repeats", action="store_true",
                   help="leave out words said again right after ('the the' -> 'the'; 'had had' stays)")
    p.add_argument("--shorten-pauses", type=float, metavar="SECONDS",
                   help="shorten every longer pause to SECONDS (0: cut pauses out)")
    p.add_argument("--force", action="store_true", help="overwrite an existing output file")
    p.set_defaults(func=_text)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m padl_lib.video",
                                     description="Text-based editing of lecture recordings.")
    subparsers = parser.add_subparsers(dest="command", required=True)
    add_transcribe_command(subparsers)
    add_edit_commands(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    printed: set[str] = set()

    def print_warning(message, *_) -> None:  # one line, once (a file decoded twice warns twice), no source line
        if str(message) not in printed:
            printed.add(str(message))
            print(f"warning: {message}", file=sys.stderr)

    with warnings.catch_warnings():
        warnings.showwarning = print_warning
        try:
            args.func(args)
        except (MediaError, TranscriptError, ModelError, ValueError) as exc:
            close_bars()
            print(f"error: {exc}", file=sys.stderr)
            return 2
        except OSError as exc:  # a file that cannot be read or written (permissions, a full disk): name it
            close_bars()
            print(f"error: {exc.strerror or exc}" + (f": {exc.filename}" if exc.filename else ""), file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
