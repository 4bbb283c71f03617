"""Rendering: the WAV is the MIDI file's audio, every file is valid, and the same
arguments give the same bytes in every format."""
import datetime
import wave
from types import SimpleNamespace

import mido
import numpy as np
import pytest

from conftest import BLUES, blues_chart as blues
from jazzgen.generation.band import BASS_CHANNEL, PIANO_CHANNEL, band_parts
from jazzgen.generation.render import render_midi, render_musicxml, render_pianoroll, render_wav, synthesize
from jazzgen.music.chords import parse_chord
from jazzgen.music.midi_io import DRUM_CHANNEL, timed_events
from jazzgen.music.notes import GRID, Tempo, TimeSignature


@pytest.fixture(scope="module")
def trio():
    seq = blues()
    return seq, band_parts(seq, "trio", seed=0)


@pytest.fixture(scope="module")
def trio_midi(trio, tmp_path_factory):
    path = tmp_path_factory.mktemp("render") / "trio.mid"
    render_midi(path, *trio, program=65, swing=0.5)
    return path


# ---------------------------------------------------------------------------- the events

def mido_events(path):
    """What a MIDI reader hears in a file: (seconds, channel, kind, data), and its length."""
    t, out = 0.0, []
    for msg in mido.MidiFile(str(path)):
        t += msg.time
        if msg.is_meta:
            continue
        data = (msg.program,) if msg.type == "program_change" else (msg.note, msg.velocity)
        out.append((t, msg.channel, msg.type, data))
    return out, t


@pytest.mark.parametrize("swing", [0.0, 0.5, 1.0])
def test_timed_events_are_what_the_file_plays(tmp_path, swing):
    """The synth's events equal the written file's as mido reads it, times to the last
    bit: through tempo changes, a meter change, swing, and a solo note past the end."""
    seq = blues(end=12 * 4 * GRID - 7)
    seq.tempos = [Tempo(0, 160.0), Tempo(4 * 4 * GRID + 6, 97.3), Tempo(9 * 4 * GRID, 233.0)]
    seq.time_signatures = [TimeSignature(0, 4, 4), TimeSignature(4 * 4 * GRID, 3, 4)]
    seq.duration[-1] += 60                  # ends 21 steps after seq.end
    parts = band_parts(seq, "trio", seed=4)
    render_midi(tmp_path / "x.mid", seq, parts, program=26, swing=swing)
    events, length = timed_events(seq, parts, 26, swing)
    expect, expect_length = mido_events(tmp_path / "x.mid")
    assert len(events) > 500
    assert events == expect                  # exact floats: the same samples, not just close ones
    assert length == expect_length


# ---------------------------------------------------------------------------- audio

def rms_db(x) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


def test_wav_audible_not_clipped_right_length(trio, trio_midi, tmp_path):
    wav = tmp_path / "trio.wav"
    render_wav(wav, *trio, program=65, swing=0.5)
    with wave.open(str(wav)) as w:
        assert (w.getnchannels(), w.getsampwidth(), w.getframerate()) == (2, 2, 44100)
        seconds = w.getnframes() / w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").astype(np.float64) / 32768
    midi_seconds = mido.MidiFile(str(trio_midi)).length
    assert midi_seconds == pytest.approx(12 * 4 * 60 / 160, abs=0.01)
    assert midi_seconds - 0.5 <= seconds <= midi_seconds + 2.0
    peak = np.abs(x).max()
    assert -1.5 < 20 * np.log10(peak) < -0.5            # normalised to about -1 dBFS
    assert rms_db(x) > -30
    assert [p.name for p in tmp_path.iterdir()] == ["trio.wav"]    # no temp file left


@pytest.mark.parametrize("channel", [0, BASS_CHANNEL, PIANO_CHANNEL, DRUM_CHANNEL])
def test_each_instrument_is_heard(trio, channel):
    x = synthesize(*trio, channels=[channel])
    assert rms_db(x) > -40, channel


def test_swing_moves_the_audio(trio):
    straight, swung = synthesize(*trio, swing=0.0), synthesize(*trio, swing=1.0)
    n = min(len(straight), len(swung))
    assert not np.array_equal(straight[:n], swung[:n])


def test_bad_soundfont_is_a_value_error_naming_it(trio, tmp_path):
    missing = tmp_path / "nope.sf2"
    with pytest.raises(ValueError, match="nope.sf2"):
        render_wav(tmp_path / "x.wav", *trio, soundfont=missing)
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"RIFF" + b"\0" * 100)
    with pytest.raises(ValueError, match="junk.sf2"):
        render_wav(tmp_path / "x.wav", *trio, soundfont=str(junk))
    assert not (tmp_path / "x.wav").exists()


# ---------------------------------------------------------------------------- picture, score

def test_pianoroll_png(tmp_path):
    seq = blues()
    for parts in ((), band_parts(seq)):
        out = tmp_path / f"roll{len(parts)}.png"
        render_pianoroll(out, seq, parts, title="blues")
        data = out.read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 1000


def test_musicxml_round_trip(tmp_path):
    from music21 import converter, expressions, harmony
    seq = blues(symbols=BLUES[:8] + ["C7alt", "Fm(maj7)", "Eb6/9", "Zz7"])
    out = tmp_path / "lead.musicxml"
    render_musicxml(out, seq)
    score = converter.parse(str(out))
    notes = [n for n in score.recurse().notes
             if not isinstance(n, harmony.ChordSymbol) and not (n.tie and n.tie.type != "start")]
    assert len(notes) == len(seq)
    assert [n.pitch.midi for n in notes] == seq.pitch.tolist()
    symbols = list(score.recurse().getElementsByClass(harmony.ChordSymbol))
    assert len(symbols) == len(seq.chords) - 1                 # 'Zz7' can't be read...
    texts = [t.content for t in score.recurse().getElementsByClass(expressions.TextExpression)]
    assert "Zz7" in texts                                       # ...so it is written as text
    assert symbols[0].root().name == "B-"                       # Bb7 is B-flat, not B
    assert [s.root().pitchClass for s in symbols] == [parse_chord(c.symbol).root for c in seq.chords[:-1]]
    assert score.recurse().getElementsByClass("MetronomeMark")[0].number == 160
    assert score.recurse().getElementsByClass("TimeSignature")[0].ratioString == "4/4"
    assert score.parts[0].partName == "Solo"


# ---------------------------------------------------------------------------- same bytes

def render_all(folder, seq, parts):
    folder.mkdir()
    render_midi(folder / "x.mid", seq, parts)
    render_wav(folder / "x.wav", seq, parts)
    render_pianoroll(folder / "x.png", seq, parts, title="blues")
    render_musicxml(folder / "x.musicxml", seq)
    return {p.suffix: p.read_bytes() for p in folder.iterdir()}


class OtherDay(datetime.date):
    @classmethod
    def today(cls):
        return cls(1999, 12, 31)


def test_every_format_is_byte_identical_on_another_run(trio, tmp_path, monkeypatch):
    """Random part ids, today's date and library versions would all break this."""
    import music21.musicxml.m21ToXml as m21ToXml
    first = render_all(tmp_path / "a", *trio)
    monkeypatch.setattr(m21ToXml, "datetime", SimpleNamespace(date=OtherDay))   # run on another day
    second = render_all(tmp_path / "b", *trio)
    assert sorted(first) == [".mid", ".musicxml", ".png", ".wav"]
    for suffix in first:
        assert first[suffix] == second[suffix], suffix
    assert b"Matplotlib" not in first[".png"]                  # its version is no part of the roll
    assert b"1999" not in second[".musicxml"]
