"""What predicts a note's articulation class?  Held-out perplexity of simple count models.

    python scripts/articulation_info.py [--data midi/wjazzd]

For each set of features, p(articulation | event length, features) is counted on the
shipped model's 361 training solos and smoothed toward p(articulation | event length)
with 4 pseudo-counts, then scored on its 40 validation solos (the split training and
``scripts/report.py`` use, so the figures sit beside the model's and the baselines').
Features: the onset step in the beat, the solo's tempo bucket, the previous note's
articulation, the interval from the previous note, the velocity level and the performer.

Two columns: the classes as the tokens hold them (the last one: released into a rest),
and the four of the vocabulary before that class, where a note released into a rest
counted as legato (``Vocab(art_rest=False)``; there, knowing that a rest follows is a
feature: the one no sampler had when it drew the note).
"""
from __future__ import annotations

import argparse
import sys
from collections import Counter

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.data.corpus import load_corpus
from jazzgen.data.dataset import split_by_file
from jazzgen.paths import CACHE

SETS = (("event length alone", ()), ("+ onset step", ("sub",)), ("+ tempo bucket", ("tempo",)),
        ("+ onset step + tempo bucket", ("sub", "tempo")), ("+ previous articulation", ("prev_art",)),
        ("+ interval from the previous note", ("interval",)), ("+ velocity level", ("vel",)),
        ("+ performer", ("performer",)), ("+ a rest follows (known only after the note)", ("rest_next",)))


def note_rows(seq, solo: int, performers: dict, vocab: T.Vocab) -> dict[str, np.ndarray]:
    """One row per note head: its articulation, event length and the candidate features."""
    t = T.encode(seq, vocab)
    head = np.flatnonzero(t.art != T.PAD)
    nxt = np.minimum(head + 1, len(t.pitch) - 1)
    pitch = t.pitch[head].astype(np.int64)
    return {"art": t.art[head], "dur": t.dur[head], "sub": t.sub[head], "tempo": t.tempo[head],
            "prev_art": np.r_[0, t.art[head][:-1]], "interval": np.clip(np.diff(pitch, prepend=pitch[0]), -7, 7),
            "vel": t.vel[head], "performer": np.full(len(head), performers.setdefault(seq.performer, len(performers))),
            "rest_next": (t.pitch[nxt] == T.REST) & (nxt > head), "solo": np.full(len(head), solo)}


def perplexity(rows: dict, feats: tuple[str, ...], held: np.ndarray, prior: float = 4.0) -> float:
    """Held-out perplexity of p(art | dur, feats), smoothed toward p(art | dur)."""
    keys = list(zip(*(rows[k].tolist() for k in ("dur", *feats))))
    art, dur = rows["art"].tolist(), rows["dur"].tolist()
    joint, ctx, by_dur, dur_n = Counter(), Counter(), Counter(), Counter()
    unigram = Counter(a for a, h in zip(art, held) if not h)
    n_train = sum(unigram.values())
    for k, a, d, h in zip(keys, art, dur, held):
        if not h:
            joint[k, a] += 1
            ctx[k] += 1
            by_dur[d, a] += 1
            dur_n[d] += 1
    nll, n = 0.0, 0
    for k, a, d, h in zip(keys, art, dur, held):
        if h:
            base = (by_dur[d, a] + prior * unigram[a] / n_train) / (dur_n[d] + prior)
            nll -= np.log((joint[k, a] + prior * base) / (ctx[k] + prior))
            n += 1
    return float(np.exp(nll / n))


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", default="midi/wjazzd")
    ap.add_argument("--cache", default=CACHE)
    a = ap.parse_args(argv)
    songs = load_corpus(a.data, a.cache, progress=False).songs
    _, val = split_by_file([s.name for s in songs], 0.1, 0)
    table = {}
    for col, vocab in (("now", T.default_vocab()), ("before", T.Vocab(art_rest=False))):
        performers: dict = {}
        parts = [note_rows(s, i, performers, vocab) for i, s in enumerate(songs)]
        rows = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        held = np.isin(rows["solo"], val)
        table[col] = {label: perplexity(rows, feats, held) for label, feats in SETS if col == "before" or
                      "rest_next" not in feats}
    print(f"{len(songs)} solos, {int(held.sum())} held-out notes of {len(held)}; "
          f"notes released into a rest: {rows['rest_next'].mean():.1%}\n")
    print("| p(articulation \\| event length, ...) | 5 classes (now) | 4 classes (before) |\n|---|---|---|")
    for label, _ in SETS:
        now = table["now"].get(label)
        print(f"| {label} | {'-' if now is None else f'{now:.3f}'} | {table['before'][label]:.3f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
