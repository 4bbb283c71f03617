"""The corpus: a folder of MIDI -> cached NoteSequences, with a report on every file.

The cache is keyed by each file's name, content, the reading settings and the note limit.  A run
writes one pack (an uncompressed ``.npz`` of plain arrays, no pickle) holding every
file's sequence and report, so a second run only hashes the files and loads that
pack; a run over a changed folder takes the unchanged files from earlier packs and
re-reads only the rest.  Tempo and chord maps are arrays in the pack (WJazzD has a
tempo event on every beat, 115k in all): parsing them as JSON made the warm load slow.

Memory is bounded while reading: a file over ``midi_io.MAX_NOTES`` notes is dropped
with a reason, and a corpus over ``MAX_CORPUS_NOTES`` stops with a DataError as soon as
the running total passes it (both are module constants, read at call time).
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import sys
from dataclasses import asdict, dataclass, field, replace
from itertools import chain
from pathlib import Path
from typing import Iterable

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.data.tokens import UNKNOWN_PERFORMER
from jazzgen.errors import DataError, FieldError, MidiError, UsageError
from jazzgen.music import midi_check, midi_io
from jazzgen.music.midi_io import read_midi_bytes
from jazzgen.music.notes import GRID, NO_CHORD, ChordChange, KeySignature, NoteSequence, Tempo, TimeSignature, per_chord
from jazzgen.util import atomic_write, check_zip, file_kind, named_tuples, no_gc, open_regular, read_regular

CACHE_VERSION = 11  # 3: reports name the melody part and the chord source; 4: notes keep their performed lengths;
                    # 5: velocity dropouts filled; 6: chord inference retuned, percussion no melody;
                    # 7: karaoke melodies, a track split by program one part; 8: a bass root counts as sounded;
                    # 9: chord weights follow the voicings (rooted_share), bar phases tried;
                    # 10: vocal track names, one instrument over channels one part; 11: MAX_SPREAD
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")
MAX_PACKS = 8        # packs kept per cache folder (newest used first)
ERR_BINS = 480       # quantization error histogram: bins of 1/480 beat (one tick at 480 tpq)
# Notes in one corpus (read at call time, so tests can lower it).  WJazzD's 401 solos hold
# 175,724; 20M is 114x that.  Measured peak memory of a cold load_corpus: 80 MB for WJazzD,
# 379 MB for it ten times over (1.76M notes), so about 190 bytes a note (sequences, tempo
# maps, the pack being written) and ~4 GB at 20M notes; tokens and windows from the cache
# measured less (64 / 334 MB).  That leaves most of a 2-core, 24 GB machine for training.
MAX_CORPUS_NOTES = 20_000_000


@dataclass(frozen=True)
class ReadSettings:
    """Everything that changes what a file reads as; part of the cache key.

    track: the melody track for every file (an index, or a name matched case-insensitively,
    exactly and then as a substring); track_map: (file name or glob, track) pairs that
    override it per file, the first that matches winning (see ``track_for``).
    """
    grid: int = GRID
    track: int | str | None = None
    track_map: tuple[tuple[str, int | str], ...] = ()

    def track_for(self, path: str | os.PathLike) -> int | str | None:
        """The melody track for one file: its entry in track_map (by file name, then as a glob
        on the name or the whole path), else ``track``."""
        p = Path(path)
        for pattern, track in self.track_map:
            if pattern == p.name:
                return track
        for pattern, track in self.track_map:
            if fnmatch.fnmatchcase(p.name, pattern) or fnmatch.fnmatchcase(p.as_posix(), pattern):
                return track
        return self.track


@dataclass
class FileReport:
    path: str
    kept: bool
    reason: str = ""             # why it was dropped
    notes: int = 0
    bars: int = 0
    events: int = 0              # token events (notes, rests, ties)
    chord_coverage: float = 0.0  # share of notes with a chord in force (not N.C.)
    track: str = ""              # the melody part: a track name or "channel 3 (Piano)"
    track_reason: str = ""       # why: "named 'Melody'", "only non-drum track", "highest monophonic part", "--track"
    top_voice: bool = False      # a polyphonic part: its top voice is the melody
    skipped: list[str] = field(default_factory=list)   # "part: reason" of parts that had no melodic line
    chord_source: str = "none"   # "markers", "text", "inferred" or "none"
    polyphony_dropped: int = 0
    overlaps_trimmed: int = 0
    velocity_dropouts: int = 0
    ignored_markers: int = 0
    values_clipped: bool = False  # controller values above 127 clipped to read it
    onset_err_mean: float = 0.0  # beats
    onset_err_max: float = 0.0
    offset_err_mean: float = 0.0
    offset_err_max: float = 0.0
    # |error| histograms, bin i = i/ERR_BINS beat (the last bin: that or more), trailing zeros cut;
    # exact at 480 ticks per beat, and what lets a corpus report percentiles without the raw errors
    onset_err_hist: list[int] = field(default_factory=list)
    offset_err_hist: list[int] = field(default_factory=list)

    def line(self) -> str:
        if not self.kept:
            return f"dropped  {self.path}: {self.reason}"
        extra = [f"{self.polyphony_dropped} polyphonic notes dropped" if self.polyphony_dropped else "",
                 f"{self.overlaps_trimmed} overlaps trimmed" if self.overlaps_trimmed else "",
                 f"{self.velocity_dropouts} velocity dropouts filled" if self.velocity_dropouts else "",
                 f"{self.ignored_markers} non-chord markers ignored" if self.ignored_markers else "",
                 "controller values above 127 clipped" if self.values_clipped else ""]
        return (f"kept     {self.path}: {self.notes} notes, {self.bars} bars, {self.events} events, chords on "
                f"{100 * self.chord_coverage:.0f}% of notes, onset error mean {self.onset_err_mean:.3f} beat"
                + "".join(f", {e}" for e in extra if e) + f"; {self.reading()}")

    def reading(self) -> str:
        """What was read: the melody part and why, and where the chords came from."""
        how = self.track_reason + (", top voice" if self.top_voice else "")
        skipped = f", skipped {len(self.skipped)} part{'s'[:len(self.skipped) != 1]}" if self.skipped else ""
        return f"melody {self.track!r} ({how}{skipped}), chords {self.chord_source}"


@dataclass
class Corpus:
    songs: list[NoteSequence] = field(default_factory=list)
    reports: list[FileReport] = field(default_factory=list)
    cached: int = 0              # files served from the cache
    cache_dropped: list[str] = field(default_factory=list)   # packs that failed their check, and why

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
            # not only regular files: a broken link or a FIFO gets a report line, not silence
            out += sorted(f for f in p.rglob("*") if f.suffix.lower() in MIDI_SUFFIXES and not f.is_dir())
        elif p.exists() or p.is_symlink():   # a file named on its own: read (or reported) as it is
            out.append(p)
        else:
            raise FileNotFoundError(f"no such file or folder: {p}")
    return out


def _stats(seq: NoteSequence) -> dict:
    bars = int(seq.bar_position([max(seq.end - 1, 0)])[0][0]) + 1 if seq.end else 0
    has = per_chord([c.symbol != NO_CHORD for c in seq.chords], seq.chord_at(seq.start), False, bool)
    return {"notes": len(seq), "bars": bars, "chord_coverage": float(has.mean()) if len(seq) else 0.0}


def _hist(err: np.ndarray) -> list[int]:
    h = np.bincount(np.minimum(np.rint(np.abs(err) * ERR_BINS).astype(np.int64), ERR_BINS), minlength=1)
    return h[:np.flatnonzero(h)[-1] + 1].tolist() if h.any() else []


def read_file(path: str, data: bytes, settings: ReadSettings) -> tuple[NoteSequence | None, FileReport]:
    """Read one file; a bad file gives (None, report with a one-line reason), never an exception."""
    try:
        seq, rep = read_midi_bytes(data, track=settings.track_for(path), name=Path(path).stem)
        events = len(T.encode(seq))  # must encode; raises on anything the tokenizer cannot hold
    except MidiError as e:
        return None, FileReport(path, False, str(e))
    except Exception as e:  # a reader bug must not stop a corpus run
        return None, FileReport(path, False, f"{type(e).__name__}: {e}".splitlines()[0])
    err = lambda a, f: float(f(np.abs(a))) if a.size else 0.0
    return seq, FileReport(path, True, events=events, polyphony_dropped=rep.polyphony_dropped,
                           track=rep.track, track_reason=rep.track_reason, top_voice=rep.top_voice,
                           skipped=rep.skipped, chord_source=rep.chord_source,
                           overlaps_trimmed=rep.overlaps_trimmed, velocity_dropouts=rep.velocity_dropouts,
                           ignored_markers=len(rep.ignored_markers), values_clipped=rep.values_clipped,
                           onset_err_mean=err(rep.onset_error, np.mean), onset_err_max=err(rep.onset_error, np.max),
                           offset_err_mean=err(rep.offset_error, np.mean), offset_err_max=err(rep.offset_error, np.max),
                           onset_err_hist=_hist(rep.onset_error), offset_err_hist=_hist(rep.offset_error),
                           **_stats(seq))


def _error_stats(reports: list[FileReport], which: str) -> dict[str, float]:
    """mean, p50, p90, p99, max of |quantization error| in beats, from the per-file histograms."""
    hists = [getattr(r, f"{which}_err_hist") for r in reports]
    h = np.zeros(ERR_BINS + 1, np.int64)
    for x in hists:
        h[:len(x)] += x
    n = h.sum()
    if n == 0:
        return {k: 0.0 for k in ("mean", "p50", "p90", "p99", "max")}
    values = np.arange(len(h)) / ERR_BINS
    cum = np.cumsum(h)
    q = lambda p: float(values[np.searchsorted(cum, p * n)])
    return {"mean": float(h @ values / n), "p50": q(0.5), "p90": q(0.9), "p99": q(0.99),
            "max": max(getattr(r, f"{which}_err_max") for r in reports)}


def _count(values) -> dict[str, int]:
    out: dict[str, int] = {}
    for v in values:
        out[v] = out.get(v, 0) + 1
    return dict(sorted(out.items(), key=lambda kv: (-kv[1], kv[0])))


def summarize(reports: list[FileReport]) -> dict:
    """Corpus totals for the ingest report: counts, chord coverage, quantization error."""
    kept = [r for r in reports if r.kept]
    notes = sum(r.notes for r in kept)
    total = lambda f: sum(getattr(r, f) for r in kept)
    return {"files": len(reports), "kept": len(kept), "dropped": len(reports) - len(kept),
            "notes": notes, "bars": total("bars"), "events": total("events"),
            "chord_coverage": sum(r.chord_coverage * r.notes for r in kept) / notes if notes else 0.0,
            "polyphony_dropped": total("polyphony_dropped"), "overlaps_trimmed": total("overlaps_trimmed"),
            "velocity_dropouts": total("velocity_dropouts"), "values_clipped": total("values_clipped"),
            "ignored_markers": total("ignored_markers"),
            "chord_sources": _count(r.chord_source for r in kept),
            "melody_reasons": _count(r.track_reason + (", top voice" if r.top_voice else "") for r in kept),
            "onset_error": _error_stats(kept, "onset"), "offset_error": _error_stats(kept, "offset")}


# ---------------------------------------------------------------------------- the pack (cache file)

def pack(items: list[tuple[NoteSequence | None, FileReport]], keys: list[str]) -> dict[str, np.ndarray]:
    """(sequence, report) pairs as plain arrays: concatenated columns + a small JSON index.

    The one format for the cache file and for results coming back from worker
    processes (a few big arrays pickle in microseconds; 115k named tuples do not).
    """
    seqs = [s if s is not None else NoteSequence.empty() for s, _ in items]
    symbols = sorted({c.symbol for s in seqs for c in s.chords})
    sym_id = {y: i for i, y in enumerate(symbols)}

    def cat(rows_of, width: int, dt) -> np.ndarray:
        if width == 1:
            return np.concatenate([rows_of(s) for s in seqs] + [np.zeros(0, dt)]).astype(dt)
        flat = chain.from_iterable(chain.from_iterable(rows_of(s) for s in seqs))
        return np.fromiter(flat, dt).reshape(-1, width)

    tempos = cat(lambda s: s.tempos, 2, np.float64)
    chords = cat(lambda s: [(c.step, sym_id[c.symbol]) for c in s.chords], 2, np.int64)
    arrays = {"keys": np.array(keys, dtype="U64"), "ok": np.array([s is not None for s, _ in items], bool),
              "end": np.array([s.end for s in seqs], np.int64),
              "pitch": cat(lambda s: s.pitch, 1, np.int16), "start": cat(lambda s: s.start, 1, np.int32),
              "duration": cat(lambda s: s.duration, 1, np.int32), "velocity": cat(lambda s: s.velocity, 1, np.int16),
              "tempo_step": tempos[:, 0].astype(np.int64), "tempo_qpm": tempos[:, 1],
              "chord_step": chords[:, 0], "chord_sym": chords[:, 1],
              "ts": cat(lambda s: s.time_signatures, 3, np.int64), "ks": cat(lambda s: s.key_signatures, 3, np.int64)}
    for k, f in (("notes", "pitch"), ("tempos", "tempos"), ("chords", "chords"),
                 ("ts", "time_signatures"), ("ks", "key_signatures")):
        arrays[f"n_{k}"] = np.array([len(getattr(s, f)) for s in seqs], np.int64)
    arrays["index"] = np.array(json.dumps({"version": CACHE_VERSION, "symbols": symbols,
                                           "names": [s.name for s in seqs],
                                           "reports": [vars(r) for _, r in items]}))
    return arrays


def unpack(a: dict[str, np.ndarray], want: set[str] | None = None) -> dict[str, tuple[NoteSequence | None, FileReport]]:
    """{key: (sequence, report)} from pack()'s arrays (only the keys in `want`, if given)."""
    index = json.loads(str(a["index"]))
    if index["version"] != CACHE_VERSION:
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
                out[key] = _unpack_one(i, a, index, bounds, cols, syms, ts, ks)
    return out


def _unpack_one(i, a, index, bounds, cols, syms, ts, ks) -> tuple[NoteSequence | None, FileReport]:
    rep = FileReport(**index["reports"][i])
    if not a["ok"][i]:
        return None, rep
    sl = {k: slice(b[i], b[i + 1]) for k, b in bounds.items()}
    n = sl["notes"]
    return NoteSequence(
        a["pitch"][n], a["start"][n], a["duration"][n], a["velocity"][n],
        chords=named_tuples(ChordChange, cols["chord_step"][sl["chords"]], syms[sl["chords"]]),
        tempos=named_tuples(Tempo, cols["tempo_step"][sl["tempos"]], cols["tempo_qpm"][sl["tempos"]]),
        time_signatures=[TimeSignature(s, n_, d) for s, n_, d in ts[sl["ts"]]],
        key_signatures=[KeySignature(s, k, bool(m)) for s, k, m in ks[sl["ks"]]],
        end=int(a["end"][i]), name=index["names"][i]), rep


def save_pack(path: Path, items: list[tuple[NoteSequence | None, FileReport]], keys: list[str]) -> None:
    """One uncompressed .npz (no pickle), written atomically."""
    arrays = pack(items, keys)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: np.savez(f, **arrays))


MAX_PACK_BYTES = 2**32      # a pack of 20M notes (MAX_CORPUS_NOTES) is about 0.5 GB


class BadPack(DataError):
    """A file in the cache folder that is not a pack this jazzgen wrote (the message says why)."""


def load_pack(path: Path, want: set[str] | None = None) -> dict[str, tuple[NoteSequence | None, FileReport]]:
    """{key: (sequence, report)} from a pack file (only the keys in `want`, if given); BadPack for a
    file that is not a regular one, too large, not a whole .npz, or whose values fail ``pack_check``."""
    from jazzgen.data.pack_check import pack_problem
    try:
        check_zip(path, BadPack, "cache pack", MAX_PACK_BYTES)
        with open_regular(path, BadPack, "cache pack", MAX_PACK_BYTES) as f, np.load(f, allow_pickle=False) as z:
            if want is not None and want.isdisjoint(z["keys"].tolist()):
                return {}
            a = {k: z[k] for k in z.files}
    except BadPack:
        raise
    except Exception as e:      # BadZipFile, EOFError, a pickled array (ValueError)...
        raise BadPack(f"cache pack {path}: unreadable ({type(e).__name__})") from None
    why = pack_problem(a, FileReport)
    if why:
        raise BadPack(f"cache pack {path}: {why}")
    return unpack(a, want)


def _drop_pack(path: Path, e: BadPack, notes: list[str]) -> None:
    """A pack that failed its check: deleted if it is a regular file (rewritten from the MIDI), and said."""
    if path.is_file() and not path.is_symlink():
        path.unlink(missing_ok=True)
    notes.append(f"{e}: dropped; its files are read again")


# ---------------------------------------------------------------------------- the corpus

def _key(data: bytes, settings: str, name: str) -> str:
    h = hashlib.sha256(data)
    h.update(json.dumps([CACHE_VERSION, name, settings]).encode())
    return h.hexdigest()[:32]


def _read_all(files: list[Path]) -> list[bytes | FileReport]:
    """Each file's bytes, or a report saying why it was not read (too large: not even opened)."""
    out = []
    for f in files:
        odd = file_kind(f)    # a broken link; a FIFO would block read_bytes forever
        if odd:
            out.append(FileReport(str(f), False, odd))
            continue
        try:
            size = f.stat().st_size
            out.append(FileReport(str(f), False, str(midi_check.too_large(size)))
                       if size > midi_check.MAX_FILE_BYTES else read_regular(f, MidiError, "file",
                                                                           midi_check.MAX_FILE_BYTES))
        except OSError as e:
            out.append(FileReport(str(f), False, f"cannot read file ({e.strerror})"))
        except MidiError as e:     # swapped for a FIFO or grown since the listing: checked on the open file
            out.append(FileReport(str(f), False, str(e).split(": ", 1)[-1]))
    return out


def _packs(cache: Path) -> list[Path]:
    """The cache folder's packs, newest first (another process may be pruning them)."""
    def mtime(p: Path) -> float:
        try:
            return p.stat().st_mtime
        except OSError:
            return 0.0
    return sorted(cache.glob("corpus-*.npz"), key=mtime, reverse=True)


def _from_packs(cache: Path, want: set[str], notes: list[str]) -> dict:
    """Entries for `want` from the packs already in the cache folder, newest first."""
    found: dict = {}
    for p in _packs(cache):
        if not want - found.keys():
            break
        try:
            found.update(load_pack(p, want - found.keys()))
        except BadPack as e:
            _drop_pack(p, e, notes)
    return found


def _cached(cache: Path | None, pack_path: Path | None, keys: list[str], notes: list[str]) -> dict:
    """{key: (sequence, report)} of the files the cache holds: this file list's own pack, else any."""
    entries: dict = {}
    if pack_path is not None and (pack_path.exists() or pack_path.is_symlink()):
        try:
            entries = load_pack(pack_path)
            os.utime(pack_path)  # most recently used: pruned last
        except BadPack as e:
            _drop_pack(pack_path, e, notes)
    want = {k for k in keys if k} - entries.keys()
    if cache is not None and want and cache.is_dir():
        entries.update(_from_packs(cache, want, notes))
    return entries


def _prune(cache: Path) -> None:
    for p in _packs(cache)[MAX_PACKS:]:
        try:
            p.unlink(missing_ok=True)
        except OSError:
            pass


def load_corpus(paths, cache_dir: str | os.PathLike | None = None, settings: ReadSettings = ReadSettings(),
                workers: int | None = None, progress: bool = True) -> Corpus:
    """Read every MIDI file under `paths` (cached), skipping bad files with a reason.

    Raises DataError as soon as the corpus passes MAX_CORPUS_NOTES notes.
    """
    files = find_midi(paths)
    datas = _read_all(files)
    how = json.dumps([asdict(settings), midi_io.MAX_NOTES])   # the note limit decides what is kept too
    keys = [_key(d, how, f.stem) if isinstance(d, bytes) else "" for f, d in zip(files, datas)]
    cache = Path(cache_dir) if cache_dir else None
    pack_path = cache / f"corpus-{hashlib.sha256(''.join(keys).encode()).hexdigest()[:24]}.npz" if cache else None
    notes: list[str] = []
    entries = _cached(cache, pack_path, keys, notes)
    tally = _Tally(paths, len(files))
    tally.add(sum(entries[k][1].notes for k in keys if k in entries))
    todo = [i for i, k in enumerate(keys) if k and k not in entries]
    results = _read_many([(str(files[i]), datas[i]) for i in todo], settings, workers, progress, tally)
    entries.update((keys[i], res) for i, res in zip(todo, results))
    items = [entries[k] if k else (None, d) for k, d in zip(keys, datas)]
    for (_, r), f in zip(items, files):
        r.path = str(f)
    if pack_path is not None and (todo or not pack_path.exists()):
        try:
            save_pack(pack_path, [it for it, k in zip(items, keys) if k], [k for k in keys if k])
        except OSError as e:
            print(f"jazzgen: cannot write the corpus cache {pack_path}: {e.strerror or e}", file=sys.stderr)
        _prune(cache)
    cached = sum(1 for k in keys if k) - len(todo)
    who = performers_beside(files)
    songs = [replace(s, performer=who.get(f, UNKNOWN_PERFORMER))    # a copy: two files alike share an entry
             for (s, _), f in zip(items, files) if s is not None]
    return Corpus(songs=songs, reports=[r for _, r in items], cached=cached, cache_dropped=notes)


INDEX_FILE = "index.tsv"     # beside the MIDI files: columns file, performer (and any others)
MAX_INDEX_BYTES = 16 * 2**20  # an index.tsv or a --track-map: a line a file


def performers_beside(files: list[Path]) -> dict[Path, str]:
    """{file: performer} from the index.tsv in each file's folder (read after the cache, so
    editing an index takes effect at once).  A folder without one, or a file the index does
    not name, gives no entry (the caller says "unknown"); a malformed index is ignored."""
    out: dict[Path, str] = {}
    for folder in {f.parent for f in files}:
        try:
            lines = read_regular(folder / INDEX_FILE, DataError, "index", MAX_INDEX_BYTES).decode(
                "utf-8-sig").splitlines()
        except (DataError, UnicodeDecodeError):     # none, not a regular file, too large or not text
            continue
        head = lines[0].split("\t") if lines else []
        if "file" not in head or "performer" not in head:
            continue
        i, j = head.index("file"), head.index("performer")
        for line in lines[1:]:
            cols = line.split("\t")
            if len(cols) > max(i, j) and cols[j].strip():
                out[folder / cols[i]] = cols[j].strip()
    return out


class _Tally:
    """The corpus's running note count; past MAX_CORPUS_NOTES reading stops with a DataError."""

    def __init__(self, paths, n_files: int):
        self.notes, self.paths, self.n_files = 0, paths, n_files

    def add(self, notes: int) -> None:
        self.notes += notes
        if self.notes > MAX_CORPUS_NOTES:
            n, where = self.n_files, f" under {self.paths}" if isinstance(self.paths, (str, os.PathLike)) else ""
            raise DataError(f"corpus too large: more than {MAX_CORPUS_NOTES:,} notes in {n} MIDI file{'s'[:n != 1]}"
                            f"{where} (the limit is jazzgen.data.corpus.MAX_CORPUS_NOTES); read fewer files")


def _read_chunk(args) -> dict[str, np.ndarray]:
    """A worker reads a few files, given as (path, bytes), and sends them back packed (see pack())."""
    first, jobs, settings = args
    return pack([read_file(p, d, settings) for p, d in jobs], [str(first + i) for i in range(len(jobs))])


def _read_many(jobs: list[tuple[str, bytes]], settings: ReadSettings, workers: int | None, progress: bool,
               tally: _Tally) -> list[tuple[NoteSequence | None, FileReport]]:
    """read_file over the jobs, in worker processes when there are enough of them.

    Each worker gets its chunk's (path, bytes) with the task: a solo is kilobytes, so
    sending them costs little and no state is shared.  Default workers: one per core
    but one (the parent unpacks what they send).  On a 2-core machine that means none:
    a file reads in ~2 ms, and the workers' start-up, packing and a busy second core ate
    the gain (measured 0.75 s serial vs 0.6-1.2 s with two workers for WJazzD's 401 files).
    """
    if not jobs:
        return []
    import symusic  # noqa: F401  (imported once here, inherited by forked workers)
    from tqdm import tqdm
    bar = tqdm(total=len(jobs), desc="reading MIDI", unit="file", disable=not progress, file=sys.stderr, leave=False)
    workers = workers or min((os.cpu_count() or 1) - 1, 8)
    out: list = []
    try:
        if workers <= 1 or len(jobs) < 64:
            for p, d in jobs:
                out.append(read_file(p, d, settings))
                tally.add(out[-1][1].notes)
                bar.update(1)
            return out
        import multiprocessing as mp
        size = max(8, min(32, len(jobs) // (4 * workers)))
        args = [(i, jobs[i:i + size], settings) for i in range(0, len(jobs), size)]
        context = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        with context.Pool(workers) as pool:
            for arrays in pool.imap(_read_chunk, args):   # in order: chunk after chunk
                got = unpack(arrays)
                out += [got[str(len(out) + i)] for i in range(len(got))]
                tally.add(sum(r.notes for _, r in got.values()))
                bar.update(len(got))
        return out
    finally:
        bar.close()


# ---------------------------------------------------------------------------- reading options

def _track_value(text: str) -> int | str:
    text = text.strip()
    return int(text) if text.isdigit() else text


def read_track_map(path: str | Path) -> tuple[tuple[str, int | str], ...]:
    """(pattern, track) pairs from a TSV file; UsageError (one line, file:line) for a bad one."""
    data = read_regular(path, UsageError, "`track_map`", MAX_INDEX_BYTES)      # a FIFO or /dev/zero: refused
    try:
        lines = data.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        raise FieldError("track_map", f"{path}: not UTF-8 text") from None
    out = []
    for n, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        cols = line.split("\t")
        if len(cols) != 2 or not cols[0].strip() or not cols[1].strip():
            raise UsageError(f"{path}:{n}: expected 'FILE_NAME_OR_GLOB<TAB>TRACK', got {line.strip()[:60]!r}")
        out.append((cols[0].strip(), _track_value(cols[1])))
    return tuple(out)


def read_settings(args) -> ReadSettings:
    """ReadSettings from the options add_read_options added (parsed args, or a TrainConfig)."""
    track = _track_value(args.track) if args.track is not None else None
    track_map = read_track_map(args.track_map) if getattr(args, "track_map", None) else ()
    return ReadSettings(track=track, track_map=track_map)
