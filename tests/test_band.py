"""The band: a pure function of the chart and a seed that follows the changes."""
from dataclasses import replace

import numpy as np
import pytest
from conftest import blues_chart as blues

from jazzgen.band import (BASS_CHANNEL, HIHAT_PEDAL, PIANO_CHANNEL, RIDE, band_parts, harmony)
from jazzgen.chords import chord_tones, parse_chord
from jazzgen.midi_io import DRUM_CHANNEL
from jazzgen.notes import GRID, TimeSignature

BAR = 4 * GRID


def by_name(parts):
    return {p.name.lower(): p for p in parts}


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


def test_band_needs_only_the_chart():
    """The notes of the solo do not change the band: it plays the chart."""
    seq = blues()
    z = np.zeros(0, np.int32)
    chart = replace(seq, pitch=z, start=z, duration=z, velocity=z)
    for x, y in zip(band_parts(seq, seed=2), band_parts(chart, seed=2)):
        for f in ("pitch", "start", "duration", "velocity"):
            assert np.array_equal(getattr(x, f), getattr(y, f)), (x.name, f)


def test_harmony_of_symbols():
    h = harmony("Fm7/Bb")
    assert (h.root, h.bass) == (5, 10)
    assert set(h.voicing[:2]) == {8, 3}                 # Ab and Eb: the guide tones
    assert harmony("N.C.") is None and harmony("Zz7") is None
