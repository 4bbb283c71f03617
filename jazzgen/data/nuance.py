"""Notes held, placed and struck as players do: tick-resolution detail drawn from the corpus.

The tokens keep a note on the 12-per-beat grid: its onset step, its event length (to
the next onset), an articulation class (how much of that it sounds) and a velocity
level.  Played that way, every note is held a whole number of grid steps and struck at
one of 11 loudnesses, which a careful listener (``evaluation.listener``) hears at once.
Real players hold a note to the tick.  So each generated note gets what the training
solos, read at full resolution (``music.performed.read_performed``), did in its place:

- its sounding length, drawn from the real lengths of notes with the same articulation
  class and the same event length (a class and length seen fewer than MIN_COUNT times:
  that class's sounding/event ratios, scaled);
- its onset shift off the grid, drawn from the real shifts of notes on the same step of
  the beat with the same event length and the same time since the previous onset (the
  WJazzD transcriptions place 93 % of onsets on the 12-step grid; quintuplets and other
  tuplets sit between its steps, and come in runs that these neighbours tell apart: a
  step and its neighbours seen fewer than MIN_COUNT times use that step's shifts alone);
- its velocity, drawn from the real velocities of its level.

Everything the tokens claim to keep is unchanged: the onset step, the event length,
the class (a drawn length is one the reader put in that class) and the level (a drawn
velocity lies inside its level's bin), so ``tokens.encode`` of a nuanced solo gives the
same tokens.  The tables are plain arrays (``nuance.npz`` in the model folder, loaded
without pickle); a model folder without them plays on the grid as before.  The draws
come from their own random stream (``perform``'s `rng`), so the notes sampled for a seed
do not change, and the same seed gives the same bytes.

    tables = build_tables(train_songs, train_paths)      # NoteSequences and their files
    tables.save(model_dir)
    solo = perform(solo, NuanceTables.load(model_dir), vocab, rng)
"""
from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.music.notes import GRID, TICKS_PER_BEAT, NoteSequence, Nuance
from jazzgen.music.performed import PerformedSolo

FILE = "nuance.npz"
QUANTILES = 129           # points of each inverse CDF (a draw picks the nearest: values as played)
MIN_COUNT = 25            # fewer notes than this for a (class, length): use the class's ratios
STEP_TICKS = TICKS_PER_BEAT // GRID
MAX_SHIFT = STEP_TICKS // 2 - 1   # a shift keeps the note nearer its own step than the next
CONTEXT = 14              # event lengths and onset gaps told apart for a shift: 1..12 steps, longer, none
VERSION = 2
MAX_NOTES = 1_000_000     # notes the tables are drawn from, at most (WJazzD's training solos: 161k)
FIELDS = ("shift", "length", "length_n", "ratio", "velocity")


@dataclass
class NuanceTables:
    """Inverse CDFs (QUANTILES points each) of what real notes do, per note kind."""
    shift: np.ndarray       # (GRID, CONTEXT, CONTEXT, Q) ticks, per onset step, event length, gap from the last onset
    length: np.ndarray      # (classes, MAX_DUR + 1, Q) sounding ticks, per art class and event length
    length_n: np.ndarray    # (classes, MAX_DUR + 1) notes behind each length row
    ratio: np.ndarray       # (classes, Q) sounding / event length, per art class (the fallback)
    velocity: np.ndarray    # (levels, Q) velocities, per level

    def save(self, folder: str | Path) -> Path:
        """`folder`/nuance.npz, the same bytes for the same tables (no dates in the zip)."""
        from jazzgen.util import atomic_write
        path = Path(folder) / FILE
        arrays = {"version": np.array(VERSION), **{k: np.asarray(v, np.float32 if v.dtype.kind == "f" else np.int32)
                                                    for k, v in self.__dict__.items()}}
        atomic_write(path, lambda f: f.write(_npz_bytes(arrays)))
        return path

    @staticmethod
    def load(folder: str | Path, vocab: T.Vocab | None = None) -> "NuanceTables | None":
        """The tables of a model folder, None if it has none; a one-line ModelError if they are
        broken or do not fit the model's vocabulary (its articulation classes, velocity levels)."""
        from jazzgen.errors import ModelError
        from jazzgen.util import load_npz
        path = Path(folder) / FILE
        if not (path.exists() or path.is_symlink()):
            return None
        d = load_npz(path, ModelError, "nuance tables", 64 * 2**20)      # a FIFO, a zip bomb: refused unread
        missing = [k for k in ("version", *FIELDS) if k not in d]
        if missing:
            raise ModelError(f"nuance tables {path}: no {missing[0]} array; delete it to play on the grid")
        t = NuanceTables(**{k: d[k] for k in FIELDS})
        v = vocab or T.default_vocab()
        want = {"shift": (GRID, CONTEXT, CONTEXT, QUANTILES), "length": (n_classes(v), T.MAX_DUR + 1, QUANTILES),
                "length_n": (n_classes(v), T.MAX_DUR + 1), "ratio": (n_classes(v), QUANTILES),
                "velocity": (len(v.vel_values), QUANTILES)}
        bad = [k for k in FIELDS if getattr(t, k).shape != want[k]]
        if d["version"].size != 1 or d["version"].dtype.kind not in "iu" or int(d["version"]) != VERSION or bad:
            raise ModelError(f"nuance tables {path}: version {int(d['version'])} or shape of "
                             f"{', '.join(bad) or 'none'} does not fit this model; delete it to play on the grid")
        if not all(np.isfinite(getattr(t, k)).all() for k in FIELDS):
            raise ModelError(f"nuance tables {path}: values that are not finite")
        return t


def n_classes(vocab: T.Vocab) -> int:
    """Articulation classes of a vocabulary (the released-into-a-rest class included)."""
    return len(vocab.art_values) + vocab.art_rest


def _npz_bytes(arrays: dict[str, np.ndarray]) -> bytes:
    """An .npz (np.load reads it) whose bytes depend on the arrays only."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for k, v in arrays.items():
            info = zipfile.ZipInfo(f"{k}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            with z.open(info, "w") as f:
                np.lib.format.write_array(f, v, allow_pickle=False)
    return buf.getvalue()


# ---------------------------------------------------------------------------- building

def _quantiles(x: np.ndarray, empty: float = 0.0) -> np.ndarray:
    """The inverse CDF of `x` at QUANTILES points (values as they occur); `empty` where x is."""
    return np.quantile(x, np.linspace(0, 1, QUANTILES), method="nearest") if len(x) else np.full(QUANTILES, empty)


def note_kinds(seq: NoteSequence, vocab: T.Vocab) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(art class index, event length in steps, velocity level index) of each note, as the tokens see it."""
    tok = T.encode(seq, vocab)
    head = tok.pitch >= T.PITCH0
    pid, _, length, _, note = T.events(seq)
    ev_len = length[note >= 0]
    return (tok.art[head].astype(np.int64) - T.ART0, ev_len, tok.vel[head].astype(np.int64) - T.VEL0)


def _aligned(seq: NoteSequence, raw: PerformedSolo) -> np.ndarray:
    """Index of the raw note each grid note came from (-1: none found), by order, pitch and time."""
    if len(raw) == len(seq) and np.array_equal(raw.pitch, seq.pitch):
        return np.arange(len(seq))
    out = np.full(len(seq), -1, np.int64)
    j = 0
    step_ticks = raw.tpq / GRID
    for i, (p, s) in enumerate(zip(seq.pitch.tolist(), seq.start.tolist())):
        while j < len(raw) and raw.onset[j] < (s - GRID) * step_ticks:
            j += 1
        k = j
        while k < len(raw) and raw.onset[k] <= (s + GRID) * step_ticks and raw.pitch[k] != p:
            k += 1
        if k < len(raw) and raw.pitch[k] == p and abs(raw.onset[k] - s * step_ticks) <= GRID * step_ticks:
            out[i], j = k, k + 1
    return out


def build_tables(songs: list[NoteSequence], raws, vocab: T.Vocab | None = None) -> NuanceTables:
    """The tables from solos read both ways: on the grid (`songs`) and as played (`raws`, an
    iterable of PerformedSolo or None for a song whose file cannot be read so); at most
    MAX_NOTES notes are used, from the first solos (memory stays bounded on any corpus)."""
    vocab = vocab or T.default_vocab()
    n_art = n_classes(vocab)
    cols: dict[str, list] = {k: [] for k in ("sub", "ctx", "shift", "art", "len", "sound", "level", "vel")}
    used = 0
    for seq, raw in zip(songs, raws):
        if raw is None or used >= MAX_NOTES:
            continue
        used += len(seq)
        art, ev_len, level = note_kinds(seq, vocab)
        cols["level"].append(level)
        cols["vel"].append(seq.velocity.astype(np.int64))
        idx = _aligned(seq, raw)
        ok = idx >= 0
        scale = TICKS_PER_BEAT / raw.tpq
        cols["sub"].append(seq.start[ok] % GRID)
        cols["ctx"].append(onset_context(seq, ev_len)[ok])
        cols["shift"].append(raw.onset[idx[ok]] * scale - seq.start[ok] * STEP_TICKS)
        cols["art"].append(art[ok])
        cols["len"].append(ev_len[ok])
        cols["sound"].append(raw.length[idx[ok]] * scale)
    c = {k: np.concatenate(v) if v else np.zeros(0) for k, v in cols.items()}
    shift = _shift_table(c["sub"], c["ctx"], np.clip(c["shift"], -MAX_SHIFT, MAX_SHIFT))
    length = np.zeros((n_art, T.MAX_DUR + 1, QUANTILES))
    length_n = np.zeros((n_art, T.MAX_DUR + 1), np.int64)
    ratio = np.zeros((n_art, QUANTILES))
    ln = np.minimum(c["len"], T.MAX_DUR)
    for a in range(n_art):
        m = c["art"] == a
        ratio[a] = _quantiles(c["sound"][m] / (c["len"][m] * STEP_TICKS), (*vocab.art_values, 1.0)[a])
        for L in range(1, T.MAX_DUR + 1):
            mm = m & (ln == L)
            length_n[a, L] = int(mm.sum())
            if length_n[a, L] >= MIN_COUNT:
                length[a, L] = _quantiles(c["sound"][mm])
    velocity = np.stack([_quantiles(c["vel"][c["level"] == k], v) for k, v in enumerate(vocab.vel_values)])
    return NuanceTables(shift, length, length_n, ratio, velocity)


def onset_context(seq: NoteSequence, ev_len: np.ndarray) -> np.ndarray:
    """Per note: its event length and the steps since the previous onset, each clipped to
    CONTEXT - 1 (the first note: CONTEXT - 1), as one index into CONTEXT x CONTEXT."""
    gap = np.r_[CONTEXT - 1, np.diff(seq.start.astype(np.int64))]
    return np.minimum(ev_len, CONTEXT - 1) * CONTEXT + np.minimum(gap, CONTEXT - 1)


def _shift_table(sub: np.ndarray, ctx: np.ndarray, shift: np.ndarray) -> np.ndarray:
    """(GRID, CONTEXT, CONTEXT, Q): each row the shifts of its (step, context), or its step's."""
    table = np.zeros((GRID, CONTEXT * CONTEXT, QUANTILES))
    for k in range(GRID):
        m = sub == k
        table[k] = _quantiles(shift[m])
        for c, n in zip(*np.unique(ctx[m], return_counts=True)):
            if n >= MIN_COUNT:
                table[k, c] = _quantiles(shift[m & (ctx == c)])
    return table.reshape(GRID, CONTEXT, CONTEXT, QUANTILES)


def tables_for(songs: list[NoteSequence], folder: str | Path, vocab: T.Vocab | None = None) -> NuanceTables:
    """The tables of corpus songs, each read again as played from its file under `folder` (by
    file stem; a file that cannot be read that way adds nothing)."""
    from jazzgen.data.corpus import find_midi
    from jazzgen.errors import MidiError
    from jazzgen.music.performed import read_performed
    by_stem: dict[str, Path] = {}
    for f in find_midi(folder):
        by_stem.setdefault(f.stem, f)

    def raw(song: NoteSequence) -> PerformedSolo | None:
        try:
            return read_performed(by_stem[song.name])
        except (KeyError, MidiError):
            return None

    return build_tables(songs, map(raw, songs), vocab)


# ---------------------------------------------------------------------------- playing

def _draw(table: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """One value per row of an inverse-CDF table: the point nearest a uniform draw."""
    k = np.rint(rng.random(len(table)) * (QUANTILES - 1)).astype(np.int64)
    return table[np.arange(len(table)), k]


def perform(seq: NoteSequence, tables: NuanceTables, vocab: T.Vocab, rng: np.random.Generator) -> NoteSequence:
    """`seq` with a Nuance drawn from the tables and velocities drawn inside their levels."""
    if not len(seq):
        return seq
    art, ev_len, level = note_kinds(seq, vocab)
    ctx = onset_context(seq, ev_len)
    shift = np.rint(_draw(tables.shift[seq.start % GRID, ctx // CONTEXT, ctx % CONTEXT], rng)).astype(np.int64)
    ln = np.minimum(ev_len, T.MAX_DUR)
    known = tables.length_n[art, ln] >= MIN_COUNT
    by_len = _draw(tables.length[art, ln], rng)
    by_ratio = _draw(tables.ratio[art], rng) * ev_len * STEP_TICKS
    sound = np.maximum(np.rint(np.where(known, by_len, by_ratio)), 1).astype(np.int64)
    vel = np.clip(np.rint(_draw(tables.velocity[level], rng)), 1, 127)
    return replace(seq, velocity=vel, nuance=Nuance(shift, sound))
