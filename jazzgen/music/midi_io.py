"""MIDI in and out: Standard MIDI Files <-> ``NoteSequence``; this module reads.

Reading uses symusic (a C++ MIDI parser): it reads a WJazzD solo in well under a
millisecond, where mido takes 2-180 ms and music21 0.1-12 s, which is what lets a
cold ingest of 401 files finish in a couple of seconds.  (A fuzz run of 23,000
random, truncated and bit-flipped files never crashed or hung symusic 0.6; it drops
note-ons that have no note-off, so a file of only those is diagnosed separately.)

The concerns, one module each: ``midi_check`` (is it a whole MIDI file with music in it:
one-line reasons before and around the parse), ``midi_parts`` (which part is the melody,
what the rest plays), this module (the tempo map, meter, key and chord changes, and
``read_midi`` putting it together), ``midi_write`` (``write_midi`` and ``timed_events``,
re-exported here with ``Part``: ``midi_io`` is where a user reads and writes MIDI).
Putting the notes on the grid (and measuring how far that moved them) is ``quantize``'s job.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from jazzgen.errors import MidiError
from jazzgen.music import midi_check
from jazzgen.music.midi_check import (
    check_header,
    mido_file,
    parse_or_clip,
    refuse_game_chart,
    refuse_style_file,
    too_large,
)
from jazzgen.music.midi_parts import accompaniment, file_parts, melody_notes, pick_track
from jazzgen.music.midi_write import DRUM_CHANNEL, Part, timed_events, write_midi  # noqa: F401 (the API)
from jazzgen.music.notes import GRID, ChordChange, KeySignature, NoteSequence, Tempo, TimeSignature
from jazzgen.music.quantize import quantize, to_grid
from jazzgen.util import named_tuples

MAX_QPM = 20000.0             # WJazzD has single beats at 2248 qpm; mspq=0 or near is broken
MAX_BEATS = 100_000           # ~8 hours at 200 qpm: longer is a corrupt delta time, not a solo
# Notes in a file, all tracks (read at call time, so tests can lower it).  The longest
# WJazzD solo holds 4,954 notes; 100,000 is 20x that (over an hour of nonstop sixteenths at
# 200 qpm), a few MB in memory; past it a file is a dump, not a solo.
MAX_NOTES = 100_000


@dataclass
class ReadReport:
    """What reading one file found, for the ingest report."""
    track: str = ""               # the melody part: a track name or "channel 3 (Piano)"
    track_reason: str = ""        # why it was picked: "named 'Melody'", "only non-drum track", ...
    top_voice: bool = False       # the part was polyphonic: its top voice is the melody
    skipped: list[str] = field(default_factory=list)   # "part: reason" of parts passed over as no melody
    chord_source: str = "none"    # "markers", "text", "inferred" or "none"
    notes_in: int = 0             # notes in the chosen track before reduction
    polyphony_dropped: int = 0    # notes removed to make the line monophonic
    overlaps_trimmed: int = 0     # notes cut short at the next onset
    velocity_dropouts: int = 0    # notes whose velocity was a dropout (quantize.fill_velocity_dropouts)
    onset_error: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))   # beats
    offset_error: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float32))  # beats
    ignored_markers: list[str] = field(default_factory=list)  # marker/text events that are no chord
    values_clipped: bool = False  # controller values above 127 were clipped to read the file (midi_check._clipped)


# ---------------------------------------------------------------------------- reading

def _chords_from_texts(texts: list[tuple[int, str]], rep: ReadReport) -> list[ChordChange]:
    """Chord changes from (step, text) events, only those that read as chords in the file's
    context (``chords.marker_is_chord``: "A", "B" rehearsal letters are told from chords)."""
    from jazzgen.music.chords import clean, marker_is_chord
    syms = [clean(text) for _, text in texts]  # BOMs and zero-width characters dropped
    unique = list(dict.fromkeys(syms))       # a solo repeats a few dozen symbols; the rule needs only the set
    is_chord = dict(zip(unique, marker_is_chord(unique)))
    out: list[ChordChange] = []
    for (step, _), sym in zip(texts, syms):
        if not is_chord[sym]:
            rep.ignored_markers.append(sym)
            continue
        if out and out[-1].step == step:
            out[-1] = ChordChange(step, sym)      # last one at a tick wins
        elif not out or out[-1].symbol != sym:
            out.append(ChordChange(step, sym))
    return out


def _read_chords(score, data: bytes, to_step: float, rep: ReadReport, accompaniment, sigs, end: int,
                 params=None) -> list[ChordChange]:
    """Markers that are chords, else text events that are, else chords inferred from the
    accompaniment (``chord_infer``), else none; rep.chord_source says which."""
    marks = [(int(round(m.time * to_step)), m.text) for m in score.markers]
    if any("\ufffd" in t for _, t in marks):   # not UTF-8: latin-1 bytes, read again
        marks = [(int(round(tk * to_step)), t) for tk, t in _text_events(data, "marker")]
    chords = _chords_from_texts(marks, rep)
    if chords:
        rep.chord_source = "markers"
        return chords
    if b"\xff\x01" in data:
        chords = _chords_from_texts([(int(round(tk * to_step)), s) for tk, s in _text_events(data)], rep)
        if chords:
            rep.chord_source = "text"
            return chords
    if len(accompaniment[0]):
        from jazzgen.music.chord_infer import infer_chords
        rep.chord_source = "inferred"
        return infer_chords(*accompaniment, time_signatures=sigs, total=max(end, 1), params=params)
    rep.chord_source = "none"
    return []


def _decode_text(s: str) -> str:
    """mido's latin-1 text as UTF-8 where the bytes are UTF-8 (what we write), else as latin-1."""
    try:
        return s.encode("latin-1").decode("utf-8")
    except UnicodeError:
        return s


def _text_events(data: bytes, kind: str = "text") -> list[tuple[int, str]]:
    """Text (FF 01) or marker events, read with mido: symusic keeps markers but not plain text,
    and reads every text as UTF-8 (a latin-1 marker comes back with U+FFFD in it)."""
    mf = mido_file(data)
    if mf is None:
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
    step, mspq = to_grid(tick[order], to_step), mspq[order]
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


def read_midi(path: str | os.PathLike, track: int | str | None = None, chord_params=None
              ) -> tuple[NoteSequence, ReadReport]:
    """Read one Standard MIDI File into a quantized monophonic NoteSequence.

    Raises MidiError (one line) for anything that cannot be used as a solo.  The size
    is checked before reading, so a huge file costs nothing.
    """
    from jazzgen.util import read_regular
    path = Path(path)
    try:
        if path.stat().st_size > midi_check.MAX_FILE_BYTES:   # read at call time: tests lower it
            raise too_large(path.stat().st_size)
    except OSError as e:
        raise MidiError(f"cannot read file ({e.strerror})") from None
    data = read_regular(path, MidiError, "file", midi_check.MAX_FILE_BYTES)   # a FIFO or device: never read
    return read_midi_bytes(data, track=track, name=path.stem, chord_params=chord_params)


def read_midi_bytes(data: bytes, track: int | str | None = None, name: str = "", chord_params=None
                    ) -> tuple[NoteSequence, ReadReport]:
    """Like read_midi, from bytes: a NoteSequence or a MidiError, never another exception.
    ``chord_params``: the tuning of the chord inference (``chord_infer.Params``; None: its default)."""
    check_header(data)
    refuse_game_chart(data)
    score, data, clipped = parse_or_clip(data)
    refuse_style_file(score)
    notes = sum(t.note_num() for t in score.tracks)
    if notes > MAX_NOTES:
        raise MidiError(f"too many notes for a solo ({notes:,} in all tracks > {MAX_NOTES:,})")
    tpq = score.ticks_per_quarter
    if score.start() < 0 or score.end() > MAX_BEATS * tpq:
        raise MidiError(f"absurd length ({score.end() / tpq:.0f} beats): corrupt delta times")
    rep = ReadReport(values_clipped=clipped)
    to_step = GRID / tpq
    sigs, keys = _signatures(score, to_step)
    parts = file_parts(score, data)
    t = pick_track(score, parts, track, data, sigs[0].bar_steps if sigs else 4 * GRID, rep)
    rep.track = t.name
    keep = melody_notes(t, tpq)
    rep.top_voice = not keep.all()
    rep.notes_in = len(t.pitch)
    line = quantize(t.time[keep], t.duration[keep], t.pitch[keep], t.velocity[keep], tpq)
    on, off, pitch, vel = line.on, line.off, line.pitch, line.velocity
    rep.onset_error, rep.offset_error = line.onset_error, line.offset_error
    rep.polyphony_dropped = line.polyphony_dropped + int((~keep).sum())
    rep.overlaps_trimmed, rep.velocity_dropouts = line.overlaps_trimmed, line.velocity_dropouts
    if on.size and on[0] < 0:
        raise MidiError("notes before time 0")

    tempos = _tempos(score, to_step)
    end = int(round(score.end() * to_step))
    chords = _read_chords(score, data, to_step, rep, accompaniment(parts, t, keep, to_step), sigs, end, chord_params)
    seq = NoteSequence(pitch, on, off - on, np.clip(vel, 1, 127), chords=chords, tempos=tempos,
                       time_signatures=sigs, key_signatures=keys, end=end, name=name)
    return seq, rep

# ---------------------------------------------------------------------------- writing


# The bytes are put together here rather than by mido: the tempo map alone is a
# message per beat, and building and validating 120k mido messages took ~50 ms a
# file.  The output is byte for byte what mido.MidiFile.save wrote (type 1, running
# status for channel messages, end of track at `end`): a test keeps it so.  Text is
# UTF-8 (mido wrote latin-1, which cannot hold C△7); for ASCII the two are the same bytes.


