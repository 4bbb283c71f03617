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
        return Windows(transpose(self.arrays, draw_keys(rng, *pitch_bounds(self.arrays), lo, hi)))

    # the window-source interface (``ShardWindows`` has it too): what loop.KeyedWindows serves from
    def read(self, ids) -> dict[str, np.ndarray]:
        return {k: v[ids] for k, v in self.arrays.items()}

    def pitch_bounds(self) -> tuple[np.ndarray, np.ndarray]:
        return pitch_bounds(self.arrays)


def pitch_bounds(a: dict[str, np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """(lowest, highest) MIDI pitch of each window, its targets and the event before them.

    (A window with no note before its targets gets a highest pitch of 32763, the int16
    sentinel less PITCH0 wrapped around, and so is never transposed: kept as it was, so that
    training draws the keys it always drew.)
    """
    is_p = a["pitch"] >= T.PITCH0
    big, small = np.iinfo(np.int16).max, np.iinfo(np.int16).min
    pmax = np.where(is_p, a["pitch"], small).max(1).astype(np.int64) - T.PITCH0
    pmin = np.where(is_p, a["pitch"], big).min(1).astype(np.int64) - T.PITCH0
    pmin = np.minimum(pmin, np.where(a["prev_pitch"] >= T.PITCH0, a["prev_pitch"], big).min(1) - T.PITCH0)
    pmax = np.maximum(pmax, np.where(a["prev_pitch"] >= T.PITCH0, a["prev_pitch"], small).max(1) - T.PITCH0)
    return pmin, pmax


def draw_keys(rng: np.random.Generator, pmin: np.ndarray, pmax: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """A random one of the 12 KEYS per window, an octave moved to keep it inside [lo, hi] (0 if none can)."""
    k = rng.integers(KEYS.start, KEYS.stop, len(pmin))
    k = np.where(pmax + k > hi, k - 12, k)
    k = np.where(pmin + k < lo, k + 12, k)
    return np.where((pmax + k > hi) | (pmin + k < lo), 0, k)


def transpose(a: dict[str, np.ndarray], k: np.ndarray) -> dict[str, np.ndarray]:
    """Window arrays with window i moved k[i] semitones (pitches, the previous pitches, chord roots)."""
    out = dict(a)
    out["pitch"], out["root"] = T.transpose_ids(a["pitch"], a["root"], k[:, None])
    out["prev_pitch"], _ = T.transpose_ids(a["prev_pitch"], a["root"], k[:, None])
    if "next_root" in a:
        _, out["next_root"] = T.transpose_ids(a["next_root"], a["next_root"], k[:, None])
    return out


def window_starts(n: int, length: int, stride: int) -> list[int]:
    """Where the windows of a song of n events start: every `stride`, and one ending at its end."""
    starts = list(range(0, max(n - length, 0) + 1, stride))
    if starts[-1] + length < n:
        starts.append(n - length)
    return starts


def make_windows(toks: list[T.Tokens], length: int, stride: int | None = None) -> Windows:
    """Cut every song into windows of `length` events, `stride` apart (default: length // 2)."""
    stride = stride or max(1, length // 2)
    rows: list[dict[str, np.ndarray]] = []
    for tok in toks:
        a = tok.arrays()
        # the event before each target: BOS (pitch, dur) or PAD (art, vel) at a song's start
        prev = {f: np.concatenate([[T.BOS if f in ("pitch", "dur") else T.PAD], a[f][:-1]]).astype(np.int16)
                for f in T.PREDICTED}
        for s in window_starts(len(tok), length, stride):
            row = {f: a[f][s:s + length] for f in T.FIELDS}
            row.update({f"prev_{f}": prev[f][s:s + length] for f in T.PREDICTED})
            rows.append(row)
    keys = list(T.FIELDS) + [f"prev_{f}" for f in T.PREDICTED]
    out = {k: np.zeros((len(rows), length), np.int16) for k in keys}
    for i, row in enumerate(rows):
        for k in keys:
            out[k][i, :len(row[k])] = row[k]
    return Windows(out)


WINDOW_KEYS = tuple(T.FIELDS) + tuple(f"prev_{f}" for f in T.PREDICTED)
EVENT_COLUMN = {f: i for i, f in enumerate(f for f in T.FIELDS if f != "performer")}   # shards.EVENT_FIELDS
BOS_ROW = {"pitch": T.BOS, "dur": T.BOS, "art": T.PAD, "vel": T.PAD}   # the event before a song's first


class ShardWindows:
    """The windows ``make_windows`` cuts, of songs kept in shards (``corpus.Songs``), read when asked.

    Only the window table (song, start) is in memory; each window's events are read from
    its shard by ``read``, so a corpus of any size is served in the memory of a batch.
    ``vocab`` gives each song's performer id; ``repeat`` (per song, default 1): how many
    times its windows are in the table.
    """

    def __init__(self, songs, length: int, stride: int | None, vocab: T.Vocab, repeat=None):
        stride = stride or max(1, length // 2)
        self.songs, self.length = songs, length
        self.performer = np.array([vocab.performer_id(p) for p in songs.performers], np.int16)
        repeat = np.ones(len(songs), np.int64) if repeat is None else np.asarray(repeat, np.int64)
        starts = [window_starts(int(n), length, stride) * int(r) for n, r in zip(songs.n_events, repeat)]
        self.song = np.repeat(np.arange(len(songs)), [len(s) for s in starts])
        self.start = np.array([s for ss in starts for s in ss], np.int64)
        self._reader = None

    def __len__(self) -> int:
        return len(self.song)

    def read(self, ids) -> dict[str, np.ndarray]:
        """The windows at `ids`, as make_windows' arrays (B, length)."""
        return self._cut(self.song[ids], self.start[ids], self.length)

    def whole_songs(self, rows, pad_to: int | None = None) -> dict[str, np.ndarray]:
        """Songs `rows` whole, one window each, padded to the longest (or to `pad_to`)."""
        rows = np.asarray(rows, np.int64)
        n = pad_to or int(self.songs.n_events[rows].max(initial=1))
        return self._cut(rows, np.zeros(len(rows), np.int64), n)

    def _cut(self, songs: np.ndarray, starts: np.ndarray, length: int) -> dict[str, np.ndarray]:
        if self._reader is None:
            self._reader = self.songs.reader()
        block = np.zeros((len(songs), length + 1, len(EVENT_COLUMN)), np.int16)   # row 0: the event before
        n = np.minimum(self.songs.n_events[songs] - starts, length)
        for i, (song, s, m) in enumerate(zip(songs.tolist(), starts.tolist(), n.tolist())):
            first = int(self.songs.first[song]) + s
            rows = self._reader.rows(int(self.songs.shard[song]), first - (s > 0), first + m)
            block[i, 1 - (s > 0):m + 1] = rows
            if s == 0:
                block[i, 0, [EVENT_COLUMN[f] for f in BOS_ROW]] = list(BOS_ROW.values())
        out = {f: block[:, 1:, j] for f, j in EVENT_COLUMN.items()}
        out["performer"] = np.repeat(self.performer[songs][:, None], length, 1)
        valid = np.arange(length)[None, :] < n[:, None]
        out["performer"] = np.where(valid, out["performer"], 0).astype(np.int16)
        for f in T.PREDICTED:
            out[f"prev_{f}"] = np.where(valid, block[:, :-1, EVENT_COLUMN[f]], 0).astype(np.int16)
        return {k: np.ascontiguousarray(out[k]) for k in WINDOW_KEYS}

    def song_tokens(self, limit: int | None = None):
        """Each song's events whole (the first `limit` songs), as Tokens without their sequence, one
        song at a time (a pass over the training solos without holding them: the formula memory)."""
        if self._reader is None:
            self._reader = self.songs.reader()
        for i in range(min(limit or len(self.songs), len(self.songs))):
            first = int(self.songs.first[i])
            rows = self._reader.rows(int(self.songs.shard[i]), first, first + int(self.songs.n_events[i]))
            yield T.Tokens(**{f: rows[:, j].copy() for f, j in EVENT_COLUMN.items()},
                           performer=np.full(len(rows), self.performer[i], np.int16))

    def targets(self) -> int:
        """Non-padding targets in the windows (what one epoch's loss counts)."""
        return int(np.minimum(self.songs.n_events[self.song] - self.start, self.length).sum())

    def in_memory(self) -> Windows:
        """Every window read into one Windows (for benchmarks and small corpora)."""
        return Windows(self.read(np.arange(len(self))))

    def pitch_bounds(self, chunk: int = 4096) -> tuple[np.ndarray, np.ndarray]:
        """pitch_bounds of every window, read a chunk at a time (in shard order: few files open)."""
        lo, hi = np.zeros(len(self), np.int64), np.zeros(len(self), np.int64)
        order = np.argsort(self.songs.shard[self.song], kind="stable")
        for i in range(0, len(order), chunk):
            ids = order[i:i + chunk]
            lo[ids], hi[ids] = pitch_bounds(self.read(ids))
        return lo, hi

    def __getstate__(self):          # a copy sent to another process opens its own files
        return {**self.__dict__, "_reader": None}
