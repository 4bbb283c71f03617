"""The corpus: a folder of MIDI -> shards of read files on disk, with a report on every file.

``ingest`` streams a folder into the cache folder: the files are hashed one at a time (the
cache key: name, content, reading settings, note limit, shard format), cut into groups of
about ``SHARD_FILES`` consecutive files, and each group is read (in worker processes when
asked) and written as one shard (``shards.py``: an uncompressed .npz, written atomically).
Which files group together is decided by their names alone, so a changed or added file
rewrites only its own group's shard, and its unchanged neighbours are taken from the old
shard rather than read again.  A shard that exists is never redone: an ingest killed
midway (even by ``kill -9``) resumes with the next group.  A shard is checked before use
(``shards.check``); one that fails is dropped, its files read again (``cache_dropped``).
Memory stays bounded whatever the folder's size: one group's files at a time per process,
totals added up as reports stream past (``reports.Summary``), and what comes back is a
table of the kept songs without their notes (``Songs``), from which training reads
windows straight out of the shards.

``load_corpus`` is the in-memory view for folders that fit (evaluation, the n-gram
baselines, scripts): the same ingest, then the sequences loaded from the shards; it
stops with a DataError as soon as the running total passes ``MAX_CORPUS_NOTES``.
A file over ``midi_io.MAX_NOTES`` notes is dropped with a reason (both module constants,
read at call time).
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import sys
import tempfile
import time
from contextlib import nullcontext
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterable, Iterator

import numpy as np

from jazzgen.data import shards, tokens as T
from jazzgen.data.reports import FileReport, Summary, error_hist, summarize  # noqa: F401  (summarize: API)
from jazzgen.data.tokens import UNKNOWN_PERFORMER
from jazzgen.errors import DataError, FieldError, MidiError, UsageError
from jazzgen.music import midi_check, midi_io
from jazzgen.music.midi_io import read_midi_bytes
from jazzgen.music.notes import GRID, NO_CHORD, NoteSequence, per_chord
from jazzgen.util import atomic_json, file_kind, read_regular

CACHE_VERSION = 11  # 3: reports name the melody part and the chord source; 4: notes keep their performed lengths;
                    # 5: velocity dropouts filled; 6: chord inference retuned, percussion no melody;
                    # 7: karaoke melodies, a track split by program one part; 8: a bass root counts as sounded;
                    # 9: chord weights follow the voicings (rooted_share), bar phases tried;
                    # 10: vocal track names, one instrument over channels one part; 11: MAX_SPREAD
                    # (what a shard holds has its own version, shards.FORMAT, also in the key)
MIDI_SUFFIXES = (".mid", ".midi", ".smf", ".kar")
SHARD_FILES = 128    # files per shard on average (a group ends after a file whose name hashes to 0 mod this)
MAX_LISTINGS = 8     # folder listings kept per cache folder; shards none of them names are pruned
STALE_TMP_SECONDS = 3600    # a shard's temporary file this old was left by a killed run
# Notes in one in-memory corpus (load_corpus; read at call time, so tests can lower it).
# WJazzD's 401 solos hold 175,724; 20M is 114x that.  Measured peak memory of a cold
# load_corpus: 80 MB for WJazzD, 379 MB for it ten times over (1.76M notes), so about
# 190 bytes a note and ~4 GB at 20M notes.  Training and ingest have no such limit: they
# stream (see the module docstring).
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
class Corpus:
    songs: list[NoteSequence] = field(default_factory=list)
    reports: list[FileReport] = field(default_factory=list)
    cached: int = 0              # files served from the cache
    cache_dropped: list[str] = field(default_factory=list)   # shards that failed their check, and why

    @property
    def dropped(self) -> list[FileReport]:
        return [r for r in self.reports if not r.kept]


@dataclass
class Songs:
    """The kept files of an ingested corpus as columns, without their notes: what training splits
    and windows.  Song i's events are rows ``first[i]:first[i] + n_events[i]`` of the events of
    shard ``shard_paths[shard[i]]``, which start at byte ``events_at[shard[i]]`` of that file."""
    names: list[str]
    performers: list[str]
    paths: list[str]
    keys: list[str]
    shard: np.ndarray            # int32
    first: np.ndarray            # int64
    n_events: np.ndarray         # int64
    notes: np.ndarray            # int64
    lo: np.ndarray               # lowest MIDI pitch (int16; 127 without notes)
    hi: np.ndarray               # highest MIDI pitch (int16; 0 without notes)
    shard_paths: list[Path]
    events_at: list[int]

    def __len__(self) -> int:
        return len(self.names)

    def take(self, rows) -> "Songs":
        """The songs at `rows` (indices), in that order; the same shards."""
        rows = np.asarray(rows, np.int64)
        pick = lambda xs: [xs[i] for i in rows]
        return Songs(pick(self.names), pick(self.performers), pick(self.paths), pick(self.keys),
                     *(getattr(self, c)[rows] for c in ("shard", "first", "n_events", "notes", "lo", "hi")),
                     self.shard_paths, self.events_at)

    def __add__(self, other: "Songs") -> "Songs":
        """This table's songs, then the other's (its shard numbers moved past this one's)."""
        cat = lambda c: np.concatenate([getattr(self, c), getattr(other, c) + (len(self.shard_paths) if c == "shard"
                                                                               else 0)])
        return Songs(self.names + other.names, self.performers + other.performers, self.paths + other.paths,
                     self.keys + other.keys, *(cat(c).astype(getattr(self, c).dtype) for c in (
                         "shard", "first", "n_events", "notes", "lo", "hi")),
                     self.shard_paths + other.shard_paths, self.events_at + other.events_at)

    def reader(self) -> shards.EventReader:
        return shards.EventReader(self.shard_paths, self.events_at)

    def sequences(self) -> list[NoteSequence]:
        """The songs' NoteSequences, loaded from their shards, performers set."""
        return list(self.iter_sequences())

    def iter_sequences(self) -> Iterator[NoteSequence]:
        """The songs' NoteSequences one shard's worth at a time (a run of songs in one shard is
        loaded at once), performers set."""
        rows = self.shard.tolist()
        i = 0
        while i < len(rows):
            j = i
            while j < len(rows) and rows[j] == rows[i]:
                j += 1
            got = shards.load(self.shard_paths[rows[i]], set(self.keys[i:j]))
            for k in range(i, j):
                yield replace(got[self.keys[k]][0], performer=self.performers[k])  # two files alike: one entry
            i = j


@dataclass
class Ingested:
    songs: Songs                 # the kept files
    totals: dict                 # reports.Summary.totals()
    cached: int                  # files served from the cache
    dropped: int
    cache_dropped: list[str] = field(default_factory=list)   # shards that failed their check, and why


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


def read_file(path: str, data: bytes, settings: ReadSettings) -> tuple[NoteSequence | None, FileReport, object]:
    """Read one file: (sequence, report, its tokens); a bad file gives (None, report with a one-line
    reason, None), never an exception."""
    try:
        seq, rep = read_midi_bytes(data, track=settings.track_for(path), name=Path(path).stem)
        tok = T.encode(seq)  # must encode; raises on anything the tokenizer cannot hold
    except MidiError as e:
        return None, FileReport(path, False, str(e)), None
    except Exception as e:  # a reader bug must not stop a corpus run
        return None, FileReport(path, False, f"{type(e).__name__}: {e}".splitlines()[0]), None
    err = lambda a, f: float(f(np.abs(a))) if a.size else 0.0
    return seq, FileReport(path, True, events=len(tok), polyphony_dropped=rep.polyphony_dropped,
                           track=rep.track, track_reason=rep.track_reason, top_voice=rep.top_voice,
                           skipped=rep.skipped, chord_source=rep.chord_source,
                           overlaps_trimmed=rep.overlaps_trimmed, velocity_dropouts=rep.velocity_dropouts,
                           ignored_markers=len(rep.ignored_markers), values_clipped=rep.values_clipped,
                           onset_err_mean=err(rep.onset_error, np.mean), onset_err_max=err(rep.onset_error, np.max),
                           offset_err_mean=err(rep.offset_error, np.mean), offset_err_max=err(rep.offset_error, np.max),
                           onset_err_hist=error_hist(rep.onset_error), offset_err_hist=error_hist(rep.offset_error),
                           **_stats(seq)), tok


# ---------------------------------------------------------------------------- ingest: groups and shards

def _key(data: bytes, how: str, name: str) -> str:
    h = hashlib.sha256(data)
    h.update(json.dumps([CACHE_VERSION, name, how]).encode())
    return h.hexdigest()[:32]


def _reading_key() -> str:
    """What, besides a file's bytes and name, decides what it reads as (and how a shard holds it)."""
    return json.dumps([midi_io.MAX_NOTES, shards.FORMAT, T.default_vocab().to_json()])


def _bytes(f: Path) -> bytes | FileReport:
    """A file's bytes, or a report saying why it was not read (too large: not even opened)."""
    odd = file_kind(f)    # a broken link; a FIFO would block read_bytes forever
    if odd:
        return FileReport(str(f), False, odd)
    try:
        size = f.stat().st_size
        return (FileReport(str(f), False, str(midi_check.too_large(size)))
                if size > midi_check.MAX_FILE_BYTES else read_regular(f, MidiError, "file", midi_check.MAX_FILE_BYTES))
    except OSError as e:
        return FileReport(str(f), False, f"cannot read file ({e.strerror})")
    except MidiError as e:     # swapped for a FIFO or grown since the listing: checked on the open file
        return FileReport(str(f), False, str(e).split(": ", 1)[-1])


def _keys(files: list[Path], how: str) -> list[str | FileReport]:
    """Each file's cache key, or the report of why it cannot be read; one file in memory at a time."""
    out: list[str | FileReport] = []
    for f in files:
        data = _bytes(f)
        out.append(_key(data, how, f.stem) if isinstance(data, bytes) else data)
    return out


def _bounds(files: list[Path]) -> list[tuple[int, int]]:
    """[start, stop) of each group: a group ends after a file whose name hashes to 0 mod SHARD_FILES
    (or at 4 x SHARD_FILES files), so that adding a file moves no other group's bounds."""
    out, a = [], 0
    for i, f in enumerate(files):
        ends = int(hashlib.sha256(os.fsencode(f.name)).hexdigest()[:8], 16) % SHARD_FILES == 0
        if ends or i + 1 - a >= 4 * SHARD_FILES or i + 1 == len(files):
            out.append((a, i + 1))
            a = i + 1
    return out


@dataclass
class _Group:
    files: list[Path]
    keyed: list[str | FileReport]
    path: Path | None            # its shard (None: no readable file in it)

    @property
    def keys(self) -> list[str]:
        return [k for k in self.keyed if isinstance(k, str)]

    def done(self, notes: list[str]) -> bool:
        """Its shard is there, sound (``shards.check``) and holds its files; one that fails its check
        is dropped (said in `notes`) and written anew."""
        if self.path is None:
            return True
        if not (self.path.exists() or self.path.is_symlink()):
            return False
        try:
            return shards.check(self.path)["keys"].tolist() == self.keys
        except shards.BadShard as e:
            _drop(self.path, e, notes)
            return False


def _drop(path: Path, e: shards.BadShard, notes: list[str]) -> None:
    """A shard that failed its check: deleted if it is a regular file (not a link, a FIFO or a
    device, which are left where they are), and said."""
    if path.is_file() and not path.is_symlink():
        path.unlink(missing_ok=True)
    notes.append(f"{e}: dropped; its files are read again")


def _groups(files: list[Path], keyed: list, cache: Path) -> list[_Group]:
    out = []
    for a, b in _bounds(files):
        ks = [k for k in keyed[a:b] if isinstance(k, str)]
        name = hashlib.sha256(" ".join(ks).encode()).hexdigest()[:24]
        out.append(_Group(files[a:b], keyed[a:b], cache / f"shard-{name}.npz" if ks else None))
    return out


def _reusable(cache: Path, todo: list[_Group], notes: list[str]) -> dict[str, Path]:
    """{key: an existing shard holding it} for the keys of the groups to read (a changed folder);
    a file there that is no shard is dropped (see ``_drop``)."""
    want = {k for g in todo for k in g.keys}
    skip = {g.path for g in todo}
    found: dict[str, Path] = {}
    for p in sorted(cache.glob("shard-*.npz")):
        if not want - found.keys():
            break
        if p in skip:
            continue
        try:
            found.update((k, p) for k in shards.keys(p) if k in want and k not in found)
        except shards.BadShard as e:
            _drop(p, e, notes)
    return found


def _fill(job, tally: "_Tally | None" = None) -> int:
    """Write one group's shard: its files read (or taken from the shards in `reuse` that already
    hold them).  Returns how many were taken.  `tally` (in-process only): stop reading as soon
    as the corpus passes its note limit."""
    path, members, reuse, settings, how = job
    old: dict = {}
    for p in set(reuse.values()):
        try:
            old.update(shards.load(p, {k for k, q in reuse.items() if q == p}, FileReport))
        except shards.BadShard:     # its files are read again (the shard is dropped by the next ingest)
            pass
    items, keys, notes = [], [], 0
    for f, k in members:
        if k in old:
            items.append((*old[k], None))
            keys.append(k)
            continue
        data = _bytes(Path(f))
        if not isinstance(data, bytes):
            continue                                        # gone since it was hashed: reported then
        items.append(read_file(f, data, settings))
        keys.append(_key(data, how, Path(f).stem))          # what was read (the file may have changed)
        notes += items[-1][1].notes
        if tally is not None:
            tally.check(notes)
    shards.save(path, items, keys)
    return sum(k in old for _, k in members)


def _jobs(todo: list[_Group], reuse: dict[str, Path], settings: ReadSettings, how: str) -> list:
    return [(g.path, [(str(f), k) for f, k in zip(g.files, g.keyed) if isinstance(k, str)],
             {k: reuse[k] for k in g.keys if k in reuse}, settings, how) for g in todo]


def _run(groups: list[_Group], todo: list[_Group], jobs: list, workers: int, tally: "_Tally") -> Iterator[tuple]:
    """(group, files taken from other shards) in folder order, each once its shard is written:
    in this process, or in `workers` processes when there are groups enough."""
    taken = iter([])
    pool = None
    if workers > 1 and len(todo) > 1:
        import multiprocessing as mp

        import symusic  # noqa: F401  (imported once here, inherited by forked workers)
        context = mp.get_context("fork" if sys.platform.startswith("linux") else "spawn")
        pool = context.Pool(min(workers, len(todo)))
        taken = pool.imap(_fill, jobs)                      # in order: group after group
    try:
        pending = dict(zip(map(id, todo), jobs))
        for g in groups:
            if id(g) not in pending:
                yield g, 0
            else:
                yield g, next(taken) if pool else _fill(pending[id(g)], tally)
    finally:
        if pool is not None:
            pool.terminate()
            pool.join()


class _Table:
    """The Songs table, built row by row as groups come in."""

    def __init__(self):
        self.cols: dict[str, list] = {k: [] for k in ("names", "paths", "keys", "shard", "first", "n_events",
                                                      "notes", "lo", "hi")}
        self.shard_paths: list[Path] = []
        self.events_at: list[int] = []

    def add_shard(self, path: Path, m: shards.Meta) -> int:
        self.shard_paths.append(path)
        self.events_at.append(m.events_at)
        return len(self.shard_paths) - 1

    def add(self, f: Path, key: str, shard: int, m: shards.Meta, i: int) -> None:
        c = self.cols
        for k, v in (("names", m.names[i]), ("paths", str(f)), ("keys", key), ("shard", shard),
                     ("first", m.first_event[i]), ("n_events", m.n_events[i]), ("notes", m.reports[i]["notes"]),
                     ("lo", m.lo[i]), ("hi", m.hi[i])):
            c[k].append(v)

    def songs(self, performers: list[str]) -> Songs:
        c = self.cols
        arr = lambda k, dt: np.array(c[k], dt)
        return Songs(c["names"], performers, c["paths"], c["keys"], arr("shard", np.int32), arr("first", np.int64),
                     arr("n_events", np.int64), arr("notes", np.int64), arr("lo", np.int16), arr("hi", np.int16),
                     self.shard_paths, self.events_at)


CHANGED = "the file changed while it was being read; run again"


def _reports(g: _Group, table: _Table) -> Iterator[FileReport]:
    """The reports of a group's files, in order, once its shard is written; its kept files go into
    the table."""
    m = shards.meta(g.path) if g.path else None
    at = {k: i for i, k in enumerate(m.keys)} if m else {}
    shard = table.add_shard(g.path, m) if m else -1
    for f, k in zip(g.files, g.keyed):
        if not isinstance(k, str):
            yield k                                    # not readable: said when it was hashed
            continue
        i = at.get(k)
        r = FileReport(str(f), False, CHANGED) if i is None else FileReport(**{**m.reports[i], "path": str(f)})
        if r.kept:
            table.add(f, k, shard, m, i)
        yield r


def ingest(paths, cache_dir: str | os.PathLike, settings: ReadSettings = ReadSettings(), workers: int | None = None,
           progress: bool = True, each: Callable[[FileReport], None] | None = None,
           max_notes: int | None = None) -> Ingested:
    """Read every MIDI file under `paths` into shards in `cache_dir` (those already there are kept).

    ``each(report)`` is called for every file, in folder order, as its group is done; bad
    files are skipped with a reason.  ``max_notes``: a DataError as soon as the kept notes
    pass it (load_corpus's limit; ingest alone has none).
    """
    from tqdm import tqdm
    files = find_midi(paths)
    cache = Path(cache_dir)
    how = json.dumps([asdict(settings), _reading_key()])
    groups, notes = _groups(files, _keys(files, how), cache), []
    todo = [g for g in groups if not g.done(notes)]
    fresh = set(map(id, todo))
    tally, summary, table, cached = _Tally(paths, len(files), max_notes), Summary(), _Table(), 0
    bar = tqdm(total=len(files), desc="reading MIDI", unit="file", disable=not progress, file=sys.stderr, leave=False)
    try:
        cache.mkdir(parents=True, exist_ok=True)
        jobs = _jobs(todo, _reusable(cache, todo, notes) if todo else {}, settings, how)
        workers = max(1, workers or min((os.cpu_count() or 1) - 1, 8))
        for g, taken in _run(groups, todo, jobs, workers, tally):
            cached += taken if id(g) in fresh else len(g.keys)
            for r in _reports(g, table):
                tally.add(r.notes)
                summary.add(r)
                if each:
                    each(r)
            bar.update(len(g.files))
    except OSError as e:
        raise DataError(f"cannot write the corpus cache {cache}: {e.strerror or e}") from None
    finally:
        bar.close()
    _record(cache, [g.path for g in groups if g.path], how)
    who = performers_beside(files)
    performers = [who.get(Path(p), UNKNOWN_PERFORMER) for p in table.cols["paths"]]
    totals = summary.totals()
    return Ingested(table.songs(performers), totals, cached, totals["dropped"], notes)


def _record(cache: Path, used: list[Path], how: str) -> None:
    """Write (or touch) this folder's listing of shards, then prune what no recent listing names."""
    name = hashlib.sha256(" ".join([how] + [p.name for p in used]).encode()).hexdigest()[:24]
    try:
        atomic_json(cache / f"corpus-{name}.json", {"version": shards.FORMAT, "shards": [p.name for p in used]})
        _prune(cache)
    except OSError as e:
        print(f"jazzgen: cannot update the corpus cache {cache}: {e.strerror or e}", file=sys.stderr)


def _mtime(p: Path) -> float:
    try:
        return p.stat().st_mtime
    except OSError:
        return 0.0


def _prune(cache: Path) -> None:
    """Keep the MAX_LISTINGS newest listings and the shards they name; a shard newer than all of
    them is another run's, still being written.  Old single-file packs go too."""
    listings = sorted(cache.glob("corpus-*.json"), key=_mtime, reverse=True)
    keep, named = listings[:MAX_LISTINGS], set()
    for p in keep:
        try:
            named.update(json.loads(p.read_text())["shards"])
        except (OSError, ValueError, KeyError, TypeError):
            continue
    oldest = min(map(_mtime, keep)) if keep else 0.0
    now = time.time()
    doomed = listings[MAX_LISTINGS:] + list(cache.glob("corpus-*.npz"))
    doomed += [p for p in cache.glob("shard-*.npz") if p.name not in named and _mtime(p) < oldest]
    doomed += [p for p in cache.glob(".shard-*.tmp") if _mtime(p) < now - STALE_TMP_SECONDS]
    for p in doomed:
        try:
            if p.is_symlink() or not p.is_file():      # not ours to delete (a FIFO, a link)
                continue
            p.unlink(missing_ok=True)
        except OSError:
            pass


def load_corpus(paths, cache_dir: str | os.PathLike | None = None, settings: ReadSettings = ReadSettings(),
                workers: int | None = None, progress: bool = True) -> Corpus:
    """Every MIDI file under `paths` read into memory, through the shard cache (without one: a
    temporary folder); bad files skipped with a reason.  DataError past MAX_CORPUS_NOTES."""
    reports: list[FileReport] = []
    with nullcontext(cache_dir) if cache_dir else tempfile.TemporaryDirectory(prefix="jazzgen-corpus-") as cache:
        got = ingest(paths, cache, settings, workers, progress, reports.append, MAX_CORPUS_NOTES)
        return Corpus(got.songs.sequences(), reports, got.cached, got.cache_dropped)


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
    """The corpus's running note count; past `limit` (None: no limit) reading stops with a DataError."""

    def __init__(self, paths, n_files: int, limit: int | None):
        self.notes, self.paths, self.n_files, self.limit = 0, paths, n_files, limit

    def add(self, notes: int) -> None:
        self.notes += notes
        self.check()

    def check(self, more: int = 0) -> None:
        """DataError if the count, with `more` notes read but not yet added, is past the limit."""
        if self.limit is not None and self.notes + more > self.limit:
            n, where = self.n_files, f" under {self.paths}" if isinstance(self.paths, (str, os.PathLike)) else ""
            raise DataError(f"corpus too large: more than {self.limit:,} notes in {n} MIDI file{'s'[:n != 1]}"
                            f"{where} (the limit is jazzgen.data.corpus.MAX_CORPUS_NOTES); read fewer files")


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
