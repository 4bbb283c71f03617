"""What the listener hears in 4 bars of a solo played as it was: one feature vector a window.

Every value comes from ``performed.PerformedSolo`` (ticks, not the grid), in beats.
Features come in named groups (the prefix before the first ``:``), so a report can
say which kind of thing gives a solo away:

    interval      signed melodic interval histogram, -12..12 semitones (ends clipped)
    sounding      how long notes sound, in beats, binned at the values players hold
                  (1/16, 1/12, 1/8, 1/6, 1/4, 1/3, 3/8, 1/2, 2/3, 3/4, 5/6, 1, ... 4)
    chord_rel     pitch above the chord's root (0..11, or none)
    onset12       onset position in the beat, nearest 1/12 beat
    onset48       onset position in the beat, nearest 1/48 beat (fine: off the 12-grid)
    timing        off-grid onsets: share more than 1/96 beat from the 12-grid, mean |deviation|
    velocity      mean, sd, mean |change|, share rising, share distinct, correlation with pitch
    articulation  detached share (a gap of at least 1/12 beat to the next onset), overlap share
    rest          share of time in silences over 1/4 beat, and such silences per note
    density       notes per beat
    range         mean pitch, pitch sd, range
    bigram        signed interval-class bigrams (leap/skip/step down, repeat, step/skip/leap up)
    ioi           inter-onset intervals binned like sounding lengths
    onset_ioi     onset position class x inter-onset class
    contour       two descending steps, two ascending steps, arpeggio up/down,
                  step then leap, turns (direction changes), mean run length
"""
from __future__ import annotations

import numpy as np

from jazzgen.music.performed import PerformedSolo

WINDOW_BARS = 4
MIN_NOTES = 4
INTERVAL_CLIP = 12
# note values players hold (beats); a length falls in the bin of the nearest value on a log scale
HELD = (1 / 16, 1 / 12, 1 / 8, 1 / 6, 1 / 4, 1 / 3, 3 / 8, 1 / 2, 7 / 12, 2 / 3, 3 / 4, 5 / 6, 1.0,
        5 / 4, 4 / 3, 3 / 2, 2.0, 3.0, 4.0)
HELD_LABELS = ("1/16", "1/12", "1/8", "1/6", "1/4", "1/3", "3/8", "1/2", "7/12", "2/3", "3/4", "5/6", "1",
               "5/4", "4/3", "3/2", "2", "3", "4+")
DETACHED = 1 / 12        # beats of silence before the next onset that make a note detached
REST = 1 / 4             # beats of silence that make a rest
OFF_GRID = 1 / 96        # beats from the 12-grid that make an onset off the grid
CLASSES = ("leap-", "skip-", "step-", "rep", "step+", "skip+", "leap+")
ONSET_CLASSES = ("beat", "16th", "trip", "8th", "trip2", "16th3", "other")
IOI_CLASSES = ("<=1/6", "1/4", "1/3", "1/2", "2/3", ">=3/4")
CONTOUR = ("desc_steps", "asc_steps", "arp_up", "arp_down", "step_leap", "turns", "run_length")


def _names() -> list[str]:
    n = [f"interval:{i}" for i in range(-INTERVAL_CLIP, INTERVAL_CLIP + 1)]
    n += [f"sounding:{x}" for x in HELD_LABELS]
    n += [f"chord_rel:{k}" for k in range(12)] + ["chord_rel:none"]
    n += [f"onset12:{k}" for k in range(12)] + [f"onset48:{k}" for k in range(48)]
    n += ["timing:off_grid", "timing:mean_dev"]
    n += [f"velocity:{k}" for k in ("mean", "sd", "mean_change", "rising", "distinct", "pitch_corr")]
    n += ["articulation:detached", "articulation:overlap", "rest:share", "rest:per_note", "density:notes_per_beat"]
    n += ["range:mean", "range:sd", "range:span"]
    n += [f"bigram:{a}>{b}" for a in CLASSES for b in CLASSES]
    n += [f"ioi:{x}" for x in HELD_LABELS]
    n += [f"onset_ioi:{a}x{b}" for a in ONSET_CLASSES for b in IOI_CLASSES]
    n += [f"contour:{c}" for c in CONTOUR]
    return n


FEATURES = tuple(_names())
GROUPS = tuple(dict.fromkeys(f.split(":")[0] for f in FEATURES))


def held_bin(beats: np.ndarray) -> np.ndarray:
    """Index into HELD of the nearest held value (log scale) of each length in beats."""
    logs = np.log(np.asarray(HELD))
    edges = (logs[1:] + logs[:-1]) / 2
    return np.searchsorted(edges, np.log(np.maximum(np.asarray(beats, np.float64), 1e-6)))


def interval_class(iv: np.ndarray) -> np.ndarray:
    """0..6: leap down (< -5), skip down (-5..-3), step down, repeat, step up, skip up, leap up."""
    a = np.abs(iv)
    mag = np.where(a == 0, 0, np.where(a <= 2, 1, np.where(a <= 5, 2, 3)))
    return 3 + np.sign(iv) * mag


def onset_class(phase12: np.ndarray) -> np.ndarray:
    """Position of an onset in its beat (nearest 1/12): beat, 16th, triplet, 8th, 2nd triplet, last 16th, other."""
    table = np.array([0, 6, 6, 1, 2, 6, 3, 6, 4, 5, 6, 6])
    return table[phase12 % 12]


def ioi_class(beats: np.ndarray) -> np.ndarray:
    return np.searchsorted([0.2, 0.29, 0.41, 0.58, 0.7], beats)


def _hist(values: np.ndarray, n: int) -> np.ndarray:
    h = np.bincount(values.astype(np.int64), minlength=n)[:n].astype(np.float64)
    return h / max(h.sum(), 1.0)


def _contour(iv: np.ndarray) -> list[float]:
    if len(iv) < 2:
        return [0.0] * len(CONTOUR)
    a, b = iv[:-1], iv[1:]
    step = lambda x: (np.abs(x) >= 1) & (np.abs(x) <= 2)
    skip = lambda x: (np.abs(x) >= 3) & (np.abs(x) <= 5)
    sgn = np.sign(iv)
    moving = sgn[sgn != 0]
    turns = float(np.mean(moving[1:] != moving[:-1])) if len(moving) > 1 else 0.0
    return [float(np.mean(step(a) & step(b) & (a < 0) & (b < 0))),
            float(np.mean(step(a) & step(b) & (a > 0) & (b > 0))),
            float(np.mean(skip(a) & skip(b) & (a > 0) & (b > 0))),
            float(np.mean(skip(a) & skip(b) & (a < 0) & (b < 0))),
            float(np.mean(step(a) & (np.abs(b) >= 3))),
            turns, len(moving) / max(1.0, 1.0 + turns * (len(moving) - 1))]


def _velocity(v: np.ndarray, p: np.ndarray) -> list[float]:
    dv = np.diff(v)
    corr = float(np.corrcoef(v, p)[0, 1]) if v.std() > 0 and p.std() > 0 else 0.0
    return [v.mean() / 127, v.std() / 127, float(np.abs(dv).mean()) / 127 if len(dv) else 0.0,
            float(np.mean(dv > 0)) if len(dv) else 0.0, len(np.unique(v)) / len(v), corr]


def _one_window(s: PerformedSolo, m: np.ndarray, roots: np.ndarray, span: float) -> np.ndarray:
    p, v = s.pitch[m], s.velocity[m].astype(np.float64)
    on = s.onset[m] / s.tpq
    iv = np.diff(p)
    ioi, gap, ln = s.ioi_beats[m], s.gap_beats[m], s.length_beats[m]
    phase = on - np.floor(on)
    p12, p48 = np.rint(phase * 12).astype(np.int64) % 12, np.rint(phase * 48).astype(np.int64) % 48
    dev = np.abs(phase * 12 - np.rint(phase * 12)) / 12
    has_next = ~np.isnan(gap)
    g = gap[has_next]
    rests = g[g > REST]
    rel = np.where(roots[m] >= 0, (p - roots[m]) % 12, 12)
    ic = interval_class(iv)
    bigram = _hist(ic[:-1] * 7 + ic[1:], 49) if len(ic) > 1 else np.zeros(49)
    ii = ioi_class(ioi)
    return np.concatenate([
        _hist(np.clip(iv, -INTERVAL_CLIP, INTERVAL_CLIP) + INTERVAL_CLIP, 2 * INTERVAL_CLIP + 1),
        _hist(held_bin(ln), len(HELD)), _hist(rel, 13), _hist(p12, 12), _hist(p48, 48),
        [float(np.mean(dev > OFF_GRID)), float(dev.mean()) * 12],
        _velocity(v, p.astype(np.float64)),
        [float(np.mean(g >= DETACHED)) if len(g) else 0.0, float(np.mean(g < 0)) if len(g) else 0.0,
         float(rests.sum()) / span, len(rests) / len(p), len(p) / span],
        [p.mean() / 127, p.std() / 12, (p.max() - p.min()) / 48],
        bigram, _hist(held_bin(ioi), len(HELD)), _hist(onset_class(p12) * 6 + ii, 42), _contour(iv)])


def window_features(s: PerformedSolo, window_bars: int = WINDOW_BARS) -> np.ndarray:
    """(windows, len(FEATURES)): one row per `window_bars` bars holding at least MIN_NOTES notes."""
    if len(s) < MIN_NOTES:
        return np.zeros((0, len(FEATURES)))
    bar = np.searchsorted(s.bar_starts, s.onset, side="right") - 1
    win = (bar - bar.min()) // window_bars
    roots = s.chord_root
    rows = []
    for w in np.unique(win):
        m = np.flatnonzero(win == w)
        if len(m) < MIN_NOTES:
            continue
        last = min(m[-1] + 1, len(s) - 1)
        span = max((s.onset[last] - s.onset[m[0]]) / s.tpq, s.length_beats[m[-1]] if last == m[-1] else 0.0, 1e-3)
        rows.append(_one_window(s, m, roots, span))
    return np.array(rows) if rows else np.zeros((0, len(FEATURES)))


# The feature sets of issue 20's measurement, to reproduce it beside the full set: its linear
# test (histograms, loudness, articulation, rests, density, range), its trees (the same plus
# the sequence features and velocity contour), and "the line alone" (no velocity, sounding
# length, detached share or chord-relative pitch).
ISSUE_LINEAR = ("interval", "sounding", "chord_rel", "onset12", "velocity:mean", "velocity:sd",
                "articulation:detached", "rest", "density", "range")
ISSUE_TREES = ISSUE_LINEAR + ("bigram", "ioi", "onset_ioi", "velocity:mean_change", "velocity:rising")
LINE_ONLY = ("interval", "onset12", "rest", "density", "range", "bigram", "ioi", "onset_ioi", "contour")


def columns(select: tuple[str, ...] | None) -> np.ndarray:
    """Indices of the features named in `select` (a whole group, or one feature); None: all."""
    if select is None:
        return np.arange(len(FEATURES))
    unknown = [s for s in select if s not in GROUPS and s not in FEATURES]
    if unknown:
        raise ValueError(f"unknown listener features {unknown}; groups: {', '.join(GROUPS)}")
    return np.array([i for i, f in enumerate(FEATURES) if f in select or f.split(":")[0] in select])
