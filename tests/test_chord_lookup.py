"""The chord sounding at a time, looked up in one place (music.notes.chord_index) and read the
same way by every stage: tokens, the band, the metrics, the listener's reader, chord inference.

The boundaries pinned: a note starting exactly on a change hears the new chord; a note before
the first change hears none (never the last chord, as a table indexed with -1 would give); a
note after the last change hears the last chord; of two changes at one step the later listed.
"""
from __future__ import annotations

import numpy as np
import pytest

from conftest import Track, save_midi
from jazzgen.data import tokens as T
from jazzgen.evaluation.metrics import chord_tone_rates
from jazzgen.generation.band import _chords_per_step
from jazzgen.music.chord_infer import chord_per_frame
from jazzgen.music.notes import GRID, NO_CHORD, ChordChange, NoteSequence, chord_index, per_chord
from jazzgen.music.performed import read_performed

# changes at beats 1, 4 and 8 (steps 12, 48, 96); notes before, on and around them and long after
CHANGES = [ChordChange(12, "Dm7"), ChordChange(48, "G7"), ChordChange(96, "Cmaj7")]
ONSETS = [0, 11, 12, 47, 48, 95, 96, 500]
ROOTS = [-1, -1, 2, 2, 7, 7, 0, 0]              # what each onset hears (-1: no chord yet)


def solo(pitches=None) -> NoteSequence:
    n = len(ONSETS)
    pitch = pitches if pitches is not None else [60] * n
    return NoteSequence(pitch, ONSETS, [1] * n, [90] * n, chords=list(CHANGES), end=512)


def test_chord_index_at_the_boundaries():
    starts = [c.step for c in CHANGES]
    assert chord_index(starts, ONSETS).tolist() == [-1, -1, 0, 0, 1, 1, 2, 2]
    assert chord_index([], [0, 100]).tolist() == [-1, -1]           # no changes: never a chord
    assert chord_index(starts, []).tolist() == []


def test_two_changes_at_one_step_and_unsorted_changes():
    assert chord_index([0, 48, 48], [47, 48, 60]).tolist() == [0, 2, 2]    # the later listed wins
    assert chord_index([48, 0, 96], [0, 47, 48, 100]).tolist() == [1, 1, 0, 2]   # indices into the list as given
    assert chord_index([48, 0, 48], [10, 50]).tolist() == [1, 2]


def test_per_chord_reads_none_before_the_first_chord():
    idx = chord_index([12, 48], [0, 12, 60])
    assert per_chord(["Dm7", "G7"], idx, NO_CHORD).tolist() == [NO_CHORD, "Dm7", "G7"]
    sets = per_chord([(frozenset({2, 5}), 1), None], idx, "none")          # tuples stay whole
    assert sets[0] == "none" and sets[1] == (frozenset({2, 5}), 1) and sets[2] is None
    assert per_chord([3, 4], idx, -1, np.int16).dtype == np.int16


def test_every_stage_hears_the_same_chord_at_each_note():
    seq = solo()
    assert seq.roots_at(seq.start).tolist() == ROOTS
    root, qual = T.chord_ids(seq, seq.start)
    assert [(-1 if r == T.ROOT_NONE else r - T.ROOT0) for r in root.tolist()] == ROOTS
    assert [q == 1 for q in qual.tolist()] == [r < 0 for r in ROOTS]    # quality "none" before the first
    band = _chords_per_step(seq, seq.start)
    assert [(-1 if h is None else h.root) for h in band] == ROOTS
    frames = chord_per_frame(CHANGES, np.array(ONSETS))
    assert frames[:2] == [NO_CHORD] * 2 and frames[2:] == ["Dm7", "Dm7", "G7", "G7", "Cmaj7", "Cmaj7"]


def test_chord_tone_rate_counts_each_note_under_its_own_chord():
    # each note is the root of the chord it should hear; the first two (no chord yet) are left out:
    # read one step off at a change, or with the last chord before the first, the rate drops
    pitches = [61, 61, 62, 62, 67, 67, 60, 60]
    assert chord_tone_rates(solo(pitches)) == (1.0, 1.0)
    assert chord_tone_rates(solo([61] * 8)) == (0.0, 0.0)


def test_the_listeners_reader_hears_the_same_at_tick_resolution(tmp_path):
    beats = [o / GRID for o in ONSETS]
    notes = [(p, b, 0.25) for p, b in zip([61, 61, 62, 62, 67, 67, 60, 60], beats)]   # each chord's root
    markers = [(c.step / GRID, c.symbol) for c in CHANGES]
    s = read_performed(save_midi(tmp_path / "s.mid", Track(notes, name="Melody", meter=(4, 4), tempo=120,
                                                           markers=markers)))
    assert s.chord_symbols == ["Dm7", "G7", "Cmaj7"]
    assert s.chord_root.tolist() == ROOTS
    assert s.chord_tone().tolist() == [-1, -1, 1, 1, 1, 1, 1, 1]


@pytest.mark.parametrize("symbol", ["N.C.", "Zz7"])
def test_no_chord_and_an_unreadable_symbol_read_as_none(symbol):
    seq = NoteSequence([60], [20], [1], [90], chords=[ChordChange(0, "C7"), ChordChange(12, symbol)], end=48)
    assert seq.roots_at([0, 12, 20]).tolist() == [0, -1, -1]
    assert _chords_per_step(seq, np.array([20]))[0] is None
