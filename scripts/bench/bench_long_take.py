"""Long takes stay linear: each format of a long take against the same format of a short one.

    python scripts/bench/bench_long_take.py                       # 3600 s against 120 s, all formats
    python scripts/bench/bench_long_take.py --seconds 1800 --base 60 --formats wav,png

The take is made once per length (the generator, timed too); each format is then written in
a forked child, so that its peak memory (ru_maxrss of the child: what the format adds to a
process holding the take) and time are its own.  The last column is the long take's time
over the short one's scaled by the ratio of lengths: about 1 means linear, far above 1 that
the format grows faster than the music.
"""
from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time
from pathlib import Path

from jazzgen import paths
from jazzgen.generation.takes import FORMATS, TakeConfig, load_stepper, make_takes, write_take
from jazzgen.music.chart import build_chart


def in_child(job) -> tuple[float, float]:
    """(seconds, peak MB) of job() run in a forked child."""
    t0 = time.perf_counter()
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            job()
            code = 0
        finally:
            os._exit(code)
    _, status, usage = os.wait4(pid, 0)
    if status != 0:
        raise SystemExit(f"the child writing a format failed (status {status})")
    return time.perf_counter() - t0, usage.ru_maxrss / 1024


def measure(stepper, seconds: float, formats, out: Path) -> dict:
    t0 = time.perf_counter()
    take = make_takes(stepper, build_chart(form="blues"), TakeConfig(seconds=seconds, seed=1))[0]
    got = {"generate": (time.perf_counter() - t0, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}
    for fmt in formats:
        got[fmt] = in_child(lambda fmt=fmt: write_take(take, out, (fmt,)))
        print(f"  {seconds:g} s {fmt}: {got[fmt][0]:.1f} s, {got[fmt][1]:.0f} MB "
              f"({(out / f'{take.name}.{fmt}').stat().st_size / 2**20:.1f} MB file)", flush=True)
    return got


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=3600.0, help="the long take (default 3600)")
    p.add_argument("--base", type=float, default=120.0, help="the short take it is compared with (default 120)")
    p.add_argument("--formats", default=",".join(FORMATS), help=f"comma-separated (default {','.join(FORMATS)})")
    a = p.parse_args(argv)
    formats = [f for f in a.formats.split(",") if f]
    stepper = load_stepper(paths.SHIPPED_MODEL)
    with tempfile.TemporaryDirectory() as d:
        short, long_ = (measure(stepper, s, formats, Path(d)) for s in (a.base, a.seconds))
    k = a.seconds / a.base
    print(f"\n| step | {a.base:g} s take | {a.seconds:g} s take | peak MB ({a.seconds:g} s) | "
          f"time / ({k:g} x short) |")
    print("|---|---|---|---|---|")
    for step in ["generate", *formats]:
        (ts, _), (tl, ml) = short[step], long_[step]
        print(f"| {step} | {ts:.1f} s | {tl:.1f} s | {ml:.0f} | {tl / (k * ts):.2f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
