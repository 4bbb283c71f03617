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
import json
import sys
import time
from pathlib import Path

from . import corpus as C
from .cli import run
from .paths import CACHE
from .util import atomic_write

PROG = "jazzgen.ingest"


def parse_args(argv=None) -> argparse.Namespace:
    p = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    p.add_argument("--data", nargs="+", default=["midi/"], metavar="DIR_OR_FILES",
                   help="MIDI files or folders, searched recursively (default: midi/)")
    p.add_argument("--out", default=CACHE, metavar="CACHE_DIR",
                   help=f"corpus cache folder (default: {CACHE})")
    p.add_argument("--track", metavar="N_OR_NAME",
                   help="melody track: a name, or an index among the tracks that have notes (from 0); "
                        "default: a track named melody/solo/lead, else the highest")
    p.add_argument("--workers", type=int, metavar="N", help="reader processes (default: cores - 1)")
    p.add_argument("--report", metavar="FILE.json", help="also write the per-file reports and totals as JSON")
    p.add_argument("--quiet", action="store_true", help="no progress bar and no per-file lines: totals only")
    return p.parse_args(argv)


def fail(msg: str, code: int) -> int:
    print(f"{PROG}: error: {msg}", file=sys.stderr)
    return code


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


def main(argv=None) -> int:
    args = parse_args(argv)
    for d in args.data:
        if not Path(d).exists():
            return fail(f"no such file or folder: {d}", 2)
    files = C.find_midi(args.data)
    if not files:
        return fail(f"no MIDI files ({', '.join(C.MIDI_SUFFIXES)}) in {' '.join(args.data)}", 1)
    track = int(args.track) if args.track is not None and args.track.isdigit() else args.track
    t0 = time.perf_counter()
    corpus = C.load_corpus(files, args.out, C.ReadSettings(track=track),
                           workers=args.workers, progress=not args.quiet)
    seconds = time.perf_counter() - t0
    summary = C.summarize(corpus.reports)
    if not args.quiet:
        for r in corpus.reports:
            print(r.line())
    print("\n".join(totals(summary, seconds, corpus.cached)))
    if args.report:
        doc = {"totals": summary, "seconds": seconds, "cached": corpus.cached,
               "files": [vars(r) for r in corpus.reports]}
        Path(args.report).parent.mkdir(parents=True, exist_ok=True)
        atomic_write(args.report, lambda f: f.write(json.dumps(doc, indent=1).encode()))
    if not corpus.songs:
        return fail("no usable file", 1)
    return 0


if __name__ == "__main__":
    sys.exit(run(PROG, main))
