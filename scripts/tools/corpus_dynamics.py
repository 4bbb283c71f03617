"""Where tokens.py's articulation, velocity and tempo bins come from: the corpus's distributions.

    python scripts/tools/corpus_dynamics.py [midi/wjazzd]

Prints, over every note of the folder (read as the tokens read it: performed lengths,
silences of up to tokens.CLOSE_GAPS steps joined to the note's event), the share of
notes at or above each articulation ratio, the velocity octiles with each bin's median,
how much of the real spread of per-solo velocity sd survives the velocity levels (sd across
solos of each solo's velocity sd, decoded levels over real velocities), and the solos per
tempo bucket.
"""
from __future__ import annotations

import sys

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.data.corpus import load_corpus


def main(folder: str = "midi/wjazzd") -> None:
    songs = load_corpus(folder, None, progress=False).songs
    ratio, vel, bpm = [], [], []
    for s in songs:
        nxt = np.append(s.start[1:], np.iinfo(np.int32).max).astype(np.int64)
        gap = nxt - (s.start + s.duration)
        event = np.where(gap <= T.CLOSE_GAPS, nxt - s.start, s.duration)
        ratio.append(s.duration / event)
        vel.append(s.velocity)
        bpm.append(T.solo_bpm(s))
    r, v = np.concatenate(ratio), np.concatenate(vel)
    print(f"{len(songs)} solos, {len(r)} notes")
    for e in (1.0, 0.9, 0.8, 0.7, 0.65, 0.5, 0.4):
        print(f"  articulation ratio >= {e:.2f}: {100 * (r >= e).mean():.1f}% of notes")
    vc = T.default_vocab()
    cls = vc.art_ids(r) - T.ART0
    print("  classes", np.bincount(cls).tolist(), "medians", [round(float(np.median(r[cls == k])), 3)
                                                            for k in range(cls.max() + 1)])
    edges = np.quantile(v, np.arange(1, 8) / 8)
    lv = vc.vel_ids(v) - T.VEL0
    print("velocity octiles", edges.round(1).tolist(), "; bins of", list(vc.vel_edges), "medians",
          [int(np.median(v[lv == k])) for k in range(len(vc.vel_values))], "counts", np.bincount(lv).tolist())
    real_sd = np.array([x.std() for x in vel])
    level_sd = np.array([vc.velocities(vc.vel_ids(x)).std() for x in vel])
    print(f"per-solo velocity sd: spread across solos {real_sd.std():.3f} real, {level_sd.std():.3f} through the "
          f"{len(vc.vel_values)} levels ({level_sd.std() / real_sd.std():.2f} kept)")
    tb = np.array([vc.tempo_id(b) for b in bpm]) - T.TEMPO0
    print("tempo edges", list(vc.tempo_edges), "solos per bucket", np.bincount(tb, minlength=8).tolist())


if __name__ == "__main__":
    main(*sys.argv[1:])
