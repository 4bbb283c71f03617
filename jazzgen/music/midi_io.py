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

Putting the notes on the grid (and measuring how far that moved them) is
``quantize.py``'s job; this module validates, reads the tracks and writes files.
"""
from __future__ import annotations

import functools
import os
import re
import struct
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np

from jazzgen.errors import MidiError
from jazzgen.music.melody import melodic_reason, top_voice
from jazzgen.music.notes import GRID, ChordChange, KeySignature, NoteSequence, Tempo, TimeSignature
from jazzgen.music.quantize import quantize, to_grid
from jazzgen.util import atomic_write, named_tuples, size_text

MAX_FILE_BYTES = 16 * 2**20   # a solo is kilobytes; anything this large is not one (read at call time)
MIN_TPQ, MAX_TPQ = 12, 30000  # ticks per beat: below the grid, or absurd
MAX_QPM = 20000.0             # WJazzD has single beats at 2248 qpm; mspq=0 or near is broken
MAX_BEATS = 100_000           # ~8 hours at 200 qpm: longer is a corrupt delta time, not a solo
# Notes in a file, all tracks (read at call time, so tests can lower it).  The longest
# WJazzD solo holds 4,954 notes; 100,000 is 20x that (over an hour of nonstop sixteenths at
# 200 qpm), a few MB in memory; past it a file is a dump, not a solo.
MAX_NOTES = 100_000
# Track names that say "the melody", most certain first: a "Rhythm and Lead Guitar" loses to
# the "Vocals" of the same song (Guitar Pro exports name their tracks so).
MELODY_NAMES = ("melody", "melodie", "vocal", "voice", "vox", "voz", "chant", "canto", "gesang", "singer",
                "solo", "lead")
# ... but General MIDI's choir and synth-voice pads ("Voice Oohs", a track named after its sound)
NOT_MELODY_NAMES = re.compile(r"oohs|aahs|synth ?voice|choir", re.IGNORECASE)
DRUM_CHANNEL = 9
# A track named so is drums on any channel (files that put the kit on channel 1 or 2)
DRUM_NAMES = re.compile(r"\b(drums?|drum ?kit|percussion|perc)\b", re.IGNORECASE)
# Parts named as a piano's left hand: accompaniment, tried with the bass lines
LEFT_HAND_NAMES = re.compile(r"\b(left hand|l\.? ?h\.?|lh|links)\b", re.IGNORECASE)
POLYPHONIC_SHARE = 0.1   # onsets with 2+ notes: above this share a part is polyphonic (top voice)
FRAGMENT_SHARE = 0.02    # a part with fewer notes than this x the file's busiest part's is a fragment
SPARSE_SHARE = 0.25      # a monophonic part with fewer notes than this x the busiest one's is tried after it
BASS_PITCH = 52          # mean pitch (E3) below which a monophonic part is a bass line, tried last
MIN_SYLLABLES = 16       # lyric events a karaoke file needs before they choose its melody
SUNG_SHARE = 0.5         # ... and how well the chosen part must follow them (_sung_share)
PERCUSSIVE_PROGRAM = 112  # General MIDI programs from here on are percussion (112-119) and sound effects
# GM program families (program // 8), to name a type-0 file's channels
_FAMILIES = ("Piano", "Chromatic Percussion", "Organ", "Guitar", "Bass", "Strings", "Ensemble", "Brass",
             "Reed", "Pipe", "Synth Lead", "Synth Pad", "Synth Effects", "Ethnic", "Percussive", "Sound Effects")


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
    values_clipped: bool = False  # controller values above 127 were clipped to read the file (_clipped)


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

def _too_large(n: int) -> MidiError:
    return MidiError(f"file too large ({size_text(n)} > {size_text(MAX_FILE_BYTES)})")


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


# symusic's messages (C++, terse) -> plain English; each was provoked by the fuzz
# strategies of tests/test_fuzz.py.  Anything else is passed on as "symusic: ...".
_SYMUSIC_SAYS = [
    (r"Get velocity=(\d+)", "a note velocity of {0}, above 127"),
    (r"Get pitch=(\d+)", "a note pitch of {0}, above 127"),
    (r"Get program=(\d+)", "a program number of {0}, above 127"),
    (r"Get control_number=(\d+)", "a controller number of {0}, above 127"),
    (r"Get control_value=(\d+)", "a controller value of {0}, above 127"),
    (r"Get pitch_bend=(-?\d+)", "a pitch bend of {0}, outside -8192..8191"),
    (r"Unexpected EOF in Meta Event", "a meta event runs past the end of the track"),
    (r"Unexpected EOF in SysEx Event", "a SysEx event runs past the end of the track"),
    (r"Unexpected EOF in (?:MIDI Event|running status)", "an event runs past the end of the track"),
    (r"Unexpected running status", "data bytes with no status byte before them"),
    (r"Unknown or unsupported status byte: 0x([0-9a-fA-F]+)", "unknown status byte 0x{0}"),
]


def _plain(msg: str) -> str:
    """A symusic error message in words a user can act on."""
    for pattern, words in _SYMUSIC_SAYS:
        m = re.search(pattern, msg)
        if m:
            return words.format(*(g.upper() if words.endswith("0x{0}") else g for g in m.groups()))
    msg = msg.removeprefix("MiniMidi: ").removesuffix(": iostream error")
    return f"symusic: {msg}"


def _bad_track(data: bytes) -> int | None:
    """The first track (from 1) that symusic cannot parse on its own; only on the error path."""
    import symusic
    pos, found = 14, 0
    while pos + 8 <= len(data):
        n = int.from_bytes(data[pos + 4:pos + 8], "big")
        if data[pos:pos + 4] == b"MTrk":
            found += 1
            one = data[:10] + b"\x00\x01" + data[12:14] + data[pos:pos + 8 + n]
            try:
                symusic.Score.from_midi(one)
            except Exception:
                return found
        pos += 8 + n
    return None


def _parse(data: bytes):
    import symusic
    try:
        return symusic.Score.from_midi(data)
    except Exception as e:  # symusic raises RuntimeError/ValueError with a C++ message
        msg = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        where = _bad_track(data)
        raise MidiError(f"corrupt MIDI data{f' in track {where}' if where else ''} ({_plain(msg)})") from None


# Rock Band / Clone Hero / Rocksmith charts: tracks named "PART GUITAR", "PART REAL_BASS"...
_GAME_TRACK = re.compile(r"PART (GUITAR|BASS|DRUMS|VOCALS|KEYS|RHYTHM|REAL_[A-Z_]+)( [A-Z_]+)*")


def _refuse_game_chart(data: bytes) -> None:
    """A rhythm-game chart is a MIDI file whose notes are buttons (pitches 96-100 are the
    lanes of one difficulty): no music to learn from, and no part of it is a melody."""
    names = {data[m.end():m.end() + m.group(1)[0]].decode("latin-1")
             for m in re.finditer(rb"\xff\x03([\x01-\x7f])", data)}
    names = sorted(n for n in names if _GAME_TRACK.fullmatch(n))
    if names:
        raise MidiError(f"a rhythm-game chart (tracks {', '.join(names)}): its notes are buttons, not music")


def _refuse_style_file(score) -> None:
    """A Yamaha keyboard style (SFF1/SFF2: markers "SInt", "Main A", "Fill In AA"...) holds
    the accompaniment patterns an arranger keyboard loops: no melody, whichever part wins."""
    marks = {m.text.strip() for m in score.markers}
    if marks & {"SFF1", "SFF2"} and "SInt" in marks:
        kind = sorted(marks & {"SFF1", "SFF2"})[0]
        raise MidiError(f"a Yamaha style file ({kind}: accompaniment patterns such as 'Main A'), no melody")


def _clipped(data: bytes) -> bytes | None:
    """The file rewritten with its data values above 127 clipped to 127 (mido's clip), or None
    when that does not read either.  Some real files carry a stray controller value (168 in a
    track whose notes are fine: Rush's "Closer to the Heart" in mido's test files), and symusic
    refuses the whole file for it.  Only for controllers: a note or program byte above 127
    is a corrupt note, and clipping would make it a wrong one."""
    import io

    import mido
    try:
        mf = mido.MidiFile(file=io.BytesIO(data), clip=True)
        out = io.BytesIO()
        mf.save(file=out)
        return out.getvalue()
    except Exception:
        return None


def _parse_or_clip(data: bytes) -> tuple[object, bytes, bool]:
    """(score, the bytes it was read from, whether data values had to be clipped)."""
    try:
        return _parse(data), data, False
    except MidiError as e:
        fixed = _clipped(data) if "a controller" in str(e) else None   # notes and programs stay errors
        if fixed is None:
            raise
        return _parse(fixed), fixed, True


@functools.lru_cache(maxsize=1)
def _mido(data: bytes):
    """The file parsed by mido (None if it cannot be), once per file: what symusic does not
    keep (channels, plain text events, lyrics of .kar files) is read from it."""
    import io

    import mido
    try:
        return mido.MidiFile(file=io.BytesIO(data), clip=True)
    except Exception:
        return None


def _note_ons(data: bytes) -> tuple[int, int]:
    """(note-ons, note-offs) counted with mido: only to explain a file that reads as empty."""
    mf = _mido(data)
    if mf is None:
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


@dataclass
class _Source:
    """A part of a file that could be the melody: a track, or a channel of a type-0 file (ticks)."""
    name: str             # as reported: the track name, "track 2", or "channel 3 (Piano)"
    label: str            # the file's own track name ('' for a channel), what "named 'Melody'" looks at
    is_drum: bool
    program: int
    time: np.ndarray
    duration: np.ndarray
    pitch: np.ndarray
    velocity: np.ndarray


def _clean(name: str) -> str:
    """A track name as people type it: NUL bytes (padding in some files) and outer spaces gone."""
    return name.replace("\x00", "").strip()


def _columns(tracks) -> list[dict[str, np.ndarray]]:
    return [{k: v for k, v in t.notes.numpy().items() if k in ("time", "duration", "pitch", "velocity")}
            for t in tracks]


def _note_sets(data: bytes) -> tuple[dict[int, set[tuple[int, int]]], dict[int, set[tuple[int, int]]]]:
    """({channel: {(tick, pitch) of its note-ons}}, the same per track of the file), read in
    one pass with mido: symusic keeps neither."""
    mf = _mido(data)
    by_channel: dict[int, set[tuple[int, int]]] = {}
    by_track: dict[int, set[tuple[int, int]]] = {}
    for k, tr in enumerate(mf.tracks if mf is not None else ()):
        tick = 0
        for msg in tr:
            tick += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                by_channel.setdefault(msg.channel, set()).add((tick, msg.note))
                by_track.setdefault(k, set()).add((tick, msg.note))
    return by_channel, by_track


def _channel_of(c: dict[str, np.ndarray], chans: dict[int, set[tuple[int, int]]]) -> int | None:
    """The channel (or track, see _note_sets) whose note-ons hold all of a piece's notes
    (None: none does)."""
    notes = set(zip(c["time"].tolist(), c["pitch"].tolist()))
    return next((k for k in sorted(chans) if notes <= chans[k]), None)


def _merged(tracks, cols, idx: list[int], name: str, label: str) -> _Source:
    """Pieces `idx` of symusic's tracks as one part, notes in time order; the program of the
    piece with the most notes."""
    c = {k: np.concatenate([cols[i][k] for i in idx]) for k in cols[idx[0]]}
    order = np.argsort(c["time"], kind="stable")
    c = {k: v[order] for k, v in c.items()}
    main = tracks[max(idx, key=lambda i: len(cols[i]["pitch"]))]
    drums = main.is_drum or bool(DRUM_NAMES.search(label))     # the file's own name, not ours
    return _Source(name, label, drums, main.program, c["time"], c["duration"], c["pitch"], c["velocity"])


def _channel_parts(tracks, cols, data: bytes) -> list[_Source]:
    """A type-0 file's parts, one per channel: symusic splits its one track by (channel, program)
    and names every piece after the track; each piece goes to the channel that holds its notes."""
    chans, _ = _note_sets(data)
    groups: dict = {}
    for i, c in enumerate(cols):
        ch = _channel_of(c, chans)
        groups.setdefault(ch if ch is not None else (99, i), []).append(i)
    parts = []
    for key in sorted(groups, key=lambda k: k if isinstance(k, tuple) else (k, 0)):
        t = tracks[groups[key][0]]
        if isinstance(key, int):
            name = f"channel {key + 1} ({'Drums' if t.is_drum else _FAMILIES[t.program // 8]})"
        else:
            name = _clean(t.name) or f"track {groups[key][0] + 1}"
        parts.append(_merged(tracks, cols, groups[key], name, ""))
    return parts


def _track_parts(tracks, cols, data: bytes) -> list[_Source]:
    """A type-1 file's parts, one per track.  symusic splits a track by (channel, program), so
    a track came back in pieces under one name, and --track could reach only one of them.
    Pieces of one name are one part again where they share a channel (a program change
    midway: arco to pizzicato, a piccolo doubling) or an instrument (a guitar's bends on
    channels of their own, as Guitar Pro writes them, or one channel per string); pieces
    of other instruments on other channels stay parts of their own, named per channel."""
    names = [_clean(t.name) or f"track {i + 1}" for i, t in enumerate(tracks)]
    dup = {n for n in names if names.count(n) > 1}
    chans, owners = _note_sets(data) if dup else ({}, {})
    group = list(range(len(tracks)))                 # union-find over the pieces of one name
    find = lambda i: i if group[i] == i else find(group[i])
    seen: dict = {}
    for i, n in enumerate(names):
        if n not in dup:
            continue
        ch, own, t = _channel_of(cols[i], chans), _channel_of(cols[i], owners), tracks[i]
        keys = [("channel", n, ch)] if ch is not None else []
        if own is not None:        # one of the file's tracks, not three tracks of one name
            keys.append(("instrument", own, t.is_drum, t.program))
        for key in keys:
            j = seen.setdefault(key, i)
            group[find(i)] = find(j)
    groups: dict[int, list[int]] = {}
    for i in range(len(tracks)):
        groups.setdefault(find(i), []).append(i)
    per_name = Counter(names[g] for g in groups)
    out = []
    for g, idx in groups.items():
        n, ch = names[g], _channel_of(cols[g], chans) if names[g] in dup else None
        label = n if per_name[n] == 1 or ch is None else f"{n} (channel {ch + 1})"
        out.append(_merged(tracks, cols, idx, label, _clean(tracks[idx[0]].name)))
    return out


def _parts(score, data: bytes) -> list[_Source]:
    """Every track of the file (see _track_parts), or every channel of a type-0 file."""
    tracks = list(score.tracks)
    cols = _columns(tracks)
    if int.from_bytes(data[8:10], "big") == 0 and len(tracks) > 1:
        return _channel_parts(tracks, cols, data)
    return _track_parts(tracks, cols, data)


def _match_track(parts: list[_Source], track: int | str) -> _Source:
    """--track: an index into the parts, else a name, case-insensitively: exact, then a substring."""
    if isinstance(track, int):
        if not 0 <= track < len(parts):
            listed = ", ".join(f"{i} {p.name!r}" for i, p in enumerate(parts[:12]))
            listed += ", ..." if len(parts) > 12 else ""
            raise MidiError(f"no track {track} (the file has {len(parts)} parts: {listed or 'none'})")
        p = parts[track]
    else:
        want = _clean(track).lower()
        names = [(p, {p.name.lower(), p.label.lower()}) for p in parts]
        found = ([p for p, n in names if want in n]
                 or [p for p, n in names if want and any(want in x for x in n)])
        if not found:
            listed = ", ".join(repr(p.name) for p in parts[:12]) + (", ..." if len(parts) > 12 else "")
            raise MidiError(f"no track {track!r} (tracks: {listed or 'none'})")
        p = found[0]
    if p.is_drum:
        raise MidiError(f"track {track!r} is a drum track")
    if len(p.pitch) == 0:
        raise MidiError(f"track {track!r} has no notes")
    return p


def _polyphony(p: _Source, tpq: int) -> float:
    """Share of a part's notes that start while another of its notes still sounds (by more than
    a quarter beat: legato overlaps and runs finer than the grid are one line, not chords)."""
    if len(p.time) < 2:
        return 0.0
    order = np.argsort(p.time, kind="stable")
    start = p.time[order].astype(np.int64)
    end = start + p.duration[order].astype(np.int64)
    sounding = np.concatenate([[-(2**40)], np.maximum.accumulate(end)[:-1]])
    return float(np.mean(start < sounding - tpq // 4))


def _lyric_ticks(data: bytes) -> np.ndarray:
    """Ticks of a karaoke file's syllables (mido): its lyric events, else (the .kar
    convention) its text events but the '@' headers; empty if it has too few to go by."""
    if data.count(b"\xff\x05") + data.count(b"\xff\x01") < MIN_SYLLABLES:   # no parse for a few texts
        return np.zeros(0, np.int64)
    mf = _mido(data)
    if mf is None:
        return np.zeros(0, np.int64)
    found: dict[str, list[int]] = {"lyrics": [], "text": []}
    for tr in mf.tracks:
        tick = 0
        for msg in tr:
            tick += msg.time
            if msg.type in found and msg.text.strip() and not msg.text.startswith("@"):
                found[msg.type].append(tick)
    ticks = found["lyrics"] if len(found["lyrics"]) >= MIN_SYLLABLES else found["text"]
    return np.unique(ticks) if len(ticks) >= MIN_SYLLABLES else np.zeros(0, np.int64)


def _near(a: np.ndarray, b: np.ndarray, tol: int) -> np.ndarray:
    """For each of the ticks `a`, whether one of the sorted ticks `b` is within `tol`."""
    if not len(b):
        return np.zeros(len(a), bool)
    i = np.searchsorted(b, a)
    dist = np.minimum(np.abs(b[np.minimum(i, len(b) - 1)] - a), np.abs(b[np.maximum(i - 1, 0)] - a))
    return dist <= tol


def _sung_share(p: _Source, syllables: np.ndarray, tpq: int) -> float:
    """How well a part follows the lyrics: the harmonic mean of the share of syllables on its
    onsets and the share of its onsets under a syllable (within a 32nd note), so that a busy
    guitar or a chord on every beat, which catch most syllables, do not beat the voice."""
    on = np.unique(p.time.astype(np.int64))
    sung, carried = _near(syllables, on, tpq // 8).mean(), _near(on, syllables, tpq // 8).mean()
    return float(2 * sung * carried / (sung + carried)) if sung + carried else 0.0


def _candidates(parts: list[_Source], tpq: int, syllables: np.ndarray | None = None) -> list[tuple[_Source, str]]:
    """Non-drum parts with notes in the order they are tried as the melody, each with why.

    In a karaoke file, the part that sings the lyrics first (most of its syllables on the
    part's onsets: a vocal line on a channel that also plays a few chords, or a track called
    "Lead Guitar" beside the "vocals"); then a part named melody, vocal(s), voice, solo,
    lead... (MELODY_NAMES, most certain first); then monophonic parts, highest first (a
    band's horn over the comping; parts with few notes, such as stabs and fills, after the
    busy lines); then polyphonic ones, highest first (a piano's right hand, read by its top
    voice); bass-register lines last, and after them percussion on a pitched
    channel (General MIDI's taiko, synth drum, woodblock... and sound effects).
    """
    notes = [p for p in parts if not p.is_drum and len(p.pitch)]
    if len(notes) == 1:
        return [(notes[0], "only non-drum track")]
    high = lambda p: -float(np.mean(p.pitch))
    bass = lambda p: _is_bass(p) or -high(p) < BASS_PITCH or bool(LEFT_HAND_NAMES.search(p.label))
    sung = []
    if syllables is not None and len(syllables):
        share = {id(p): _sung_share(p, syllables, tpq) for p in notes if not _percussive(p) and not bass(p)}
        best = max((p for p in notes if id(p) in share), key=lambda p: share[id(p)], default=None)
        if best is not None and share[id(best)] >= SUNG_SHARE:
            sung = [best]
    rank = lambda p: (None if NOT_MELODY_NAMES.search(p.label) else
                      next((k for k, n in enumerate(MELODY_NAMES) if n in p.label.lower()), None))
    named = sorted((p for p in notes if p not in sung and rank(p) is not None), key=rank)
    hits = [p for p in notes if p not in named and p not in sung and _percussive(p)]
    most = max((len(p.pitch) for p in notes), default=0)
    scraps = [p for p in notes if p not in named and p not in sung and p not in hits
              and len(p.pitch) < FRAGMENT_SHARE * most]       # a channel's stray note or two: last
    rest = [p for p in notes if p not in named and p not in sung and p not in hits and p not in scraps]
    poly = {id(p): _polyphony(p, tpq) > POLYPHONIC_SHARE for p in rest}
    mono = [p for p in rest if not poly[id(p)] and not bass(p)]
    busiest = max((len(p.pitch) for p in mono), default=0)
    sparse = lambda p: len(p.pitch) < SPARSE_SHARE * busiest   # horn stabs, fills: tried after the busy lines
    mono = sorted(mono, key=lambda p: (sparse(p), high(p)))
    chordal = sorted((p for p in rest if poly[id(p)]), key=high)
    low = sorted((p for p in rest if not poly[id(p)] and bass(p)), key=high)
    return ([(p, f"sings the lyrics (onsets and syllables agree: {share[id(p)]:.0%})") for p in sung]
            + [(p, f"named {p.label!r}") for p in named] + [(p, "highest monophonic part") for p in mono]
            + [(p, "highest polyphonic part") for p in chordal] + [(p, "highest remaining part") for p in low]
            + [(p, "a fragment, tried last") for p in scraps] + [(p, "percussive part, tried last") for p in hits])


def _is_bass(p: _Source) -> bool:
    """A part on a General MIDI bass program (33-40): a band's bass line, never its melody."""
    return 32 <= p.program < 40


def _percussive(p: _Source) -> bool:
    """A part whose General MIDI program is percussion or a sound effect (112-127): pitched
    channels play taiko and synth drums too, and their "notes" are no line and no harmony."""
    return p.program >= PERCUSSIVE_PROGRAM


def _pick_track(score, parts: list[_Source], track: int | str | None, data: bytes, bar_steps: int,
                rep: ReadReport) -> _Source:
    """The melody part: --track, else the first candidate with a melodic line (skips recorded)."""
    tpq = score.ticks_per_quarter
    if track is not None:
        rep.track_reason = "--track"
        return _match_track(parts, track)
    cands = _candidates(parts, tpq, _lyric_ticks(data))
    if not cands:
        raise _no_notes(score, data)
    to_step = GRID / tpq
    for p, why in cands:
        if len(cands) > 1 and _is_bass(p):
            rep.skipped.append(f"{p.name}: a bass line (General MIDI program {p.program + 1})")
            continue
        on = to_grid(p.time.astype(np.int64), to_step)
        off = np.maximum(to_grid((p.time + p.duration).astype(np.int64), to_step), on + 1)
        reason = melodic_reason(p.pitch, on, off, bar_steps=bar_steps)
        if reason is None:
            rep.track_reason = why
            return p
        rep.skipped.append(f"{p.name}: {reason}")
    raise MidiError("no melodic part (" + "; ".join(rep.skipped) + ")")


def _melody_notes(p: _Source, tpq: int) -> np.ndarray:
    """Which of the part's notes are the melody: all of a monophonic part, a polyphonic part's
    top voice (``melody.top_voice``), where the highest note per onset zigzags into the left hand."""
    keep = np.ones(len(p.pitch), bool)
    if _polyphony(p, tpq) > POLYPHONIC_SHARE:
        to_step = GRID / tpq
        on = to_grid(p.time.astype(np.int64), to_step)
        off = np.maximum(to_grid((p.time + p.duration).astype(np.int64), to_step), on + 1)
        keep[:] = False
        keep[top_voice(p.pitch, on, off)] = True
    return keep


def _accompaniment(parts: list[_Source], melody: _Source, keep: np.ndarray, to_step: float):
    """(pitch, start, end, velocity) in steps of every note that is not the melody, of drums or
    of other percussion (``_percussive``)."""
    cols = []
    for p in parts:
        if p.is_drum or _percussive(p) and p is not melody:
            continue
        m = ~keep if p is melody else np.ones(len(p.pitch), bool)
        t = p.time[m].astype(np.int64)
        cols.append((p.pitch[m].astype(np.int64), to_grid(t, to_step),
                     to_grid(t + p.duration[m].astype(np.int64), to_step), p.velocity[m].astype(np.int64)))
    if not cols:
        return tuple(np.zeros(0, np.int64) for _ in range(4))
    return tuple(np.concatenate([c[i] for c in cols]) for i in range(4))


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


def _read_chords(score, data: bytes, to_step: float, rep: ReadReport, accompaniment, sigs, end: int
                 ) -> list[ChordChange]:
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
        return infer_chords(*accompaniment, time_signatures=sigs, total=max(end, 1))
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
    mf = _mido(data)
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


def read_midi(path: str | os.PathLike, track: int | str | None = None) -> tuple[NoteSequence, ReadReport]:
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
    return read_midi_bytes(data, track=track, name=path.stem)


def read_midi_bytes(data: bytes, track: int | str | None = None, name: str = "") -> tuple[NoteSequence, ReadReport]:
    """Like read_midi, from bytes: a NoteSequence or a MidiError, never another exception."""
    _check_header(data)
    _refuse_game_chart(data)
    score, data, clipped = _parse_or_clip(data)
    _refuse_style_file(score)
    notes = sum(t.note_num() for t in score.tracks)
    if notes > MAX_NOTES:
        raise MidiError(f"too many notes for a solo ({notes:,} in all tracks > {MAX_NOTES:,})")
    tpq = score.ticks_per_quarter
    if score.start() < 0 or score.end() > MAX_BEATS * tpq:
        raise MidiError(f"absurd length ({score.end() / tpq:.0f} beats): corrupt delta times")
    rep = ReadReport(values_clipped=clipped)
    to_step = GRID / tpq
    sigs, keys = _signatures(score, to_step)
    parts = _parts(score, data)
    t = _pick_track(score, parts, track, data, sigs[0].bar_steps if sigs else 4 * GRID, rep)
    rep.track = t.name
    keep = _melody_notes(t, tpq)
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
    chords = _read_chords(score, data, to_step, rep, _accompaniment(parts, t, keep, to_step), sigs, end)
    seq = NoteSequence(pitch, on, off - on, np.clip(vel, 1, 127), chords=chords, tempos=tempos,
                       time_signatures=sigs, key_signatures=keys, end=end, name=name)
    return seq, rep

# ---------------------------------------------------------------------------- writing

TPQ_OUT = 480


def swing_ticks(steps, swing: float) -> np.ndarray:
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


def _meta(kind: int, data: bytes) -> tuple[None, bytes]:
    return None, bytes((0xFF, kind)) + vlq(len(data)) + data


def _ticks(steps, swing: float) -> list[int]:
    return swing_ticks(np.asarray(steps, np.int64).reshape(-1), swing).tolist()


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
    on, off = swing_ticks(start, swing), swing_ticks(np.asarray(start) + np.asarray(duration), swing)
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


def _to_track(events, end_tick: int) -> bytes:
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
              + _note_events(seq.pitch, seq.start, seq.duration, seq.velocity, 0, swing)]
    for part in parts:
        ev = [(0, 0, *_meta(0x03, part.name.encode("utf-8")))]
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
    data = header + b"".join(_to_track(ev, end_tick) for ev in tracks)
    atomic_write(path, lambda f: f.write(data))


_KINDS = {0x80: "note_off", 0x90: "note_on", 0xC0: "program_change"}
DEFAULT_MSPQ = 500_000        # 120 qpm until the first tempo event, as the standard says


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
