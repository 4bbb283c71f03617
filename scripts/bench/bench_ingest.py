"""How fast is ingestion? Cold and warm corpus.load_corpus, and music21 for scale.

    python scripts/bench/bench_ingest.py --data midi/wjazzd

All times are wall-clock seconds of calls made inside this one process, measured
with time.perf_counter around the call alone: interpreter start-up and the import
of jazzgen are not counted (the lazy imports inside load_corpus, symusic and tqdm,
are: a first call pays them).  In order:

* cold: load_corpus into a fresh, empty temporary cache folder (every file read);
* warm: the same call again (every file hashed and served from the cache);
* music21: music21.converter.parse on a seeded sample of files spread over the
  corpus, as files per second; music21 is imported, and warmed up on one other
  file, before the clock starts, and forceSource=True keeps it from serving its
  own pickle cache of earlier parses (which made a second run look 10x faster).

The last line puts the figures side by side against the targets for WJazzD's 401
files on a 2-core machine.
"""
from __future__ import annotations

import argparse
import os
import random
import resource
import sys
import tempfile
import time

from jazzgen.data import corpus


def cpu_seconds() -> float:
    """CPU time of this process and its finished children (the reader pool, if any)."""
    me, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime + kids.ru_utime + kids.ru_stime


def timed(fn):
    """(fn(), wall seconds, CPU seconds): on a shared machine the CPU time says what the
    wall time cannot, how much work the call was, however busy the other cores."""
    t, c = time.perf_counter(), cpu_seconds()
    out = fn()
    return out, time.perf_counter() - t, cpu_seconds() - c


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="bench_ingest", description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True, help="MIDI folder (e.g. midi/wjazzd)")
    p.add_argument("--workers", type=int, help="reader processes (default: load_corpus's)")
    p.add_argument("--sample", type=int, default=8, help="files for music21 (default 8)")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    files = corpus.find_midi(args.data)
    if not files:
        print(f"bench_ingest: error: no MIDI files in {args.data}", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="bench-ingest-") as cache:
        cold_corpus, cold, cold_cpu = timed(lambda: corpus.load_corpus(files, cache, workers=args.workers,
                                                                       progress=False))
        warm_corpus, warm, warm_cpu = timed(lambda: corpus.load_corpus(files, cache, workers=args.workers,
                                                                       progress=False))
    assert cold_corpus.cached == 0 and warm_corpus.cached == len(files), "the cache did not behave"
    load = os.getloadavg()[0]
    print(f"ours     {len(files)} files ({len(cold_corpus.songs)} kept): cold {cold:.2f} s (CPU {cold_cpu:.2f} s), "
          f"warm {warm:.2f} s (CPU {warm_cpu:.2f} s), {warm_corpus.cached} from the cache; "
          f"load average {load:.1f} on {os.cpu_count()} cores")

    import music21
    rng = random.Random(args.seed)
    n = min(args.sample, len(files))
    step = len(files) / n   # one file from each of n equal slices of the sorted list
    sample = [files[int(i * step + rng.random() * step)] for i in range(n)]
    music21.converter.parse(str(next(f for f in files if f not in sample)), forceSource=True)
    per_file = []
    for f in sample:
        _, s, _ = timed(lambda f=f: music21.converter.parse(str(f), forceSource=True))
        per_file.append(s)
        print(f"music21  {s:6.2f} s  {f.name}")
    ours = len(files) / cold
    theirs = n / sum(per_file)
    print(f"cold {cold:.2f} s  warm {warm:.2f} s  ours {ours:.0f} files/s  music21 {theirs:.1f} files/s  "
          f"ratio {ours / theirs:.0f}x  (target: cold <= 3 s, warm <= 0.5 s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
