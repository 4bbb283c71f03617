"""The corpus cache on disk: shards, each an uncompressed ``.npz`` of plain arrays, written atomically.

A shard holds a group of files of a folder (``corpus.ingest`` decides the groups): each
file's report, the note sequence of each kept one (the columns of ``NoteSequence``, tempo
and chord maps as arrays: parsing 115k tempo events as JSON made loading slow) and its
token events, one row of ``EVENT_FIELDS`` per event (``tokens.encode`` with the default
vocabulary; the performer is left out, it comes from ``index.tsv`` when a model is
trained).  No pickle: a JSON index and NumPy arrays.

The events are what training reads, and it reads them from the file, window by window
(``EventReader``: one ``pread`` at the ``events`` member's byte offset), so a corpus of any
size trains without being held in memory, and reading it leaves no file pages mapped
into the process.  The same arrays are what worker processes send back.

A shard is a file in a folder anyone may write to: it is opened only if it is a regular
file, bounded (``util.check_zip``), and its values are checked (``pack_check``) before
they are trusted; anything else is a ``BadShard`` (a one-line DataError), which the corpus
treats as a cache miss: the shard is dropped and its files read again.
"""
from __future__ import annotations

import json
import os
import zipfile
from dataclasses import dataclass
from itertools import chain
from pathlib import Path

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.data.pack_check import pack_problem
from jazzgen.data.reports import FileReport
from jazzgen.errors import DataError
from jazzgen.music.notes import ChordChange, KeySignature, NoteSequence, Tempo, TimeSignature
from jazzgen.util import atomic_write, check_zip, named_tuples, no_gc, open_regular

FORMAT = 13          # bumped with any change of what a shard holds (11: the single-pack format; 13: the chord ahead)
EVENT_FIELDS = tuple(f for f in T.FIELDS if f != "performer")     # every token field but the performer, in order
ROW_BYTES = 2 * len(EVENT_FIELDS)   # int16 columns
MAX_BYTES = 2**32    # a shard's size, packed and unpacked: at most 4 x 128 files of at most 100,000 notes (1.5 GB)


class BadShard(DataError):
    """A file in the cache folder that is not a shard this jazzgen wrote (the message says why)."""


def event_sizes() -> tuple[int, ...]:
    """Each event column's number of ids (the default vocabulary's, which encodes the shards)."""
    sizes = T.default_vocab().sizes
    return tuple(sizes[f] if f in sizes else sizes[f.removeprefix("next_")] for f in EVENT_FIELDS)


def pack(items: list, keys: list[str]) -> dict[str, np.ndarray]:
    """(sequence or None, report, its tokens or None: encoded here) triples as plain arrays:
    concatenated columns + a small JSON index.

    A few big arrays save, load and cross a process boundary in microseconds; 115k named
    tuples do not.
    """
    seqs = [s if s is not None else NoteSequence.empty() for s, _, _ in items]
    symbols = sorted({c.symbol for s in seqs for c in s.chords})
    sym_id = {y: i for i, y in enumerate(symbols)}

    def cat(rows_of, width: int, dt) -> np.ndarray:
        if width == 1:
            return np.concatenate([rows_of(s) for s in seqs] + [np.zeros(0, dt)]).astype(dt)
        flat = chain.from_iterable(chain.from_iterable(rows_of(s) for s in seqs))
        return np.fromiter(flat, dt).reshape(-1, width)

    tempos = cat(lambda s: s.tempos, 2, np.float64)
    chords = cat(lambda s: [(c.step, sym_id[c.symbol]) for c in s.chords], 2, np.int64)
    events = [_events(s, tok) if s is not None else np.zeros((0, len(EVENT_FIELDS)), np.int16) for s, _, tok in items]
    arrays = {"keys": np.array(keys, dtype="U64"), "ok": np.array([s is not None for s, _, _ in items], bool),
              "end": np.array([s.end for s in seqs], np.int64),
              "pitch": cat(lambda s: s.pitch, 1, np.int16), "start": cat(lambda s: s.start, 1, np.int32),
              "duration": cat(lambda s: s.duration, 1, np.int32), "velocity": cat(lambda s: s.velocity, 1, np.int16),
              "tempo_step": tempos[:, 0].astype(np.int64), "tempo_qpm": tempos[:, 1],
              "chord_step": chords[:, 0], "chord_sym": chords[:, 1],
              "ts": cat(lambda s: s.time_signatures, 3, np.int64), "ks": cat(lambda s: s.key_signatures, 3, np.int64),
              "events": np.concatenate(events + [np.zeros((0, len(EVENT_FIELDS)), np.int16)]),
              "n_events": np.array([len(e) for e in events], np.int64),
              "lo": np.array([s.pitch.min() if len(s) else 127 for s in seqs], np.int16),
              "hi": np.array([s.pitch.max() if len(s) else 0 for s in seqs], np.int16)}
    for k, f in (("notes", "pitch"), ("tempos", "tempos"), ("chords", "chords"),
                 ("ts", "time_signatures"), ("ks", "key_signatures")):
        arrays[f"n_{k}"] = np.array([len(getattr(s, f)) for s in seqs], np.int64)
    arrays["index"] = np.array(json.dumps({"version": FORMAT, "symbols": symbols, "names": [s.name for s in seqs],
                                           "reports": [vars(r) for _, r, _ in items]}))
    return arrays


def _events(seq: NoteSequence, tok: T.Tokens | None) -> np.ndarray:
    tok = tok if tok is not None else T.encode(seq)
    return np.stack([getattr(tok, f) for f in EVENT_FIELDS], axis=1).astype(np.int16)


def unpack(a: dict[str, np.ndarray], want: set[str] | None = None, report=None) -> dict[str, tuple]:
    """{key: (sequence or None, report)} from pack()'s arrays (only the keys in `want`, if given).

    ``report``: the report class (``corpus.FileReport``), built from each entry's saved fields.
    """
    index = json.loads(str(a["index"]))
    if index["version"] != FORMAT:
        return {}
    bounds = {k: np.concatenate([[0], np.cumsum(a[f"n_{k}"])]).tolist()
              for k in ("notes", "tempos", "chords", "ts", "ks")}
    cols = {k: a[k].tolist() for k in ("tempo_step", "tempo_qpm", "chord_step")}
    syms = [index["symbols"][i] for i in a["chord_sym"].tolist()]
    ts, ks = a["ts"].tolist(), a["ks"].tolist()
    out = {}
    with no_gc():
        for i, key in enumerate(a["keys"].tolist()):
            if want is None or key in want:
                rep = report(**index["reports"][i]) if report else index["reports"][i]
                out[key] = (_sequence(i, a, index, bounds, cols, syms, ts, ks) if a["ok"][i] else None, rep)
    return out


def _sequence(i, a, index, bounds, cols, syms, ts, ks) -> NoteSequence:
    sl = {k: slice(b[i], b[i + 1]) for k, b in bounds.items()}
    n = sl["notes"]
    return NoteSequence(
        a["pitch"][n], a["start"][n], a["duration"][n], a["velocity"][n],
        chords=named_tuples(ChordChange, cols["chord_step"][sl["chords"]], syms[sl["chords"]]),
        tempos=named_tuples(Tempo, cols["tempo_step"][sl["tempos"]], cols["tempo_qpm"][sl["tempos"]]),
        time_signatures=[TimeSignature(s, n_, d) for s, n_, d in ts[sl["ts"]]],
        key_signatures=[KeySignature(s, k, bool(m)) for s, k, m in ks[sl["ks"]]],
        end=int(a["end"][i]), name=index["names"][i])


def save(path: Path, items: list, keys: list[str]) -> None:
    """One shard file, written whole or not at all (a kill leaves at most a hidden .tmp beside it)."""
    arrays = pack(items, keys)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: np.savez(f, **arrays))


def _arrays(path: Path, names: tuple[str, ...] = ()) -> dict[str, np.ndarray]:
    """A shard's arrays (only `names`, if given), read without pickle from a regular file of at
    most MAX_BYTES, packed and unpacked; BadShard for anything else."""
    check_zip(path, BadShard, "cache shard", MAX_BYTES, kind="a shard (.npz)")
    try:
        with open_regular(path, BadShard, "cache shard", MAX_BYTES) as f, np.load(f, allow_pickle=False) as z:
            return {k: z[k] for k in (names or z.files)}
    except BadShard:
        raise
    except Exception as e:      # BadZipFile, EOFError, a missing member (KeyError), a pickled array (ValueError)...
        raise BadShard(f"cache shard {path}: unreadable ({type(e).__name__})") from None


def check(path: Path) -> dict[str, np.ndarray]:
    """A shard's arrays, every value checked (``pack_check``); BadShard saying why not."""
    a = _arrays(path)
    why = pack_problem(a, FileReport, FORMAT, event_sizes())
    if why:
        raise BadShard(f"cache shard {path}: {why}")
    return a


def load(path: Path, want: set[str] | None = None, report=None) -> dict[str, tuple]:
    """{key: (sequence or None, report)} from a shard file (only the keys in `want`, if given);
    BadShard if it is not a whole shard of this format with sound values."""
    if want is not None and want.isdisjoint(keys(path)):
        return {}
    return unpack(check(path), want, report)


def keys(path: Path) -> list[str]:
    """The keys a shard holds (read without its other arrays); BadShard if it has none."""
    k = _arrays(path, ("keys",))["keys"]
    if k.dtype.kind != "U" or k.ndim != 1:
        raise BadShard(f"cache shard {path}: its keys are not strings")
    return k.tolist()


@dataclass
class Meta:
    """What training needs of a shard, without its notes: per entry its key, report fields, event
    count and pitch range; and where its events start in the file."""
    keys: list[str]
    reports: list[dict]
    names: list[str]
    n_events: np.ndarray
    first_event: np.ndarray      # row of each entry's first event
    lo: np.ndarray               # its lowest and highest MIDI pitch
    hi: np.ndarray
    events_at: int               # byte offset of the events array in the file


def meta(path: Path) -> Meta:
    """A shard's Meta; BadShard if it is not a shard of this format (its values are checked by
    ``check``, which the corpus runs once on a shard before it uses it)."""
    a = _arrays(path, ("index", "keys", "n_events", "lo", "hi"))
    try:
        index = json.loads(str(a["index"]))
        version = index.get("version")
    except (ValueError, RecursionError, AttributeError):
        raise BadShard(f"cache shard {path}: its index is not a JSON object") from None
    if version != FORMAT:
        raise BadShard(f"cache shard {path}: shard format {version}, not {FORMAT}")
    n = a["n_events"].astype(np.int64)
    first = np.concatenate([[0], np.cumsum(n)[:-1]]).astype(np.int64)
    return Meta(a["keys"].tolist(), index["reports"], index["names"], n, first, a["lo"], a["hi"],
                events_offset(path, int(n.sum())))


def events_offset(path: Path, rows: int) -> int:
    """Byte offset of the ``events`` member's data in a shard (an uncompressed zip member holding
    a .npy), checked to be int16 rows of EVENT_FIELDS, `rows` of them."""
    with open_regular(path, BadShard, "cache shard", MAX_BYTES) as f:
        try:
            with zipfile.ZipFile(f) as zf:
                info = zf.getinfo("events.npy")
        except (zipfile.BadZipFile, KeyError, OSError, EOFError) as e:
            raise BadShard(f"cache shard {path}: no events ({type(e).__name__})") from None
        if info.compress_type != zipfile.ZIP_STORED:
            raise BadShard(f"cache shard {path}: events are compressed")
        f.seek(info.header_offset)
        head = f.read(30)
        if head[:4] != b"PK\x03\x04":
            raise BadShard(f"cache shard {path}: no zip entry where the events should be")
        f.seek(info.header_offset + 30 + int.from_bytes(head[26:28], "little") + int.from_bytes(head[28:30], "little"))
        fmt = np.lib.format
        try:
            read_header = fmt.read_array_header_1_0 if fmt.read_magic(f) == (1, 0) else fmt.read_array_header_2_0
            shape, fortran, dtype = read_header(f)
        except ValueError:
            raise BadShard(f"cache shard {path}: its events are not an array") from None
        if dtype != np.dtype("<i2") or fortran or shape != (rows, len(EVENT_FIELDS)):
            raise BadShard(f"cache shard {path}: events are {dtype} {shape}, not int16 ({rows}, {len(EVENT_FIELDS)})")
        return f.tell()


class EventReader:
    """Rows of events straight from shard files, one ``pread`` each; a few files kept open."""

    def __init__(self, paths: list[Path], offsets: list[int], keep_open: int = 64):
        self.paths, self.offsets, self.keep_open = paths, offsets, keep_open
        self._fds: dict[int, int] = {}

    def rows(self, shard: int, first: int, stop: int) -> np.ndarray:
        """Event rows [first, stop) of a shard: (stop - first, len(EVENT_FIELDS)) int16."""
        fd = self._fds.pop(shard, None)
        if fd is None:
            if len(self._fds) >= self.keep_open:
                os.close(self._fds.pop(next(iter(self._fds))))
            fd = os.open(self.paths[shard], os.O_RDONLY)
        self._fds[shard] = fd                       # most recently used last
        n = (stop - first) * ROW_BYTES
        buf = os.pread(fd, n, self.offsets[shard] + first * ROW_BYTES)
        if len(buf) != n:
            raise OSError(f"{self.paths[shard]}: shard shorter than its index says (changed while training?)")
        return np.frombuffer(buf, "<i2").reshape(-1, len(EVENT_FIELDS))

    def close(self) -> None:
        for fd in self._fds.values():
            os.close(fd)
        self._fds.clear()

    def __getstate__(self):          # a copy sent to another process opens its own files
        return {**self.__dict__, "_fds": {}}

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass
