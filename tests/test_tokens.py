"""Tokens: lossless encode/decode (all 401 bundled solos through a written MIDI file),
articulation and velocity levels, long events, the vocabulary file, unknown chords,
tempo and performer ids, transposition."""
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import WJAZZD, Track, save_midi
from jazzgen.data import tokens as T
from jazzgen.errors import ModelError, UsageError
from jazzgen.music.midi_io import read_midi, write_midi
from jazzgen.music.notes import GRID, ChordChange, KeySignature, NoteSequence, Tempo, TimeSignature
from jazzgen.music.timing import MIDI_DEFAULT_QPM


def corpus_files() -> list[Path]:
    files = sorted(WJAZZD.glob("*.mid"))
    assert len(files) == 401, len(files)
    return files


def mspq(seq: NoteSequence) -> list[tuple[int, int]]:
    return [(t.step, round(6e7 / t.qpm)) for t in seq.tempos]


@pytest.mark.slow
def test_round_trip_through_midi_on_every_corpus_file(tmp_path):
    """decode(encode(x)) -> write_midi -> read_midi -> encode gives back every event
    exactly (pitch, onset, event length, articulation class, velocity level, chords,
    position, tempo bucket), the notes' pitches and onsets, the chord changes, the
    tempo map (to the microsecond), meter and key."""
    out = tmp_path / "back.mid"
    detached = notes = 0
    for path in corpus_files():
        seq, _ = read_midi(path)
        tok = T.encode(seq)
        assert len(tok) >= len(seq)
        write_midi(out, T.decode(tok))
        back, _ = read_midi(out)
        where = path.name
        again = T.encode(back)
        for f in T.FIELDS:
            assert np.array_equal(getattr(again, f), getattr(tok, f)), (where, f)
        assert np.array_equal(back.pitch, seq.pitch), where
        assert np.array_equal(back.start, seq.start), where
        assert np.array_equal(T.default_vocab().vel_ids(back.velocity), T.default_vocab().vel_ids(seq.velocity)), where
        assert back.chords == seq.chords, where
        assert mspq(back) == mspq(seq), where
        assert back.time_signatures == seq.time_signatures, where
        assert back.key_signatures == seq.key_signatures, where
        detached += int((back.start[:-1] + back.duration[:-1] < back.start[1:]).sum())
        notes += len(back)
    assert detached > 0.3 * notes        # the articulation survives: not every note is legato


def test_articulation_and_velocity_sit_on_note_heads():
    v = T.default_vocab()
    # an eighth sounding 4 of 6 steps (a 2-step silence: articulation), a quarter cut to 1 step
    # (a 23-step silence: a rest), a long note tied over
    seq = NoteSequence([60, 62, 64], [0, 6, 30], [4, 1, T.MAX_DUR + 2], [50, 115, 127])
    tok = T.encode(seq)
    assert tok.pitch.tolist() == [T.PITCH0 + 60, T.PITCH0 + 62, T.REST, T.PITCH0 + 64, T.TIE]
    assert T.durations_steps(tok.dur).tolist() == [6, 1, 23, T.MAX_DUR, 2]
    # 4/6 = 0.67; released into the rest; the last note, alone: legato
    assert tok.art.tolist() == [T.ART0 + 2, v.art_rest_id, T.PAD, T.ART0, T.PAD]
    assert tok.vel.tolist() == [T.VEL0, T.VEL0 + 8, T.PAD, T.VEL0 + 10, T.PAD]   # < 80, 114-116, >= 121
    back = T.decode(tok)
    assert back.duration.tolist() == [4, 1, T.MAX_DUR + 2] and back.start.tolist() == seq.start.tolist()
    assert back.velocity.tolist() == [v.vel_values[0], v.vel_values[8], v.vel_values[10]]


def test_a_tied_note_released_into_a_rest_carries_the_class_on_its_head():
    seq = NoteSequence([60, 62], [0, T.MAX_DUR + 20], [T.MAX_DUR + 4, 6], [90, 90])
    v = T.default_vocab()
    tok = T.encode(seq, v)
    assert tok.pitch.tolist() == [T.PITCH0 + 60, T.TIE, T.REST, T.PITCH0 + 62]
    assert tok.art.tolist() == [v.art_rest_id, T.PAD, T.PAD, T.ART0]
    assert T.decode(tok, v).duration.tolist() == [T.MAX_DUR + 4, 6]
    old = replace(v, art_rest=False)                                  # a vocabulary from before the class
    assert T.encode(seq, old).art.tolist() == [T.ART0, T.PAD, T.PAD, T.ART0]
    assert old.sizes["art"] == v.sizes["art"] - 1 and T.Vocab.from_json(old.to_json()) == old


def test_a_sampled_class_a_note_cannot_have_still_decodes_to_one_event():
    """Staccato on a half note: the shortest length that stays one event (CLOSE_GAPS short)."""
    back = T.decode_events([T.PITCH0 + 60, T.PITCH0 + 62], [T.DUR0 + 24, T.DUR0 + 6], art_ids=[T.ART0 + 3, T.ART0],
                           vel_ids=[T.VEL0, T.VEL0])
    assert back.duration.tolist() == [24 - T.CLOSE_GAPS, 6]
    assert T.decode_events([T.PITCH0 + 60], [T.DUR0 + 3], art_ids=[T.ART0 + 3]).duration.tolist() == [1]


def test_tempo_and_performer_ids():
    v = T.vocab_for([replace(NoteSequence.empty(), performer=p) for p in ("Chet Baker", "ArtPepper", "ArtPepper", "")])
    assert v.performers == ("ArtPepper", "Chet Baker") and v.performer_solos == (2, 1)
    assert v.find_performer("chetbaker") == "Chet Baker" and v.find_performer("ART PEPPER") == "ArtPepper"
    with pytest.raises(UsageError, match="no such performer"):
        v.find_performer("Bird")
    seq = replace(hand_seq([60], [0], [12], tempos=[Tempo(0, 300.0)]), performer="ArtPepper")
    tok = T.encode(seq, v)
    assert tok.performer.tolist() == [T.PERFORMER0] and tok.tempo.tolist() == [T.TEMPO0 + 7]
    assert T.encode(replace(seq, performer="Bird"), v).performer.tolist() == [T.PERFORMER_UNKNOWN]
    slow = T.encode(hand_seq([60], [0], [12], tempos=[Tempo(0, 50.0)]))
    assert slow.tempo.tolist() == [T.TEMPO0] and v.tempo_id(MIDI_DEFAULT_QPM) == T.TEMPO0 + 3


def hand_seq(pitch, start, dur, chords=(), **kw) -> NoteSequence:
    n = len(pitch)
    return NoteSequence(pitch, start, dur, np.full(n, 90), chords=list(chords), **kw)


def test_long_notes_and_rests_split_and_rejoin():
    long_note, long_rest = 3 * T.MAX_DUR + 5, 2 * T.MAX_DUR + 1
    seq = hand_seq([60, 62], [long_rest, long_rest + long_note], [long_note, 1])
    tok = T.encode(seq)
    assert tok.pitch.tolist() == [T.REST, T.REST, T.REST, T.PITCH0 + 60, T.TIE, T.TIE, T.TIE, T.PITCH0 + 62]
    lengths = T.durations_steps(tok.dur)
    assert lengths.max() <= T.MAX_DUR and lengths.sum() == seq.end
    back = T.decode(tok)
    assert back.pitch.tolist() == [60, 62] and back.start.tolist() == seq.start.tolist()
    assert back.duration.tolist() == seq.duration.tolist()


def test_a_tie_after_a_rest_is_dropped_not_glued():
    back = T.decode_events([T.REST, T.TIE, T.PITCH0 + 60], [T.DUR0 + 4, T.DUR0 + 4, T.DUR0 + 2])
    assert back.pitch.tolist() == [60] and back.start.tolist() == [8] and back.duration.tolist() == [2]


def test_conditioning_follows_chords_and_meter():
    seq = hand_seq([60, 62, 64], [0, 30, 36], [12, 6, 12], chords=[ChordChange(0, "Bb7"), ChordChange(36, "Ebmaj7")],
                   time_signatures=[TimeSignature(0, 3, 4)])
    tok = T.encode(seq)     # events: note 0, rest 12..30, note 30, note 36
    assert tok.root.tolist() == [2 + 10, 2 + 10, 2 + 10, 2 + 3]
    assert tok.beat.tolist() == [1, 2, 3, 1] and tok.sub.tolist() == [1, 1, 7, 1]


def test_vocab_json_round_trip():
    v = T.default_vocab(("ArtPepper", "ChetBaker"), (6, 3))
    back = T.Vocab.from_json(v.to_json())
    assert back == v and back.sizes == v.sizes and back.sizes["performer"] == T.PERFORMER0 + 2
    assert v.sizes["pitch"] == T.PITCH0 + 128 and v.sizes["dur"] == T.DUR0 + T.MAX_DUR + 1
    bad = v.to_json().replace(f'"grid": {GRID}', '"grid": 16')
    with pytest.raises(ValueError, match="grid 16"):
        T.Vocab.from_json(bad)


def test_a_vocab_from_before_dynamics_says_retrain():
    import json
    old = {k: v for k, v in json.loads(T.default_vocab().to_json()).items()
           if k in ("grid", "max_dur", "max_beat", "qualities", "sizes")}
    with pytest.raises(ModelError, match="predates dynamics.*retrain"):
        T.Vocab.from_json(json.dumps(old))


def test_unknown_chord_symbol_reads_as_no_chord():
    seq = hand_seq([60, 62], [0, 12], [12, 12], chords=[ChordChange(0, "C7"), ChordChange(12, "Hmaj7?")])
    tok = T.encode(seq)
    none_qual = 1 + T.default_vocab().qualities.index("none")
    assert tok.root.tolist() == [2, T.ROOT_NONE] and tok.qual.tolist()[1] == none_qual


def test_ids_stay_inside_the_vocabulary_on_corpus_files():
    sizes = T.default_vocab().sizes
    for path in corpus_files()[::40]:
        tok = T.encode(read_midi(path)[0])
        for f, a in tok.arrays().items():
            lowest = T.PAD if f in ("art", "vel") else 1            # PAD: rests and ties
            table = {"next_root": "root", "next_qual": "qual"}.get(f, f)
            assert a.min() >= lowest and a.max() < sizes[table], (path.name, f)


def test_the_chord_ahead_skips_repeats_and_counts_the_steps_to_it():
    seq = hand_seq([60, 62, 64, 65, 67, 69], [0, 12, 23, 48, 60, 100], [6, 6, 6, 6, 6, 6],
                   chords=[ChordChange(6, "Dm7"), ChordChange(24, "G7"), ChordChange(48, "G7"),
                           ChordChange(60, "C"), ChordChange(100, "N.C.")])
    nxt_root, nxt_qual, change = T.next_chord_ids(seq, np.array([0, 6, 12, 23, 24, 47, 59, 99, 100]))
    q = lambda name: 1 + T.default_vocab().qualities.index(name)   # noqa: E731
    g, c, d = T.ROOT0 + 7, T.ROOT0, T.ROOT0 + 2
    assert nxt_root.tolist() == [d, g, g, g, c, c, c, T.ROOT_NONE, T.ROOT_NONE]   # the repeated G7 is no change
    assert nxt_qual.tolist() == [q("min7"), q("dom7"), q("dom7"), q("dom7"), q("maj"), q("maj"), q("maj"),
                                 q("none"), q("none")]
    # 6 steps, 18, 12, 1, 36, 13, 1, 1 away; nothing after N.C.
    assert change.tolist() == [2, 4, 3, 1, 5, 4, 1, 1, T.CHANGE_NONE]
    tok = T.encode(seq)                                 # an event's ids are those at its onset
    assert tok.next_root[tok.pitch == T.PITCH0 + 64].tolist() == [g]
    up = T.transpose(tok, 2)
    assert ((up.next_root - tok.next_root)[tok.next_root >= T.ROOT0] % 12 == 2).all()
    assert (up.next_root[tok.next_root < T.ROOT0] == T.ROOT_NONE).all()
    # changes listed out of order, and two at one step (the later listed sounds: notes.chord_index)
    at = np.arange(110)
    shuffled = replace(seq, chords=[seq.chords[i] for i in (3, 0, 4, 2, 1)] + [ChordChange(60, "Eb7"),
                                                                              ChordChange(60, "C")])
    for x, y in zip(T.next_chord_ids(shuffled, at), T.next_chord_ids(seq, at)):
        np.testing.assert_array_equal(x, y)


def test_transposition_moves_notes_and_chords_together():
    seq = hand_seq([58, 62, 65], [0, 12, 24], [12, 12, 12],
                   chords=[ChordChange(0, "Bb7"), ChordChange(24, "Ebm7"), ChordChange(30, "N.C.")],
                   key_signatures=[KeySignature(0, -2, False)], tempos=[Tempo(0, 120.0)])
    tok = T.encode(seq)
    up = T.transpose(tok, 2)
    assert (up.pitch[up.pitch >= T.PITCH0] - tok.pitch[tok.pitch >= T.PITCH0] == 2).all()
    assert [c.symbol for c in up.seq.chords] == ["C7", "Fm7", "N.C."]
    assert up.seq.key_signatures == [KeySignature(0, 0, False)]   # Bb major + 2 = C major
    roots = tok.root >= 2
    assert ((up.root[roots] - tok.root[roots]) % 12 == 2).all() and (up.root[~roots] == tok.root[~roots]).all()
    assert T.decode(up).pitch.tolist() == [60, 64, 67]
    with pytest.raises(ValueError, match="MIDI range"):
        T.transpose(T.encode(hand_seq([126], [0], [4])), 3)


# ---------------------------------------------------------------------------- any meter

def meter_file(tmp_path, name, sigs, notes, chords=()):
    """A file with time signatures [(beat, num, den)], notes [(pitch, beat, beats)], chord markers, 120 qpm."""
    return save_midi(tmp_path / name, Track(notes, meter=list(sigs), tempo=120, markers=chords))


@pytest.mark.parametrize("meter, onsets, beat, sub", [
    # 3/4: bars of 3 quarters; beat 3 then the next downbeat
    ((3, 4), [0, 1, 2, 2.5, 3, 4.5], [1, 2, 3, 3, 1, 2], [1, 1, 1, 7, 1, 7]),
    # 6/8: bars of 3 quarters (36 steps); the second dotted quarter is beat 2, step 6
    ((6, 8), [0, 0.5, 1.5, 2.5, 3, 4.5], [1, 1, 2, 3, 1, 2], [1, 7, 7, 7, 1, 7]),
])
def test_three_four_and_six_eight_round_trip_with_their_beat_ids(tmp_path, meter, onsets, beat, sub):
    notes = [(60 + i, s, 0.5) for i, s in enumerate(onsets)]
    path = meter_file(tmp_path, "m.mid", [(0, *meter)], notes, [(0, "Dm7"), (3, "G7")])
    seq, _ = read_midi(path)
    assert seq.time_signatures == [TimeSignature(0, *meter)]
    assert [c.step for c in seq.chords] == [0, 36]
    tok = T.encode(seq)
    is_note = tok.pitch >= T.PITCH0
    assert tok.beat[is_note].tolist() == beat and tok.sub[is_note].tolist() == sub
    out = tmp_path / "back.mid"
    write_midi(out, T.decode(tok))
    back, _ = read_midi(out)
    assert np.array_equal(back.start, seq.start) and np.array_equal(back.pitch, seq.pitch)
    assert np.array_equal(back.duration, seq.duration)
    assert back.time_signatures == seq.time_signatures and back.chords == seq.chords
    assert np.array_equal(T.encode(back).beat, tok.beat)


def test_meter_changes_mid_file_restart_the_bar_count(tmp_path):
    # two bars of 4/4, then 3/4 (bars of 3 beats from beat 8), then 6/8 from beat 14
    sigs = [(0, 4, 4), (8, 3, 4), (14, 6, 8)]
    onsets = [0, 4, 7, 8, 11, 13, 14, 15.5, 17]
    path = meter_file(tmp_path, "mixed.mid", sigs, [(62, s, 0.5) for s in onsets])
    seq, _ = read_midi(path)
    assert [(t.step, t.numerator, t.denominator) for t in seq.time_signatures] == [(0, 4, 4), (96, 3, 4), (168, 6, 8)]
    tok = T.encode(seq)
    is_note = tok.pitch >= T.PITCH0
    assert tok.beat[is_note].tolist() == [1, 1, 4, 1, 1, 3, 1, 2, 1]
    bar, _ = seq.bar_position(seq.start)
    assert bar.tolist() == [0, 1, 1, 2, 3, 3, 4, 4, 5]
    assert [b for b in seq.bars(seq.end)][:6] == [(0, 48), (48, 48), (96, 36), (132, 36), (168, 36), (204, 36)]
    out = tmp_path / "back.mid"
    write_midi(out, T.decode(tok))
    back, _ = read_midi(out)
    assert back.time_signatures == seq.time_signatures and np.array_equal(back.start, seq.start)


def test_training_windows_carry_any_meter():
    from jazzgen.data.dataset import make_windows
    seq = hand_seq([60, 62, 64, 65], [0, 12, 24, 36], [12, 12, 12, 12], time_signatures=[TimeSignature(0, 3, 4)])
    w = make_windows([T.encode(seq)], length=4)
    assert w.arrays["beat"][0].tolist() == [1, 2, 3, 1]
