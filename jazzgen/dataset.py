"""The corpus: a folder of MIDI -> cached NoteSequences -> split -> training windows.

The cache is keyed by each file's content and the reading settings, so a second run
only hashes the files and loads one packed ``.npz`` (no pickle), and a changed file
is re-read while the others are reused.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Iterable

import numpy as np

from .midi_io import CLOSE_GAPS, MidiError, atomic_write, read_midi_bytes
from .notes import GRID, NO_CHORD, ChordChange, KeySignature, NoteSequence, Tempo, TimeSignature
from . import tokens as T

CACHE_VERSION = 1
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")


@dataclass(frozen=True)
class ReadSettings:
    """Everything that changes what a file reads as; part of the cache key."""
    grid: int = GRID
    close_gaps: int = CLOSE_GAPS
    track: int | str | None = None


@dataclass
class FileReport:
    path: str
    kept: bool
    reason: str = ""             # why it was dropped
    notes: int = 0
    bars: int = 0
    chord_coverage: float = 0.0  # share of notes with a chord in force (not N.C.)
    polyphony_dropped: int = 0
    overlaps_trimmed: int = 0
    ignored_markers: int = 0
    onset_err_mean: float = 0.0  # beats
    onset_err_max: float = 0.0
    offset_err_mean: float = 0.0
    offset_err_max: float = 0.0

    def line(self) -> str:
        if not self.kept:
            return f"dropped  {self.path}: {self.reason}"
        return (f"kept     {self.path}: {self.notes} notes, {self.bars} bars, chords on "
                f"{100 * self.chord_coverage:.0f}% of notes"
                + (f", {self.polyphony_dropped} polyphonic notes dropped" if self.polyphony_dropped else ""))


@dataclass
class Corpus:
    songs: list[NoteSequence] = field(default_factory=list)
    reports: list[FileReport] = field(default_factory=list)
    cached: int = 0              # files served from the cache

    @property
    def dropped(self) -> list[FileReport]:
        return [r for r in self.reports if not r.kept]


# ---------------------------------------------------------------------------- files

def find_midi(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[Path]:
    """MIDI files in a folder (recursively) or a list of files/folders, sorted."""
    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    out: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            out += sorted(f for f in p.rglob("*") if f.suffix.lower() in MIDI_SUFFIXES and f.is_file())
        elif p.is_file():
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return out


def _stats(seq: NoteSequence) -> dict:
    bars = int(seq.bar_position([max(seq.end - 1, 0)])[0][0]) + 1 if seq.end else 0
    ci = seq.chord_at(seq.start)
    has = np.array([c.symbol != NO_CHORD for c in seq.chords] + [False])
    return {"notes": len(seq), "bars": bars, "chord_coverage": float(has[ci].mean()) if len(seq) else 0.0}


def read_file(path: str, data: bytes, settings: ReadSettings) -> tuple[NoteSequence | None, FileReport]:
    """Read one file; a bad file gives (None, report with a one-line reason), never an exception."""
    try:
        seq, rep = read_midi_bytes(data, track=settings.track, name=Path(path).stem, close_gaps=settings.close_gaps)
        T.encode(seq)  # must encode; raises on anything the tokenizer cannot hold
    except MidiError as e:
        return None, FileReport(path, False, str(e))
    except Exception as e:  # a reader bug must not stop a corpus run
        return None, FileReport(path, False, f"{type(e).__name__}: {e}".splitlines()[0])
    err = lambda a, f: float(f(np.abs(a))) if a.size else 0.0
    return seq, FileReport(path, True, polyphony_dropped=rep.polyphony_dropped, overlaps_trimmed=rep.overlaps_trimmed,
                           ignored_markers=len(rep.ignored_markers),
                           onset_err_mean=err(rep.onset_error, np.mean), onset_err_max=err(rep.onset_error, np.max),
                           offset_err_mean=err(rep.offset_error, np.mean), offset_err_max=err(rep.offset_error, np.max),
                           **_stats(seq))


def _read_path(args) -> tuple[NoteSequence | None, FileReport]:
    path, settings = args
    try:
        data = Path(path).read_bytes()
    except OSError as e:
        return None, FileReport(path, False, f"cannot read file ({e.strerror})")
    return read_file(path, data, settings)


# ---------------------------------------------------------------------------- (de)serialising

def seq_meta(seq: NoteSequence) -> dict:
    return {"name": seq.name, "end": seq.end,
            "chords": [[c.step, c.symbol] for c in seq.chords],
            "tempos": [[t.step, t.qpm] for t in seq.tempos],
            "time_signatures": [[t.step, t.numerator, t.denominator] for t in seq.time_signatures],
            "key_signatures": [[k.step, k.sharps, k.minor] for k in seq.key_signatures]}


def seq_from(meta: dict, pitch, start, duration, velocity) -> NoteSequence:
    return NoteSequence(pitch, start, duration, velocity,
                        chords=[ChordChange(int(s), str(y)) for s, y in meta["chords"]],
                        tempos=[Tempo(int(s), float(q)) for s, q in meta["tempos"]],
                        time_signatures=[TimeSignature(int(s), int(n), int(d)) for s, n, d in meta["time_signatures"]],
                        key_signatures=[KeySignature(int(s), int(k), bool(m)) for s, k, m in meta["key_signatures"]],
                        end=int(meta["end"]), name=meta["name"])


def save_pack(path: Path, items: list[tuple[NoteSequence | None, FileReport]]) -> None:
    """Many (sequence, report) pairs in one .npz: concatenated note arrays + a JSON index."""
    seqs = [s if s is not None else NoteSequence.empty() for s, _ in items]
    index = [{"report": asdict(r), "meta": seq_meta(s) if s is not None else None} for s, r in items]
    cat = lambda f, dt: np.concatenate([getattr(s, f) for s in seqs] + [np.zeros(0, dt)]).astype(dt)
    arrays = {"pitch": cat("pitch", np.int16), "start": cat("start", np.int32), "duration": cat("duration", np.int32),
              "velocity": cat("velocity", np.int16), "count": np.array([len(s) for s in seqs], np.int64),
              "index": np.array(json.dumps(index))}
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def load_pack(path: Path) -> list[tuple[NoteSequence | None, FileReport]]:
    with np.load(path, allow_pickle=False) as z:
        index = json.loads(str(z["index"]))
        a = {k: z[k] for k in ("pitch", "start", "duration", "velocity")}
        bounds = np.concatenate([[0], np.cumsum(z["count"])])
    out = []
    for i, item in enumerate(index):
        rep = FileReport(**item["report"])
        sl = slice(bounds[i], bounds[i + 1])
        seq = seq_from(item["meta"], *(a[k][sl] for k in ("pitch", "start", "duration", "velocity"))) \
            if item["meta"] is not None else None
        out.append((seq, rep))
    return out


# ---------------------------------------------------------------------------- the corpus

def _key(data: bytes, settings: ReadSettings) -> str:
    h = hashlib.sha256(data)
    h.update(json.dumps([CACHE_VERSION, asdict(settings)]).encode())
    return h.hexdigest()[:32]


def load_corpus(paths, cache_dir: str | os.PathLike | None = None, settings: ReadSettings = ReadSettings(),
                workers: int | None = None, progress: bool = True) -> Corpus:
    """Read every MIDI file under `paths` (cached), skipping bad files with a reason."""
    files = find_midi(paths)
    datas, keys = [], []
    for f in files:
        try:
            data = f.read_bytes()
        except OSError as e:
            data = b""
        datas.append(data)
        keys.append(_key(data, settings))
    cache = Path(cache_dir) if cache_dir else None
    pack = cache / f"corpus-{hashlib.sha256(''.join(keys).encode()).hexdigest()[:24]}.npz" if cache else None
    if pack is not None and pack.exists():
        items = load_pack(pack)
        for (_, r), f in zip(items, files):
            r.path = str(f)
        return _corpus(items, cached=len(items))
    entries = {}
    if cache is not None:
        for k in set(keys):
            p = cache / "files" / f"{k}.npz"
            if p.exists():
                entries[k] = load_pack(p)[0]
    todo = [i for i, k in enumerate(keys) if k not in entries]
    results = _read_many([(str(files[i]), datas[i]) for i in todo], settings, workers, progress)
    for i, res in zip(todo, results):
        entries[keys[i]] = res
        if cache is not None:
            save_pack(cache / "files" / f"{keys[i]}.npz", [res])
    items = [entries[k] for k in keys]
    for (_, r), f in zip(items, files):
        r.path = str(f)
    if pack is not None:
        save_pack(pack, items)
    return _corpus(items, cached=len(files) - len(todo))


def _corpus(items, cached: int) -> Corpus:
    return Corpus(songs=[s for s, _ in items if s is not None], reports=[r for _, r in items], cached=cached)


def _read_many(jobs: list[tuple[str, bytes]], settings: ReadSettings, workers: int | None, progress: bool):
    from tqdm import tqdm
    bar = dict(total=len(jobs), desc="reading MIDI", unit="file", disable=not progress or not jobs,
               file=sys.stderr, leave=False)
    workers = workers or min(os.cpu_count() or 1, 8)
    if workers <= 1 or len(jobs) < 32:
        return [read_file(p, d, settings) for p, d in tqdm(jobs, **bar)]
    import multiprocessing as mp
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
    with ctx.Pool(workers) as pool:  # a worker re-reads its file: cheaper than shipping bytes
        it = pool.imap(_read_path, [(p, settings) for p, _ in jobs], chunksize=8)
        return list(tqdm(it, **bar))


# ---------------------------------------------------------------------------- split and windows

def split_by_file(names: list[str], val_fraction: float = 0.1, seed: int = 0) -> tuple[list[int], list[int]]:
    """(train indices, validation indices): whole files, chosen by a seeded hash of the name.

    Hashing the name (not shuffling the list) keeps a file on the same side when files
    are added or the folder is listed in another order.
    """
    rank = sorted(range(len(names)), key=lambda i: hashlib.sha256(f"{seed}:{names[i]}".encode()).hexdigest())
    n_val = int(round(val_fraction * len(names))) if len(names) > 1 else 0
    if val_fraction > 0 and len(names) > 1:
        n_val = max(1, n_val)
    val = sorted(rank[:n_val])
    return sorted(rank[n_val:]), val


def pitch_range(toks: list[T.Tokens]) -> tuple[int, int]:
    """Lowest and highest MIDI pitch in the songs: transposition stays inside it."""
    ps = np.concatenate([t.pitch[t.pitch >= T.PITCH0] for t in toks] + [np.zeros(0, np.int16)]) - T.PITCH0
    return (int(ps.min()), int(ps.max())) if ps.size else (0, 127)


@dataclass
class Windows:
    """Fixed-length training windows cut from whole songs, as (N, L) id arrays.

    ``prev_*`` hold the event before each target (BOS at a song's start); targets
    ``pitch``/``dur`` are 0 (PAD) past a song's end, which the loss ignores.
    """
    arrays: dict[str, np.ndarray]

    def __len__(self) -> int:
        return len(self.arrays["pitch"])

    def transposed(self, rng: np.random.Generator, lo: int, hi: int) -> "Windows":
        """Each window shifted to a random one of 12 keys, an octave moved to stay in [lo, hi]."""
        a = self.arrays
        is_p = a["pitch"] >= T.PITCH0
        big, small = np.iinfo(np.int16).max, np.iinfo(np.int16).min
        pmax = np.where(is_p, a["pitch"], small).max(1).astype(np.int64) - T.PITCH0
        pmin = np.where(is_p, a["pitch"], big).min(1).astype(np.int64) - T.PITCH0
        pmin = np.minimum(pmin, np.where(a["prev_pitch"] >= T.PITCH0, a["prev_pitch"], big).min(1) - T.PITCH0)
        pmax = np.maximum(pmax, np.where(a["prev_pitch"] >= T.PITCH0, a["prev_pitch"], small).max(1) - T.PITCH0)
        k = rng.integers(-5, 7, len(self))
        k = np.where(pmax + k > hi, k - 12, k)
        k = np.where(pmin + k < lo, k + 12, k)
        k = np.where((pmax + k > hi) | (pmin + k < lo), 0, k)[:, None]
        out = dict(a)
        out["pitch"], out["root"] = T.transpose_ids(a["pitch"], a["root"], k)
        out["prev_pitch"], _ = T.transpose_ids(a["prev_pitch"], a["root"], k)
        return Windows(out)


def make_windows(toks: list[T.Tokens], length: int, stride: int | None = None) -> Windows:
    """Cut every song into windows of `length` events, `stride` apart (default: length // 2)."""
    stride = stride or max(1, length // 2)
    rows: list[dict[str, np.ndarray]] = []
    for tok in toks:
        a = tok.arrays()
        prev_p = np.concatenate([[T.BOS], a["pitch"][:-1]]).astype(np.int16)
        prev_d = np.concatenate([[T.BOS], a["dur"][:-1]]).astype(np.int16)
        n = len(tok)
        starts = list(range(0, max(n - length, 0) + 1, stride))
        if starts[-1] + length < n:
            starts.append(n - length)
        for s in starts:
            row = {f: a[f][s:s + length] for f in T.FIELDS}
            row["prev_pitch"], row["prev_dur"] = prev_p[s:s + length], prev_d[s:s + length]
            rows.append(row)
    keys = list(T.FIELDS) + ["prev_pitch", "prev_dur"]
    out = {k: np.zeros((len(rows), length), np.int16) for k in keys}
    for i, row in enumerate(rows):
        for k in keys:
            out[k][i, :len(row[k])] = row[k]
    return Windows(out)
