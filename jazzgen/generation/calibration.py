"""What the sampler plays, brought back to what the training solos play: two small corrections.

A network trained on the next note's likelihood is calibrated one step at a time, on
real contexts.  Sampling runs it on its own contexts, note after note, and small
biases add up: the shipped model's solos play fewer chord tones than real ones where
real players put them (0.47 against 0.50 of notes, least of all off the beat), repeat
a note next to a step twice as often, and run down in steps less.  So the sampler adds
two tables of log-factors to the pitch head's logits (notes only; rests and ties keep
theirs), each fitted so that sampled solos play what the training solos play:

- ``harmony[position, quality, degree]``: the note's degree above the chord root, by
  chord quality (token quality id) and where the note starts (``POSITIONS``: beats 1
  and 3, beats 2 and 4, the off-beat eighth, elsewhere; beats counted in quarter notes
  from the bar line), so chord tones land on the beats and approach notes between
  them as often as in the corpus;
- ``line[previous interval, interval]``: the interval into the note, by the interval
  into the note before (both in semitones, clipped to +-CONTEXT and +-SPAN), so that
  steps run on and notes repeat as often as in the corpus.

Nothing is set by hand: ``fit`` improvises over the training solos' own changes,
counts the sampled notes in every cell of both tables, and moves each log-factor by
the log ratio of the training solos' share to the sampled share within its row (the
degree given position and quality, the interval given the one before), smoothed
toward the pooled share where a row has few notes; a few rounds of this iterative
scaling (moment matching, as a maximum-entropy model is fitted) bring the sampled
shares to the corpus's.  The tables are fitted with the sampler as it samples by
default (the formula memory included), saved as plain arrays in ``calibration.npz``
(no pickle) and used by ``improvise`` when the model folder has them
(``Sampling.harmony`` and ``Sampling.line`` scale them; 0 turns one off).  On the shipped
model (docs/measured.md, three seeds) they bring the line's shares to the real solos' (two
descending steps in a row 0.092 -> 0.126 of interval pairs, real 0.127), formula use from 5.8
to 10.2 %, chord tones from 0.456 to 0.481 (real 0.501), and the listener's accuracy down
(linear 0.692 -> 0.615, trees 0.730 -> 0.654).
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.errors import ModelError
from jazzgen.music.chords import QUALITIES
from jazzgen.music.notes import GRID, NoteSequence

FILE = "calibration.npz"
# where a note starts, on the 12-step grid (evaluation.idiom.POSITIONS also counts the swung eighth, 8/12, off-beat)
POSITIONS = ("beats 1, 3", "beats 2, 4", "off-beat 8th (6/12)", "other")
N_QUAL = 1 + len(QUALITIES)       # token quality ids: pad, then chords.QUALITIES
CONTEXT = 7                       # the interval before: -7..7 semitones (wider ones at the edges), then "none"
SPAN = 12                         # the interval into the note: -12..12 (wider ones at the edges)
ROWS, COLS = 2 * CONTEXT + 2, 2 * SPAN + 1
SMOOTH = 50.0                     # notes' worth of the pooled share added to every row
LIMIT = 3.0                       # largest log-factor either way


def position_class(beat_id, sub_id):
    """Index into POSITIONS of a (beat id, sub id) of ``tokens.position_ids``."""
    beat, sub = np.asarray(beat_id) - 1, np.asarray(sub_id) - 1
    return np.where(sub == 0, beat % 2, np.where(sub == GRID // 2, 2, 3))


def _context_row(prev_interval):
    """Row of ``line`` for the interval into the last note (None or a song's first note: the last row)."""
    return ROWS - 1 if prev_interval is None else int(np.clip(prev_interval, -CONTEXT, CONTEXT)) + CONTEXT


def cells(seq: NoteSequence) -> tuple[np.ndarray, np.ndarray]:
    """Per note of `seq`: its flat cell in ``harmony`` (-1: no chord) and in ``line`` (-1: the first note)."""
    p = np.asarray(seq.pitch, np.int64)
    if not len(p):
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    start = np.asarray(seq.start, np.int64)
    root, qual = T.chord_ids(seq, start)
    beat, sub = T.position_ids(seq, start)
    root, qual = root.astype(np.int64), qual.astype(np.int64)
    degree = (p - (root - T.ROOT0)) % 12
    harm = np.where(root >= T.ROOT0, (position_class(beat, sub) * N_QUAL + qual) * 12 + degree, -1)
    iv = np.diff(p)
    prev = np.concatenate([[ROWS - 1], np.clip(iv[:-1], -CONTEXT, CONTEXT) + CONTEXT]) if len(iv) else np.zeros(0)
    line = np.concatenate([[-1], prev.astype(np.int64) * COLS + np.clip(iv, -SPAN, SPAN) + SPAN])
    return harm, line


def counts(songs: list[NoteSequence]) -> tuple[np.ndarray, np.ndarray]:
    """Notes per cell of both tables over `songs`: ((4, N_QUAL, 12), (ROWS, COLS))."""
    h, w = np.zeros(len(POSITIONS) * N_QUAL * 12), np.zeros(ROWS * COLS)
    for s in songs:
        a, b = cells(s)
        h += np.bincount(a[a >= 0], minlength=len(h))[:len(h)]
        w += np.bincount(b[b >= 0], minlength=len(w))[:len(w)]
    return h.reshape(len(POSITIONS), N_QUAL, 12), w.reshape(ROWS, COLS)


@dataclass
class Calibration:
    """The two tables of log-factors (see the module docstring)."""
    harmony: np.ndarray            # (len(POSITIONS), N_QUAL, 12)
    line: np.ndarray               # (ROWS, COLS)
    _index: tuple | None = None

    @classmethod
    def zero(cls) -> "Calibration":
        return cls(np.zeros((len(POSITIONS), N_QUAL, 12)), np.zeros((ROWS, COLS)))

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> None:
        from jazzgen.util import atomic_write
        atomic_write(Path(path), lambda f: np.savez_compressed(
            f, harmony=self.harmony.astype(np.float32), line=self.line.astype(np.float32)))

    @classmethod
    def load(cls, path: str | Path) -> "Calibration":
        """The tables in `path`; ModelError naming the file for anything that does not fit."""
        from jazzgen.util import load_npz
        a = load_npz(path, ModelError, "calibration")        # a FIFO, a zip bomb, pickled arrays: refused
        missing = [k for k in ("harmony", "line") if k not in a]
        if missing:
            raise ModelError(f"calibration {path}: no {missing[0]} array")
        h, w = a["harmony"], a["line"]
        ok = (h.shape == (len(POSITIONS), N_QUAL, 12) and w.shape == (ROWS, COLS) and h.dtype.kind == "f"
              and w.dtype.kind == "f" and np.isfinite(h).all() and np.isfinite(w).all())
        if not ok:
            raise ModelError(f"calibration {path}: tables of the wrong shape or with non-finite values "
                             f"(scripts/tools/calibration_fit.py refits it)")
        return cls(h.astype(np.float64), w.astype(np.float64))

    # ------------------------------------------------------------------ sampling
    def _indices(self, n_pitch: int):
        """(pitch id -> degree per root id, pitch id -> interval column per last MIDI pitch, the two
        tables padded with a 0 column): index 12 and COLS for ids that are not notes read the 0."""
        if self._index is None or self._index[0].shape[1] != n_pitch:
            midi = np.arange(n_pitch) - T.PITCH0
            note = midi >= 0
            deg = np.where(note[None], (midi[None] - (np.arange(T.N_ROOT)[:, None] - T.ROOT0)) % 12, 12)
            deg[:T.ROOT0] = 12                                            # pad and no chord: nothing
            col = np.where(note[None], np.clip(midi[None] - np.arange(128)[:, None], -SPAN, SPAN) + SPAN, COLS)
            pad = lambda t: np.concatenate([t, np.zeros(t.shape[:-1] + (1,))], -1)  # noqa: E731
            self._index = (deg, col, pad(self.harmony), pad(self.line))
        return self._index

    def bias(self, n_pitch: int, beat: int, sub: int, root: int, qual: int, notes: list[int],
             harmony: float = 1.0, line: float = 1.0) -> np.ndarray:
        """Log-factors over the pitch ids for the next note: at (beat id, sub id), over the chord
        (root id, quality id), after `notes` (MIDI pitches so far), the tables scaled."""
        deg, col, h, w = self._indices(n_pitch)
        out = np.zeros(n_pitch)
        if harmony and root >= T.ROOT0:
            out += harmony * h[int(position_class(beat, sub)), min(qual, N_QUAL - 1)][deg[root]]
        if line and notes:
            r = _context_row(notes[-1] - notes[-2] if len(notes) > 1 else None)
            out += line * w[r][col[notes[-1]]]
        return out


def load(model_dir: str | Path) -> Calibration | None:
    """The model folder's calibration, or None if it has none (a model fitted before it)."""
    from jazzgen.model.folder import optional_file
    path = optional_file(model_dir, FILE)
    return None if path is None else Calibration.load(path)


# ---------------------------------------------------------------------------- fitting

def _log_ratio(target: np.ndarray, got: np.ndarray) -> np.ndarray:
    """log(target share / sampled share) within each row (the last axis), both smoothed toward the
    pooled share by SMOOTH notes, and centred on the target's mean (the row's notes keep their mass)."""
    rowwise = lambda c: c / np.maximum(c.sum(-1, keepdims=True), 1e-12)  # noqa: E731
    m = rowwise(rowwise(target) + rowwise(got) + 1e-6)
    pt = (target + SMOOTH * m) / (target.sum(-1, keepdims=True) + SMOOTH)
    pg = (got + SMOOTH * m) / (got.sum(-1, keepdims=True) + SMOOTH)
    r = np.log(pt / pg)
    return r - (pt * r).sum(-1, keepdims=True)


def update(cal: Calibration, target: tuple, got: tuple, rate: float = 1.0) -> Calibration:
    """One round of iterative scaling: each table moved by `rate` times its log ratio."""
    h = np.clip(cal.harmony + rate * _log_ratio(target[0], got[0]), -LIMIT, LIMIT)
    w = np.clip(cal.line + rate * _log_ratio(target[1], got[1]), -LIMIT, LIMIT)
    return Calibration(h, w)


def fit(stepper, songs: list[NoteSequence], sampling, rounds: int = 4, per_round: int = 90, rate: float = 0.8,
        seed: int = 0, log=None) -> Calibration:
    """Fit the tables to `songs` (the model's training solos): each round improvises over the
    changes of `per_round` of them (rotating through all), counts, and moves the tables."""
    from jazzgen.generation.sample import improvise
    target = counts(songs)
    cal, keep = Calibration.zero(), getattr(stepper, "calibration", None)
    order = np.random.default_rng(seed).permutation(len(songs))
    try:
        for r in range(rounds):
            stepper.calibration = cal
            pick = [songs[i] for i in np.roll(order, -r * per_round)[:per_round]]
            solos = [improvise(stepper, s, sampling=replace(sampling, harmony=1.0, line=1.0),
                               seed=seed * 1000 + r * len(songs) + i)[0] for i, s in enumerate(pick)]
            got = counts(solos)
            if log:
                log(f"round {r + 1}: {int(got[0].sum())} notes; " + gaps(target, got))
            cal = update(cal, target, got, rate)
    finally:
        stepper.calibration = keep
    return cal


def gaps(target: tuple, got: tuple) -> str:
    """How far the sampled shares are from the target's: mean |difference| per table, in points."""
    def gap(t, g):
        pt = t / np.maximum(t.sum(-1, keepdims=True), 1)
        pg = g / np.maximum(g.sum(-1, keepdims=True), 1)
        return 100 * float((np.abs(pt - pg).sum(-1) * g.sum(-1)).sum() / max(g.sum(), 1)) / 2
    return f"harmony off by {gap(target[0], got[0]):.2f} points, line {gap(target[1], got[1]):.2f}"
