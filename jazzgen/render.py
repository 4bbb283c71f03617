"""Turn a solo into something a person can hear, see and read.

A lone melody line sounds like an exercise; the same line over a walking bass, a
comping piano and a ride cymbal sounds like jazz.  So rendering first writes a
rhythm section from the chord changes (``band_parts``), then:

- ``render_midi``: the solo plus the band as one Standard MIDI File;
- ``render_wav``: that file played through a General MIDI SoundFont (tinysoundfont);
- ``render_pianoroll``: a PNG piano roll with bar lines and chord symbols;
- ``render_musicxml``: a lead sheet (solo + chord symbols) for notation programs.

Everything here is plain NumPy and the standard library at import time; the heavy
libraries (mido, tinysoundfont, matplotlib, music21) are imported inside the function
that needs them so that ``jazzgen generate`` starts fast.

Times are grid steps (``notes.GRID`` per quarter note).  Off-beat eighths sit on
step 6 of the beat, i.e. straight; ``write_midi(swing=...)`` swings every track by the
same amount, so ride, piano and solo always agree on the feel (swing=0 plays straight).
"""
from __future__ import annotations

import functools
import importlib.util
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Sequence

import numpy as np

from .midi_io import Part, write_midi
from .util import atomic_write
from .notes import GRID, NO_CHORD, NoteSequence

BANDS = ("none", "bass", "trio")   # solo only | + walking bass | + piano, bass and drums
EIGHTH = GRID // 2                 # the off-beat eighth, straight; write_midi swings it

BASS_CHANNEL, PIANO_CHANNEL, DRUM_CHANNEL = 1, 2, 9
BASS_PROGRAM, PIANO_PROGRAM = 32, 0          # GM acoustic bass, acoustic grand
BASS_LOW, BASS_HIGH = 28, 50                 # E1..D3, where an upright walks
PIANO_LOW, PIANO_HIGH = 48, 72               # C3..C5, under the solo, above the bass
RIDE, HIHAT_PEDAL, KICK, SNARE = 51, 44, 36, 38

DRUM_KITS = (32, 0)        # GS/GM2 'Jazz' kit if the SoundFont has it, else 'Standard'
TAIL_SECONDS = 1.5         # let the last notes ring out
PEAK_DBFS = -1.0
MIX_DB = {BASS_CHANNEL: -2.0, PIANO_CHANNEL: 6.0, DRUM_CHANNEL: 3.0}   # TimGM6mb's piano is
                           # ~13 dB softer than its bass: lift the comping so all three are heard
MAX_VOICES = 32            # more steal the voice furthest into its release: a ride hit rings
                           # ~5 s, and 30 stale ones would double render time for no audible gain


# ---------------------------------------------------------------------------- harmony

# Scale (intervals above the root) that a bassist walks through on each chord quality.
SCALES = {
    "maj": (0, 2, 4, 5, 7, 9, 11), "maj7": (0, 2, 4, 5, 7, 9, 11), "6": (0, 2, 4, 5, 7, 9, 11),
    "dom7": (0, 2, 4, 5, 7, 9, 10), "sus4": (0, 2, 5, 7, 9, 10), "7sus4": (0, 2, 5, 7, 9, 10),
    "min": (0, 2, 3, 5, 7, 9, 10), "min7": (0, 2, 3, 5, 7, 9, 10), "min6": (0, 2, 3, 5, 7, 9, 10),
    "minmaj7": (0, 2, 3, 5, 7, 9, 11), "m7b5": (0, 1, 3, 5, 6, 8, 10),
    "dim": (0, 2, 3, 5, 6, 8, 9, 11), "dim7": (0, 2, 3, 5, 6, 8, 9, 11),
    "aug": (0, 2, 4, 6, 8, 10), "aug7": (0, 2, 4, 6, 8, 10), "alt": (0, 1, 3, 4, 6, 8, 10),
}

# Rootless piano voicing per quality: (3rd, 7th, colour, colour) above the root.
# The bass has the root, so the piano plays guide tones + tensions (Bill Evans A/B forms).
VOICINGS = {
    "maj": (4, 9, 2, 7), "maj7": (4, 11, 2, 7), "6": (4, 9, 2, 7),
    "dom7": (4, 10, 2, 9), "sus4": (5, 10, 2, 7), "7sus4": (5, 10, 2, 9),
    "min": (3, 10, 2, 7), "min7": (3, 10, 2, 7), "min6": (3, 9, 2, 7), "minmaj7": (3, 11, 2, 7),
    "m7b5": (3, 10, 5, 6), "dim": (3, 9, 6, 2), "dim7": (3, 9, 6, 2),
    "aug": (4, 10, 8, 2), "aug7": (4, 10, 8, 2), "alt": (4, 10, 3, 8),
}


@dataclass(frozen=True)
class Harmony:
    """What the rhythm section needs to know about one chord symbol (pitch classes)."""
    root: int
    bass: int                   # what the bass plays on the chord's first beat
    tones: tuple[int, ...]      # chord tones: root, 3rd, 5th, (7th)
    scale: tuple[int, ...]      # chord tones first, then the other scale tones
    voicing: tuple[int, ...]    # 3rd, 7th and two colour tones for the piano


@functools.lru_cache(maxsize=None)
def harmony(symbol: str) -> Harmony | None:
    """Parse a chord symbol for the band; None for N.C. or a symbol nobody can read."""
    from .chords import chord_tones, parse_chord
    if symbol == NO_CHORD:
        return None
    try:
        ch = parse_chord(symbol)
    except Exception:      # an unreadable symbol: the band lays out rather than crash
        return None
    if ch.root is None:
        return None
    root = ch.root
    tones = tuple(dict.fromkeys(int(t) % 12 for t in chord_tones(ch) if t is not None))
    ivs = VOICINGS.get(ch.quality, (4, 10, 2, 9))
    third = (tones[1] - root) % 12 if len(tones) > 1 else ivs[0]
    seventh = (tones[3] - root) % 12 if len(tones) > 3 else ivs[1]
    voicing = (third, seventh) + _colours(ch, root, tones, ivs[2:])
    voicing = tuple(dict.fromkeys((root + v) % 12 for v in voicing))
    scale = tones + tuple((root + s) % 12 for s in SCALES.get(ch.quality, SCALES["dom7"]))
    bass = ch.bass if ch.bass is not None else root
    return Harmony(root, int(bass) % 12, tones, tuple(dict.fromkeys(scale)), voicing)


def _colours(ch, root: int, tones: tuple[int, ...], defaults: tuple[int, ...]) -> tuple[int, ...]:
    """Two colour tones: tensions written in the symbol first (b9, #11...), then defaults.

    A default a semitone from a written tension is skipped (no 9 against a written b9).
    """
    bass = ch.bass if ch.bass is not None else root
    written = [(p - root) % 12 for p in ch.pcs if p not in tones and p != bass]
    out = list(dict.fromkeys(written))[:2]
    for d in defaults:
        if len(out) >= 2:
            break
        if d not in out and all(min((d - w) % 12, (w - d) % 12) > 1 for w in written):
            out.append(d)
    return tuple(out)


def _chords_per_step(seq: NoteSequence, steps: np.ndarray) -> list[Harmony | None]:
    idx = seq.chord_at(steps)
    return [harmony(seq.chords[i].symbol) if i >= 0 else None for i in idx.tolist()]


def _nearest(pc: int, ref: float, low: int, high: int) -> int:
    """The pitch of class `pc` in [low, high] closest to `ref`."""
    cands = np.arange(low + (pc - low) % 12, high + 1, 12)
    return int(cands[np.argmin(np.abs(cands - ref))])


# ---------------------------------------------------------------------------- the band

def _part(name: str, program: int, channel: int, notes: list[tuple[int, int, int, int]], end: int):
    """A midi_io.Part from (pitch, start, duration, velocity) tuples, cut at `end`."""
    a = np.array(sorted(notes, key=lambda n: (n[1], n[0])), np.int64).reshape(-1, 4)
    a = a[a[:, 1] < end]
    a[:, 2] = np.minimum(a[:, 2], end - a[:, 1])
    a = a[a[:, 2] > 0]
    return Part(name, program, channel, a[:, 0].astype(np.int16), a[:, 1].astype(np.int32),
                a[:, 2].astype(np.int32), np.clip(a[:, 3], 1, 127).astype(np.int16))


def walking_bass(seq: NoteSequence, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Quarter notes: root (or slash bass) on each chord's first beat, an approach note a
    half or whole step from the next root on its last beat.

    Each chord first picks which octave of the next root to aim for, then walks there by
    steps and small skips through chord and scale tones, so the line never has to leap.
    Rests under N.C.
    """
    beats = np.arange(0, seq.end, GRID)
    idx = seq.chord_at(beats)
    chords = _chords_per_step(seq, beats)
    _, pos = seq.bar_position(beats)
    notes, prev = [], None
    for a, b in _runs(idx):                  # beats a..b-1 are under one chord
        h, nxt = chords[a], (chords[b] if b < len(beats) else None)
        if h is None:
            prev = None
            continue
        line = [_nearest(h.bass, 38 if prev is None else prev, BASS_LOW, BASS_HIGH)]
        goal = _target(nxt.bass, line[0], b - a, rng) if nxt is not None else None
        for i in range(a + 1, b):
            p = line[-1]
            if i == b - 1 and goal is not None:
                p = _approach(goal, h, p, rng)
            elif pos[i] == 0 and rng.random() < 0.5:
                p = _nearest(h.root, p, BASS_LOW, BASS_HIGH)   # new bar, same chord: root again
            else:
                p = _step(h, p, line[0] if goal is None else goal, b - 1 - i, rng)
            line.append(p)
        for k, p in enumerate(line):
            notes.append((p, int(beats[a + k]), GRID - 1, (72 if k == 0 else 66) + int(rng.integers(-6, 7))))
        prev = line[-1]
    return notes


def _runs(idx: np.ndarray) -> list[tuple[int, int]]:
    """[a, b) index ranges over which `idx` stays the same."""
    cuts = [0] + (np.flatnonzero(np.diff(idx)) + 1).tolist() + [len(idx)]
    return [(a, b) for a, b in zip(cuts[:-1], cuts[1:]) if b > a]


def _target(pc: int, ref: int, beats: int, rng: np.random.Generator) -> int:
    """Which octave of the next root to walk to: near ones likelier, far ones only when
    there are beats enough to get there by step."""
    cands = np.arange(BASS_LOW + 2 + (pc - BASS_LOW - 2) % 12, BASS_HIGH - 1, 12)
    w = np.exp(-np.abs(cands - ref) / (1.5 * beats)) + 1e-9
    return int(rng.choice(cands, p=w / w.sum()))


def _approach(target: int, h: Harmony, ref: int, rng: np.random.Generator) -> int:
    """A half step below/above the target (chromatic), or a scale tone a whole step away."""
    cands = [(target - 1, 0.35), (target + 1, 0.3)]
    cands += [(target + d, 0.35) for d in (-2, 2) if (target + d) % 12 in h.scale]
    cands = [(p, w / (1 + ((p - ref) / 2) ** 2)) for p, w in cands if BASS_LOW <= p <= BASS_HIGH and p != ref]
    p, w = zip(*cands)
    return int(rng.choice(p, p=np.array(w) / sum(w)))


def _step(h: Harmony, ref: int, goal: int, left: int, rng: np.random.Generator) -> int:
    """A chord or scale tone 1..5 semitones from the last note, preferring chord tones,
    small intervals and motion toward `goal`, and never so far from it that the `left`
    beats still to come could not get there by step."""
    cands, weights = [], []
    for p in range(ref - 5, ref + 6):
        if p == ref or not BASS_LOW <= p <= BASS_HIGH or p % 12 not in h.scale:
            continue
        if abs(goal - p) > 3 * left + 2 and abs(goal - p) >= abs(goal - ref):
            continue
        w = 3.0 if p % 12 in h.tones else 1.0
        w *= 2.0 if abs(goal - p) < abs(goal - ref) else 1.0
        w *= 1.5 if abs(p - ref) <= 4 else 1.0
        cands.append(p)
        weights.append(w)
    if not cands:
        return _nearest(h.root, ref, BASS_LOW, BASS_HIGH)
    return int(rng.choice(cands, p=np.array(weights) / sum(weights)))


# Comping rhythms for one 4/4 bar: (onset, length) in steps.  Few hits, off-beats and
# pushes; a hit on the last off-beat before a chord change anticipates that chord.
COMP_PATTERNS = (
    ((0, 9), (18, 6)),                 # Charleston: 1, and-of-2
    ((0, 9), (18, 6), (42, 6)),        # Charleston, push into the next bar
    ((12, 8), (36, 8)),                # 2 and 4
    ((6, 6), (30, 9)),                 # and-of-1, and-of-3
    ((18, 6), (42, 6)),                # the ands of 2 and 4
    ((0, 20), (30, 6)),                # held downbeat, and-of-3
    ((12, 9), (30, 6), (42, 6)),
    ((42, 6),),                        # lay out, then push the next bar
)


def piano_comping(seq: NoteSequence, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Rootless voicings, voice-led, on syncopated Charleston-style hits with anticipations."""
    starts = np.array([c.step for c in seq.chords], np.int64)
    hits = []
    for n, (bar_start, bar_len) in enumerate(_bars(seq)):
        pattern = COMP_PATTERNS[0 if n == 0 else int(rng.integers(len(COMP_PATTERNS)))]  # start on 1
        hits += [(bar_start + s, d) for s, d in pattern if s < bar_len]
    notes, prev, last_end = [], None, -1
    for s, d in hits:
        if s < last_end:                       # the previous hit is still tied over
            continue
        ant = s % GRID == EIGHTH and bool(np.any(starts == s + EIGHTH))
        at = s + EIGHTH if ant else s
        i = int(seq.chord_at([at])[0])
        h = harmony(seq.chords[i].symbol) if i >= 0 else None
        if h is None:
            continue
        change = starts[starts > seq.chords[i].step]
        end = s + (d + GRID if ant else d)      # an anticipation ties over the change
        if len(change):
            end = min(end, int(change[0]))
        voicing = _voice(h, prev)
        vel = int(rng.integers(74, 90)) + (5 if s % GRID else 0) + (5 if ant else 0)
        for k, p in enumerate(voicing):
            top = 4 if k == len(voicing) - 1 else 0
            notes.append((p, s, end - s, vel + top + int(rng.integers(-3, 4))))
        prev, last_end = voicing, end
    return notes


def _bars(seq: NoteSequence) -> list[tuple[int, int]]:
    """(start step, length in steps) of every bar up to seq.end, through meter changes."""
    out, s = [], 0
    while s < seq.end:
        n = seq.time_signature_at(s).bar_steps
        nxt = min((t.step for t in seq.time_signatures if s < t.step < s + n), default=s + n)
        out.append((s, nxt - s))
        s = nxt
    return out


def _voice(h: Harmony, prev: tuple[int, ...] | None) -> tuple[int, ...]:
    """The close-position voicing with the 3rd or 7th at the bottom (A or B form) that moves
    least from the previous one, kept near the middle of the piano's comping range."""
    best, best_cost = None, np.inf
    for bottom_pc in h.voicing[:2]:
        ivs = sorted((pc - bottom_pc) % 12 for pc in h.voicing)
        for low in range(PIANO_LOW, PIANO_HIGH + 1):
            if low % 12 != bottom_pc or low + ivs[-1] > PIANO_HIGH:
                continue
            v = tuple(low + i for i in ivs)
            cost = abs(np.mean(v) - 61) * 0.5
            if prev is not None:
                cost += _motion(v, prev)
            if cost < best_cost:
                best, best_cost = v, cost
    return best


def _motion(a: tuple[int, ...], b: tuple[int, ...]) -> float:
    """Total semitones the voices move (each voice to its nearest new note)."""
    a, b = np.array(a), np.array(b)
    return float(np.abs(a[:, None] - b[None, :]).min(axis=1).sum() + abs(a.mean() - b.mean()))


def drums(seq: NoteSequence, rng: np.random.Generator) -> list[tuple[int, int, int, int]]:
    """Spang-a-lang ride (1, 2, 2+, 3, 4, 4+), hi-hat foot on 2 and 4, feathered kick on
    every beat, and now and then a quiet snare comp on an off-beat."""
    beats = np.arange(0, seq.end, GRID)
    _, pos = seq.bar_position(beats)
    notes = []

    def j() -> int:                                        # a little human unevenness
        return int(rng.integers(-5, 6))

    for b, k in zip(beats.tolist(), (pos // GRID).tolist()):
        back = k % 2 == 1                                  # beats 2 and 4
        notes.append((RIDE, b, EIGHTH if back else GRID, (92 if back else 82) + j()))
        if back:
            notes.append((RIDE, b + EIGHTH, EIGHTH, 70 + j()))
            notes.append((HIHAT_PEDAL, b, EIGHTH, 70 + j()))
        notes.append((KICK, b, EIGHTH, 34 + j()))
        if rng.random() < 0.12:
            notes.append((SNARE, b + EIGHTH, EIGHTH, 46 + j()))
    return notes


def band_parts(seq: NoteSequence, band: str = "trio", seed: int = 0) -> list:
    """The rhythm section for `seq`'s changes, as midi_io.Part tracks over 0..seq.end.

    band: 'none' (solo alone), 'bass' (walking bass only) or 'trio' (piano comping,
    walking bass and drums).  The same seq and seed always give the same parts; each
    instrument has its own random stream so changing one leaves the others alone.
    """
    if band not in BANDS:
        raise ValueError(f"band must be one of {', '.join(BANDS)}, not {band!r}")
    if band == "none" or seq.end <= 0:
        return []
    rng = lambda k: np.random.default_rng([seed, k])   # noqa: E731
    bass = _part("Bass", BASS_PROGRAM, BASS_CHANNEL, walking_bass(seq, rng(1)), seq.end)
    if band == "bass":
        return [bass]
    piano = _part("Piano", PIANO_PROGRAM, PIANO_CHANNEL, piano_comping(seq, rng(2)), seq.end)
    kit = _part("Drums", DRUM_KITS[0], DRUM_CHANNEL, drums(seq, rng(3)), seq.end)
    return [piano, bass, kit]


# ---------------------------------------------------------------------------- MIDI

def render_midi(path: str | os.PathLike, seq: NoteSequence, band: str = "trio", program: int = 65,
                swing: float = 0.5, seed: int = 0) -> None:
    """Write the solo (GM `program`, 65 = alto sax) with its band to a MIDI file."""
    write_midi(path, seq, band_parts(seq, band, seed), program=program, swing=swing)


# ---------------------------------------------------------------------------- audio

def default_soundfont() -> Path:
    """TimGM6mb.sf2 (GPL-2, 6 MB), shipped inside the pretty_midi wheel: a full GM set
    with drum kits, installed by pip alone.  Found without importing pretty_midi."""
    spec = importlib.util.find_spec("pretty_midi")
    if spec is None or not spec.submodule_search_locations:
        raise ValueError("no default SoundFont: pip install pretty_midi, or pass soundfont=PATH")
    return Path(list(spec.submodule_search_locations)[0]) / "TimGM6mb.sf2"


def _load_synth(soundfont: str | os.PathLike, sample_rate: int):
    import tinysoundfont
    synth = tinysoundfont.Synth(samplerate=sample_rate)
    path = Path(soundfont)
    if not path.is_file():
        raise ValueError(f"SoundFont not found: {path}")
    try:
        sfid = synth.sfload(str(path), max_voices=MAX_VOICES)
    except Exception:
        raise ValueError(f"cannot read SoundFont: {path}") from None
    for ch in range(16):
        _program(synth, sfid, ch, DRUM_KITS[0] if ch == DRUM_CHANNEL else 0)
        gain = 10 ** (MIX_DB.get(ch, 0.0) / 20)
        synth.soundfonts[sfid].channel_set_volume(ch, gain)   # a CC7 in the file overrides it
    return synth, sfid


def _program(synth, sfid: int, channel: int, program: int) -> None:
    """Select `program` on `channel`; channel 10 takes drum kits from bank 128.

    A preset the SoundFont lacks falls back to the first one (piano / standard kit)
    rather than leaving the channel silent.
    """
    drums = channel == DRUM_CHANNEL
    bank = 128 if drums else 0
    prefs = ((program,) + DRUM_KITS) if drums else (program, 0)
    for p in prefs:
        if synth.sfpreset_name(sfid, bank, p) is not None:
            synth.program_select(channel, sfid, bank, p, is_drums=drums)
            return


def _midi_events(midi_path: str | os.PathLike) -> tuple[list[tuple[float, object]], float]:
    """(seconds, message) for every channel message, through the tempo map; and the length."""
    import mido
    try:
        mf = mido.MidiFile(str(midi_path))
    except (OSError, EOFError, ValueError) as e:
        raise ValueError(f"cannot read MIDI file {midi_path}: {e}") from None
    t, events = 0.0, []
    for msg in mf:          # merged tracks, msg.time in seconds
        t += msg.time
        if not msg.is_meta:
            events.append((t, msg))
    return events, t


def _send(synth, sfid: int, msg) -> None:
    if msg.type == "note_on" and msg.velocity > 0:
        synth.noteon(msg.channel, msg.note, msg.velocity)
    elif msg.type in ("note_off", "note_on"):
        synth.noteoff(msg.channel, msg.note)
    elif msg.type == "program_change":
        _program(synth, sfid, msg.channel, msg.program)
    elif msg.type == "control_change":
        synth.control_change(msg.channel, msg.control, msg.value)
    elif msg.type == "pitchwheel":
        synth.pitchbend(msg.channel, msg.pitch + 8192)


def synthesize(midi_path: str | os.PathLike, soundfont: str | os.PathLike | None = None,
               sample_rate: int = 44100, channels: Sequence[int] | None = None) -> np.ndarray:
    """Float32 stereo audio (n, 2) of a MIDI file, not normalised.

    Audio is generated in one block between consecutive events (not per sample), which
    renders a 30-s band in a fraction of a second.  `channels` plays only those MIDI
    channels (to check that each instrument is audible on its own).
    """
    synth, sfid = _load_synth(soundfont or default_soundfont(), sample_rate)
    events, length = _midi_events(midi_path)
    total = int((length + TAIL_SECONDS) * sample_rate)
    audio = np.zeros((total, 2), np.float32)
    buf = memoryview(audio.reshape(-1).view(np.uint8))
    done = 0
    for t, msg in events:
        if channels is not None and msg.type in ("note_on", "note_off") and msg.channel not in channels:
            continue
        n = min(int(round(t * sample_rate)), total)
        if n > done:
            synth.generate_simple(n - done, buffer=buf[done * 8:n * 8])
            done = n
        _send(synth, sfid, msg)
    if total > done:
        synth.generate_simple(total - done, buffer=buf[done * 8:total * 8])
    return _trim_tail(audio, int(length * sample_rate))


def _trim_tail(audio: np.ndarray, keep: int) -> np.ndarray:
    """Cut the silent part of the release tail (but never before the MIDI file ends)."""
    loud = np.flatnonzero(np.abs(audio[keep:]).max(axis=1) > 1e-4)
    return audio[:keep + (int(loud[-1]) + 1 if len(loud) else 0)]


def render_wav(midi_path: str | os.PathLike, wav_path: str | os.PathLike,
               soundfont: str | os.PathLike | None = None, sample_rate: int = 44100) -> None:
    """Play a MIDI file through a SoundFont into a 16-bit stereo WAV peaking at -1 dBFS.

    soundfont: path to an .sf2/.sf3; default: `default_soundfont()`.  A missing or
    unreadable SoundFont raises ValueError naming it.
    """
    import wave
    audio = synthesize(midi_path, soundfont, sample_rate)
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    if peak > 0:
        audio = audio * (10 ** (PEAK_DBFS / 20) / peak)
    pcm = np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2")

    def write(f):
        with wave.open(f, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(sample_rate)
            w.writeframes(pcm.tobytes())
    atomic_write(wav_path, write)


# ---------------------------------------------------------------------------- picture

def _in_bars(seq: NoteSequence, steps) -> np.ndarray:
    """Steps -> bars as a float (bar index + fraction), through meter changes."""
    bar, pos = seq.bar_position(np.asarray(steps, np.int64))
    return bar + pos / _bar_steps(seq, steps)


def _bar_steps(seq: NoteSequence, steps) -> np.ndarray:
    return np.array([seq.time_signature_at(s).bar_steps for s in np.asarray(steps).tolist()], np.float64)


def render_pianoroll(path_png: str | os.PathLike, seq: NoteSequence, parts: Sequence = (),
                     title: str = "") -> None:
    """A PNG piano roll: the solo, the bass part if given (another colour), bar lines,
    chord symbols along the top; x in bars."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PatchCollection
    from matplotlib.patches import Rectangle

    n_bars = max(1, int(np.ceil(_in_bars(seq, [max(seq.end - 1, 0)])[0] + 1e-9)))
    lines = [(seq.pitch, seq.start, seq.duration, "tab:blue", "solo")]
    lines += [(p.pitch, p.start, p.duration, "tab:orange", p.name.lower()) for p in parts
              if p.channel != DRUM_CHANNEL and "bass" in p.name.lower()]
    fig, ax = plt.subplots(figsize=(min(40, max(10, 0.9 * n_bars)), 5), dpi=100)
    lo, hi = 127, 0
    for pitch, start, dur, colour, label in lines:
        if not len(pitch):
            continue
        x0, width = _in_bars(seq, start), np.asarray(dur) / _bar_steps(seq, start)
        rects = [Rectangle((x, p - 0.4), w, 0.8) for x, w, p in zip(x0, width, np.asarray(pitch))]
        ax.add_collection(PatchCollection(rects, facecolor=colour, edgecolor="black", linewidth=0.3))
        ax.plot([], [], color=colour, linewidth=6, label=label)
        lo, hi = min(lo, int(np.min(pitch))), max(hi, int(np.max(pitch)))
    if lo > hi:
        lo, hi = 60, 72
    for b in range(n_bars + 1):
        ax.axvline(b, color="0.4" if b % 4 == 0 else "0.8", linewidth=0.8 if b % 4 == 0 else 0.5, zorder=0)
    top = hi + 2
    above = ax.get_xaxis_transform()          # x in bars, y in axes fractions: over the plot
    for c in seq.chords:
        if c.step < seq.end:
            ax.text(_in_bars(seq, [c.step])[0] + 0.01, 1.01, c.symbol, transform=above, fontsize=8,
                    va="bottom", clip_on=False)
    ax.set_xlim(0, n_bars)
    ax.set_ylim(lo - 2, top)
    ax.set_xticks(np.arange(n_bars) + 0.5, [str(b + 1) for b in range(n_bars)], fontsize=7)
    ax.tick_params(axis="x", length=0)
    cs = [p for p in range(lo - 2, top + 1) if p % 12 == 0]
    ax.set_yticks(cs, [f"C{p // 12 - 1}" for p in cs])
    ax.set_xlabel("bar")
    ax.set_ylabel("pitch")
    if title:
        ax.set_title(title, pad=18)
    if len(lines) > 1:
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
    fig.tight_layout()
    atomic_write(path_png, lambda f: fig.savefig(f, format="png"))
    plt.close(fig)


# ---------------------------------------------------------------------------- lead sheet

# Spellings music21 cannot read -> ones it can (applied to the part after the root).
M21_QUALITY = (
    ("m(maj7)", "mM7"), ("-(maj7)", "mM7"), ("mmaj7", "mM7"), ("m(M7)", "mM7"), ("minmaj7", "mM7"),
    ("-maj7", "mM7"), ("7alt", "7#5#9"), ("alt", "7#5#9"), ("6/9", "6add9"), ("69", "6add9"),
    ("maj9", "M9"), ("maj13", "M13"), ("maj7", "M7"), ("Maj7", "M7"), ("Δ7", "M7"), ("Δ", "M7"),
    ("^7", "M7"), ("ø7", "m7b5"), ("ø", "m7b5"), ("°7", "o7"), ("°", "o"), ("min", "m"),
    ("(", ""), (")", ""), (",", ""),
)


def m21_figure(symbol: str) -> str:
    """A lead-sheet symbol in music21's spelling: 'Bb7' -> 'B-7', 'Cm(maj7)' -> 'CmM7',
    'F-7' -> 'Fm7' (a jazz '-' means minor; music21's '-' means flat)."""
    import re
    m = re.match(r"^([A-G])([b#]?)(.*?)(?:/([A-G])([b#]?))?$", symbol.strip())
    if not m:
        return symbol
    root, acc, rest, bass, bacc = m.groups()
    if rest.startswith("6/9"):
        rest = "6add9" + rest[3:]
    if rest.startswith("-"):
        rest = "m" + rest[1:]
    for old, new in M21_QUALITY:
        rest = rest.replace(old, new)
    fig = root + acc.replace("b", "-") + rest
    if bass:
        fig += "/" + bass + bacc.replace("b", "-")
    return fig


def _chord_symbol(symbol: str):
    """A music21 ChordSymbol whose root agrees with our parser; else the plain quality;
    else None (the caller writes the symbol as text)."""
    from music21 import harmony as m21h
    if symbol == NO_CHORD:
        return m21h.NoChord()
    h = harmony(symbol)
    fig = m21_figure(symbol)
    tries = [fig] + ([_plain_figure(symbol)] if h is not None else [])
    for f in tries:
        try:
            cs = m21h.ChordSymbol(f)
            if cs.root() is None or not cs.pitches:
                continue
            if h is not None and cs.root().pitchClass != h.root:
                continue
            return cs
        except Exception:
            continue
    return None


_PLAIN = {"maj": "", "maj7": "M7", "6": "6", "dom7": "7", "min": "m", "min7": "m7", "min6": "m6",
          "minmaj7": "mM7", "m7b5": "m7b5", "dim": "dim", "dim7": "o7", "aug": "+", "aug7": "+7",
          "sus4": "sus4", "7sus4": "7sus4", "alt": "7#5#9"}
_NAMES = ("C", "D-", "D", "E-", "E", "F", "F#", "G", "A-", "A", "B-", "B")


def _plain_figure(symbol: str) -> str:
    """Root + basic quality from our parser, dropping tensions music21 could not read."""
    from .chords import parse_chord
    ch = parse_chord(symbol)
    fig = _NAMES[ch.root] + _PLAIN.get(ch.quality, "")
    if ch.bass is not None and ch.bass != ch.root:
        fig += "/" + _NAMES[ch.bass]
    return fig


def render_musicxml(path: str | os.PathLike, seq: NoteSequence) -> None:
    """A lead sheet: the solo with chord symbols, meter, key and tempo, as MusicXML.

    Steps become quarterLength Fractions (steps/12), so triplets stay exact; gaps become
    rests; notes crossing a barline are split and tied by music21.  A chord symbol
    music21 cannot read is written as a text expression instead.
    """
    from music21 import expressions, key, meter, metadata, note, stream, tempo
    from music21.musicxml.m21ToXml import GeneralObjectExporter

    ql = lambda steps: Fraction(int(steps), GRID)   # noqa: E731
    part = stream.Part()
    part.partName = "Solo"
    for ts in seq.time_signatures or []:
        part.insert(ql(ts.step), meter.TimeSignature(f"{ts.numerator}/{ts.denominator}"))
    if not any(ts.step == 0 for ts in seq.time_signatures):
        part.insert(0, meter.TimeSignature("4/4"))
    for ks in seq.key_signatures:
        part.insert(ql(ks.step), key.KeySignature(int(ks.sharps)))
    for tp in seq.tempos:
        part.insert(ql(tp.step), tempo.MetronomeMark(number=round(float(tp.qpm))))
    cursor = 0
    for p, s, d, v in zip(seq.pitch.tolist(), seq.start.tolist(), seq.duration.tolist(), seq.velocity.tolist()):
        if s > cursor:
            part.insert(ql(cursor), note.Rest(quarterLength=ql(s - cursor)))
        n = note.Note(int(p), quarterLength=ql(d))
        n.volume.velocity = int(v)
        part.insert(ql(s), n)
        cursor = s + d
    if seq.end > cursor:
        part.insert(ql(cursor), note.Rest(quarterLength=ql(seq.end - cursor)))
    for c in seq.chords:
        if c.step < max(seq.end, 1):
            cs = _chord_symbol(c.symbol)
            part.insert(ql(c.step), cs if cs is not None else expressions.TextExpression(c.symbol))
    score = stream.Score([part])
    score.metadata = metadata.Metadata(title=seq.name or "jazzgen solo")
    data = GeneralObjectExporter(score).parse()
    atomic_write(path, lambda f: f.write(data))
