"""How well chord_infer recovers known changes: per-beat root and quality-family accuracy.

For each bundled WJazzD solo, jazzgen's own trio (band.band_parts) is built from the
solo's chord markers; chords are inferred from the piano + bass notes alone (no markers,
no solo) and compared beat by beat with the markers.  N.C. beats (and unreadable symbols)
are skipped.  Quality is compared by family:

    maj = maj, maj7, 6, aug     min = min, min7, min6, minmaj7     dom = dom7, aug7, alt
    hdim = m7b5                 dim = dim, dim7                    sus = sus4, 7sus4

    python scripts/chord_accuracy.py [--data midi/wjazzd] [--limit N] [--every K] [--per beat|half-bar]
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

from jazzgen.errors import JazzgenError
from jazzgen.generation.band import band_parts
from jazzgen.music import chord_infer
from jazzgen.music.chords import parse_chord
from jazzgen.music.midi_io import read_midi
from jazzgen.music.notes import GRID, NO_CHORD

ROOT = Path(__file__).resolve().parents[1]

FAMILY = {"maj": "maj", "maj7": "maj", "6": "maj", "aug": "maj",
          "min": "min", "min7": "min", "min6": "min", "minmaj7": "min",
          "dom7": "dom", "aug7": "dom", "alt": "dom", "m7b5": "hdim",
          "dim": "dim", "dim7": "dim", "sus4": "sus", "7sus4": "sus"}


def _seq(path):
    out = read_midi(path, chord_params=PARAMS)
    return out[0] if isinstance(out, tuple) else out


def _root_family(symbol: str):
    try:
        ch = parse_chord(symbol)
    except JazzgenError:
        return None
    if ch.root is None:
        return None
    return ch.root, FAMILY[ch.quality]


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
        w = _root_family(want)
        if w is None:
            continue
        g = _root_family(got)
        n += 1
        if g is not None and g[0] == w[0]:
            root += 1
            full += g[1] == w[1]
            if g[1] != w[1]:
                conf[(w[1], g[1])] += 1
        else:
            conf[("root", "miss")] += 1
    return n, root, full, spent, conf


TRIADS = {frozenset({0, 4, 7}), frozenset({0, 3, 7})}


def triad_root(pcs: set[int]) -> int | None:
    """The root of a plain major or minor triad (any inversion); None for anything else."""
    for r in pcs:
        if frozenset((p - r) % 12 for p in pcs) in TRIADS:
            return r
    return None


def accompaniment_notes(path: Path, melody) -> list[tuple[float, float, int]]:
    """(start beat, end beat, pitch) of every note of the file (mido) but the melody's
    (a note at the step and pitch of one of `melody`'s, the NoteSequence jazzgen read)."""
    import mido
    mf = mido.MidiFile(path)
    tpq = mf.ticks_per_beat
    sung = set(zip(melody.start.tolist(), melody.pitch.tolist()))
    out = []
    for tr in mf.tracks:
        t, on = 0, {}
        for m in tr:
            t += m.time
            if m.type == "note_on" and m.velocity > 0:
                on[(m.channel, m.note)] = t
            elif m.type in ("note_on", "note_off") and (m.channel, m.note) in on:
                t0 = on.pop((m.channel, m.note))
                if (round(t0 / tpq * GRID), m.note) not in sung:
                    out.append((t0 / tpq, t / tpq, m.note))
    return out


def triad_roots(folder: Path) -> tuple[int, int]:
    """Real files whose changes are known where they are plain: read each (chords inferred,
    as ingest does), and on every beat where the other tracks sound exactly a major or
    minor triad (mido, mid-beat), compare its root with the inferred chord's.  E.g. the
    Nottingham folk tunes, whose chord track plays the tune's triads.  (beats, hits)."""
    n = hits = 0
    for f in sorted(folder.glob("*.mid")):
        seq, rep = read_midi(f, chord_params=PARAMS)
        if rep.chord_source != "inferred":
            continue
        notes = accompaniment_notes(f, seq)
        for b in range(int(seq.end // GRID)):
            root = triad_root({p % 12 for s, e, p in notes if s <= b + 0.5 < e})
            i = int(seq.chord_at(np.array([b * GRID]))[0])
            if root is None or i < 0:
                continue
            got = _root_family(seq.chords[i].symbol)
            n += 1
            hits += got is not None and got[0] == root
    return n, hits


# POP909 chord_midi.txt qualities (Harte-style "root:quality[/bass]") -> family; others skipped
POP909_FAMILY = {"maj": "maj", "maj7": "maj", "maj6": "maj", "aug": "maj", "min": "min", "min7": "min",
                 "min6": "min", "minmaj7": "min", "7": "dom", "hdim7": "hdim", "dim": "dim", "dim7": "dim",
                 "sus2": "sus", "sus4": "sus", "sus4(b7)": "sus"}


def pop909_labels(path: Path) -> list[tuple[float, float, int | None, str | None]]:
    """(start s, end s, root pitch class or None for N, family or None) of each chord_midi.txt line."""
    out = []
    for line in path.read_text().splitlines():
        start, end, label = line.split("\t")
        root, _, quality = label.partition(":")
        r = _root_family(root) if root != "N" else None
        out.append((float(start), float(end), r[0] if r else None, POP909_FAMILY.get(quality.split("/")[0])))
    return out


def pop909(folder: Path) -> tuple[int, int, int, int]:
    """POP909 songs (DIR/NNN/NNN.mid + chord_midi.txt, github.com/music-x-lab/POP909-Dataset):
    read each as ingest does (its MELODY track the melody, chords inferred from BRIDGE and
    PIANO) and compare, in the middle of
    every beat, the inferred chord with the dataset's MIDI chord labels (themselves
    extracted from the MIDI by its authors' algorithm, not transcribed by hand).  N beats
    are skipped.  (beats, root hits, beats with a known family, root + family hits)."""
    from jazzgen.music.timing import seconds_of
    n = hits = fam_n = fam_hits = 0
    for d in sorted(p for p in folder.iterdir() if (p / "chord_midi.txt").exists()):
        seq, rep = read_midi(d / f"{d.name}.mid", chord_params=PARAMS)
        labels = pop909_labels(d / "chord_midi.txt")
        for b in range(int(seq.end // GRID)):
            mid = b * GRID + GRID // 2
            t = seconds_of(seq, mid)
            want = next((x for x in labels if x[0] <= t < x[1]), None)
            i = int(seq.chord_at(np.array([mid]))[0])
            if want is None or want[2] is None:
                continue
            got = _root_family(seq.chords[i].symbol) if i >= 0 else None
            n += 1
            ok = got is not None and got[0] == want[2]
            hits += ok
            if want[3] is not None:
                fam_n += 1
                fam_hits += ok and got[1] == want[3]
    return n, hits, fam_n, fam_hits


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
        n, hits, fam_n, fam_hits = pop909(Path(args.pop909))
        print(f"{args.pop909}: {n} beats with a chord label; inferred root right on {hits / max(n, 1):.1%}; "
              f"root + quality family on {fam_hits / max(fam_n, 1):.1%} of the {fam_n} with a known family")
        return 0
    if args.triads:
        n, hits = triad_roots(Path(args.triads))
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
