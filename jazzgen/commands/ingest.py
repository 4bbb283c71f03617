"""Read a folder of MIDI solos into the corpus cache and say what was kept and why.

    python -m jazzgen.ingest --data midi/wjazzd
    python -m jazzgen.ingest --data a.mid b.mid --track Melody --report ingest.json --quiet

Every other stage (train, evaluate, the n-gram baselines) calls the same
``corpus.load_corpus``; running this first fills the cache and shows which files
are dropped, how much of each solo has chords, and how far quantizing to the
grid moved the notes.  Exit status: 0 if any file is usable, 1 if none is (or the
folder holds no MIDI), 2 for a usage error, a missing path or a corpus over the size limit.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from jazzgen import paths
from jazzgen.commands import cli
from jazzgen.data import corpus as C
from jazzgen.errors import DataError, UsageError
from jazzgen.util import atomic_json, check_out_file, check_out_folder

PROG = "jazzgen.ingest"
NO_USABLE = 1   # the run worked, but the folder holds nothing to learn from


def parser() -> cli.Parser:
    p = cli.Parser(prog="python -m jazzgen.ingest", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", nargs="+", default=[paths.DATA], metavar="DIR_OR_FILES",
                   help=f"MIDI files or folders, searched recursively (default: {paths.DATA}/)")
    p.add_argument("--out", default=paths.CACHE, metavar="CACHE_DIR",
                   help=f"corpus cache folder (default: {paths.CACHE})")
    add_read_options(p)
    p.add_argument("--workers", type=int, metavar="N", help="reader processes (default: cores - 1)")
    p.add_argument("--report", metavar="FILE.json", help="also write the per-file reports and totals as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no per-file lines: totals only")
    p.add_argument("--dump", metavar="OUT_DIR",
                   help="for each kept file, write a MIDI file of what jazzgen learns from it (the melody and "
                        "the chord changes as markers, at the file's own tempo map and ticks per beat), "
                        "the names mirroring the input paths")
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
        check_out_file(args.report, "report")
    check_out_folder(args.out, "out")
    if args.dump:
        check_out_folder(args.dump, "dump")


# ---------------------------------------------------------------------------- reading options
# Shared with every command that reads a corpus (train), so that they read files the same way:
#     add_read_options(parser)  ...  load_corpus(..., settings=read_settings(args))

def add_read_options(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """Add --track and --track-map (the options in ``corpus.ReadSettings``) to a parser."""
    p.add_argument("--track", metavar="N_OR_NAME",
                   help="melody track of every file: an index among its parts (from 0: its tracks, a track that "
                        "plays on several channels once per channel, named 'NAME (channel K)'; the channels of a "
                        "type-0 file), or a name, case-insensitive, exact or else a substring; default: a track "
                        "named melody/vocal(s)/voice/solo/lead..., else the highest monophonic part, else the top "
                        "voice of the highest polyphonic one")
    p.add_argument("--track-map", metavar="FILE.tsv",
                   help="per-file melody tracks: lines 'FILE_NAME_OR_GLOB<TAB>TRACK' (# comments), "
                        "overriding --track for the files they match")
    return p


def dump_corpus(corpus: C.Corpus, data: list[str], out: str | Path) -> int:
    """Write each kept file's melody and chords as MIDI under `out` (see ``dump.dump_file``)."""
    from jazzgen.music.dump import dump_file, mirror_path
    kept = [r for r in corpus.reports if r.kept]      # in the order of corpus.songs
    for r, seq in zip(kept, corpus.songs):
        dump_file(r.path, seq, mirror_path(r.path, data, out))
    return len(kept)




def _err(e: dict) -> str:
    return "  ".join(f"{k} {v:.4f}" for k, v in e.items())


def _counts(c: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in c.items()) or "-"


def totals(s: dict, seconds: float, cached: int) -> list[str]:
    """The summary lines printed after the per-file report."""
    return [
        f"files    {s['kept']} kept, {s['dropped']} dropped (of {s['files']})",
        f"content  {s['notes']} notes, {s['bars']} bars, {s['events']} events (tokens)",
        f"chords   on {100 * s['chord_coverage']:.1f}% of notes; {s['ignored_markers']} non-chord markers ignored",
        f"sources  chords: {_counts(s.get('chord_sources', {}))}; melody: {_counts(s.get('melody_reasons', {}))}",
        f"repairs  {s['polyphony_dropped']} polyphonic notes dropped, {s['overlaps_trimmed']} overlaps trimmed, "
        f"{s['velocity_dropouts']} velocity dropouts filled, {s.get('values_clipped', 0)} files with controller "
        "values above 127 clipped",
        f"onset    |quantization error| in beats: {_err(s['onset_error'])}",
        f"offset   |quantization error| in beats: {_err(s['offset_error'])}",
        f"time     {seconds:.2f} s, {cached} of {s['files']} files from the cache",
    ]


def _main(argv) -> int:
    args = parse_args(argv)
    check_args(args)
    settings = C.read_settings(args)
    files = C.find_midi(args.data)
    if not files:
        return cli.fail(PROG, f"no MIDI files ({', '.join(C.MIDI_SUFFIXES)}) in {' '.join(args.data)}", NO_USABLE)
    t0 = time.perf_counter()
    corpus = C.load_corpus(files, args.out, settings, workers=args.workers, progress=not args.quiet)
    seconds = time.perf_counter() - t0
    summary = C.summarize(corpus.reports)
    if not args.quiet:
        for r in corpus.reports:
            print(r.line())
    print("\n".join(totals(summary, seconds, corpus.cached)
                    + [f"cache    {note}" for note in corpus.cache_dropped]))
    if args.report:
        doc = {"totals": summary, "seconds": seconds, "cached": corpus.cached,
               "cache_dropped": corpus.cache_dropped, "files": [vars(r) for r in corpus.reports]}
        try:
            Path(args.report).parent.mkdir(parents=True, exist_ok=True)
            atomic_json(args.report, doc)
        except OSError as e:
            raise UsageError(f"--report {args.report}: cannot write it ({e.strerror or e})") from None
    if args.dump:
        written = dump_corpus(corpus, args.data, args.dump)
        print(f"dump     {written} MIDI files under {args.dump}")
    if not corpus.songs:
        first = corpus.dropped[0] if corpus.dropped else None
        why = f" ({first.path}: {first.reason}" + (", ..." if len(corpus.dropped) > 1 else "") + ")" if first else ""
        return cli.fail(PROG, f"no usable file of {len(corpus.reports)}{why}", NO_USABLE)
    return 0


def main(argv=None) -> int:
    return cli.run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
