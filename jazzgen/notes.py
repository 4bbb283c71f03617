"""The in-memory note sequence that every stage agrees on.

Like Magenta's ``note_seq.NoteSequence``, but already quantized: every time is an
integer number of grid steps (``GRID`` steps per beat, a beat being a quarter note)
counted from step 0, which is a downbeat.  Twelve steps per beat hold straight
eighths and sixteenths as well as eighth and sixteenth triplets exactly.

The melody is monophonic and kept as parallel NumPy arrays (fast to build, cache
and slice); the few slow-changing things (chords, tempo, meter, key) are short lists
of small named tuples (cheap to build by the hundred thousand from the cache).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

GRID = 12  # grid steps per beat (quarter note)
NO_CHORD = "N.C."


class ChordChange(NamedTuple):
    step: int    # grid step where the chord starts; it holds until the next change
    symbol: str  # lead-sheet symbol as written ('Bb7', 'Cm7b5', 'N.C.')


class Tempo(NamedTuple):
    step: int
    qpm: float   # quarter notes per minute


class TimeSignature(NamedTuple):
    step: int
    numerator: int
    denominator: int

    @property
    def bar_steps(self) -> int:
        """Length of one bar in grid steps."""
        return self.numerator * GRID * 4 // self.denominator


class KeySignature(NamedTuple):
    step: int
    sharps: int      # -7..7: number of sharps (negative: flats)
    minor: bool


@dataclass
class NoteSequence:
    """A quantized monophonic melody with its chord changes and tempo/meter/key maps."""

    pitch: np.ndarray        # int16 (n,), MIDI pitch 0..127
    start: np.ndarray        # int32 (n,), grid steps, strictly increasing
    duration: np.ndarray     # int32 (n,), grid steps, >= 1, start + duration <= next start
    velocity: np.ndarray     # int16 (n,), 1..127
    chords: list[ChordChange] = field(default_factory=list)
    tempos: list[Tempo] = field(default_factory=list)
    time_signatures: list[TimeSignature] = field(default_factory=list)
    key_signatures: list[KeySignature] = field(default_factory=list)
    end: int = 0             # total length in grid steps (>= last note end)
    name: str = ""
    performer: str = ""      # who played it ("" = not known); from the corpus's index.tsv

    def __post_init__(self):
        self.pitch = np.asarray(self.pitch, np.int16)
        self.start = np.asarray(self.start, np.int32)
        self.duration = np.asarray(self.duration, np.int32)
        self.velocity = np.asarray(self.velocity, np.int16)
        if len(self.start):
            self.end = max(int(self.end), int(self.start[-1] + self.duration[-1]))

    def __len__(self) -> int:
        return len(self.pitch)

    @staticmethod
    def empty(name: str = "") -> "NoteSequence":
        z = np.zeros(0, np.int32)
        return NoteSequence(z, z, z, z, name=name)

    def time_signature_at(self, step: int) -> TimeSignature:
        ts = TimeSignature(0, 4, 4)
        for t in self.time_signatures:
            if t.step <= step:
                ts = t
        return ts

    def chord_at(self, steps: np.ndarray) -> np.ndarray:
        """Index into ``self.chords`` of the chord in force at each step (-1: none yet)."""
        starts = np.array([c.step for c in self.chords], np.int64)
        return np.searchsorted(starts, np.asarray(steps), side="right") - 1

    def bar_position(self, steps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(bar index, steps since the bar's downbeat) for each step, through meter changes."""
        steps = np.asarray(steps, np.int64)
        bar = np.zeros_like(steps)
        pos = np.zeros_like(steps)
        sigs = sorted(self.time_signatures, key=lambda t: t.step) or [TimeSignature(0, 4, 4)]
        if sigs[0].step > 0:
            sigs = [TimeSignature(0, 4, 4)] + sigs
        bars_before = 0
        for i, ts in enumerate(sigs):
            nxt = sigs[i + 1].step if i + 1 < len(sigs) else np.iinfo(np.int64).max
            m = (steps >= ts.step) & (steps < nxt)
            rel = steps[m] - ts.step
            bar[m] = bars_before + rel // ts.bar_steps
            pos[m] = rel % ts.bar_steps
            if nxt != np.iinfo(np.int64).max:
                bars_before += -(-(nxt - ts.step) // ts.bar_steps)
        return bar, pos
