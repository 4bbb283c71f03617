"""The idiom's formulas: what the training solos played next after the same line, mixed into the pitch head.

Jazz players improvise with formulas: short interval patterns that recur across a
player's solos and across players (the bebop run, an enclosure, a turn into the
third).  In WJazzD 17 % of the 8-note interval patterns of an unseen solo also occur
in the training solos; the LSTM alone plays 4 %: it generalizes, and averages the
formulas away.  So beside the network the sampler consults a memory of the training
solos, in the spirit of kNN-LM (Khandelwal et al. 2020) with the infinity-gram's
exact-match retrieval (Liu et al. 2024): find the longest run of the last few
intervals played that also occurs in the training solos, collect what came next
there, and mix that distribution over the next interval into the network's pitch
distribution with a weight that grows with the length of the match.

Intervals make the memory transposition-invariant.  The harmony is not: a formula
is played as the chord of the moment allows.  Each training note keeps its role in
the chord it was played over (root, third, fifth, seventh or sixth, tension, or
outside the chord: ``chord_roles``, from ``chords.QUALITY``), and a continuation
counts fully when the note it leads to has the same role in the chord in force (the
chart gives its root and quality) as it had in its own solo, and OTHER_ROLE as much
otherwise: a run that lands on the third of a minor seventh chord lands on the third
of the next chord too, not on the sharp ninth of a dominant, where the same degree
is only a colour.  (Shrinking the memory's weight by the share of its continuations
that fit was tried and cost pitch perplexity: 6.88 -> 6.92 on the shipped model's
validation solos, weights fitted two-fold.)  Only notes are touched: the network's
share of rests and ties stays as it was.  (A memory written before the
roles, without the ``role`` array, compares the degree above the root instead.)

A quotation is a formula that goes on too long.  Real solos share 8-note patterns
with the training solos in runs (a formula, then the player's own line), the longest
about 26 notes a solo in WJazzD; a sampler that follows the memory wherever it leads
strings formulas into quotations twice as long.  So the memory falls silent once the
notes played so far have been shared with the training solos, window by window, for
``Sampling.quote_notes`` notes in a row (``Quotation``), until the line leaves the
training solos again.

The memory is a suffix array over the reversed interval line: the training notes'
positions sorted by their contexts read backwards (last interval first), so that
every context of any length is one contiguous range and the longest match is found
by narrowing that range one interval further back at a time (``longest_match``).
It is saved as plain arrays in ``formulas.npz`` beside the weights (no pickle).

Copying stays guarded: the sampler never completes an 8-note window of intervals
and event lengths that occurs in the training solos (``blocked``): the duration head
is masked for the lengths that would, so a formula's notes come back, not a
training solo's phrase with its rhythm.
"""
from __future__ import annotations

import bisect
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.errors import ModelError

FILE = "formulas.npz"
MAX_NOTES = 5_000_000       # training notes the memory holds at most (the first solos'): building it peaks
                            # near 50 bytes a note, so a corpus of any size builds in bounded memory
MAX_MATCH = 12              # intervals of context looked back at most
COPY_NOTES = 8              # the guard's window: 8 notes, 7 intervals and 8 event lengths
MAX_POSITIONS = 256         # continuations read at most per step
OTHER_ROLE = 0.2            # weight of a continuation whose note has another role in the chord in force
SEP = np.iinfo(np.int16).max  # the interval before a solo's first note: no context crosses it
NO_DEGREE = 12
ROLES = ("root", "third", "fifth", "seventh", "tension", "outside", "no chord")
NO_ROLE = len(ROLES) - 1
# Weight of the memory by the length of the match (index: intervals matched, 0..MAX_MATCH),
# fitted on the validation solos' pitch likelihood (two folds): chosen in __init__'s docstring.
DEFAULT_WEIGHTS = (0.0, 0.35, 0.2, 0.1, 0.05, 0.05, 0.1, 0.15, 0.15, 0.2, 0.35, 0.3, 0.7)
_MUL, _MASK = 0x9E3779B97F4A7C15, (1 << 64) - 1


def chord_roles(quality: str) -> np.ndarray:
    """(12,) the role (index into ROLES) of each degree above the root of a chord of `quality`:
    its tones in ``chords.QUALITY`` order (root, third or fourth, fifth, seventh or sixth), its
    tensions, and the rest outside; NO_ROLE everywhere for no chord or an unknown quality."""
    from jazzgen.music.chords import QUALITY
    q = QUALITY.get(quality)
    if q is None or not q.tones:
        return np.full(12, NO_ROLE, np.int8)
    out = np.full(12, ROLES.index("outside"), np.int8)
    out[list(q.tensions)] = ROLES.index("tension")
    out[list(q.tones)] = np.arange(len(q.tones))
    return out


def role_table() -> np.ndarray:
    """(quality ids, 12): ``chord_roles`` per token quality id (pad and "none" have no chord)."""
    from jazzgen.music.chords import QUALITIES
    return np.stack([chord_roles("none")] + [chord_roles(q) for q in QUALITIES])


def note_lines(toks: list[T.Tokens]) -> dict[str, np.ndarray]:
    """The songs' notes as one line: the interval into each note (SEP at a song's start), the
    note's degree above the chord root (NO_DEGREE without a chord), its role in that chord and
    its event's dur id."""
    iv, deg, role, dur = [], [], [], []
    roles = role_table()
    for t in toks:
        m = t.pitch >= T.PITCH0
        p = t.pitch[m].astype(np.int64) - T.PITCH0
        root = t.root[m].astype(np.int64)
        iv.append(np.concatenate([[SEP], np.diff(p)]) if len(p) else np.zeros(0, np.int64))
        d = np.where(root >= T.ROOT0, (p - (root - T.ROOT0)) % 12, NO_DEGREE)
        deg.append(d)
        role.append(np.where(d < NO_DEGREE, roles[np.minimum(t.qual[m], len(roles) - 1), d % 12], NO_ROLE))
        dur.append(t.dur[m].astype(np.int64))
    cat = lambda xs: np.concatenate(xs) if xs else np.zeros(0, np.int64)  # noqa: E731
    return {"interval": cat(iv).astype(np.int16), "degree": cat(deg).astype(np.int8),
            "role": cat(role).astype(np.int8), "dur": cat(dur).astype(np.int16)}


def _back(iv: np.ndarray, q: int) -> np.ndarray:
    """iv[j - q] for every position j (SEP before the start)."""
    return np.concatenate([np.full(q, SEP, iv.dtype), iv[:len(iv) - q]])


def _hash_rows(cols: list[np.ndarray]) -> np.ndarray:
    """One 64-bit key per row of the columns (the same function as _hash_one, vectorized)."""
    h = np.zeros(len(cols[0]), np.uint64)
    with np.errstate(over="ignore"):
        for c in cols:
            h = (h ^ (c.astype(np.int64) + 1000).astype(np.uint64)) * np.uint64(_MUL)
    return h


def _hash_one(values) -> int:
    h = 0
    for v in values:
        h = ((h ^ (int(v) + 1000)) * _MUL) & _MASK
    return h


@dataclass
class Formulas:
    """The memory: the training notes' line and its suffix array, and the weight per match length.

    ``weights[k]``: how much of the notes' probability the memory gets after a match of k
    intervals (k = 0: nothing matched).  The default was fitted on the 40 validation
    solos' pitch likelihood with the shipped model, one weight per length, two folds by
    solo: perplexity 7.10 -> 6.88 (``scripts/tools/formulas_fit.py``).
    """
    interval: np.ndarray
    degree: np.ndarray
    dur: np.ndarray
    order: np.ndarray                       # positions sorted by their reversed contexts
    weights: np.ndarray = field(default_factory=lambda: np.array(DEFAULT_WEIGHTS))
    role: np.ndarray | None = None          # each note's role in its chord (None: a memory from before)
    _roles: np.ndarray = field(default_factory=role_table, repr=False)
    _cols: list = field(default=None, repr=False)
    _guard: np.ndarray = field(default=None, repr=False)
    last_k: int = 0                         # the length of the last match (the guard reads it)

    @classmethod
    def build(cls, toks: list[T.Tokens], weights=DEFAULT_WEIGHTS, after: "Formulas | None" = None) -> "Formulas":
        """The memory of these songs (the model's training solos); with `after`, that memory's
        solos and weights first (a fine-tuned model remembers its start's solos and its own)."""
        line = note_lines(toks)
        if after is not None:
            line = {k: np.concatenate([getattr(after, k), v]) for k, v in line.items()}
            weights = after.weights
        iv = line["interval"]                        # int16 keys: a fourth of int64's memory, the same order
        targets = np.flatnonzero(iv != SEP)          # a note with a note before it in its solo
        keys = [_back(iv, q)[targets] for q in range(MAX_MATCH, 0, -1)]  # lexsort: last key first
        order = targets[np.lexsort(keys)].astype(np.int32)
        return cls(line["interval"], line["degree"], line["dur"], order, np.asarray(weights, np.float64),
                   line["role"])

    # ------------------------------------------------------------------ files
    def save(self, path: str | Path) -> None:
        from jazzgen.util import atomic_write
        atomic_write(Path(path), lambda f: np.savez_compressed(
            f, interval=self.interval, degree=self.degree, dur=self.dur, order=self.order, weights=self.weights,
            **({} if self.role is None else {"role": self.role})))

    @classmethod
    def load(cls, path: str | Path) -> "Formulas":
        """The memory in `path`; ModelError naming the file for anything that does not fit."""
        from jazzgen.util import load_npz
        a = load_npz(path, ModelError, "formulas")           # a FIFO, a zip bomb: refused unread
        missing = [k for k in ("interval", "degree", "dur", "order", "weights") if k not in a]
        if missing:
            raise ModelError(f"formulas {path}: no {missing[0]} array")
        a = {k: a[k] for k in ("interval", "degree", "dur", "order", "weights", "role") if k in a}
        n = len(a["interval"])
        ok = (all(a[k].ndim == 1 for k in a) and len(a["degree"]) == n == len(a["dur"])
              and a["order"].dtype.kind == "i" and len(a["order"]) <= n
              and (not len(a["order"]) or (a["order"].min() >= 0 and a["order"].max() < n))
              and len(a["weights"]) >= 1 and np.all((a["weights"] >= 0) & (a["weights"] < 1))
              and ("role" not in a or (len(a["role"]) == n and a["role"].dtype.kind == "i"
                                       and (not n or 0 <= a["role"].min() <= a["role"].max() <= NO_ROLE))))
        if not ok:
            raise ModelError(f"formulas {path}: arrays that do not fit together (scripts/tools/formulas_fit.py "
                             f"rebuilds it)")
        return cls(a["interval"], a["degree"], a["dur"], a["order"], a["weights"].astype(np.float64), a.get("role"))

    # ------------------------------------------------------------------ retrieval
    def _columns(self) -> list[np.ndarray]:
        """cols[q - 1][i]: the interval q back from the position order[i] (sorted within each range)."""
        if self._cols is None:
            iv = self.interval.astype(np.int64)
            self._cols = [_back(iv, q)[self.order] for q in range(1, MAX_MATCH + 1)]
        return self._cols

    def longest_match(self, context: list[int]) -> tuple[int, int, int]:
        """(k, lo, hi): the longest k of the context's last intervals seen in the training solos,
        and the range of self.order whose positions followed them."""
        cols, lo, hi, k = self._columns(), 0, len(self.order), 0
        for q in range(1, min(MAX_MATCH, len(context)) + 1):
            x = context[-q]
            if hi - lo > 32:
                a, b = cols[q - 1][lo:hi].searchsorted((x, x + 1)).tolist()
            else:                                      # a few candidates left: plain Python is faster
                c = cols[q - 1][lo:hi].tolist()
                a, b = bisect.bisect_left(c, x), bisect.bisect_right(c, x)
            if a == b:
                break
            lo, hi, k = lo + a, lo + b, q
        self.last_k = k
        return k, lo, hi

    def memory(self, notes: list[int], root_pc: int | None, n_pitch: int,
               qual: int = 0) -> tuple[int, np.ndarray | None]:
        """(k, distribution over pitch ids): what followed the longest match of the last
        intervals of `notes` in the training solos (k intervals matched; None when nothing did),
        each continuation weighed by how it fits the chord in force (root pitch class `root_pc`,
        token quality id `qual`)."""
        if len(notes) < 2:
            self.last_k = 0
            return 0, None
        last = notes[-MAX_MATCH - 1:]
        k, lo, hi = self.longest_match([b - a for a, b in zip(last, last[1:])])
        if k == 0:
            return 0, None
        pos = self.order[lo:hi:-(-(hi - lo) // MAX_POSITIONS)]    # a short match: an even sample of its thousands
        target = self.interval[pos] + (notes[-1] + T.PITCH0)
        keep = (target >= T.PITCH0) & (target < T.PITCH0 + 128)
        if not keep.all():
            target, pos = target[keep], pos[keep]
            if not len(pos):
                return 0, None
        w = self._fits(target - T.PITCH0, pos, root_pc, qual)
        d = np.bincount(target, weights=w, minlength=n_pitch)[:n_pitch]
        return k, d / d.sum()

    def _fits(self, pitch: np.ndarray, pos: np.ndarray, root_pc: int | None, qual: int) -> np.ndarray | None:
        """Each continuation's weight: 1 where its note fits the chord in force as it fitted its own
        (the same role, or without roles the same degree), OTHER_ROLE where not; None: no chord."""
        if root_pc is None:
            return None
        degree = (pitch - root_pc) % 12
        if self.role is None:
            return np.where(degree == self.degree[pos], 1.0, OTHER_ROLE)
        now = self._roles[min(max(qual, 0), len(self._roles) - 1)][degree]
        return np.where(now == self.role[pos], 1.0, OTHER_ROLE)

    def weight(self, k: int, scale: float = 1.0) -> float:
        """The memory's share of the notes' probability after a match of k intervals."""
        return min(scale * float(self.weights[min(k, len(self.weights) - 1)]), 0.95) if k else 0.0

    def mix(self, probs: np.ndarray, notes: list[int], root_pc: int | None, scale: float = 1.0,
            qual: int = 0) -> np.ndarray:
        """The network's pitch probabilities with the memory's continuation of `notes` mixed in
        (rests and ties keep the network's probability)."""
        k, memory = self.memory(notes, root_pc, len(probs), qual)
        return blend(probs, memory, self.weight(k, scale))

    # ------------------------------------------------------------------ the copy guard
    def _guard_keys(self) -> np.ndarray:
        if self._guard is None:
            iv, dur = self.interval.astype(np.int64), self.dur.astype(np.int64)
            n = COPY_NOTES
            whole = np.ones(len(iv), bool)             # window of notes j-n+1..j inside one solo
            for q in range(n - 1):
                whole &= _back(iv, q) != SEP
            j = np.flatnonzero(whole)
            cols = [_back(iv, q)[j] for q in range(n - 2, -1, -1)] + [_back(dur, q)[j] for q in range(n - 1, -1, -1)]
            self._guard = np.sort(_hash_rows(cols))
        return self._guard

    def blocked(self, notes: list[int], durs: list[int], pitch: int, n_dur: int) -> np.ndarray | None:
        """Mask of the dur ids with which the note `pitch` would end a copied 8-note window
        (None when it cannot: fewer than 7 notes before it, or their last 6 intervals were
        not found by the ``longest_match`` just before, which ``mix`` ran on these notes)."""
        n = COPY_NOTES
        if len(notes) < n - 1 or self.last_k < n - 2:
            return None         # the last 6 intervals were not matched: no 7 of them can be a copy
        iv = np.diff(notes[-(n - 1):] + [pitch]).tolist()
        head = _hash_one(iv + durs[-(n - 1):])
        with np.errstate(over="ignore"):
            h = (np.uint64(head) ^ (np.arange(n_dur, dtype=np.uint64) + np.uint64(1000))) * np.uint64(_MUL)
        g = self._guard_keys()
        i = np.minimum(np.searchsorted(g, h), len(g) - 1)
        return g[i] == h if len(g) else np.zeros(n_dur, bool)


def blend(probs: np.ndarray, memory: np.ndarray | None, lam: float) -> np.ndarray:
    """`probs` with `lam` of its notes' mass given to `memory` (a distribution over pitch ids)."""
    if memory is None or lam <= 0:
        return probs
    out = probs.copy()
    notes_p = probs[T.PITCH0:]
    out[T.PITCH0:] = (1 - lam) * notes_p + (lam * notes_p.sum()) * memory[T.PITCH0:]
    return out


@dataclass
class Quotation:
    """How many notes in a row the line has shared with the training solos, 8-note window by
    window (as ``evaluation.idiom`` counts a shared run), and whether the memory may still lead."""
    limit: int                              # notes of a shared run after which it falls silent; 0: never
    run: int = 0

    def follow(self, k: int) -> bool:
        """Take the match of k intervals found for the line so far; True while under the limit."""
        self.run = (self.run + 1 if self.run else COPY_NOTES) if k >= COPY_NOTES - 1 else 0
        return not self.limit or self.run < self.limit


def load(model_dir: str | Path) -> Formulas | None:
    """The model folder's memory, or None if it has none (a model trained before it).

    Its search columns and copy-guard keys are built here, not on first use: built lazily they
    cost the first answer of a trading session (or the page's first take) 0.2 s, which made it late."""
    from jazzgen.model.folder import optional_file
    path = optional_file(model_dir, FILE)
    if path is None:
        return None
    memory = Formulas.load(path)
    memory._columns()
    memory._guard_keys()
    return memory
