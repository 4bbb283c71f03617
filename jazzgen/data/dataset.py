"""The split and the training windows: songs -> train/validation -> (N, L) id arrays.

The corpus itself (reading a folder, the cache, the per-file reports) is ``corpus.py``;
this module takes its songs, splits them by file, and cuts the tokenized songs into
fixed-length windows, transposed to random keys for training.
"""
from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.music.notes import NoteSequence

KEYS = range(-5, 7)   # the 12 transpositions, in semitones: training draws from them, evaluation scores them all


def split_by_file(names: list[str], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train indices, validation indices): whole files, chosen by a seeded hash of the name.

    Hashing the name (not shuffling the list) keeps a file on the same side when files
    are added or the folder is listed in another order.
    """
    rank = sorted(range(len(names)), key=lambda i: hashlib.sha256(f"{seed}:{names[i]}".encode(
        "utf-8", "surrogateescape")).hexdigest())      # a name that is not UTF-8: its own bytes
    n_val = int(round(val_fraction * len(names))) if len(names) > 1 else 0
    if val_fraction > 0 and len(names) > 1:
        n_val = max(1, n_val)
    val = sorted(rank[:n_val])
    return sorted(rank[n_val:]), val


def usable(songs: list[NoteSequence], max_songs: int = 0) -> list[NoteSequence]:
    """The songs a model can learn from or be scored on: 2 notes or more; the first max_songs."""
    return [s for s in songs if len(s) > 1][: max_songs or None]


def split_songs(songs: list[NoteSequence], val_fraction: float, seed: int, max_songs: int = 0):
    """(train songs, validation songs) exactly as training splits them; evaluation reuses it."""
    songs = usable(songs, max_songs)
    tr, va = split_by_file([s.name for s in songs], val_fraction, seed)
    return [songs[i] for i in tr], [songs[i] for i in va]


def pitch_range(toks: list[T.Tokens]) -> tuple[int, int]:
    """Lowest and highest MIDI pitch in the songs: transposition stays inside it."""
    ps = np.concatenate([t.pitch[t.pitch >= T.PITCH0] for t in toks] + [np.zeros(0, np.int16)]) - T.PITCH0
    return (int(ps.min()), int(ps.max())) if ps.size else (0, 127)


@dataclass
class Windows:
    """Fixed-length training windows cut from whole songs, as (N, L) id arrays.

    ``prev_*`` hold the event before each target (BOS or PAD at a song's start); targets
    ``pitch``/``dur``/``art``/``vel`` are 0 (PAD) past a song's end, which the loss ignores.
    """
    arrays: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.arrays["pitch"])

    def transposed(self, rng: np.random.Generator, lo: int, hi: int) -> "Windows":
        """Each window shifted to a random one of the 12 KEYS, an octave moved to stay in [lo, hi]."""
        a = self.arrays
        is_p = a["pitch"] >= T.PITCH0
        big, small = np.iinfo(np.int16).max, np.iinfo(np.int16).min
        pmax = np.where(is_p, a["pitch"], small).max(1).astype(np.int64) - T.PITCH0
        pmin = np.where(is_p, a["pitch"], big).min(1).astype(np.int64) - T.PITCH0
        pmin = np.minimum(pmin, np.where(a["prev_pitch"] >= T.PITCH0, a["prev_pitch"], big).min(1) - T.PITCH0)
        pmax = np.maximum(pmax, np.where(a["prev_pitch"] >= T.PITCH0, a["prev_pitch"], small).max(1) - T.PITCH0)
        k = rng.integers(KEYS.start, KEYS.stop, len(self))
        k = np.where(pmax + k > hi, k - 12, k)
        k = np.where(pmin + k < lo, k + 12, k)
        k = np.where((pmax + k > hi) | (pmin + k < lo), 0, k)[:, None]
        out = dict(a)
        out["pitch"], out["root"] = T.transpose_ids(a["pitch"], a["root"], k)
        out["prev_pitch"], _ = T.transpose_ids(a["prev_pitch"], a["root"], k)
        if "next_root" in a:
            _, out["next_root"] = T.transpose_ids(a["next_root"], a["next_root"], k)
        return Windows(out)


def make_windows(toks: list[T.Tokens], length: int, stride: int | None = None) -> Windows:
    """Cut every song into windows of `length` events, `stride` apart (default: length // 2)."""
    stride = stride or max(1, length // 2)
    rows: list[dict[str, np.ndarray]] = []
    for tok in toks:
        a = tok.arrays()
        # the event before each target: BOS (pitch, dur) or PAD (art, vel) at a song's start
        prev = {f: np.concatenate([[T.BOS if f in ("pitch", "dur") else T.PAD], a[f][:-1]]).astype(np.int16)
                for f in T.PREDICTED}
        n = len(tok)
        starts = list(range(0, max(n - length, 0) + 1, stride))
        if starts[-1] + length < n:
            starts.append(n - length)
        for s in starts:
            row = {f: a[f][s:s + length] for f in T.FIELDS}
            row.update({f"prev_{f}": prev[f][s:s + length] for f in T.PREDICTED})
            rows.append(row)
    keys = list(T.FIELDS) + [f"prev_{f}" for f in T.PREDICTED]
    out = {k: np.zeros((len(rows), length), np.int16) for k in keys}
    for i, row in enumerate(rows):
        for k in keys:
            out[k][i, :len(row[k])] = row[k]
    return Windows(out)
