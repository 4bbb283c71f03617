"""How well melody.top_voice recovers a known top line from two-hand piano texture.

Material with a known answer: each bundled WJazzD solo, moved up ``--up`` semitones
(default an octave, the right hand), merged into one track with jazzgen's own piano
comping for its changes (band.band_parts, the left hand: rootless voicings in C3-C5 on
syncopated hits, the piano laying out in between) and, with --bass, the walking bass too.
Compared against the plain skyline (highest note at each onset), on the same notes:

    mean |interval| between successive line notes (semitones), share of leaps > 12,
    precision (share of line notes that are solo notes), recall (share of solo notes found)

    python scripts/tools/melody_accuracy.py [--data midi/wjazzd] [--limit N] [--up 12] [--bass]
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

from jazzgen.generation.band import band_parts
from jazzgen.music import melody
from jazzgen.music.midi_io import read_midi

ROOT = Path(__file__).resolve().parents[2]


def texture(path, up: int, with_bass: bool, seed: int = 0):
    """(pitch, start, end, is_solo) of the merged two-hand track."""
    out = read_midi(path)
    seq = out[0] if isinstance(out, tuple) else out
    names = ("Piano", "Bass") if with_bass else ("Piano",)
    parts = [p for p in band_parts(seq, "trio", seed) if p.name in names]
    pitch = np.concatenate([seq.pitch.astype(np.int64) + up] + [p.pitch.astype(np.int64) for p in parts])
    start = np.concatenate([seq.start] + [p.start for p in parts]).astype(np.int64)
    dur = np.concatenate([seq.duration] + [p.duration for p in parts]).astype(np.int64)
    solo = np.zeros(len(pitch), bool)
    solo[:len(seq.pitch)] = True
    return pitch, start, start + dur, solo


def line_stats(pitch, idx):
    p = pitch[np.sort(idx)] if len(idx) else pitch[:0]
    iv = np.abs(np.diff(p))
    return iv.sum(), (iv > 12).sum(), len(iv)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT / "midi" / "wjazzd"))
    ap.add_argument("--limit", type=int, default=0)
    ap.add_argument("--up", type=int, default=12)
    ap.add_argument("--bass", action="store_true")
    args = ap.parse_args(argv)
    files = sorted(Path(args.data).glob("*.mid"))[:args.limit or None]
    acc = {k: np.zeros(6) for k in ("solo alone", "skyline", "top_voice")}
    spent = 0.0
    for f in files:
        pitch, start, end, solo = texture(f, args.up, args.bass)
        t = time.perf_counter()
        tv = melody.top_voice(pitch, start, end)
        spent += time.perf_counter() - t
        for name, idx in (("solo alone", np.flatnonzero(solo)),
                          ("skyline", melody.skyline(pitch, start)), ("top_voice", tv)):
            s, big, n = line_stats(pitch, idx)
            acc[name] += (s, big, n, solo[idx].sum(), len(idx), solo.sum())
    print(f"{len(files)} files: solo +{args.up} semitones over jazzgen's piano comping"
          f"{' and walking bass' if args.bass else ''}, merged into one track")
    print(f"{'line':12s} {'mean |int|':>10s} {'leaps>12':>9s} {'precision':>9s} {'recall':>7s}")
    for name, (s, big, n, hit, size, total) in acc.items():
        print(f"{name:12s} {s / max(n, 1):10.2f} {big / max(n, 1):9.1%} {hit / max(size, 1):9.1%}"
              f" {hit / max(total, 1):7.1%}")
    print(f"top_voice time: {spent / max(len(files), 1) * 1000:.2f} ms per file")
    return 0


if __name__ == "__main__":
    sys.exit(main())
