"""How well chord_infer recovers known changes: per-beat root and quality-family accuracy.

For each bundled WJazzD solo, jazzgen's own trio (band.band_parts) is built from the
solo's chord markers; chords are inferred from the piano + bass notes alone (no markers,
no solo) and compared beat by beat with the markers.  N.C. beats (and unreadable symbols)
are skipped.  Quality is compared by family:

    maj = maj, maj7, 6, aug     min = min, min7, min6, minmaj7     dom = dom7, aug7, alt
    hdim = m7b5                 dim = dim, dim7                    sus = sus4, 7sus4

    python scripts/tools/chord_accuracy.py [--data midi/wjazzd] [--limit N] [--every K] [--per beat|half-bar]
        [--solo]   (also feed the solo line to the inference, as a real band file would)
        [--set NAME=VALUE ...]   (override a field of chord_infer.Params: how sensitive is it?)
        [--triads DIR]   (real files instead: where the accompaniment plays plain triads, is
                          the inferred root the triad's?  e.g. Nottingham's chord tracks)
        [--pop909 DIR]   (POP909's songs against its chord labels: see pop909)

e.g. ``--every 2 --set bass_root_first=1.3`` or ``--set "change_cost=(0.8, 1.2, 2.0)"`` (fields of
``chord_infer.Params``; a new object each run, no module constant is rewritten).
"""
from __future__ import annotations

import argparse
import ast
import dataclasses
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np

from jazzgen.evaluation.chord_accuracy import pop909, root_family, triad_roots
from jazzgen.generation.band import band_parts
from jazzgen.music import chord_infer
from jazzgen.music.midi_io import read_midi
from jazzgen.music.notes import GRID, NO_CHORD

ROOT = Path(__file__).resolve().parents[2]


def _seq(path):
    out = read_midi(path, chord_params=PARAMS)
    return out[0] if isinstance(out, tuple) else out


def score_file(path, per: str, with_solo: bool, seed: int = 0):
    """(beats compared, root hits, root+family hits, seconds spent inferring, confusions)."""
    seq = _seq(path)
    parts = [p for p in band_parts(seq, "trio", seed) if p.name in ("Piano", "Bass")]
    cols = [np.concatenate([getattr(p, k) for p in parts]).astype(np.int64)
            for k in ("pitch", "start", "duration", "velocity")]
    pitch, start, dur, vel = cols
    if with_solo:
        pitch = np.concatenate([pitch, seq.pitch])
        start = np.concatenate([start, seq.start])
        dur = np.concatenate([dur, seq.duration])
        vel = np.concatenate([vel, seq.velocity])
    t = time.perf_counter()
    changes = chord_infer.infer_chords(pitch, start, start + dur, vel,
                                       seq.time_signatures, total=seq.end, per=per, params=PARAMS)
    spent = time.perf_counter() - t
    beats = np.arange(0, seq.end, GRID)
    idx = seq.chord_at(beats)
    truth = [seq.chords[i].symbol if i >= 0 else NO_CHORD for i in idx.tolist()]
    guess = chord_infer.chord_per_frame(changes, beats)
    n = root = full = 0
    conf = Counter()
    for want, got in zip(truth, guess):
        w = root_family(want)
        if w is None:
            continue
        g = root_family(got)
        n += 1
        if g is not None and g[0] == w[0]:
            root += 1
            full += g[1] == w[1]
            if g[1] != w[1]:
                conf[(w[1], g[1])] += 1
        else:
            conf[("root", "miss")] += 1
    return n, root, full, spent, conf


PARAMS = chord_infer.DEFAULT     # the tuning every inference here uses (--set makes another)


def params_from(items: list[str], ap) -> chord_infer.Params:
    """chord_infer.Params with the --set NAME=VALUE overrides (a field, in any case)."""
    fields = {f.name for f in dataclasses.fields(chord_infer.Params)}
    changed = {}
    for item in items:
        name, _, value = item.partition("=")
        if name.lower() not in fields:
            ap.error(f"--set: chord_infer.Params has no field {name.lower()!r}")
        changed[name.lower()] = ast.literal_eval(value)
        print(f"chord_infer.Params.{name.lower()} = {changed[name.lower()]!r}")
    return dataclasses.replace(chord_infer.DEFAULT, **changed)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "midi" / "wjazzd"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--per", default="beat", choices=("beat", "half-bar"))
    ap.add_argument("--solo", action="store_true")
    ap.add_argument("--every", type=int, default=1, help="every K-th file only")
    ap.add_argument("--set", action="append", default=[], metavar="NAME=VALUE")
    ap.add_argument("--triads", metavar="DIR", help="score real files instead: see triad_roots")
    ap.add_argument("--pop909", metavar="DIR", help="score POP909 songs against their chord labels: see pop909")
    args = ap.parse_args(argv)
    global PARAMS
    PARAMS = params_from(args.set, ap)
    if args.pop909:
        n, hits, fam_n, fam_hits = pop909(Path(args.pop909), PARAMS)
        print(f"{args.pop909}: {n} beats with a chord label; inferred root right on {hits / max(n, 1):.1%}; "
              f"root + quality family on {fam_hits / max(fam_n, 1):.1%} of the {fam_n} with a known family")
        return 0
    if args.triads:
        n, hits = triad_roots(Path(args.triads), PARAMS)
        print(f"{args.triads}: {n} beats whose accompaniment sounds a plain major or minor triad; "
              f"inferred root = the triad's on {hits / max(n, 1):.1%}")
        return 0
    files = sorted(Path(args.data).glob("*.mid"))[::args.every]
    if args.limit:
        files = files[:args.limit]
    tot = Counter()
    conf = Counter()
    per_file = []
    worst = (0.0, "", 0)
    for f in files:
        n, r, q, s, c = score_file(f, args.per, args.solo)
        tot.update(n=n, root=r, full=q)
        tot["sec"] += s
        worst = max(worst, (s, f.name, int(_seq(f).end // GRID)))
        conf.update(c)
        if n:
            per_file.append(r / n)
    n = max(tot["n"], 1)
    print(f"{len(files)} files, {tot['n']} beats with a chord (N.C. skipped), frames per {args.per}"
          f"{', solo included' if args.solo else ''}")
    print(f"root accuracy per beat:          {tot['root'] / n:.1%}")
    print(f"root + quality family per beat:  {tot['full'] / n:.1%}")
    print(f"median file root accuracy:       {np.median(per_file):.1%}; worst {min(per_file):.1%}")
    print(f"inference time: {tot['sec'] / max(len(files), 1) * 1000:.2f} ms per file on average")
    print(f"slowest: {worst[0] * 1000:.1f} ms for {worst[2]} beats ({worst[1]}),"
          f" {worst[0] / max(worst[2], 1) * 1e6:.0f} us per beat")
    print("most common errors (truth family -> inferred):",
          ", ".join(f"{a}->{b} {k}" for (a, b), k in conf.most_common(8)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
