"""Does a set of solos speak the idiom, and how close is it to real playing, note by note?

Measured on solos read as played (``music.performed``), so real and generated are read
alike:

- **formula use**: the share of a set's 8-note interval patterns (7 signed intervals,
  transposition-free) that also occur in the training solos, and the longest run of
  consecutive notes covered by such shared patterns (mean over solos).  Jazz players
  share formulas: real solos by unseen players share far more than a model that only
  recombines intervals;
- **copies**: the share of 8-note windows whose intervals *and* inter-onset times (to
  the nearest 1/12 beat) are found whole in the training solos: verbatim copying, which
  must stay rare while formula use rises;
- **chord-tone rate**: the share of notes under a known chord whose pitch class is in
  that chord (tensions included), from the chord markers of the files; also by where the
  note starts (``POSITIONS``): on a strong beat (1 or 3 of a 4/4 bar), on another beat, on
  the off-beat eighth (straight or swung), elsewhere;
- **detached share**: per solo, the share of notes followed by a silence of at least
  1/12 beat before the next onset; the overlap of the two sets' per-solo densities
  (``metrics.overlap_area``, 1 = the same);
- **sounding-length overlap**: the shared area of the two sets' histograms of how long
  notes sound (``listener_features.HELD`` bins: 1/16 beat .. 4 beats), over all notes.
"""
from __future__ import annotations

import numpy as np

from jazzgen.evaluation.listener_features import DETACHED, HELD, held_bin
from jazzgen.music.performed import PerformedSolo

N = 8                              # notes in a formula / a copy window


def _rows(solo: PerformedSolo, with_time: bool) -> np.ndarray:
    """One row per N-note window: its N-1 intervals (and N inter-onsets in 1/12 beats)."""
    if len(solo) < N:
        return np.zeros((0, 2 * N - 1 if with_time else N - 1), np.int32)
    iv = np.lib.stride_tricks.sliding_window_view(np.diff(solo.pitch).astype(np.int32), N - 1)
    if not with_time:
        return np.ascontiguousarray(iv)
    ioi = np.rint(solo.ioi_beats * 12).astype(np.int32)
    return np.ascontiguousarray(np.hstack([iv, np.lib.stride_tricks.sliding_window_view(ioi, N)]))


def _keys(rows: np.ndarray) -> list[bytes]:
    return rows.view(np.dtype((np.void, rows.shape[1] * 4))).ravel().tolist() if len(rows) else []


def index(solos: list[PerformedSolo]) -> tuple[set, set]:
    """(interval patterns, interval-and-time windows) of the training solos."""
    pat, win = set(), set()
    for s in solos:
        pat.update(_keys(_rows(s, False)))
        win.update(_keys(_rows(s, True)))
    return pat, win


def _longest_run(hit: np.ndarray) -> int:
    """Longest stretch of notes covered by hit windows (window i covers notes i..i+N-1)."""
    best, end = 0, -1
    start = 0
    for i in np.flatnonzero(hit).tolist():
        if i > end:                 # a new run starts with window i
            start = i
        end = i + N - 1
        best = max(best, end - start + 1)
    return best


def formulas(solos: list[PerformedSolo], train_index: tuple[set, set]) -> dict:
    """Formula use, longest shared run and copies of a set against the training index."""
    pat, win = train_index
    shared, total, copies, runs = 0, 0, 0, []
    for s in solos:
        hit = np.array([k in pat for k in _keys(_rows(s, False))], bool)
        shared += int(hit.sum())
        total += len(hit)
        copies += sum(k in win for k in _keys(_rows(s, True)))
        runs.append(_longest_run(hit))
    return {"formula_use": shared / max(total, 1), "longest_shared_run": float(np.mean(runs)) if runs else 0.0,
            "copied": copies / max(total, 1), "windows": total}


def chord_tone_rate(solos: list[PerformedSolo]) -> float:
    """Share of notes under a known chord that are chord tones, over the whole set."""
    t = np.concatenate([s.chord_tone() for s in solos] + [np.zeros(0, np.int64)])
    known = t >= 0
    return float(t[known].mean()) if known.any() else float("nan")


POSITIONS = ("strong beat", "other beat", "off-beat eighth", "elsewhere")


def positions(solo: PerformedSolo) -> np.ndarray:
    """Per note, its POSITIONS index, read at the nearest 1/12 beat: a beat of the bar counted
    from its bar line (even: strong), the off-beat eighth at 6/12 (straight) or 8/12 (swung)."""
    step = np.rint(solo.onset * 12 / solo.tpq).astype(np.int64)
    bar = np.maximum(np.searchsorted(solo.bar_starts, solo.onset, side="right") - 1, 0)
    start = solo.bar_starts[bar] if len(solo.bar_starts) else np.zeros_like(solo.onset)
    beat = np.rint((solo.onset - start) * 12 / solo.tpq).astype(np.int64) // 12
    sub = step % 12
    return np.where(sub == 0, np.where(beat % 2 == 0, 0, 1), np.where((sub == 6) | (sub == 8), 2, 3))


def chord_tone_by_position(solos: list[PerformedSolo]) -> dict[str, float]:
    """The chord-tone rate of the notes at each of POSITIONS, over the whole set."""
    t = np.concatenate([s.chord_tone() for s in solos] + [np.zeros(0, np.int64)])
    where = np.concatenate([positions(s) for s in solos] + [np.zeros(0, np.int64)])
    return {name: float(t[(where == i) & (t >= 0)].mean()) if ((where == i) & (t >= 0)).any() else float("nan")
            for i, name in enumerate(POSITIONS)}


def detached_share(solo: PerformedSolo) -> float:
    """Share of notes (all but the last) followed by at least 1/12 beat of silence."""
    g = solo.gap_beats[:-1]
    return float(np.mean(g >= DETACHED)) if len(g) else float("nan")


def sounding_histogram(solos: list[PerformedSolo]) -> np.ndarray:
    """Share of all notes in each HELD bin of sounding length."""
    b = np.concatenate([held_bin(s.length_beats) for s in solos] + [np.zeros(0, np.int64)])
    return np.bincount(b, minlength=len(HELD)) / max(len(b), 1)


def closeness(generated: list[PerformedSolo], real: list[PerformedSolo]) -> dict:
    """Detached share (means and per-solo overlap) and the sounding-length histogram overlap."""
    from jazzgen.evaluation.metrics import overlap_area
    dg = np.array([detached_share(s) for s in generated])
    dr = np.array([detached_share(s) for s in real])
    return {"detached_generated": float(np.nanmean(dg)), "detached_real": float(np.nanmean(dr)),
            "detached_overlap": overlap_area(dg, dr),
            "sounding_overlap": float(np.minimum(sounding_histogram(generated), sounding_histogram(real)).sum()),
            "chord_tone_generated": chord_tone_rate(generated), "chord_tone_real": chord_tone_rate(real),
            "chord_tone_by_position": {"generated": chord_tone_by_position(generated),
                                       "real": chord_tone_by_position(real)}}
