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
import os
import sys
import tempfile
import time
from pathlib import Path

from jazzgen import paths
from jazzgen.commands import cli
from jazzgen.data import corpus as C
from jazzgen.errors import DataError, UsageError
from jazzgen.util import check_out_file, check_out_folder, usual_mode

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


def dump_corpus(songs: C.Songs, data: list[str], out: str | Path) -> int:
    """Write each kept file's melody and chords as MIDI under `out` (see ``dump.dump_file``),
    a shard's worth of sequences in memory at a time."""
    from jazzgen.music.dump import dump_file, mirror_path
    for path, seq in zip(songs.paths, songs.iter_sequences()):
        dump_file(path, seq, mirror_path(path, data, out))
    return len(songs)


class ReportFile:
    """--report FILE.json written as the reports stream past (a corpus of any size), renamed into
    place when whole: {"files": [...], "totals": ..., "seconds": ..., "cached": ...}."""

    def __init__(self, path: str):
        self.path = Path(path)
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, self.tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
        except OSError as e:
            raise UsageError(f"--report {path}: cannot write it ({e.strerror or e})") from None
        self.f = os.fdopen(fd, "w", encoding="utf-8")
        self.f.write('{"files": [')
        self.n = 0

    def add(self, r: C.FileReport) -> None:
        self.f.write(("," if self.n else "") + "\n " + json.dumps(vars(r)))
        self.n += 1

    def close(self, **tail) -> None:
        self.f.write("\n]" + "".join(f', "{k}": {json.dumps(v, indent=1)}' for k, v in tail.items()) + "}\n")
        self.f.close()
        usual_mode(self.tmp)
        os.replace(self.tmp, self.path)

    def abandon(self) -> None:
        self.f.close()
        Path(self.tmp).unlink(missing_ok=True)


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
    report = ReportFile(args.report) if args.report else None
    first_dropped: list[C.FileReport] = []

    def each(r: C.FileReport) -> None:            # every file's line as its shard is done
        if not args.quiet:
            print(r.line(), flush=True)
        if report:
            report.add(r)
        if not r.kept and not first_dropped:
            first_dropped.append(r)
    try:
        got = C.ingest(files, args.out, settings, workers=args.workers, progress=not args.quiet, each=each)
    except BaseException:
        if report:
            report.abandon()
        raise
    seconds = time.perf_counter() - t0
    print("\n".join(totals(got.totals, seconds, got.cached) + [f"cache    {note}" for note in got.cache_dropped]))
    if report:
        report.close(totals=got.totals, seconds=seconds, cached=got.cached, cache_dropped=got.cache_dropped)
    if args.dump:
        written = dump_corpus(got.songs, args.data, args.dump)
        print(f"dump     {written} MIDI files under {args.dump}")
    if not len(got.songs):
        more = ", ..." if got.dropped > 1 else ""
        why = f" ({first_dropped[0].path}: {first_dropped[0].reason}{more})" if first_dropped else ""
        return cli.fail(PROG, f"no usable file of {got.totals['files']}{why}", NO_USABLE)
    return 0


def main(argv=None) -> int:
    return cli.run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
