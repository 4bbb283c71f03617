"""The melodic line of a polyphonic part, and whether a part has one at all.

A plain skyline (the highest note at each onset) turns solo piano into a zigzag: when the
right hand rests, the left hand's comping chords fill the gap and the "melody" leaps an
octave down and back.  ``top_voice`` tracks two hands instead (voice separation by
nearest neighbour, in the manner of skyline-with-continuity methods):

* onsets are taken in time order, a chord (notes starting together) at a time;
* a note under a top-voice note that is still sounding is an inner voice: skipped;
* otherwise the chord's highest note joins the top voice only if it is nearer the top
  voice's running register than the left hand's (both are running averages, so a line
  that walks down step by step is followed) and it does not drop more than
  ``MAX_DROP`` semitones below the last top-voice note after a rest;
* after a long rest (``RESET_BEATS``) the top voice's register is forgotten, so a
  melody that really moved down an octave is picked up again where it went.

``melodic_reason`` says why a part has no line to learn from (empty, a sustained pad,
block chords only), as a skip reason; ``None`` when it has one.
"""
from __future__ import annotations

import numpy as np

from jazzgen.music.notes import GRID

NEAR = 5                # a single note this close below the last top note continues the line
MAX_DROP = 12            # semitones below the last top note that a new phrase may start
RESET_BEATS = 8          # a rest this long (beats) forgets the top voice's register
LEGATO = 3              # steps a top note may overlap the next (legato), not an inner voice
FOLLOW = 0.3             # running-average weight of the newest note in each hand's register
CHORDS_SHARE = 0.6       # onsets with 3+ notes: more than this share is "block chords only"
PAD_BEATS = 4.0          # median note length (beats) at or above which a part is a pad
PAD_ONSETS_PER_BAR = 1.5


def _groups(start: np.ndarray) -> list[np.ndarray]:
    """Indices of notes grouped by onset, in time order (input sorted by start)."""
    cuts = np.flatnonzero(np.diff(start)) + 1
    return np.split(np.arange(len(start)), cuts)


def top_voice(pitch, start, end) -> np.ndarray:
    """Indices (into the input arrays, ascending by start) of the notes of the top voice.

    The arrays are one polyphonic part in grid steps (any order).  The result is
    monophonic at onsets; a held top note cut by the next one is the caller's to trim.
    """
    pitch = np.asarray(pitch, np.int64)
    start = np.asarray(start, np.int64)
    end = np.asarray(end, np.int64)
    if not len(pitch):
        return np.zeros(0, np.int64)
    order = np.lexsort((-pitch, start))
    p, s, e = pitch[order], start[order], end[order]
    if np.all(s[1:] >= e[:-1] - LEGATO) and np.all(np.diff(s) > 0):
        return np.sort(order)                        # already one voice: nothing to separate
    lh = float(np.percentile(p, 25))                 # the left hand's register, to start
    rh = None                                        # the top voice's, from its first note
    keep: list[int] = []
    last_end, last_p = -1, 0
    for g in _groups(s):
        i = g[0]
        if len(g) > 1:
            lh += FOLLOW * (float(p[g[1:]].max()) - lh)
        if rh is not None and s[i] < last_end - LEGATO and p[i] < last_p:
            lh += FOLLOW * (float(p[i]) - lh)        # under a sounding top note: inner voice
            continue
        if rh is not None and s[i] < last_end + RESET_BEATS * GRID and s[i] >= last_end - LEGATO:
            boundary = (rh + lh) / 2                 # the top voice rests: is this the left hand?
            legato = s[i] < last_end + LEGATO          # straight on from the last top note
            near = p[i] >= last_p - NEAR and (len(g) < 3 or legato)   # a step, not a chord
            if not (p[i] >= boundary or near) or p[i] < last_p - MAX_DROP:
                lh += FOLLOW * (float(p[i]) - lh)
                continue
        keep.append(i)
        rh = float(p[i]) if rh is None else rh + FOLLOW * (float(p[i]) - rh)
        last_p, last_end = int(p[i]), int(e[i])
    return np.sort(order[np.array(keep, np.int64)])


def skyline(pitch, start) -> np.ndarray:
    """The plain skyline: the highest note at each onset (indices, ascending by start)."""
    pitch = np.asarray(pitch, np.int64)
    start = np.asarray(start, np.int64)
    if not len(pitch):
        return np.zeros(0, np.int64)
    order = np.lexsort((-pitch, start))
    return order[[g[0] for g in _groups(start[order])]]


def melodic_reason(pitch, start, end, bar_steps: int = 4 * GRID) -> str | None:
    """Why this part has no melodic line (a one-line skip reason), or None if it has one."""
    pitch = np.asarray(pitch, np.int64)
    start = np.asarray(start, np.int64)
    end = np.asarray(end, np.int64)
    if not len(pitch):
        return "empty track: no notes"
    onsets, counts = np.unique(start, return_counts=True)
    chords = float(np.mean(counts >= 3))
    if chords > CHORDS_SHARE:
        return f"block chords only: {chords:.0%} of onsets carry 3+ notes"
    med = float(np.median(end - start)) / GRID
    span = max(int(end.max() - start.min()), 1)
    per_bar = len(onsets) / (span / bar_steps)
    if med >= PAD_BEATS and per_bar < PAD_ONSETS_PER_BAR:
        return f"sustained pad: median note {med:.1f} beats, {per_bar:.1f} onsets per bar"
    return None


def is_melodic(pitch, start, end, bar_steps: int = 4 * GRID) -> bool:
    """True if the part has a melodic line (see ``melodic_reason``)."""
    return melodic_reason(pitch, start, end, bar_steps) is None
