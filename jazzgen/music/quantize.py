"""Quantization: a track's notes in ticks -> a monophonic line on the grid, with its error.

Pure functions on NumPy arrays (no MIDI parser, no file): ``midi_io`` reads a track's
note columns and hands them here.  Every time is put on the grid of ``notes.GRID``
steps per beat by rounding; the rounding error is measured in beats and returned so
that ingestion can report it.  Then the line is made monophonic (the highest note
wins at an onset, a sounding note is cut at the next one).  Notes keep their
performed (quantized) lengths: short silences are articulation, which the tokens
(``tokens.CLOSE_GAPS``) tell from rests.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jazzgen.music.notes import GRID


@dataclass
class Line:
    """A track's notes on the grid, monophonic, and what it took to get there."""
    on: np.ndarray                # int64 steps, strictly increasing
    off: np.ndarray               # int64 steps, on < off <= next on
    pitch: np.ndarray
    velocity: np.ndarray
    onset_error: np.ndarray       # float32 beats, file time - grid time, of the kept notes
    offset_error: np.ndarray      # float32 beats, of every note of the track (before reduction)
    polyphony_dropped: int = 0    # notes removed to make the line monophonic
    overlaps_trimmed: int = 0     # notes cut short at the next onset (counted in the file's ticks)
    velocity_dropouts: int = 0    # notes whose velocity was a dropout, filled from their neighbours


# A note this soft in a part whose typical note is far louder is a measurement dropout, not
# a ghost note: the WJazzD export writes 9 or 10 where its loudness estimate failed, in runs
# (a whole chorus of Bob Berg's "You and the Night and the Music" at 9 between notes at 90-116).
# Learned as dynamics, it would teach the model to play stretches of a solo inaudibly.
MAX_SPREAD = GRID              # steps (a beat) unstack may move a note; farther, it is dropped
DROPOUT_VELOCITY = 10
DROPOUT_PART_MEDIAN = 40       # the median of the part's other notes must be above this


def to_grid(ticks: np.ndarray, to_step: float) -> np.ndarray:
    """Ticks -> the nearest grid step (ties to even), as int64."""
    return np.rint(ticks * to_step).astype(np.int64)


def rounding_error(ticks: np.ndarray, steps: np.ndarray, to_step: float) -> np.ndarray:
    """How far rounding moved each time, in beats (float32): file time - grid time."""
    return (ticks * to_step - steps).astype(np.float32) / GRID


def unstack(on: np.ndarray, on_t: np.ndarray) -> np.ndarray:
    """Notes at different ticks that rounding put on one step are spread over free steps.

    Fast runs (quintuplets, 32nds in a ballad) are finer than the grid; spreading keeps
    every note of a monophonic solo instead of dropping it as polyphony.  Each run of
    colliding onsets is centred on where it was played (least squares: isotonic
    regression of step - index, by pool-adjacent-violators) rather than pushed later
    note by note, which made a run of n notes end up to n steps late and dragged the
    notes after it along.  Notes at one tick (a chord) stay together for monophonic().
    `on` must be sorted by `on_t`.
    """
    ticks, first, inverse = np.unique(on_t, return_index=True, return_inverse=True)
    y = (on[first] - np.arange(len(ticks))).tolist()   # non-decreasing <=> all steps distinct
    sums: list[float] = []
    counts: list[int] = []
    for v in y:
        sums.append(v)
        counts.append(1)
        while len(sums) > 1 and sums[-2] * counts[-1] > sums[-1] * counts[-2]:  # mean falls: pool
            s, c = sums.pop(), counts.pop()
            sums[-1] += s
            counts[-1] += c
    z = np.repeat([round(s / c) for s, c in zip(sums, counts)], counts)
    z = np.maximum(z, 0)   # on_i = z_i + i >= i: the run never starts before step 0
    return (z + np.arange(len(ticks)))[inverse.reshape(-1)].astype(on.dtype)


def _spread(on: np.ndarray, on_t: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """unstack(), dropping the notes it would move more than MAX_SPREAD steps from where
    they were played (a tremolo or trill written out at two notes a tick: spread, it started
    2.5 beats early and moved notes by 7 beats) until the rest fit.  (steps, kept mask)."""
    kept = np.ones(len(on), bool)
    out = on.copy()
    for _ in range(32):
        out[kept] = unstack(on[kept], on_t[kept])
        far = kept & (np.abs(out - on) > MAX_SPREAD)
        if not far.any():
            break
        kept &= ~far
    return out, kept


def monophonic(on, off, pitch, vel, on_t, off_t, to_step: float):
    """Highest note wins at one onset; a note still sounding at the next onset is cut there.

    Returns (on, off, pitch, vel, onset error in beats, polyphony dropped, overlaps
    trimmed).  Overlaps are counted in the file's ticks (what the file says), not after
    spreading colliding onsets, which may move a note onto its predecessor's tail.
    """
    order = np.lexsort((-pitch.astype(np.int64), on_t))
    on, off, pitch, vel, on_t, off_t = on[order], off[order], pitch[order], vel[order], on_t[order], off_t[order]
    too_fast = 0
    if np.any(np.diff(on) <= 0):
        on, kept = _spread(on, on_t)
        off, pitch, vel, on_t, off_t = off[kept], pitch[kept], vel[kept], on_t[kept], off_t[kept]
        on, too_fast = on[kept], int((~kept).sum())
        off = np.maximum(off, on + 1)
    first = np.ones(len(on), bool)
    first[1:] = on[1:] != on[:-1]
    dropped = int((~first).sum()) + too_fast
    on, off, pitch, vel, on_t, off_t = on[first], off[first], pitch[first], vel[first], on_t[first], off_t[first]
    onset_error = rounding_error(on_t, on, to_step)
    trimmed = int((off_t[:-1] > on_t[1:]).sum())
    off = np.minimum(off, np.append(on[1:], np.iinfo(np.int64).max))
    return on, off, pitch, vel, onset_error, dropped, trimmed


def quantize(on_t: np.ndarray, dur_t: np.ndarray, pitch: np.ndarray, vel: np.ndarray, tpq: int) -> Line:
    """A track's notes (onset and duration in ticks, `tpq` ticks per beat) as a grid Line."""
    to_step = GRID / tpq
    on_t = np.asarray(on_t).astype(np.int64)
    off_t = on_t + np.maximum(np.asarray(dur_t).astype(np.int64), 0)
    on, off = to_grid(on_t, to_step), to_grid(off_t, to_step)
    offset_error = rounding_error(off_t, off, to_step)
    on, off, pitch, vel, onset_error, dropped, trimmed = monophonic(on, off, pitch, vel, on_t, off_t, to_step)
    off = np.maximum(off, on + 1)   # a note shorter than half a step still sounds one step
    vel, dropouts = fill_velocity_dropouts(vel)
    return Line(on, off, pitch, vel, onset_error, offset_error, dropped, trimmed, dropouts)


def fill_velocity_dropouts(vel: np.ndarray) -> tuple[np.ndarray, int]:
    """Velocities with dropouts (see DROPOUT_VELOCITY) interpolated between the nearest
    real ones, by note order (before the first real note and after the last: the real
    notes' median, not an edge note held for a chorus); and how many there were.  A part
    that is soft throughout (its other notes' median at most DROPOUT_PART_MEDIAN) is left
    as it is."""
    vel = np.asarray(vel)
    bad = vel <= DROPOUT_VELOCITY
    if not bad.any() or bad.all() or np.median(vel[~bad]) <= DROPOUT_PART_MEDIAN:
        return vel, 0
    i = np.arange(len(vel))
    filled = vel.copy()
    mid = float(np.median(vel[~bad]))
    filled[bad] = np.rint(np.interp(i[bad], i[~bad], vel[~bad], left=mid, right=mid)).astype(vel.dtype)
    return filled, int(bad.sum())
