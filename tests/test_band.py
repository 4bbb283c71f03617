"""The band: a pure function of the chart and a seed that follows the changes."""
from dataclasses import replace

import numpy as np
import pytest

from conftest import blues_chart as blues
from jazzgen.generation.band import (
    BASS_CHANNEL,
    HIHAT_PEDAL,
    PIANO_CHANNEL,
    RIDE,
    band_parts,
    beats,
    harmony,
)
from jazzgen.music.chords import chord_tones, parse_chord
from jazzgen.music.midi_io import DRUM_CHANNEL
from jazzgen.music.notes import GRID, TimeSignature
from jazzgen.music.timing import swing_for

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


# ---------------------------------------------------------------------------- any meter

def in_meter(num, den, bars=8, symbols=("Dm7", "G7", "Cmaj7", "A7")):
    """A chart of one chord a bar in num/den (no solo notes)."""
    from jazzgen.music.notes import ChordChange, NoteSequence, Tempo
    bar = TimeSignature(0, num, den).bar_steps
    seq = NoteSequence.empty("m")
    seq.chords = [ChordChange(i * bar, symbols[i % len(symbols)]) for i in range(bars)]
    seq.tempos, seq.time_signatures, seq.end = [Tempo(0, 160.0)], [TimeSignature(0, num, den)], bars * bar
    return seq, bar


def test_waltz_bass_walks_three_to_the_bar_roots_on_one():
    seq, bar = in_meter(3, 4)
    bass = by_name(band_parts(seq, "trio", seed=0))["bass"]
    assert bar == 3 * GRID and np.array_equal(bass.start, np.arange(0, seq.end, GRID))
    assert (bass.duration == GRID - 1).all()
    for i, ch in enumerate(seq.chords):
        assert bass.pitch[3 * i] % 12 == parse_chord(ch.symbol).bass, ch.symbol


def test_waltz_piano_comps_mostly_on_two_and_three_and_ride_is_the_jazz_waltz():
    seq, bar = in_meter(3, 4, bars=64)
    parts = by_name(band_parts(seq, "trio", seed=4))
    hits = np.unique(parts["piano"].start) % bar
    on_two_three = np.isin(hits, [12, 24]).mean()
    assert on_two_three > 0.4 and set(hits.tolist()) <= {0, 6, 12, 18, 24, 30}
    kit = parts["drums"]
    assert sorted(set((kit.start[kit.pitch == RIDE] % bar).tolist())) == [0, 12, 18, 24]
    assert sorted(set((kit.start[kit.pitch == HIHAT_PEDAL] % bar).tolist())) == [12, 24]


def test_six_eight_is_in_two_dotted_quarters():
    seq, bar = in_meter(6, 8)
    parts = by_name(band_parts(seq, "trio", seed=1))
    assert bar == 36
    bass = parts["bass"]
    assert np.array_equal(bass.start, np.arange(0, seq.end, 18)) and (bass.duration == 17).all()
    assert set((np.unique(parts["piano"].start) % 6).tolist()) == {0}      # on eighths only
    kit = parts["drums"]
    assert sorted(set((kit.start[kit.pitch == RIDE] % bar).tolist())) == [0, 18, 30]
    assert sorted(set((kit.start[kit.pitch == HIHAT_PEDAL] % bar).tolist())) == [18]


def test_five_four_groups_three_and_two():
    seq, bar = in_meter(5, 4)
    parts = by_name(band_parts(seq, "trio", seed=2))
    assert np.array_equal(parts["bass"].start, np.arange(0, seq.end, GRID))
    hat = sorted(set((parts["drums"].start[parts["drums"].pitch == HIHAT_PEDAL] % bar).tolist()))
    assert hat == [12, 24, 48]          # 2 and 3 of the waltz half, 2 of the two-beat half


@pytest.mark.parametrize("meter", [(7, 4), (7, 8), (12, 8), (2, 2), (3, 8), (9, 4)])
def test_odd_meters_keep_every_note_in_the_tune_on_its_beats(meter):
    seq, bar = in_meter(*meter)
    felt = [o for o, *_ in beats(seq)]
    for p in band_parts(seq, "trio", seed=3):
        assert len(p.pitch) and (p.start + p.duration <= seq.end).all() and (p.duration >= 1).all()
    assert set(by_name(band_parts(seq, "trio", seed=3))["bass"].start.tolist()) <= set(felt)


def test_swing_only_where_it_keeps_the_beat():
    for meter, swung in [((4, 4), True), ((3, 4), True), ((5, 4), True), ((6, 8), False), ((7, 8), False)]:
        assert (swing_for(in_meter(*meter)[0], 0.6) == 0.6) == swung, meter
