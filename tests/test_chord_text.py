"""Chord symbols are text: every spelling a musician types parses, and survives a MIDI file.

Markers are written as UTF-8 and read as UTF-8, falling back to latin-1 for files from
tools that write that; BOMs and zero-width characters are dropped wherever text enters.
"""
import struct

import mido
import numpy as np
import pytest

from jazzgen.commands import generate as jgen
from jazzgen.music import chart as C
from jazzgen.music.chords import parse_changes, parse_chord, transpose_symbol
from jazzgen.music.midi_io import read_midi, read_midi_bytes, write_midi
from jazzgen.music.midi_write import meta_event, to_track
from jazzgen.music.notes import ChordChange, NoteSequence, TimeSignature

# (as typed, an ASCII spelling of the same chord)
SPELLINGS = [
    ("C△7", "Cmaj7"), ("C∆7", "Cmaj7"), ("CΔ7", "Cmaj7"), ("C△", "Cmaj7"), ("C∆", "Cmaj7"),
    ("C▵7", "Cmaj7"), ("C-△7", "Cm(maj7)"), ("C−∆7", "Cm(maj7)"),
    ("B♭7", "Bb7"), ("F♯m7", "F#m7"), ("E♭♭", "Ebb"), ("C7♯11", "C7#11"), ("C7♭9", "C7b9"),
    ("F#m7♭5", "F#m7b5"), ("C7(♯9,♭13)", "C7#9b13"), ("D♭Δ7/A♭", "Dbmaj7/Ab"),
    ("Cø", "Cm7b5"), ("Cø7", "Cm7b5"), ("CØ7", "Cm7b5"), ("C⌀7", "Cm7b5"),
    ("C°", "Cdim"), ("C°7", "Cdim7"), ("Cº7", "Cdim7"), ("C˚7", "Cdim7"),
    ("C−7", "Cm7"), ("C–7", "Cm7"), ("C—7", "Cm7"), ("C‐7", "Cm7"), ("E♭−7", "Ebm7"),
    ("C⁷", "C7"), ("C⁷⁽♭⁹⁾", "C7b9"), ("Cm⁷", "Cm7"),
    ("Ｃｍ７", "Cm7"), ("Ｆ＃７", "F#7"), ("Ｂｂｍａｊ７", "Bbmaj7"), ("Ｄｍ７／Ｇ", "Dm7/G"),
    ("C\u00a07", "C7"), ("Ｎ．Ｃ．", "N.C."), ("N.C.", "N.C."),
]


def same(a, b):
    return (a.root, a.bass, a.quality, a.pcs) == (b.root, b.bass, b.quality, b.pcs)


@pytest.mark.parametrize("typed, ascii_", SPELLINGS)
def test_spelling_parses_like_its_ascii_form(typed, ascii_):
    assert same(parse_chord(typed), parse_chord(ascii_))
    assert parse_chord(typed).symbol == typed                       # kept as written


@pytest.mark.parametrize("typed", ["\ufeffC7", "C7\ufeff", "C\u200b7", "\u200dC7\u2060"])
def test_invisible_characters_are_dropped(typed):
    c = parse_chord(typed)
    assert c.symbol == "C7" and c.quality == "dom7"


def test_transpose_keeps_the_suffix_as_written():
    assert transpose_symbol("C△7", 2) == "D△7"
    assert transpose_symbol("F#m7♭5", 1) == "Gm7♭5"
    assert transpose_symbol("Ｄｍ７／Ｇ", 2) == "Eｍ７/A"
    assert transpose_symbol("D♭Δ7/A♭", 2) == "EbΔ7/Bb"


def test_changes_with_a_bom_and_full_width_bars():
    assert parse_changes("\ufeffC△7 ｜ F#m7♭5 | ％") == [["C△7"], ["F#m7♭5"], ["F#m7♭5"]]


def test_every_spelling_survives_a_midi_file_as_a_marker(tmp_path):
    syms = [t for t, _ in SPELLINGS]
    chords = [ChordChange(16 * i, s) for i, s in enumerate(syms)]
    n = len(syms)
    seq = NoteSequence(np.full(n, 60), 16 * np.arange(n), np.full(n, 8), np.full(n, 90), chords=chords,
                       time_signatures=[TimeSignature(0, 4, 4)], end=16 * n)
    path = tmp_path / "all.mid"
    write_midi(path, seq)
    back, rep = read_midi(path)
    assert rep.ignored_markers == []
    assert [c.symbol for c in back.chords] == syms                   # the marker text is unchanged
    for c, (typed, _) in zip(back.chords, SPELLINGS):
        assert same(parse_chord(c.symbol), parse_chord(typed))
    markers = [m.text for m in mido.MidiFile(str(path), charset="utf-8").tracks[0] if m.type == "marker"]
    assert markers == syms                                           # UTF-8 bytes in the file


def _one_note_file(marker: bytes, kind: int = 0x06) -> bytes:
    ev = [(0, 4, *meta_event(kind, marker)), (0, 7, 0x90, bytes((60, 90))), (480, 6, 0x80, bytes((60, 0)))]
    return b"MThd" + (6).to_bytes(4, "big") + struct.pack(">hhh", 1, 1, 480) + to_track(ev, 960)


@pytest.mark.parametrize("kind", [0x06, 0x01])   # a marker, a plain text event
def test_latin1_marker_from_another_tool_still_reads(kind):
    seq, rep = read_midi_bytes(_one_note_file("Cø7".encode("latin-1"), kind))
    assert [c.symbol for c in seq.chords] == ["Cø7"] and parse_chord("Cø7").quality == "m7b5"


def test_marker_with_a_bom_reads_without_it():
    seq, _ = read_midi_bytes(_one_note_file("\ufeffC△7".encode("utf-8")))
    assert [c.symbol for c in seq.chords] == ["C△7"]


def test_chart_file_with_a_bom_and_unicode(tmp_path):
    f = tmp_path / "chart.txt"
    f.write_bytes("\ufeffC△7 | F#m7♭5 | C7♯11\n".encode("utf-8"))
    ch = C.build_chart(chart_file=f)
    assert [c.symbol for c in ch.changes] == ["C△7", "F#m7♭5", "C7♯11"]


def test_generate_writes_markers_as_typed(gen_model, tmp_path):
    out = tmp_path / "out"
    code = jgen.main(["--model", str(gen_model.path), "--out", str(out), "--seconds", "8", "--seed", "3",
                      "--bpm", "120", "--chords", "\ufeffC△7 | F#m7♭5 | C7♯11"])
    assert code == 0
    [midi] = list(out.glob("*.mid"))
    seq, rep = read_midi(midi)
    assert [c.symbol for c in seq.chords][:3] == ["C△7", "F#m7♭5", "C7♯11"] and rep.ignored_markers == []


def test_form_and_key_as_typed():
    from jazzgen.music.chords import form_changes
    assert form_changes("\ufeffblues", "B♭")[0] == ["Bb7"]
    assert form_changes("minor-blues", "Ｃ−")[0] == ["Cm7"]
