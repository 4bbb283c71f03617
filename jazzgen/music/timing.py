"""Time, in one place: grid steps, MIDI ticks, seconds and swing.

Every time inside jazzgen is an integer number of grid steps (``notes.GRID`` per quarter
note).  They become seconds here only: ``steps_in`` (seconds at a tempo -> steps, how long
a take is), ``seconds_of`` (steps -> seconds through a sequence's tempo map, as a player
counts them), ``seconds_at`` (steps -> seconds of the written file and its audio: swung,
through the tempo map, the page's piano roll).  Swing is one amount for every track:
``swing_ticks`` is where the writer puts each step, ``swing_at_tempo`` the amount a
rhythm section plays at a tempo (the ``--swing auto`` default), ``swing_for`` turns it off
where the meter's beats are no quarter notes (6/8 is already in triplets).
"""
from __future__ import annotations

import numpy as np

from jazzgen.music.notes import GRID, TICKS_PER_BEAT, NoteSequence, Tempo

MIDI_DEFAULT_QPM = 120.0   # the tempo of a sequence with no tempo map (the MIDI standard's default)

TPQ_OUT = TICKS_PER_BEAT   # the written files' resolution, a Nuance's too


def swing_ticks(steps, swing: float) -> np.ndarray:
    """Grid steps -> ticks, delaying the off-beat eighth by `swing` (1 = triplet feel)."""
    steps = np.asarray(steps, np.float64)
    beat, pos = np.divmod(steps, GRID)
    half = GRID / 2
    mid = half + swing * GRID / 6           # where the off-beat eighth lands
    warped = np.where(pos <= half, pos * mid / half, mid + (pos - half) * (GRID - mid) / half)
    return np.rint((beat + warped / GRID) * TPQ_OUT).astype(np.int64)


def unswing(steps, swing: float) -> np.ndarray:
    """Played (swung) positions in steps -> straight grid steps (float): ``swing_ticks`` undone,
    for notes played against a swung band (the trading page's)."""
    beat, pos = np.divmod(np.asarray(steps, np.float64), GRID)
    half = GRID / 2
    mid = half + swing * GRID / 6
    return beat * GRID + np.where(pos <= mid, pos * half / mid, half + (pos - mid) * half / (GRID - mid))


SWING = 0.5                # off-beat eighths halfway from straight to triplet
SWING_SLOW_BPM, SWING_SLOW_RATIO = 100.0, 3.0
SWING_FAST_BPM = 300.0     # and above: even eighths (1:1)


def swing_of_ratio(ratio: float) -> float:
    """The writer's swing amount for a long:short eighth-note ratio.

    ``swing_ticks`` puts the off-beat eighth at (1/2 + swing/6) of the beat, so
    swing 0 is 1:1, 1 is 2:1 (triplet) and 1.5 is 3:1: ratio r lands it at r/(1+r),
    i.e. swing = 6 (r/(1+r) - 1/2).
    """
    return 6.0 * (ratio / (1.0 + ratio) - 0.5)


MAX_SWING = swing_of_ratio(SWING_SLOW_RATIO)   # 1.5: 3:1, the ride's ratio at slow tempos


def swing_at_tempo(bpm: float) -> float:
    """The swing a jazz rhythm section plays at `bpm` (the --swing auto default).

    Friberg, A. & Sundstrom, A. (2002), "Swing ratios and ensemble timing in jazz
    performance: evidence for a common rhythmic pattern", Music Perception 19(3),
    333-349: the ride cymbal's swing ratio falls roughly linearly with tempo, from
    about 3:1 at slow tempos to about 1:1 near 300 bpm (soloists swing less than the
    ride at slow tempos, but one swing here moves every part together, as the ride
    leads the time).  So: 3:1 at or below 100 bpm, linear in bpm down to 1:1 at 300 and
    above, mapped onto the writer's swing amount by ``swing_of_ratio``.
    """
    f = min(max((float(bpm) - SWING_SLOW_BPM) / (SWING_FAST_BPM - SWING_SLOW_BPM), 0.0), 1.0)
    return swing_of_ratio(SWING_SLOW_RATIO + f * (1.0 - SWING_SLOW_RATIO))


def swing_for(seq: NoteSequence, swing: float) -> float:
    """The swing to write `seq` with: as asked where every bar line and beat falls on a
    quarter note of a simple meter, else 0 (the writer swings the off-beat eighth of
    each quarter, which in 6/8 or 7/8 would drag a beat, not an off-beat)."""
    for ts in seq.time_signatures:
        if ts.compound or ts.bar_steps % GRID or ts.step % GRID or any(
                b != GRID for g in ts.groups for b in g):
            return 0.0
    return swing


def seconds_of(seq: NoteSequence, steps: int) -> float:
    """Seconds from step 0 to `steps` through seq's tempo map (120 qpm before its first tempo)."""
    tempos = sorted(seq.tempos, key=lambda t: t.step)
    marks = [0] + [t.step for t in tempos if 0 < t.step < steps] + [steps]
    total = 0.0
    for a, b in zip(marks[:-1], marks[1:]):
        qpm = next((t.qpm for t in reversed(tempos) if t.step <= a), MIDI_DEFAULT_QPM)
        total += (b - a) / GRID * 60.0 / qpm
    return total


def steps_in(seconds: float, bpm: float) -> int:
    """Grid steps in `seconds` at `bpm` quarter notes a minute (at least one)."""
    return max(1, round(seconds * bpm / 60.0 * GRID))


def seconds_in(steps: float, bpm: float) -> float:
    """Seconds of `steps` grid steps at `bpm` (``steps_in`` the other way, unrounded)."""
    return steps / GRID * 60.0 / bpm


def seconds_at(seq: NoteSequence, steps, swing: float = 0.0) -> np.ndarray:
    """Seconds of each step in the file ``write_midi(seq, swing=swing)`` writes, and in its audio:
    the step swung to its tick, then timed through the tempo map (tempo changes swung alike)."""
    ticks = swing_ticks(np.asarray(steps, np.int64).reshape(-1), swing).astype(np.float64)
    tempos = sorted(seq.tempos, key=lambda t: t.step) or [Tempo(0, MIDI_DEFAULT_QPM)]
    if tempos[0].step > 0:
        tempos = [Tempo(0, MIDI_DEFAULT_QPM)] + tempos
    at = swing_ticks([t.step for t in tempos], swing).astype(np.float64)
    qpm = np.array([t.qpm for t in tempos], np.float64)
    starts = np.concatenate([[0.0], np.cumsum(np.diff(at) / TPQ_OUT * 60.0 / qpm[:-1])])
    k = np.maximum(np.searchsorted(at, ticks, side="right") - 1, 0)
    return starts[k] + (ticks - at[k]) / TPQ_OUT * 60.0 / qpm[k]
