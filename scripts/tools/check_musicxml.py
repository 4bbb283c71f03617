"""Do jazzgen's lead sheets open in notation programs?  Validate and re-read many takes.

    python scripts/tools/check_musicxml.py [--takes 50] [--seed 0] [--model models/wjazzd]

Makes --takes takes with random settings (form or a chart in another meter, tempo 60-300,
length 8-60 s, seed, performer), writes each one's MusicXML as the page and `generate
--musicxml` do, and checks it three ways (``jazzgen.evaluation.musicxml_check``): the W3C
MusicXML 4.0 schema, music21's re-reading, and where each onset is written.

Prints one line per take and the count that pass all three; exits 1 if any fails.
``--lengths 120 1800`` instead times the writer on takes of those many seconds (linear:
the time per second of music stays flat).
"""
from __future__ import annotations

import argparse
import sys
import time


def time_lengths(stepper, lengths: list[float]) -> None:
    """Seconds to write the MusicXML of a rhythm-changes take of each length (best of 3)."""
    from jazzgen.generation.leadsheet import musicxml_bytes
    from jazzgen.generation.takes import TakeConfig, make_takes
    from jazzgen.music.chart import build_chart
    for seconds in lengths:
        take = make_takes(stepper, build_chart(form="rhythm-changes"), TakeConfig(seconds=seconds, seed=3,
                                                                                    band="none"))[0]
        best = min(_timed(musicxml_bytes, take.solo) for _ in range(3))
        print(f"{seconds:6.0f} s of music, {len(take.solo):5d} notes: written in {best:6.3f} s "
              f"({1000 * best / seconds:.2f} ms a second of music)", flush=True)


def _timed(fn, *args) -> float:
    t0 = time.perf_counter()
    fn(*args)
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--takes", type=int, default=50)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--model", default=None, help="model folder (default: the shipped one)")
    ap.add_argument("--lengths", type=float, nargs="*", help="time the writer on takes this long (seconds)")
    a = ap.parse_args(argv)
    from jazzgen import paths
    from jazzgen.evaluation.musicxml_check import check
    from jazzgen.generation.takes import load_stepper
    stepper = load_stepper(a.model or paths.SHIPPED_MODEL)
    if a.lengths:
        time_lengths(stepper, a.lengths)
        return 0
    passed = check(stepper, a.takes, a.seed)
    print(f"{passed}/{a.takes} takes validate against the MusicXML 4.0 schema and re-read in music21")
    return 0 if passed == a.takes else 1


if __name__ == "__main__":
    sys.exit(main())
