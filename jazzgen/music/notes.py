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

import re
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np

GRID = 12  # grid steps per beat (quarter note)
NO_CHORD = "N.C."


class ChordChange(NamedTuple):
    step: int    # grid step where the chord starts; it holds until the next change
    symbol: str  # lead-sheet symbol as written ('Bb7', 'Cm7b5', 'N.C.')


def chord_index(starts, times) -> np.ndarray:
    """Which chord sounds at each time: the index of the last change at or before it.

    The one lookup of the chord in force, whatever the unit (steps, ticks, beats).  A note
    that starts exactly on a change hears the new chord; of two changes at one time the one
    listed later wins; before the first change the answer is -1 (no chord yet); the last
    chord holds on past its bar, to the end of the piece.  ``starts`` need not be sorted.
    """
    starts = np.asarray(starts, np.int64)
    times = np.asarray(times)
    if len(starts) > 1 and np.any(np.diff(starts) < 0):
        order = np.argsort(starts, kind="stable")            # equal starts keep their order
        k = np.searchsorted(starts[order], times, side="right") - 1
        return np.where(k >= 0, order[np.maximum(k, 0)], -1)
    return np.searchsorted(starts, times, side="right") - 1


def per_chord(values, index, none, dtype=object) -> np.ndarray:
    """``values[i]`` (one per chord) at each ``index`` from ``chord_index``; ``none`` where it
    is -1 (before the first chord).  The way every stage reads a per-chord table per note."""
    table = np.empty(len(values) + 1, dtype)
    for i, v in enumerate(values):       # one by one: tuples and sets stay single objects
        table[i] = v
    table[-1] = none
    return table[np.asarray(index, np.int64)]


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

    @property
    def compound(self) -> bool:
        """6/8, 9/8, 12/8 (and 3/8): felt in dotted quarters, each a triplet of eighths."""
        return self.denominator >= 8 and self.numerator % 3 == 0

    @property
    def groups(self) -> tuple[tuple[int, ...], ...]:
        """The bar's felt beats, in grid steps, grouped as a player counts them.

        x/4 and x/2: quarter-note beats in groups of 4, 3 or 2 (5/4 = 3+2, 7/4 = 4+3,
        6/4 = 3+3); compound x/8: dotted quarters (6/8 = two beats of 18 steps); other
        x/8 and x/16: beats of two written units with a last one of three (7/8 = 2+2+3).
        The rhythm section walks, comps and rides on these beats.  (The tokens' beat
        ids stay quarter notes in every meter: see ``tokens.position_ids``.)
        """
        if self.denominator <= 4:
            beats = [GRID] * max(1, self.bar_steps // GRID)
        elif (GRID * 4) % self.denominator:
            beats = [self.bar_steps]
        else:
            unit = GRID * 4 // self.denominator
            n = self.numerator
            if self.compound:
                beats = [3 * unit] * (n // 3)
            else:
                beats = [2 * unit] * (n // 2 - 1) + ([3 * unit] if n % 2 else [2 * unit]) if n > 1 else [unit]
        return tuple(tuple(beats[a:b]) for a, b in _group_cuts(len(beats)))


def _group_cuts(n: int) -> list[tuple[int, int]]:
    """Split n beats into groups of 4, 3 or 2 (5 = 3+2, 6 = 3+3, 7 = 4+3, 9 = 4+3+2 ...)."""
    sizes = {1: [1], 2: [2], 3: [3], 4: [4], 5: [3, 2], 6: [3, 3], 7: [4, 3]}.get(n)
    if sizes is None:
        sizes = [4] + [b - a for a, b in _group_cuts(n - 4)]
    cuts, a = [], 0
    for k in sizes:
        cuts.append((a, a + k))
        a += k
    return cuts


def parse_meter(text: str) -> tuple[int, int]:
    """'3/4' -> (3, 4): numerator 1..32, denominator 1, 2, 4, 8 or 16; ValueError(why) else."""
    m = re.fullmatch(r"\s*(\d{1,2})\s*/\s*(\d{1,2})\s*", str(text))
    if not m:
        raise ValueError(f"meter {text!r} is not N/D, e.g. 3/4 or 6/8")
    num, den = int(m.group(1)), int(m.group(2))
    if not 1 <= num <= 32 or den not in (1, 2, 4, 8, 16):
        raise ValueError(f"meter {text!r}: numerator 1..32, denominator 1, 2, 4, 8 or 16")
    return num, den


TICKS_PER_BEAT = 480   # the resolution of a Nuance (and of the MIDI files jazzgen writes)


@dataclass
class Nuance:
    """How each note of a sequence is played off the grid: what a player adds to the notation.

    ``shift``: ticks (TICKS_PER_BEAT to the beat) from the note's grid onset to where it is
    played, less than half a grid step either way; ``length``: ticks it sounds.  The grid
    fields of the sequence stay what the tokens keep, so encoding ignores a nuance and the
    round trip stays exact; the MIDI writer plays it (``data.nuance`` draws one).
    """
    shift: np.ndarray      # int32 (n,)
    length: np.ndarray     # int32 (n,), >= 1

    def __post_init__(self):
        self.shift = np.asarray(self.shift, np.int32)
        self.length = np.asarray(self.length, np.int32)


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
    nuance: Nuance | None = None   # how the notes are played off the grid (generated solos; the writer plays it)

    def __post_init__(self):
        self.pitch = np.asarray(self.pitch, np.int16)
        self.start = np.asarray(self.start, np.int32)
        self.duration = np.asarray(self.duration, np.int32)
        self.velocity = np.asarray(self.velocity, np.int16)
        if len(self.start):
            self.end = max(int(self.end), int(self.start[-1] + self.duration[-1]))
        if self.nuance is not None and len(self.nuance.shift) != len(self.pitch):
            raise ValueError(f"a nuance of {len(self.nuance.shift)} notes on a sequence of {len(self.pitch)}")

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

    def bars(self, end: int | None = None) -> list[tuple[int, int]]:
        """(start step, length in steps) of every bar that starts before `end` (default
        self.end), through meter changes; a change inside a bar cuts that bar short."""
        end = self.end if end is None else end
        sigs = sorted(self.time_signatures, key=lambda t: t.step)
        out, s = [], 0
        while s < end:
            n = self.time_signature_at(s).bar_steps
            nxt = min((t.step for t in sigs if s < t.step < s + n), default=s + n)
            out.append((s, nxt - s))
            s = nxt
        return out

    def chord_at(self, steps: np.ndarray) -> np.ndarray:
        """Index into ``self.chords`` of the chord in force at each step (-1: none yet;
        ``chord_index`` says what happens on and around a change)."""
        return chord_index([c.step for c in self.chords], steps)

    def roots_at(self, steps: np.ndarray) -> np.ndarray:
        """Root pitch class of the chord in force at each step; -1 before the first chord,
        under N.C. and under a symbol that does not parse."""
        from jazzgen.music.chords import chord_roots
        return per_chord(chord_roots(c.symbol for c in self.chords), self.chord_at(steps), -1, np.int64)

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
