"""What jazzgen learns from a file, as MIDI you can play next to the original.

``python -m jazzgen.ingest --dump OUT`` writes, for each kept file, one track: the melody
the reader chose (top voice and all) and the chord changes (read or inferred) as marker
events.  Listening to it against the source is the quickest check that the right part
was taken and the chords fit.  It keeps the source's ticks per beat and its tempo map (the
original tempo events, at their original ticks), so it plays in time with the original in
any sequencer; notes and chords, on the grid, go back to ticks as step * tpq / GRID.
Meter and key come from the sequence.  Reading the dump gives the same notes and chords.
"""
from __future__ import annotations

import os
import struct
from pathlib import Path

import numpy as np

from jazzgen.music.midi_write import meta_event, to_track
from jazzgen.music.notes import GRID, NoteSequence
from jazzgen.util import atomic_write


def source_timing(data: bytes) -> tuple[int, list[tuple[int, int]]]:
    """(ticks per beat, [(tick, microseconds per beat)]) of a MIDI file, as it holds them."""
    import symusic
    score = symusic.Score.from_midi(data)
    tp = score.tempos.numpy()
    return int(score.ticks_per_quarter), list(zip(tp["time"].astype(int).tolist(), tp["mspq"].astype(int).tolist()))


def to_ticks(steps, tpq: int) -> np.ndarray:
    """Grid steps -> ticks at `tpq` ticks per beat (nearest tick)."""
    return np.rint(np.asarray(steps, np.float64) * tpq / GRID).astype(np.int64)


def learned_midi(seq: NoteSequence, tpq: int, tempos: list[tuple[int, int]]) -> bytes:
    """A type-1 file: one track with the tempo map, meter, key, chord markers and the melody."""
    ev = [(0, 0, *meta_event(0x03, b"Melody"))]
    for ts in seq.time_signatures:
        t = int(to_ticks([ts.step], tpq)[0])
        ev.append((t, 1, *meta_event(0x58, bytes((ts.numerator, ts.denominator.bit_length() - 1, 24, 8)))))
    for ks in seq.key_signatures:
        t = int(to_ticks([ks.step], tpq)[0])
        ev.append((t, 2, *meta_event(0x59, bytes((ks.sharps & 0xFF, int(bool(ks.minor)))))))
    for tick, mspq in tempos:
        ev.append((tick, 3, *meta_event(0x51, min(max(mspq, 1), 0xFFFFFF).to_bytes(3, "big"))))
    for ch, t in zip(seq.chords, to_ticks([c.step for c in seq.chords], tpq).tolist()):
        ev.append((t, 4, *meta_event(0x06, ch.symbol.encode("utf-8"))))
    on = to_ticks(seq.start, tpq)
    off = np.maximum(to_ticks(seq.start + seq.duration, tpq), on + 1)
    for p, a, b, v in zip(seq.pitch.tolist(), on.tolist(), off.tolist(), seq.velocity.tolist()):
        ev.append((a, 7, 0x90, bytes((p, v))))
        ev.append((b, 6, 0x80, bytes((p, 0))))
    end = max([int(to_ticks([seq.end], tpq)[0])] + [e[0] for e in ev])
    header = b"MThd" + (6).to_bytes(4, "big") + struct.pack(">hhh", 1, 1, tpq)
    return header + to_track(ev, end)


def mirror_path(path: str | os.PathLike, roots, out: str | os.PathLike) -> Path:
    """Where a file's dump goes: its path relative to the --data folder(s) it came from, under
    `out`, as .mid (a file given by name goes straight under `out`)."""
    path = Path(path).resolve()
    dirs = [Path(r).resolve() for r in ([roots] if isinstance(roots, (str, os.PathLike)) else roots)
            if Path(r).is_dir()]
    under = [d for d in dirs if d == path.parent or d in path.parents]
    if under:
        base = Path(os.path.commonpath(dirs)) if len(dirs) > 1 else under[0]
        rel = path.relative_to(base) if base in path.parents else Path(path.name)
    else:
        rel = Path(path.name)
    return Path(out) / rel.with_suffix(".mid")


def dump_file(source: str | os.PathLike, seq: NoteSequence, dest: str | os.PathLike) -> Path:
    """Write `seq` (read from `source`) as the learned-from MIDI at `dest`, atomically."""
    from jazzgen.errors import MidiError
    from jazzgen.music import midi_check
    from jazzgen.util import read_regular
    tpq, tempos = source_timing(read_regular(source, MidiError, "file", midi_check.MAX_FILE_BYTES))
    data = learned_midi(seq, tpq, tempos)
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(dest, lambda f: f.write(data))
    return dest
