"""The lead sheet: notation a reader expects, valid MusicXML, the engraved SVG.

The schema check uses the W3C MusicXML 4.0 XSD kept in tests/data/musicxml/ (with lxml);
the re-read uses music21: evaluation.musicxml_check, which scripts/tools/check_musicxml.py runs on 50 takes.
"""
from __future__ import annotations

import re

import numpy as np

from jazzgen.evaluation import musicxml_check as check
from jazzgen.generation import leadsheet as L
from jazzgen.music.notes import ChordChange, NoteSequence, Tempo, TimeSignature


def line(notes, end, meter=(4, 4), chords=(("F7", 0),)) -> NoteSequence:
    """A solo of (pitch, start, duration) in steps."""
    p, s, d = (list(x) for x in zip(*notes)) if notes else ([], [], [])
    seq = NoteSequence(p, s, d, [100] * len(p), end=end)
    seq.time_signatures = [TimeSignature(0, *meter)]
    seq.tempos = [Tempo(0, 160.0)]
    seq.chords = [ChordChange(step, sym) for sym, step in chords]
    return seq


def pieces(seq):
    return [p for b in L.notate(seq) for p in b.pieces]


def test_swung_eighths_are_written_as_beamed_eighths():
    seq = line([(60, 0, 7), (62, 8, 4), (64, 12, 7), (65, 20, 4)], 48)   # long-short, as played
    ps = pieces(seq)
    notes = [p for p in ps if p.pitch >= 0]
    assert [(p.start, p.kind, p.tuplet) for p in notes] == [(0, "eighth", False), (6, "eighth", False),
                                                            (12, "eighth", False), (18, "eighth", False)]
    assert [p.beams for p in notes] == [((1, "begin"),), ((1, "end"),)] * 2
    assert [(p.start, p.kind) for p in ps if p.pitch < 0] == [(24, "half")]


def test_triplets_and_sixteenths_keep_their_grid():
    seq = line([(60, 0, 4), (62, 4, 4), (64, 8, 4), (65, 12, 3), (67, 15, 3), (69, 18, 6)], 48)
    ps = [p for p in pieces(seq) if p.pitch >= 0]
    assert [p.tuplet for p in ps] == [True] * 3 + [False] * 3
    assert [p.brackets for p in ps[:3]] == [("start",), (), ("stop",)]
    assert [p.kind for p in ps] == ["eighth"] * 3 + ["16th", "16th", "eighth"]
    assert ps[3].beams == ((1, "begin"), (2, "begin")) and ps[5].beams == ((1, "end"),)


def test_ties_across_the_bar_and_the_half_bar_only():
    # an off-beat quarter stays one value; a note from beat 4 over the bar line is tied there
    seq = line([(60, 6, 12), (62, 36, 24), (64, 72, 24)], 96)
    ps = [p for p in pieces(seq) if p.pitch >= 0]
    assert [(p.pitch, p.start, p.kind, p.tie_start, p.tie_stop) for p in ps] == [
        (60, 6, "quarter", False, False),
        (62, 36, "quarter", True, False), (62, 48, "quarter", False, True),
        (64, 72, "half", False, False)]


def test_a_silent_bar_is_one_whole_bar_rest_and_notes_are_never_lost():
    rng = np.random.default_rng(0)
    seq = line([(60, 48, 12)], 96)
    assert pieces(seq)[0].kind == "" and pieces(seq)[0].length == 48
    start = np.cumsum(rng.integers(1, 20, 300))
    seq = line([(int(60 + k % 12), int(s), 1) for k, s in enumerate(start)], int(start[-1]) + 12)
    assert len([p for p in pieces(seq) if p.pitch >= 0 and not p.tie_stop]) == 300   # however dense


def test_musicxml_validates_and_rereads(tmp_path):
    seq = line([(61, 0, 40), (66, 60, 5), (70, 66, 30)], 144,
               chords=(("C#m7", 0), ("Gb7/Bb", 48), ("Zz7", 96), ("N.C.", 120)))
    data = L.musicxml_bytes(seq, program=65)
    assert check.schema_errors(check.schema(), data) == []
    assert check.reread_errors(seq, data) == []
    text = data.decode()
    assert '<kind text="m7">minor-seventh</kind>' in text and "<bass-step>B</bass-step>" in text
    assert "<words>Zz7</words>" in text                         # unreadable: shown as written
    assert text.count("<measure ") == 3 and "<midi-program>66</midi-program>" in text
    assert L.musicxml_bytes(seq, program=65) == data            # same solo, same bytes
    spelled = re.findall(r"<step>([A-G])</step><alter>(-?1)</alter>", text)
    assert spelled[:2] == [("C", "1"), ("C", "1")]              # C#, tied across the bar: still C#


def test_random_takes_validate_and_reread(gen_model):
    from jazzgen.generation.takes import load_stepper
    assert check.check(load_stepper(gen_model.path), 3, seed=5, quiet=True) == 3


def test_engraved_svg_has_every_bar_and_note():
    seq = line([(60, 0, 7), (62, 8, 4), (64, 12, 24), (65, 60, 30)], 144)
    data = L.musicxml_bytes(seq)
    svg = L.leadsheet_svg(data)
    assert svg.startswith("<svg") and len(re.findall(r'data-class="measure"', svg)) == 3
    assert len(re.findall(r'data-class="note"', svg)) == data.decode().count("<pitch>")
    assert len(re.findall(r'data-class="harm"', svg)) == 1
    assert L.leadsheet_svg(data) == svg
