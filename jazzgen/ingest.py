"""Read a folder of MIDI solos into the corpus cache and say what was kept and why.

    python -m jazzgen.ingest --data midi/wjazzd
    python -m jazzgen.ingest --data a.mid b.mid --track Melody --report ingest.json --quiet

Every other stage (train, evaluate, the n-gram baselines) calls the same
``dataset.load_corpus``; running this first fills the cache and shows which files
are dropped, how much of each solo has chords, and how far quantizing to the
grid moved the notes.  Exit status: 0 if any file is usable, 1 if none is (or the
folder holds no MIDI), 2 for a usage error or a missing path.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from . import cli, dataset, paths
from .errors import DataError, UsageError
from .midi_io import atomic_write

PROG = "jazzgen.ingest"
NO_USABLE = 1   # the run worked, but the folder holds nothing to learn from


def parser() -> cli.Parser:
    p = cli.Parser(prog="python -m jazzgen.ingest", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", nargs="+", default=[paths.DATA], metavar="DIR_OR_FILES",
                   help=f"MIDI files or folders, searched recursively (default: {paths.DATA}/)")
    p.add_argument("--out", default=paths.CACHE, metavar="CACHE_DIR",
                   help=f"corpus cache folder (default: {paths.CACHE})")
    p.add_argument("--track", metavar="N_OR_NAME",
                   help="melody track: a name, or an index among the tracks that have notes (from 0); "
                        "default: a track named melody/solo/lead, else the highest")
    p.add_argument("--workers", type=int, metavar="N", help="reader processes (default: cores - 1)")
    p.add_argument("--report", metavar="FILE.json", help="also write the per-file reports and totals as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no per-file lines: totals only")
    return p


def parse_args(argv=None):
    return parser().parse_args(argv)


def check_args(args) -> None:
    """Every argument a user can get wrong, refused before any file is read."""
    for d in args.data:
        if not Path(d).exists() and not Path(d).is_symlink():
            raise DataError(f"no such file or folder: {d}")
    if args.workers is not None and not 1 <= args.workers <= 256:
        raise UsageError(f"--workers must be in 1..256, not {args.workers}")
    if args.track is not None and not args.track.strip():
        raise UsageError("--track is empty: give a track name or an index")
    if args.report:
        cli.check_out_file(args.report, "--report")
    cli.check_out_folder(args.out, "--out")


def _err(e: dict) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in e.items())


def totals(s: dict, seconds: float, cached: int) -> list[str]:
    """The summary lines printed after the per-file report."""
    return [
        f"files    {s['kept']} kept, {s['dropped']} dropped (of {s['files']})",
        f"content  {s['notes']} notes, {s['bars']} bars, {s['events']} events (tokens)",
        f"chords   on {100 * s['chord_coverage']:.1f}% of notes; {s['ignored_markers']} non-chord markers ignored",
        f"repairs  {s['polyphony_dropped']} polyphonic notes dropped, {s['overlaps_trimmed']} overlaps trimmed",
        f"onset    |quantization error| in beats: {_err(s['onset_error'])}",
        f"offset   |quantization error| in beats: {_err(s['offset_error'])}",
        f"time     {seconds:.2f} s, {cached} of {s['files']} files from the cache",
    ]


def _main(argv) -> int:
    args = parse_args(argv)
    check_args(args)
    files = dataset.find_midi(args.data)
    if not files:
        return cli.fail(PROG, f"no MIDI files ({', '.join(dataset.MIDI_SUFFIXES)}) in {' '.join(args.data)}",
                        NO_USABLE)
    track = int(args.track) if args.track is not None and args.track.isdigit() else args.track
    t0 = time.perf_counter()
    corpus = dataset.load_corpus(files, args.out, dataset.ReadSettings(track=track),
                                 workers=args.workers, progress=not args.quiet)
    seconds = time.perf_counter() - t0
    summary = dataset.summarize(corpus.reports)
    if not args.quiet:
        for r in corpus.reports:
            print(r.line())
    print("\n".join(totals(summary, seconds, corpus.cached)))
    if args.report:
        doc = {"totals": summary, "seconds": seconds, "cached": corpus.cached,
               "files": [vars(r) for r in corpus.reports]}
        try:
            Path(args.report).parent.mkdir(parents=True, exist_ok=True)
            atomic_write(args.report, lambda f: f.write(json.dumps(doc, indent=1).encode()))
        except OSError as e:
            raise UsageError(f"--report {args.report}: cannot write it ({e.strerror or e})") from None
    if not corpus.songs:
        first = corpus.dropped[0] if corpus.dropped else None
        why = f" ({first.path}: {first.reason}" + (", ..." if len(corpus.dropped) > 1 else "") + ")" if first else ""
        return cli.fail(PROG, f"no usable file of {len(corpus.reports)}{why}", NO_USABLE)
    return 0


def main(argv=None) -> int:
    return cli.run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
