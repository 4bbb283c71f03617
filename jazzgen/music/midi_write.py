"""MIDI out: a ``NoteSequence`` and its band's ``Part`` tracks as a Standard MIDI File, and the
same events timed in seconds for audio.

The bytes are put together here rather than by mido (what mido.MidiFile.save wrote, byte
for byte, at a fraction of the cost), keeping the data set's convention: meta events,
then the chord marker, then note-offs before note-ons at one tick.
"""
from __future__ import annotations

import os
import struct
from dataclasses import dataclass
from typing import Sequence

import numpy as np

from jazzgen.music.notes import KeySignature, NoteSequence
from jazzgen.music.timing import MIDI_DEFAULT_QPM, TPQ_OUT, swing_ticks
from jazzgen.util import atomic_write

DRUM_CHANNEL = 9


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


def vlq(n: int) -> bytes:
    """MIDI variable-length quantity (delta times, meta lengths)."""
    if n < 0x80:
        return bytes((n,))
    out = [n & 0x7F]
    n >>= 7
    while n:
        out.append(0x80 | (n & 0x7F))
        n >>= 7
    return bytes(reversed(out))


def meta_event(kind: int, data: bytes) -> tuple[None, bytes]:
    return None, bytes((0xFF, kind)) + vlq(len(data)) + data


def _ticks(steps, swing: float) -> list[int]:
    return swing_ticks(np.asarray(steps, np.int64).reshape(-1), swing).tolist()


def _meta_track(seq: NoteSequence, program: int | None, swing: float) -> list[tuple[int, int, int | None, bytes]]:
    """(tick, order at a tick, status or None for meta, bytes) of the solo's meta events."""
    ev = [(0, 0, *meta_event(0x03, b"Melody"))]
    for ts, t in zip(seq.time_signatures, _ticks([x.step for x in seq.time_signatures], swing)):
        if ts.denominator < 1 or ts.denominator & (ts.denominator - 1) or not 0 <= ts.numerator <= 255:
            raise ValueError(f"invalid time signature {ts.numerator}/{ts.denominator}")
        ev.append((t, 1, *meta_event(0x58, bytes((ts.numerator, ts.denominator.bit_length() - 1, 24, 8)))))
    for ks, t in zip(seq.key_signatures, _ticks([x.step for x in seq.key_signatures], swing)):
        key_name(ks)  # raises for an impossible key, as before
        ev.append((t, 2, *meta_event(0x59, bytes((ks.sharps & 0xFF, int(bool(ks.minor)))))))
    mspq = [int(round(6e7 / tp.qpm)) for tp in seq.tempos]
    for us, t in zip(mspq, _ticks([x.step for x in seq.tempos], swing)):
        if not 0 <= us <= 0xFFFFFF:
            raise ValueError(f"tempo out of range: {us} us per beat")
        ev.append((t, 3, *meta_event(0x51, us.to_bytes(3, "big"))))
    for ch, t in zip(seq.chords, _ticks([x.step for x in seq.chords], swing)):
        ev.append((t, 4, *meta_event(0x06, ch.symbol.encode("utf-8"))))
    if program is not None:
        ev.append((0, 5, 0xC0, bytes((_data7(program, "program"),))))
    return ev


_MAJOR = ["Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#"]
_MINOR = ["Abm", "Ebm", "Bbm", "Fm", "Cm", "Gm", "Dm", "Am", "Em", "Bm", "F#m", "C#m", "G#m", "D#m", "A#m"]


def key_name(ks: KeySignature) -> str:
    if not -7 <= ks.sharps <= 7:
        raise ValueError(f"invalid key signature: {ks.sharps} sharps")
    return (_MINOR if ks.minor else _MAJOR)[ks.sharps + 7]


def _data7(v: int, what: str) -> int:
    if not 0 <= v <= 127:
        raise ValueError(f"{what} must be in range 0..127, got {v}")
    return v


def _played(seq: NoteSequence, swing: float) -> tuple[np.ndarray, np.ndarray] | None:
    """(on, off) ticks of the solo's notes as its nuance plays them; None without one.

    A shift moves the (swung) grid onset; a length is the sounding time of the note's event
    as written, stretched or shrunk with that event when swing moves the next onset (the
    same share of it sounds).  A note never sounds past the next onset (the line stays
    monophonic whatever the swing) nor past the end.
    """
    if seq.nuance is None:
        return None
    nxt_step = np.append(seq.start[1:], seq.end)
    on = swing_ticks(seq.start, swing)
    length = seq.nuance.length.astype(np.int64)
    if swing:
        written = swing_ticks(nxt_step, 0.0) - swing_ticks(seq.start, 0.0)
        length = np.rint(length * (swing_ticks(nxt_step, swing) - on) / np.maximum(written, 1)).astype(np.int64)
    on = on + seq.nuance.shift
    off = np.minimum(on + np.maximum(length, 1), np.append(on[1:], swing_ticks([seq.end], swing)))
    return on, np.maximum(off, on + 1)


def _note_events(pitch, start, duration, velocity, channel: int, swing: float, played=None):
    """A part's note-ons and -offs; `played`: (on, off) ticks that replace the grid's (a nuance)."""
    if played is None:
        on, off = swing_ticks(start, swing), swing_ticks(np.asarray(start) + np.asarray(duration), swing)
    else:
        on, off = played
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


def _in_order(events) -> list:
    """A track's events as the file holds them: by (tick, order at a tick), stable."""
    return sorted(events, key=lambda e: (e[0], e[1]))


def to_track(events, end_tick: int) -> bytes:
    """An MTrk chunk: events in file order, with running status."""
    out = bytearray()
    now, running = 0, None
    for tick, _, status, body in _in_order(events):
        out += vlq(tick - now)
        now = tick
        if status is not None and status != running:
            out.append(status)
        out += body
        running = status
    out += vlq(max(0, end_tick - now)) + b"\xff\x2f\x00"
    return b"MTrk" + len(out).to_bytes(4, "big") + bytes(out)


def _tracks(seq: NoteSequence, parts: Sequence[Part], program: int | None, swing: float):
    """Every track's events (tick, order at a tick, status or None for meta, bytes), solo
    first, and the tick where the tracks end: what the file holds, before it is bytes."""
    end_tick = int(swing_ticks([seq.end], swing)[0])
    tracks = [_meta_track(seq, program, swing)
              + _note_events(seq.pitch, seq.start, seq.duration, seq.velocity, 0, swing, _played(seq, swing))]
    for part in parts:
        ev = [(0, 0, *meta_event(0x03, part.name.encode("utf-8")))]
        if part.channel != DRUM_CHANNEL:
            ev.append((0, 5, 0xC0 | part.channel, bytes((_data7(part.program, "program"),))))
        ev += _note_events(part.pitch, part.start, part.duration, part.velocity, part.channel, swing)
        tracks.append(ev)
    return tracks, end_tick


def write_midi(path: str | os.PathLike, seq: NoteSequence, parts: Sequence[Part] = (),
               program: int | None = None, swing: float = 0.0) -> None:
    """Write the solo (track 1, with tempo/meter/key maps and chord markers) and extra parts.

    The file appears whole or not at all: it is written to a temporary file first.
    """
    tracks, end_tick = _tracks(seq, parts, program, swing)
    header = b"MThd" + (6).to_bytes(4, "big") + struct.pack(">hhh", 1, len(tracks), TPQ_OUT)
    data = header + b"".join(to_track(ev, end_tick) for ev in tracks)
    atomic_write(path, lambda f: f.write(data))


_KINDS = {0x80: "note_off", 0x90: "note_on", 0xC0: "program_change"}
DEFAULT_MSPQ = round(6e7 / MIDI_DEFAULT_QPM)   # until the first tempo event, as the standard says


def timed_events(seq: NoteSequence, parts: Sequence[Part] = (), program: int | None = None,
                 swing: float = 0.0) -> tuple[list[tuple[float, int, str, tuple[int, ...]]], float]:
    """(seconds, channel, kind, data) of every channel message write_midi would write for
    these arguments, in playing order, and the file's length in seconds.

    kind is 'note_on' (data: pitch, velocity), 'note_off' (pitch, 0) or 'program_change'
    (program,).  Built from the writer's own event lists, merged across tracks and timed
    through the tempo map with the same float sums a MIDI reader (mido) does, so audio
    made from these events is the audio of the file, sample for sample, without
    writing or reading one.
    """
    tracks, end_tick = _tracks(seq, parts, program, swing)
    merged = sorted((e for ev in tracks for e in _in_order(ev)), key=lambda e: e[0])  # stable: track order
    mspq, now, t, out = DEFAULT_MSPQ, 0, 0.0, []
    for tick, _, status, body in merged:
        if tick > now:
            t += (tick - now) * (mspq * 1e-6 / TPQ_OUT)
            now = tick
        if status is not None:
            out.append((t, status & 0x0F, _KINDS[status & 0xF0], tuple(body)))
        elif body[1] == 0x51:   # set tempo: from here on
            mspq = int.from_bytes(body[-3:], "big")
    if end_tick > now:
        t += (end_tick - now) * (mspq * 1e-6 / TPQ_OUT)
    return out, t
