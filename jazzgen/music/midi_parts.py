"""Which part of a file is the melody, and what the rest of it plays.

Every track of a type-1 file (its pieces of one name joined again), or every channel of a
type-0 file, is a part; ``pick_track`` tries them in the order ``_candidates`` gives (the
part that sings the lyrics, a part named melody/vocal/solo/lead..., the highest monophonic
part, the highest polyphonic one by its top voice, bass lines and percussion last), each
with the reason it was picked, and records why the others were passed over.
``accompaniment`` is every other pitched note, which chords are inferred from.
"""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from jazzgen.errors import MidiError
from jazzgen.music.melody import melodic_reason, top_voice
from jazzgen.music.midi_check import mido_file, no_notes
from jazzgen.music.notes import GRID
from jazzgen.music.quantize import to_grid

if TYPE_CHECKING:
    from jazzgen.music.midi_io import ReadReport

# Track names that say "the melody", most certain first: a "Rhythm and Lead Guitar" loses to
# the "Vocals" of the same song (Guitar Pro exports name their tracks so).
MELODY_NAMES = ("melody", "melodie", "vocal", "voice", "vox", "voz", "chant", "canto", "gesang", "singer",
                "solo", "lead")
# ... but General MIDI's choir and synth-voice pads ("Voice Oohs", a track named after its sound)
NOT_MELODY_NAMES = re.compile(r"oohs|aahs|synth ?voice|choir", re.IGNORECASE)
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
class Source:
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
    mf = mido_file(data)
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


def _merged(tracks, cols, idx: list[int], name: str, label: str) -> Source:
    """Pieces `idx` of symusic's tracks as one part, notes in time order; the program of the
    piece with the most notes."""
    c = {k: np.concatenate([cols[i][k] for i in idx]) for k in cols[idx[0]]}
    order = np.argsort(c["time"], kind="stable")
    c = {k: v[order] for k, v in c.items()}
    main = tracks[max(idx, key=lambda i: len(cols[i]["pitch"]))]
    drums = main.is_drum or bool(DRUM_NAMES.search(label))     # the file's own name, not ours
    return Source(name, label, drums, main.program, c["time"], c["duration"], c["pitch"], c["velocity"])


def _channel_parts(tracks, cols, data: bytes) -> list[Source]:
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


def _track_parts(tracks, cols, data: bytes) -> list[Source]:
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


def file_parts(score, data: bytes) -> list[Source]:
    """Every track of the file (see _track_parts), or every channel of a type-0 file."""
    tracks = list(score.tracks)
    cols = _columns(tracks)
    if int.from_bytes(data[8:10], "big") == 0 and len(tracks) > 1:
        return _channel_parts(tracks, cols, data)
    return _track_parts(tracks, cols, data)


def _match_track(parts: list[Source], track: int | str) -> Source:
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


def _polyphony(p: Source, tpq: int) -> float:
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
    mf = mido_file(data)
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


def _sung_share(p: Source, syllables: np.ndarray, tpq: int) -> float:
    """How well a part follows the lyrics: the harmonic mean of the share of syllables on its
    onsets and the share of its onsets under a syllable (within a 32nd note), so that a busy
    guitar or a chord on every beat, which catch most syllables, do not beat the voice."""
    on = np.unique(p.time.astype(np.int64))
    sung, carried = _near(syllables, on, tpq // 8).mean(), _near(on, syllables, tpq // 8).mean()
    return float(2 * sung * carried / (sung + carried)) if sung + carried else 0.0


def _candidates(parts: list[Source], tpq: int, syllables: np.ndarray | None = None) -> list[tuple[Source, str]]:
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
        share = {id(p): _sung_share(p, syllables, tpq) for p in notes if not percussive(p) and not bass(p)}
        best = max((p for p in notes if id(p) in share), key=lambda p: share[id(p)], default=None)
        if best is not None and share[id(best)] >= SUNG_SHARE:
            sung = [best]
    rank = lambda p: (None if NOT_MELODY_NAMES.search(p.label) else
                      next((k for k, n in enumerate(MELODY_NAMES) if n in p.label.lower()), None))
    named = sorted((p for p in notes if p not in sung and rank(p) is not None), key=rank)
    hits = [p for p in notes if p not in named and p not in sung and percussive(p)]
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


def _is_bass(p: Source) -> bool:
    """A part on a General MIDI bass program (33-40): a band's bass line, never its melody."""
    return 32 <= p.program < 40


def percussive(p: Source) -> bool:
    """A part whose General MIDI program is percussion or a sound effect (112-127): pitched
    channels play taiko and synth drums too, and their "notes" are no line and no harmony."""
    return p.program >= PERCUSSIVE_PROGRAM


def pick_track(score, parts: list[Source], track: int | str | None, data: bytes, bar_steps: int,
                rep: ReadReport) -> Source:
    """The melody part: --track, else the first candidate with a melodic line (skips recorded)."""
    tpq = score.ticks_per_quarter
    if track is not None:
        rep.track_reason = "--track"
        return _match_track(parts, track)
    cands = _candidates(parts, tpq, _lyric_ticks(data))
    if not cands:
        raise no_notes(score, data)
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


def melody_notes(p: Source, tpq: int) -> np.ndarray:
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


def accompaniment(parts: list[Source], melody: Source, keep: np.ndarray, to_step: float):
    """(pitch, start, end, velocity) in steps of every note that is not the melody, of drums or
    of other percussion (``percussive``)."""
    cols = []
    for p in parts:
        if p.is_drum or percussive(p) and p is not melody:
            continue
        m = ~keep if p is melody else np.ones(len(p.pitch), bool)
        t = p.time[m].astype(np.int64)
        cols.append((p.pitch[m].astype(np.int64), to_grid(t, to_step),
                     to_grid(t + p.duration[m].astype(np.int64), to_step), p.velocity[m].astype(np.int64)))
    if not cols:
        return tuple(np.zeros(0, np.int64) for _ in range(4))
    return tuple(np.concatenate([c[i] for c in cols]) for i in range(4))
