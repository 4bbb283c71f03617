"""MIDI in and out: Standard MIDI Files <-> ``NoteSequence``.

Reading uses symusic (a C++ MIDI parser): it reads a WJazzD solo in well under a
millisecond, where mido takes 2-180 ms and music21 0.1-12 s, which is what lets a
cold ingest of 401 files finish in a couple of seconds.  Writing uses mido, whose
event-level control lets us keep the data set's convention (meta events, then the
chord marker, then note-offs before note-ons at one tick).

Every time is put on the grid of ``notes.GRID`` steps per beat by rounding; the
rounding error is measured and returned so that ingestion can report it.
"""
from __future__ import annotations

import os
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from .notes import GRID, NO_CHORD, ChordChange, KeySignature, NoteSequence, Tempo, TimeSignature

MAX_FILE_BYTES = 16 * 2**20   # a solo is kilobytes; anything this large is not one
MIN_TPQ, MAX_TPQ = 12, 30000  # ticks per beat: below the grid, or absurd
MAX_QPM = 20000.0             # WJazzD has single beats at 2248 qpm; mspq=0 or near is broken
MELODY_NAMES = ("melody", "solo", "lead")
DRUM_CHANNEL = 9
CLOSE_GAPS = 3                # steps (1/4 beat): shorter silences are articulation, not rests


class MidiError(ValueError):
    """A file that cannot be used; the message is one line saying why."""


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

def _check_header(data: bytes) -> None:
    if len(data) == 0:
        raise MidiError("empty file")
    if len(data) > MAX_FILE_BYTES:
        raise MidiError(f"file too large ({len(data) / 2**20:.0f} MB > {MAX_FILE_BYTES // 2**20} MB)")
    if data[:4] != b"MThd" or len(data) < 14:
        raise MidiError("not a MIDI file (no MThd header)")
    fmt = int.from_bytes(data[8:10], "big")
    division = int.from_bytes(data[12:14], "big")
    if fmt not in (0, 1):
        raise MidiError(f"unsupported MIDI type {fmt} (only types 0 and 1)")
    if division & 0x8000:
        raise MidiError("SMPTE time division is not supported (no beats to place notes on)")
    if not MIN_TPQ <= division <= MAX_TPQ:
        raise MidiError(f"absurd ticks per beat: {division}")


def _parse(data: bytes):
    import symusic
    try:
        return symusic.Score.from_midi(data)
    except Exception as e:  # symusic raises RuntimeError/ValueError with a C++ message
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise MidiError(f"unreadable MIDI ({msg})") from None


def _pick_track(score, track: int | str | None):
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
        if any(t.note_num() for t in score.tracks):
            raise MidiError("only drum notes (channel 10)")
        raise MidiError("no notes")
    if len(tracks) == 1:
        return tracks[0][1]
    for _, t in tracks:
        if any(n in t.name.lower() for n in MELODY_NAMES):
            return t
    return max(tracks, key=lambda it: float(np.mean(it[1].notes.numpy()["pitch"])))[1]


def _unstack(on: np.ndarray, on_t: np.ndarray) -> np.ndarray:
    """Notes at different ticks that rounding put on one step move to the next free step.

    Fast runs (quintuplets, 32nds) are finer than the grid; nudging keeps every note
    of a monophonic solo instead of dropping it as polyphony.
    """
    on = on.copy()
    for i in np.flatnonzero(np.diff(on) <= 0) + 1:
        if on_t[i] > on_t[i - 1] and on[i] <= on[i - 1]:
            on[i] = on[i - 1] + 1
    # nudging may cascade; a second pass settles what the first moved
    for i in range(1, len(on)):
        if on_t[i] > on_t[i - 1] and on[i] <= on[i - 1]:
            on[i] = on[i - 1] + 1
    return on


def _monophonic(on: np.ndarray, off: np.ndarray, pitch: np.ndarray, vel: np.ndarray, on_t: np.ndarray,
                to_step: float, rep: ReadReport):
    """Highest note wins at one onset; a note still sounding at the next onset is cut there."""
    order = np.lexsort((-pitch.astype(np.int64), on_t))
    on, off, pitch, vel, on_t = on[order], off[order], pitch[order], vel[order], on_t[order]
    if np.any(np.diff(on) <= 0):
        on = _unstack(on, on_t)
        off = np.maximum(off, on + 1)
    first = np.ones(len(on), bool)
    first[1:] = on[1:] != on[:-1]
    rep.polyphony_dropped = int((~first).sum())
    on, off, pitch, vel, on_t = on[first], off[first], pitch[first], vel[first], on_t[first]
    rep.onset_error = (on_t * to_step - on).astype(np.float32) / GRID
    nxt = np.append(on[1:], np.iinfo(np.int64).max)
    over = off > nxt
    rep.overlaps_trimmed = int(over.sum())
    off = np.minimum(off, nxt)
    return on, off, pitch, vel


def _chords_from_texts(texts: list[tuple[int, str]], rep: ReadReport) -> list[ChordChange]:
    from .chords import ChordError, parse_chord
    out: list[ChordChange] = []
    for step, text in texts:
        sym = text.strip()
        try:
            parse_chord(sym)
        except ChordError:
            rep.ignored_markers.append(sym)
            continue
        if out and out[-1].step == step:
            out[-1] = ChordChange(step, sym)      # last one at a tick wins
        elif not out or out[-1].symbol != sym:
            out.append(ChordChange(step, sym))
    return out


def _text_events(data: bytes) -> list[tuple[int, str]]:
    """Text (FF 01) events, read with mido: symusic keeps markers but not plain text."""
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
            if msg.type == "text":
                out.append((tick, msg.text))
    return sorted(out, key=lambda x: x[0])


def read_midi(path: str | os.PathLike, track: int | str | None = None,
              close_gaps: int = CLOSE_GAPS) -> tuple[NoteSequence, ReadReport]:
    """Read one Standard MIDI File into a quantized monophonic NoteSequence.

    Raises MidiError (one line) for anything that cannot be used as a solo.
    """
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as e:
        raise MidiError(f"cannot read file ({e.strerror})") from None
    return read_midi_bytes(data, track=track, name=path.stem, close_gaps=close_gaps)


def read_midi_bytes(data: bytes, track: int | str | None = None, name: str = "",
                    close_gaps: int = CLOSE_GAPS) -> tuple[NoteSequence, ReadReport]:
    _check_header(data)
    score = _parse(data)
    tpq = score.ticks_per_quarter
    rep = ReadReport()
    t = _pick_track(score, track)
    rep.track = t.name
    n = t.notes.numpy()
    rep.notes_in = len(n["pitch"])
    to_step = GRID / tpq
    on_t = n["time"].astype(np.int64)
    off_t = on_t + np.maximum(n["duration"].astype(np.int64), 0)
    on = np.rint(on_t * to_step).astype(np.int64)
    off = np.rint(off_t * to_step).astype(np.int64)
    rep.offset_error = (off_t * to_step - off).astype(np.float32) / GRID
    on, off, pitch, vel = _monophonic(on, off, n["pitch"], n["velocity"], on_t, to_step, rep)
    off = np.maximum(off, on + 1)   # a note shorter than half a step still sounds one step
    if close_gaps > 0 and len(on) > 1:
        # Gaps of a few steps are articulation, not rests: hold the note to the next onset.
        gap = on[1:] - off[:-1]
        short = (gap > 0) & (gap <= close_gaps)
        off[:-1][short] = on[1:][short]
    if on.size and on[0] < 0:
        raise MidiError("notes before time 0")

    tempos = []
    for tp in score.tempos:
        mspq = int(tp.mspq)
        if mspq <= 0 or 6e7 / mspq > MAX_QPM:
            raise MidiError(f"absurd tempo ({mspq} us per beat) at tick {tp.time}")
        step = int(round(tp.time * to_step))
        qpm = 6e7 / mspq
        if tempos and tempos[-1].step == step:
            tempos[-1] = Tempo(step, qpm)
        else:
            tempos.append(Tempo(step, qpm))
    sigs = []
    for ts in score.time_signatures:
        if ts.numerator < 1 or ts.denominator not in (1, 2, 4, 8, 16, 32):
            raise MidiError(f"bad time signature {ts.numerator}/{ts.denominator}")
        sigs.append(TimeSignature(int(round(ts.time * to_step)), int(ts.numerator), int(ts.denominator)))
    keys = [KeySignature(int(round(k.time * to_step)), int(k.key), bool(k.tonality)) for k in score.key_signatures]
    texts = [(int(round(m.time * to_step)), m.text) for m in score.markers]
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


def _meta_track(seq: NoteSequence, program: int | None, swing: float) -> list[tuple[int, int, object]]:
    import mido
    tick = lambda step: int(_tick([step], swing)[0])
    ev = [(0, 0, mido.MetaMessage("track_name", name="Melody"))]
    for ts in seq.time_signatures:
        ev.append((tick(ts.step), 1, mido.MetaMessage("time_signature", numerator=ts.numerator,
                                                      denominator=ts.denominator)))
    for ks in seq.key_signatures:
        ev.append((tick(ks.step), 2, mido.MetaMessage("key_signature", key=_key_name(ks))))
    for tp in seq.tempos:
        ev.append((tick(tp.step), 3, mido.MetaMessage("set_tempo", tempo=int(round(6e7 / tp.qpm)))))
    for ch in seq.chords:
        ev.append((tick(ch.step), 4, mido.MetaMessage("marker", text=ch.symbol)))
    if program is not None:
        ev.append((0, 5, mido.Message("program_change", channel=0, program=program)))
    return ev


_MAJOR = ["Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"]
_MINOR = ["Abm", "Ebm", "Bbm", "Fm", "Cm", "Gm", "Dm", "Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "A#m"]


def _key_name(ks: KeySignature) -> str:
    return (_MINOR if ks.minor else _MAJOR)[ks.sharps + 7]


def _note_events(pitch, start, duration, velocity, channel: int, swing: float):
    import mido
    on, off = _tick(start, swing), _tick(np.asarray(start) + np.asarray(duration), swing)
    off = np.maximum(off, on + 1)
    ev = []
    for p, a, b, v in zip(np.asarray(pitch).tolist(), on.tolist(), off.tolist(), np.asarray(velocity).tolist()):
        ev.append((a, 7, mido.Message("note_on", channel=channel, note=int(p), velocity=int(v))))
        ev.append((b, 6, mido.Message("note_off", channel=channel, note=int(p), velocity=0)))
    return ev


def _to_track(events, end_tick: int):
    import mido
    tr = mido.MidiTrack()
    now = 0
    for tick, _, msg in sorted(events, key=lambda e: (e[0], e[1])):
        tr.append(msg.copy(time=int(tick - now)))
        now = tick
    tr.append(mido.MetaMessage("end_of_track", time=max(0, end_tick - now)))
    return tr


def write_midi(path: str | os.PathLike, seq: NoteSequence, parts: Sequence[Part] = (),
               program: int | None = None, swing: float = 0.0) -> None:
    """Write the solo (track 1, with tempo/meter/key maps and chord markers) and extra parts.

    The file appears whole or not at all: it is written to a temporary file first.
    """
    import mido
    end_tick = int(_tick([seq.end], swing)[0])
    mf = mido.MidiFile(type=1, ticks_per_beat=TPQ_OUT)
    solo = _meta_track(seq, program, swing) + _note_events(seq.pitch, seq.start, seq.duration, seq.velocity, 0, swing)
    mf.tracks.append(_to_track(solo, end_tick))
    for part in parts:
        ev = [(0, 0, mido.MetaMessage("track_name", name=part.name))]
        if part.channel != DRUM_CHANNEL:
            ev.append((0, 5, mido.Message("program_change", channel=part.channel, program=part.program)))
        ev += _note_events(part.pitch, part.start, part.duration, part.velocity, part.channel, swing)
        mf.tracks.append(_to_track(ev, end_tick))
    atomic_write(path, lambda f: mf.save(file=f))


def atomic_write(path: str | os.PathLike, write) -> None:
    """Call write(binary file) on a temporary file beside `path`, then rename it into place."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
