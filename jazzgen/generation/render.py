"""Turn a solo and its band into something a person can hear, see and read.

Output only: the parts come from ``band.band_parts`` (or anywhere else), and each
function here writes one format of the same music:

- ``render_midi``: the solo plus the parts as one Standard MIDI File (``midi_io.write_midi``);
- ``render_wav``: the same timed events played through a General MIDI SoundFont
  (tinysoundfont), from memory: ``midi_io.timed_events`` is what the MIDI writer writes,
  swing and tempo map included, so the WAV is the MIDI file's audio by construction;
- ``render_pianoroll``: a PNG piano roll with bar lines and chord symbols;
- ``render_musicxml``: a lead sheet (solo + chord symbols) for notation programs, and
  ``render_notation``: the same lead sheet engraved as SVG.

The same arguments give the same bytes in every format: no dates, versions or random
ids are written (a test renders everything twice).

Everything here is plain NumPy and the standard library at import time; the heavy
libraries (tinysoundfont, matplotlib) are imported inside the function
that needs them so that ``jazzgen generate`` starts fast.
"""
from __future__ import annotations

import importlib.util
import os
from pathlib import Path
from typing import Sequence

import numpy as np

from jazzgen.generation.band import BASS_CHANNEL, DRUM_KITS, PIANO_CHANNEL
from jazzgen.music.midi_io import DRUM_CHANNEL, Part, timed_events, write_midi
from jazzgen.music.notes import NoteSequence
from jazzgen.music.timing import SWING
from jazzgen.util import atomic_write

SOLO_PROGRAM = 65          # GM alto sax
TAIL_SECONDS = 1.5         # let the last notes ring out
PEAK_DBFS = -1.0
MIX_DB = {BASS_CHANNEL: -2.0, PIANO_CHANNEL: 6.0, DRUM_CHANNEL: 3.0}   # TimGM6mb's piano is
                           # ~13 dB softer than its bass: lift the comping so all three are heard
MAX_VOICES = 32            # more steal the voice furthest into its release: a ride hit rings
                           # ~5 s, and 30 stale ones would double render time for no audible gain


# ---------------------------------------------------------------------------- MIDI

def render_midi(path: str | os.PathLike, seq: NoteSequence, parts: Sequence[Part] = (),
                program: int = SOLO_PROGRAM, swing: float = SWING) -> None:
    """Write the solo (GM `program`) with its parts to a MIDI file (swing 0 plays straight)."""
    write_midi(path, seq, parts, program=program, swing=swing)


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


def _send(synth, sfid: int, channel: int, kind: str, data: tuple[int, ...]) -> None:
    if kind == "note_on" and data[1] > 0:
        synth.noteon(channel, data[0], data[1])
    elif kind in ("note_off", "note_on"):
        synth.noteoff(channel, data[0])
    elif kind == "program_change":
        _program(synth, sfid, channel, data[0])


BLOCK = 1 << 16             # frames synthesized at a time (a multiple of tinysoundfont's 64-frame
                           # render block, so splitting a span between events changes no sample)


def audio_blocks(seq: NoteSequence, parts: Sequence[Part] = (), program: int = SOLO_PROGRAM,
                 swing: float = SWING, soundfont: str | os.PathLike | None = None,
                 sample_rate: int = 44100, channels: Sequence[int] | None = None):
    """(frames the music lasts, an iterator of float32 stereo blocks of at most BLOCK frames,
    release tail included): what render_midi would write, not normalised.

    Audio is generated in one call between consecutive events (not per sample), which
    renders a 30-s band in a fraction of a second; in blocks, so that an hour's take
    needs no more memory than a minute's.  `channels` plays only those MIDI channels (to
    check that each instrument is audible on its own).
    """
    synth, sfid = _load_synth(soundfont or default_soundfont(), sample_rate)
    events, length = timed_events(seq, parts, program, swing)
    total = int((length + TAIL_SECONDS) * sample_rate)

    def blocks():
        done = 0
        for t, channel, kind, data in [*events, (None, None, None, None)]:
            if kind is not None and channels is not None and kind != "program_change" and channel not in channels:
                continue
            n = total if t is None else min(int(round(t * sample_rate)), total)
            while done < n:
                out = np.empty((min(BLOCK, n - done), 2), np.float32)
                synth.generate_simple(len(out), buffer=memoryview(out.reshape(-1).view(np.uint8)))
                done += len(out)
                yield out
            if kind is not None:
                _send(synth, sfid, channel, kind, data)
    return int(length * sample_rate), blocks()


def synthesize(seq: NoteSequence, parts: Sequence[Part] = (), program: int = SOLO_PROGRAM,
               swing: float = SWING, soundfont: str | os.PathLike | None = None,
               sample_rate: int = 44100, channels: Sequence[int] | None = None) -> np.ndarray:
    """Float32 stereo audio (n, 2) of what render_midi would write, not normalised, the
    silent part of the release tail cut (never before the MIDI file ends)."""
    keep, blocks = audio_blocks(seq, parts, program, swing, soundfont, sample_rate, channels)
    audio = np.concatenate([*blocks, np.zeros((0, 2), np.float32)])
    return audio[:_heard(audio, keep)]


def _heard(audio: np.ndarray, keep: int, offset: int = 0) -> int:
    """Frames to keep: `keep`, or up to the last audible frame of `audio` (frames from `offset`)."""
    loud = np.flatnonzero(np.abs(audio).max(axis=1) > 1e-4) if len(audio) else ()
    return max(keep, offset + int(loud[-1]) + 1) if len(loud) else keep


def render_wav(path: str | os.PathLike, seq: NoteSequence, parts: Sequence[Part] = (),
               program: int = SOLO_PROGRAM, swing: float = SWING,
               soundfont: str | os.PathLike | None = None, sample_rate: int = 44100) -> None:
    """The music render_midi writes for these arguments, played through a SoundFont into
    a 16-bit stereo WAV peaking at -1 dBFS.

    In two passes over blocks: the float audio goes to a nameless temporary file beside
    the WAV while its peak is found, then is scaled into the WAV: memory stays at a few
    blocks whatever the length (an hour is 1.3 GB of float audio).
    soundfont: path to an .sf2/.sf3; default: `default_soundfont()`.  A missing or
    unreadable SoundFont raises ValueError naming it.
    """
    import tempfile
    import wave
    keep, blocks = audio_blocks(seq, parts, program, swing, soundfont, sample_rate)
    with tempfile.TemporaryFile(dir=Path(path).parent) as raw:
        peak, frames, end = 0.0, 0, keep
        for b in blocks:
            raw.write(b.tobytes())
            peak = max(peak, float(np.abs(b).max()))
            end, frames = _heard(b, end, frames), frames + len(b)
        scale = np.float32(10 ** (PEAK_DBFS / 20) / peak) if peak > 0 else None

        def write(f):
            raw.seek(0)
            with wave.open(f, "wb") as w:
                w.setnchannels(2)
                w.setsampwidth(2)
                w.setframerate(sample_rate)
                for start in range(0, end, BLOCK):
                    audio = np.frombuffer(raw.read(8 * min(BLOCK, end - start)), np.float32)
                    audio = audio * scale if scale is not None else audio
                    w.writeframes(np.clip(np.round(audio * 32767), -32768, 32767).astype("<i2").tobytes())
        atomic_write(path, write)


# ---------------------------------------------------------------------------- picture

def _in_bars(seq: NoteSequence, steps) -> np.ndarray:
    """Steps -> bars as a float (bar index + fraction), through meter changes."""
    bar, pos = seq.bar_position(np.asarray(steps, np.int64))
    return bar + pos / _bar_steps(seq, steps)


def _bar_steps(seq: NoteSequence, steps) -> np.ndarray:
    return np.array([seq.time_signature_at(s).bar_steps for s in np.asarray(steps).tolist()], np.float64)


def _label_every(n_bars: int, pixels: float) -> int:
    """1 if every bar has room for its number and chord symbols (30 px), else the bars between
    numbers (4, 8, 16...): a long take's roll stays one picture, drawn in time linear in its bars."""
    every = 1
    while pixels * every / n_bars < 30:
        every = 4 if every == 1 else 2 * every
    return every


def render_pianoroll(path_png: str | os.PathLike, seq: NoteSequence, parts: Sequence = (),
                     title: str = "") -> None:
    """A PNG piano roll: the solo, the bass part if given (another colour), bar lines,
    chord symbols along the top; x in bars."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import PolyCollection

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
        y0 = np.asarray(pitch, np.float64) - 0.4                 # each note a box, its corners from arrays
        box = np.stack([np.c_[x0, y0], np.c_[x0 + width, y0], np.c_[x0 + width, y0 + 0.8], np.c_[x0, y0 + 0.8]], 1)
        ax.add_collection(PolyCollection(box, facecolor=colour, edgecolor="black", linewidth=0.3))
        ax.plot([], [], color=colour, linewidth=6, label=label)
        lo, hi = min(lo, int(np.min(pitch))), max(hi, int(np.max(pitch)))
    if lo > hi:
        lo, hi = 60, 72
    top = hi + 2
    every = _label_every(n_bars, fig.get_figwidth() * fig.dpi)
    if every == 1:
        for b in range(n_bars + 1):
            ax.axvline(b, color="0.4" if b % 4 == 0 else "0.8", linewidth=0.8 if b % 4 == 0 else 0.5, zorder=0)
        above = ax.get_xaxis_transform()          # x in bars, y in axes fractions: over the plot
        for c in seq.chords:
            if c.step < seq.end:
                ax.text(_in_bars(seq, [c.step])[0] + 0.01, 1.01, c.symbol, transform=above, fontsize=8,
                        va="bottom", clip_on=False)
    else:      # a long take: bar lines in one collection, every few bars numbered, no chord symbols
        ax.vlines(np.arange(0, n_bars + 1, every), lo - 2, top, color="0.6", linewidth=0.5, zorder=0)
    ax.set_xlim(0, n_bars)
    ax.set_ylim(lo - 2, top)
    ax.set_xticks(np.arange(0, n_bars, every) + 0.5, [str(b + 1) for b in range(0, n_bars, every)], fontsize=7)
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
    # No "Software: Matplotlib version ..." chunk: the same roll gives the same bytes anywhere.
    atomic_write(path_png, lambda f: fig.savefig(f, format="png", metadata={"Software": None}))
    plt.close(fig)


# ---------------------------------------------------------------------------- lead sheet

def render_musicxml(path: str | os.PathLike, seq: NoteSequence, program: int | None = None) -> None:
    """A lead sheet: the solo with chord symbols, meter, key and tempo, as MusicXML
    (``leadsheet``: written for a reader, checked against the W3C schema)."""
    from jazzgen.generation.leadsheet import write_musicxml
    write_musicxml(path, seq, program)


def render_notation(path: str | os.PathLike, seq: NoteSequence, program: int | None = None) -> None:
    """That lead sheet engraved as SVG (Verovio), for the page."""
    from jazzgen.generation.leadsheet import leadsheet_svg, musicxml_bytes
    svg = leadsheet_svg(musicxml_bytes(seq, program)).encode()
    atomic_write(path, lambda f: f.write(svg))
