"""MIDI in and out: Standard MIDI Files <-> ``NoteSequence``.

Reading uses symusic (a C++ MIDI parser): it reads a WJazzD solo in well under a
millisecond, where mido takes 2-180 ms and music21 0.1-12 s, which is what lets a
cold ingest of 401 files finish in a couple of seconds.  Before symusic sees the
bytes, a pure-Python walk over the chunk headers rejects what is not a whole MIDI
file, so every bad file gets a specific one-line reason.  (A fuzz run of 23,000
random, truncated and bit-flipped files never crashed or hung symusic 0.6; it drops
note-ons that have no note-off, so a file of only those is diagnosed separately.)
Writing puts the bytes together directly (what mido.MidiFile.save wrote, byte for
byte, at a fraction of the cost), keeping the data set's convention: meta events,
then the chord marker, then note-offs before note-ons at one tick.

Every time is put on the grid of ``notes.GRID`` steps per beat by rounding; the
rounding error is measured and returned so that ingestion can report it.
"""
from __future__ import annotations

import gc
import os
import struct
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass, field
from itertools import repeat
from pathlib import Path
from typing import Sequence

import numpy as np

from .errors import MidiError
from .notes import GRID, ChordChange, KeySignature, NoteSequence, Tempo, TimeSignature

MAX_FILE_BYTES = 16 * 2**20   # a solo is kilobytes; anything this large is not one (read at call time)
MIN_TPQ, MAX_TPQ = 12, 30000  # ticks per beat: below the grid, or absurd
MAX_QPM = 20000.0             # WJazzD has single beats at 2248 qpm; mspq=0 or near is broken
MAX_BEATS = 100_000           # ~8 hours at 200 qpm: longer is a corrupt delta time, not a solo
MELODY_NAMES = ("melody", "solo", "lead")
DRUM_CHANNEL = 9
CLOSE_GAPS = 3                # steps (1/4 beat): shorter silences are articulation, not rests




@dataclass
class ReadReport:
    """What reading one file found, for the ingest report."""
    track: str = ""
    notes_in: int = 0             # notes in the chosen track before reduction
    polyphony_dropped: int = 0    # notes removed to make the line monophonic
    overlaps_trimmed: int = 0     # notes cut short at the next onset
    onset_error: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))   # beats
    offset_error: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # beats
    ignored_markers: list[str] = field(default_factory=list)  # marker/text events that are no chord


@dataclass
class Part:
    """An extra instrument track (the generated rhythm section); times in grid steps."""
    name: str
    program: int
    channel: int          # DRUM_CHANNEL for drums
    pitch: np.ndarray
    start: np.ndarray
    duration: np.ndarray
    velocity: np.ndarray


# ---------------------------------------------------------------------------- reading

def named_tuples(cls, *columns) -> list:
    """[cls(*row) for row in zip(*columns)] without a Python call per row.

    tuple.__new__ through map runs in C: the WJazzD tempo map alone is 115k tuples,
    which is what makes reading (and loading the cache) fast or slow.  The garbage
    collector is paused meanwhile: its passes over a growing heap of fresh tuples
    (which cannot form cycles) cost more than building them.
    """
    with no_gc():
        return list(map(tuple.__new__, repeat(cls), zip(*columns)))


@contextmanager
def no_gc():
    """Pause automatic garbage collection while building many small acyclic objects."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()


def _size(n: int) -> str:
    return f"{n / 2**20:.0f} MB" if n >= 2**20 else f"{n} bytes"


def _too_large(n: int) -> MidiError:
    return MidiError(f"file too large ({_size(n)} > {_size(MAX_FILE_BYTES)})")


def _check_header(data: bytes) -> None:
    """Size, MThd, type, time division: the reasons a file is no solo before parsing it."""
    if len(data) == 0:
        raise MidiError("empty file")
    if len(data) > MAX_FILE_BYTES:
        raise _too_large(len(data))
    if data[:4] != b"MThd":
        raise MidiError("not a MIDI file (no MThd header)")
    if len(data) < 14:
        raise MidiError(f"truncated MIDI header ({len(data)} bytes)")
    hlen = int.from_bytes(data[4:8], "big")
    if hlen != 6:
        raise MidiError(f"corrupt MIDI header (MThd length {hlen}, not 6)")
    fmt = int.from_bytes(data[8:10], "big")
    division = int.from_bytes(data[12:14], "big")
    if fmt not in (0, 1):
        raise MidiError(f"unsupported MIDI type {fmt} (only types 0 and 1)")
    if division & 0x8000:
        raise MidiError("SMPTE time division is not supported (no beats to place notes on)")
    if not MIN_TPQ <= division <= MAX_TPQ:
        raise MidiError(f"absurd ticks per beat: {division}")
    _check_chunks(data, int.from_bytes(data[10:12], "big"))


def _check_chunks(data: bytes, ntracks: int) -> None:
    """Walk the chunk headers: every track the header announces is there, whole.

    symusic parses only as many tracks as the header says and silently accepts a file
    cut at a chunk boundary; this catches that, and names truncation plainly.
    """
    pos, found = 14, 0
    while found < ntracks and pos + 8 <= len(data):
        cid, n = data[pos:pos + 4], int.from_bytes(data[pos + 4:pos + 8], "big")
        if cid == b"MTrk":
            found += 1
            if pos + 8 + n > len(data):
                raise MidiError(f"truncated: track {found} of {ntracks} claims {n} bytes, "
                                f"{len(data) - pos - 8} left")
        elif not (cid.isascii() and cid.isalpha()):
            raise MidiError(f"corrupt MIDI file (no chunk at byte {pos}: {cid!r})")
        pos += 8 + n  # an unknown chunk is skipped, as the standard says
    if ntracks == 0 or found == 0:
        raise MidiError("no tracks")
    if found < ntracks:
        raise MidiError(f"truncated: the header announces {ntracks} tracks, {found} found")


def _parse(data: bytes):
    import symusic
    try:
        return symusic.Score.from_midi(data)
    except Exception as e:  # symusic raises RuntimeError/ValueError with a C++ message
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        msg = msg.removeprefix("MiniMidi: ").removesuffix(": iostream error")
        raise MidiError(f"corrupt MIDI data ({msg})") from None


def _note_ons(data: bytes) -> tuple[int, int]:
    """(note-ons, note-offs) counted with mido: only to explain a file that reads as empty."""
    import io
    import mido
    try:
        mf = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception:
        return 0, 0
    ons = offs = 0
    for tr in mf.tracks:
        for msg in tr:
            if msg.type == "note_on" and msg.velocity > 0:
                ons += 1
            elif msg.type in ("note_on", "note_off"):
                offs += 1
    return ons, offs


def _no_notes(score, data: bytes) -> MidiError:
    """Why no track has a note: drums only, note-ons never ended, or simply none."""
    if any(t.note_num() for t in score.tracks):
        return MidiError("only drum notes (channel 10)")
    ons, offs = _note_ons(data)
    if ons:
        return MidiError(f"notes never end: {ons} note-ons, {offs} note-offs, no complete note")
    return MidiError("no notes")


def _pick_track(score, track: int | str | None, data: bytes):
    """The melody: --track override, else a track named melody/solo/lead, else the highest."""
    tracks = [(i, t) for i, t in enumerate(score.tracks) if not t.is_drum and t.note_num() > 0]
    if track is not None:
        for i, t in enumerate(score.tracks):
            if track == i or (isinstance(track, str) and t.name.strip().lower() == track.lower()):
                if t.is_drum:
                    raise MidiError(f"track {track!r} is a drum track")
                if t.note_num() == 0:
                    raise MidiError(f"track {track!r} has no notes")
                return t
        raise MidiError(f"no track {track!r}")
    if not tracks:
        raise _no_notes(score, data)
    if len(tracks) == 1:
        return tracks[0][1]
    for _, t in tracks:
        if any(n in t.name.lower() for n in MELODY_NAMES):
            return t
    return max(tracks, key=lambda it: float(np.mean(it[1].notes.numpy()["pitch"])))[1]


def _unstack(on: np.ndarray, on_t: np.ndarray) -> np.ndarray:
    """Notes at different ticks that rounding put on one step are spread over free steps.

    Fast runs (quintuplets, 32nds in a ballad) are finer than the grid; spreading keeps
    every note of a monophonic solo instead of dropping it as polyphony.  Each run of
    colliding onsets is centred on where it was played (least squares: isotonic
    regression of step - index, by pool-adjacent-violators) rather than pushed later
    note by note, which made a run of n notes end up to n steps late and dragged the
    notes after it along.  Notes at one tick (a chord) stay together for _monophonic.
    """
    ticks, first, inverse = np.unique(on_t, return_index=True, return_inverse=True)
    y = (on[first] - np.arange(len(ticks))).tolist()   # non-decreasing <=> all steps distinct
    sums: list[float] = []
    counts: list[int] = []
    for v in y:
        sums.append(v)
        counts.append(1)
        while len(sums) > 1 and sums[-2] * counts[-1] > sums[-1] * counts[-2]:  # mean falls: pool
            s, c = sums.pop(), counts.pop()
            sums[-1] += s
            counts[-1] += c
    z = np.repeat([round(s / c) for s, c in zip(sums, counts)], counts)
    z = np.maximum(z, 0)   # on_i = z_i + i >= i: the run never starts before step 0
    return (z + np.arange(len(ticks)))[inverse.reshape(-1)].astype(on.dtype)


def _monophonic(on: np.ndarray, off: np.ndarray, pitch: np.ndarray, vel: np.ndarray, on_t: np.ndarray,
                off_t: np.ndarray, to_step: float, rep: ReadReport):
    """Highest note wins at one onset; a note still sounding at the next onset is cut there.

    Overlaps are counted in the file's ticks (what the file says), not after spreading
    colliding onsets, which may move a note onto its predecessor's tail.
    """
    order = np.lexsort((-pitch.astype(np.int64), on_t))
    on, off, pitch, vel, on_t, off_t = on[order], off[order], pitch[order], vel[order], on_t[order], off_t[order]
    if np.any(np.diff(on) <= 0):
        on = _unstack(on, on_t)
        off = np.maximum(off, on + 1)
    first = np.ones(len(on), bool)
    first[1:] = on[1:] != on[:-1]
    rep.polyphony_dropped = int((~first).sum())
    on, off, pitch, vel, on_t, off_t = on[first], off[first], pitch[first], vel[first], on_t[first], off_t[first]
    rep.onset_error = (on_t * to_step - on).astype(np.float32) / GRID
    rep.overlaps_trimmed = int((off_t[:-1] > on_t[1:]).sum())
    off = np.minimum(off, np.append(on[1:], np.iinfo(np.int64).max))
    return on, off, pitch, vel


def _chords_from_texts(texts: list[tuple[int, str]], rep: ReadReport) -> list[ChordChange]:
    from .chords import ChordError, parse_chord
    out: list[ChordChange] = []
    bad: set[str] = set()
    for step, text in texts:
        sym = text.replace("\ufeff", "").strip()
        if sym in bad:
            rep.ignored_markers.append(sym)
            continue
        try:
            parse_chord(sym)  # lru-cached: a solo repeats a few dozen symbols
        except ChordError:
            bad.add(sym)
            rep.ignored_markers.append(sym)
            continue
        if out and out[-1].step == step:
            out[-1] = ChordChange(step, sym)      # last one at a tick wins
        elif not out or out[-1].symbol != sym:
            out.append(ChordChange(step, sym))
    return out


def _decode_text(s: str) -> str:
    """mido's latin-1 text as UTF-8 where the bytes are UTF-8 (what we write), else as latin-1."""
    try:
        return s.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return s


def _text_events(data: bytes, kind: str = "text") -> list[tuple[int, str]]:
    """Text (FF 01) or marker events, read with mido: symusic keeps markers but not plain text,
    and reads every text as UTF-8 (a latin-1 marker comes back with U+FFFD in it)."""
    import io
    import mido
    try:
        mf = mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception:
        return []
    out = []
    for tr in mf.tracks:
        tick = 0
        for msg in tr:
            tick += msg.time
            if msg.type == kind:
                out.append((tick, _decode_text(msg.text)))
    return sorted(out, key=lambda x: x[0])


def _tempos(score, to_step: float) -> list[Tempo]:
    """The tempo map on the grid, vectorized (WJazzD has a tempo event on every beat)."""
    tp = score.tempos.numpy()
    tick, mspq = tp["time"].astype(np.int64), tp["mspq"].astype(np.int64)
    bad = (mspq <= 0) | (6e7 / np.maximum(mspq, 1) > MAX_QPM)
    if bad.any():
        i = int(np.argmax(bad))
        raise MidiError(f"absurd tempo ({mspq[i]} us per beat) at tick {tick[i]}")
    order = np.argsort(tick, kind="stable")
    step, mspq = np.rint(tick[order] * to_step).astype(np.int64), mspq[order]
    last = np.ones(len(step), bool)
    last[:-1] = step[1:] != step[:-1]   # several at one step: the last wins
    return named_tuples(Tempo, step[last].tolist(), (6e7 / mspq[last]).tolist())


def _signatures(score, to_step: float) -> tuple[list[TimeSignature], list[KeySignature]]:
    sigs, keys = [], []
    for ts in score.time_signatures:
        if ts.numerator < 1 or ts.denominator not in (1, 2, 4, 8, 16, 32):
            raise MidiError(f"bad time signature {ts.numerator}/{ts.denominator}")
        sigs.append(TimeSignature(int(round(ts.time * to_step)), int(ts.numerator), int(ts.denominator)))
    for k in score.key_signatures:
        if not -7 <= k.key <= 7 or k.tonality not in (0, 1):
            raise MidiError(f"bad key signature (key {k.key}, mode {k.tonality})")
        keys.append(KeySignature(int(round(k.time * to_step)), int(k.key), bool(k.tonality)))
    return sigs, keys


def read_midi(path: str | os.PathLike, track: int | str | None = None,
              close_gaps: int = CLOSE_GAPS) -> tuple[NoteSequence, ReadReport]:
    """Read one Standard MIDI File into a quantized monophonic NoteSequence.

    Raises MidiError (one line) for anything that cannot be used as a solo.  The size
    is checked before reading, so a huge file costs nothing.
    """
    path = Path(path)
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise _too_large(path.stat().st_size)
        data = path.read_bytes()
    except OSError as e:
        raise MidiError(f"cannot read file ({e.strerror})") from None
    return read_midi_bytes(data, track=track, name=path.stem, close_gaps=close_gaps)


def read_midi_bytes(data: bytes, track: int | str | None = None, name: str = "",
                    close_gaps: int = CLOSE_GAPS) -> tuple[NoteSequence, ReadReport]:
    """Like read_midi, from bytes: a NoteSequence or a MidiError, never another exception."""
    _check_header(data)
    score = _parse(data)
    tpq = score.ticks_per_quarter
    if score.start() < 0 or score.end() > MAX_BEATS * tpq:
        raise MidiError(f"absurd length ({score.end() / tpq:.0f} beats): corrupt delta times")
    rep = ReadReport()
    t = _pick_track(score, track, data)
    rep.track = t.name
    n = t.notes.numpy()
    rep.notes_in = len(n["pitch"])
    to_step = GRID / tpq
    on_t = n["time"].astype(np.int64)
    off_t = on_t + np.maximum(n["duration"].astype(np.int64), 0)
    on = np.rint(on_t * to_step).astype(np.int64)
    off = np.rint(off_t * to_step).astype(np.int64)
    rep.offset_error = (off_t * to_step - off).astype(np.float32) / GRID
    on, off, pitch, vel = _monophonic(on, off, n["pitch"], n["velocity"], on_t, off_t, to_step, rep)
    off = np.maximum(off, on + 1)   # a note shorter than half a step still sounds one step
    if close_gaps > 0 and len(on) > 1:
        # Gaps of a few steps are articulation, not rests: hold the note to the next onset.
        gap = on[1:] - off[:-1]
        short = (gap > 0) & (gap <= close_gaps)
        off[:-1][short] = on[1:][short]
    if on.size and on[0] < 0:
        raise MidiError("notes before time 0")

    tempos = _tempos(score, to_step)
    sigs, keys = _signatures(score, to_step)
    texts = [(int(round(m.time * to_step)), m.text) for m in score.markers]
    if any("\ufffd" in s for _, s in texts):   # not UTF-8: latin-1 bytes, read again
        texts = [(int(round(tk * to_step)), s) for tk, s in _text_events(data, "marker")]
    if not texts and b"\xff\x01" in data:
        texts = [(int(round(tk * to_step)), s) for tk, s in _text_events(data)]
    chords = _chords_from_texts(texts, rep)
    seq = NoteSequence(pitch, on, off - on, np.clip(vel, 1, 127), chords=chords, tempos=tempos,
                       time_signatures=sigs, key_signatures=keys,
                       end=int(round(score.end() * to_step)), name=name)
    return seq, rep

# ---------------------------------------------------------------------------- writing

TPQ_OUT = 480


def _tick(steps, swing: float) -> np.ndarray:
    """Grid steps -> ticks, delaying the off-beat eighth by `swing` (1 = triplet feel)."""
    steps = np.asarray(steps, np.float64)
    beat, pos = np.divmod(steps, GRID)
    half = GRID / 2
    mid = half + swing * GRID / 6           # where the off-beat eighth lands
    warped = np.where(pos <= half, pos * mid / half, mid + (pos - half) * (GRID - mid) / half)
    return np.rint((beat + warped / GRID) * TPQ_OUT).astype(np.int64)


# The bytes are put together here rather than by mido: the tempo map alone is a
# message per beat, and building and validating 120k mido messages took ~50 ms a
# file.  The output is byte for byte what mido.MidiFile.save wrote (type 1, running
# status for channel messages, end of track at `end`): a test keeps it so.  Text is
# UTF-8 (mido wrote latin-1, which cannot hold C△7); for ASCII the two are the same bytes.

def _vlq(n: int) -> bytes:
    """MIDI variable-length quantity (delta times, meta lengths)."""
    if n < 0x80:
        return bytes((n,))
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def _meta(kind: int, data: bytes) -> tuple[None, bytes]:
    return None, bytes((0xFF, kind)) + _vlq(len(data)) + data


def _ticks(steps, swing: float) -> list[int]:
    return _tick(np.asarray(steps, np.int64).reshape(-1), swing).tolist()


def _meta_track(seq: NoteSequence, program: int | None, swing: float) -> list[tuple[int, int, int | None, bytes]]:
    """(tick, order at a tick, status or None for meta, bytes) of the solo's meta events."""
    ev = [(0, 0, *_meta(0x03, b"Melody"))]
    for ts, t in zip(seq.time_signatures, _ticks([x.step for x in seq.time_signatures], swing)):
        if ts.denominator < 1 or ts.denominator & (ts.denominator - 1) or not 0 <= ts.numerator <= 255:
            raise ValueError(f"invalid time signature {ts.numerator}/{ts.denominator}")
        ev.append((t, 1, *_meta(0x58, bytes((ts.numerator, ts.denominator.bit_length() - 1, 24, 8)))))
    for ks, t in zip(seq.key_signatures, _ticks([x.step for x in seq.key_signatures], swing)):
        _key_name(ks)  # raises for an impossible key, as before
        ev.append((t, 2, *_meta(0x59, bytes((ks.sharps & 0xFF, int(bool(ks.minor)))))))
    mspq = [int(round(6e7 / tp.qpm)) for tp in seq.tempos]
    for us, t in zip(mspq, _ticks([x.step for x in seq.tempos], swing)):
        if not 0 <= us <= 0xFFFFFF:
            raise ValueError(f"tempo out of range: {us} us per beat")
        ev.append((t, 3, *_meta(0x51, us.to_bytes(3, "big"))))
    for ch, t in zip(seq.chords, _ticks([x.step for x in seq.chords], swing)):
        ev.append((t, 4, *_meta(0x06, ch.symbol.encode("utf-8"))))
    if program is not None:
        ev.append((0, 5, 0xC0, bytes((_data7(program, "program"),))))
    return ev


_MAJOR = ["Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"]
_MINOR = ["Abm", "Ebm", "Bbm", "Fm", "Cm", "Gm", "Dm", "Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "A#m"]


def _key_name(ks: KeySignature) -> str:
    if not -7 <= ks.sharps <= 7:
        raise ValueError(f"invalid key signature: {ks.sharps} sharps")
    return (_MINOR if ks.minor else _MAJOR)[ks.sharps + 7]


def _data7(v: int, what: str) -> int:
    if not 0 <= v <= 127:
        raise ValueError(f"{what} must be in range 0..127, got {v}")
    return v


def _note_events(pitch, start, duration, velocity, channel: int, swing: float):
    on, off = _tick(start, swing), _tick(np.asarray(start) + np.asarray(duration), swing)
    off = np.maximum(off, on + 1)
    p, v = np.asarray(pitch, np.int64), np.asarray(velocity, np.int64)
    if p.size and (p.min() < 0 or p.max() > 127 or v.min() < 0 or v.max() > 127):
        raise ValueError("note pitch and velocity must be in range 0..127")
    if not 0 <= channel <= 15:
        raise ValueError(f"channel must be in range 0..15, got {channel}")
    st_on, st_off = 0x90 | channel, 0x80 | channel
    ev = []
    for p_, a, b, v_ in zip(p.tolist(), on.tolist(), off.tolist(), v.tolist()):
        ev.append((a, 7, st_on, bytes((p_, v_))))
        ev.append((b, 6, st_off, bytes((p_, 0))))
    return ev


def _to_track(events, end_tick: int) -> bytes:
    """An MTrk chunk: events in (tick, order) order, stable, with running status."""
    out = bytearray()
    now, running = 0, None
    for tick, _, status, body in sorted(events, key=lambda e: (e[0], e[1])):
        out += _vlq(tick - now)
        now = tick
        if status is not None and status != running:
            out.append(status)
        out += body
        running = status
    out += _vlq(max(0, end_tick - now)) + b"\xff\x2f\x00"
    return b"MTrk" + len(out).to_bytes(4, "big") + bytes(out)


def write_midi(path: str | os.PathLike, seq: NoteSequence, parts: Sequence[Part] = (),
               program: int | None = None, swing: float = 0.0) -> None:
    """Write the solo (track 1, with tempo/meter/key maps and chord markers) and extra parts.

    The file appears whole or not at all: it is written to a temporary file first.
    """
    end_tick = int(_tick([seq.end], swing)[0])
    solo = _meta_track(seq, program, swing) + _note_events(seq.pitch, seq.start, seq.duration, seq.velocity, 0, swing)
    tracks = [_to_track(solo, end_tick)]
    for part in parts:
        ev = [(0, 0, *_meta(0x03, part.name.encode("utf-8")))]
        if part.channel != DRUM_CHANNEL:
            ev.append((0, 5, 0xC0 | part.channel, bytes((_data7(part.program, "program"),))))
        ev += _note_events(part.pitch, part.start, part.duration, part.velocity, part.channel, swing)
        tracks.append(_to_track(ev, end_tick))
    header = b"MThd" + (6).to_bytes(4, "big") + struct.pack(">hhh", 1, len(tracks), TPQ_OUT)
    data = header + b"".join(tracks)
    atomic_write(path, lambda f: f.write(data))


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call write(binary file) on a temporary file beside `path`, then rename it into place.

    A reader (or a killed run) never sees half a file.  The file gets the usual
    permissions (0666 less the umask), not mkstemp's private 0600.
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
