"""Rendering: the band follows the changes, the WAV is audible, the files are valid."""
import wave

import numpy as np
import pytest

from jazzgen.chords import chord_tones, parse_chord
from jazzgen.notes import GRID, ChordChange, NoteSequence, Tempo, TimeSignature
from jazzgen.render import (BASS_CHANNEL, DRUM_CHANNEL, HIHAT_PEDAL, PIANO_CHANNEL, RIDE, band_parts,
                            m21_figure, render_midi, render_musicxml, render_pianoroll, render_wav,
                            synthesize)

BAR = 4 * GRID
BLUES = ["Bb7", "Eb7", "Bb7", "Fm7/Bb", "Eb7", "Edim7", "Bb7", "G7alt", "Cm7", "F7", "Bb7", "F7"]


def blues(qpm=160.0, symbols=BLUES, end=None) -> NoteSequence:
    """12 bars, a chord a bar, a few solo notes."""
    chords = [ChordChange(i * BAR, s) for i, s in enumerate(symbols)]
    start = np.array([0, 12, 18, 30, 48, 96, 150, 200, 300, 420, 500])
    dur = np.array([12, 6, 12, 18, 24, 30, 20, 40, 60, 36, 30])
    pitch = np.array([70, 72, 74, 77, 75, 70, 68, 67, 72, 74, 70])
    return NoteSequence(pitch, start, dur, np.full(len(start), 90), chords=chords,
                        tempos=[Tempo(0, qpm)], time_signatures=[TimeSignature(0, 4, 4)],
                        end=end or len(symbols) * BAR, name="blues")


def by_name(parts):
    return {p.name.lower(): p for p in parts}


# ---------------------------------------------------------------------------- the band

def test_walking_bass_four_to_the_bar_roots_and_approaches():
    seq = blues()
    bass = by_name(band_parts(seq, "trio", seed=0))["bass"]
    assert bass.channel == BASS_CHANNEL and bass.program == 32
    assert len(bass.pitch) == 4 * 12
    assert np.array_equal(bass.start, np.arange(0, seq.end, GRID))
    assert bass.pitch.min() >= 28 and bass.pitch.max() <= 55
    for i, ch in enumerate(seq.chords):
        first = i * 4
        assert bass.pitch[first] % 12 == parse_chord(ch.symbol).bass, ch.symbol
        if i + 1 < len(seq.chords):      # last beat leads by step into the next root
            assert 1 <= abs(int(bass.pitch[first + 3]) - int(bass.pitch[first + 4])) <= 2, ch.symbol
    assert np.abs(np.diff(bass.pitch.astype(int))).max() <= 12


def test_piano_voicings_hold_third_and_seventh_in_range():
    seq = blues()
    piano = by_name(band_parts(seq, "trio", seed=3))["piano"]
    assert piano.channel == PIANO_CHANNEL
    assert piano.pitch.min() >= 48 and piano.pitch.max() <= 72
    onsets = np.unique(piano.start)
    assert 12 <= len(onsets) <= 12 * 4       # comps, not a chord on every beat
    starts = [c.step for c in seq.chords]
    for s in onsets.tolist():
        pcs = set((piano.pitch[piano.start == s] % 12).tolist())
        # a hit on the off-beat just before a change anticipates the next chord
        options = {int(seq.chord_at([s])[0]), int(seq.chord_at([s + GRID // 2])[0])}
        ok = []
        for i in options:
            tones = chord_tones(parse_chord(seq.chords[i].symbol))
            ok.append(tones[1] in pcs and tones[3] in pcs)
        assert any(ok), (s, pcs)
    assert len(set(piano.velocity.tolist())) > 3


def test_drums_ride_pattern_and_hihat_on_two_and_four():
    seq = blues()
    kit = by_name(band_parts(seq, "trio"))["drums"]
    assert kit.channel == DRUM_CHANNEL
    ride = kit.start[kit.pitch == RIDE] % BAR
    assert sorted(set(ride.tolist())) == [0, 12, 18, 24, 36, 42]
    assert sorted(set((kit.start[kit.pitch == HIHAT_PEDAL] % BAR).tolist())) == [12, 36]


@pytest.mark.parametrize("band", ["bass", "trio"])
def test_every_note_inside_the_tune(band):
    seq = blues(end=12 * BAR - 7)           # ends mid-beat
    seq.time_signatures = [TimeSignature(0, 4, 4), TimeSignature(4 * BAR, 3, 4)]
    for p in band_parts(seq, band, seed=1):
        assert len(p.pitch) > 0
        assert (p.duration >= 1).all()
        assert (p.start >= 0).all() and (p.start + p.duration <= seq.end).all()
        assert len(p.pitch) == len(p.start) == len(p.duration) == len(p.velocity)
        assert ((1 <= p.velocity) & (p.velocity <= 127)).all()


def test_bands_and_determinism():
    seq = blues()
    assert band_parts(seq, "none") == []
    assert [p.name for p in band_parts(seq, "bass")] == ["Bass"]
    a, b, c = band_parts(seq, seed=7), band_parts(seq, seed=7), band_parts(seq, seed=8)
    for x, y in zip(a, b):
        for f in ("pitch", "start", "duration", "velocity"):
            assert np.array_equal(getattr(x, f), getattr(y, f))
    assert any(not np.array_equal(x.pitch, y.pitch) or not np.array_equal(x.start, y.start)
               for x, y in zip(a, c))
    with pytest.raises(ValueError, match="band"):
        band_parts(seq, "bigband")


def test_no_chord_means_bass_and_piano_lay_out():
    seq = blues(symbols=["C7", "N.C.", "N.C.", "F7"])
    parts = by_name(band_parts(seq, "trio"))
    for name in ("bass", "piano"):
        p = parts[name]
        sounding = (p.start < 3 * BAR) & (p.start + p.duration > BAR + GRID // 2)
        assert not sounding.any(), name
    assert ((parts["drums"].start >= BAR) & (parts["drums"].start < 3 * BAR)).any()   # time goes on


# ---------------------------------------------------------------------------- audio

def rms_db(x) -> float:
    return 20 * np.log10(np.sqrt(np.mean(np.square(x, dtype=np.float64))) + 1e-12)


@pytest.fixture(scope="module")
def trio_midi(tmp_path_factory):
    path = tmp_path_factory.mktemp("render") / "trio.mid"
    render_midi(path, blues(), band="trio", program=65, swing=0.5, seed=0)
    return path


def test_wav_audible_not_clipped_right_length(trio_midi, tmp_path):
    import mido
    wav = tmp_path / "trio.wav"
    render_wav(trio_midi, wav)
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
def test_each_instrument_is_heard(trio_midi, channel):
    x = synthesize(trio_midi, channels=[channel])
    assert rms_db(x) > -40, channel


def test_bad_soundfont_is_a_value_error_naming_it(trio_midi, tmp_path):
    missing = tmp_path / "nope.sf2"
    with pytest.raises(ValueError, match="nope.sf2"):
        render_wav(trio_midi, tmp_path / "x.wav", soundfont=missing)
    junk = tmp_path / "junk.sf2"
    junk.write_bytes(b"RIFF" + b"\0" * 100)
    with pytest.raises(ValueError, match="junk.sf2"):
        render_wav(trio_midi, tmp_path / "x.wav", soundfont=str(junk))
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


@pytest.mark.parametrize("symbol, figure", [
    ("Bb7", "B-7"), ("Ebm7b5", "E-m7b5"), ("C7alt", "C7#5#9"), ("Db6/9", "D-6add9"),
    ("Fm(maj7)", "FmM7"), ("C-7", "Cm7"), ("C7/Bb", "C7/B-"), ("Gmaj7", "GM7"), ("Bbø", "B-m7b5"),
])
def test_m21_figure(symbol, figure):
    assert m21_figure(symbol) == figure
