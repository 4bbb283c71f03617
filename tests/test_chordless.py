"""A folder of band arrangements with no chord symbols: the reader finds the solo and infers
the changes from the band, with the roots of the original markers on most beats.

The files are written by scripts/tools/chordless_folder_check.py's own writer (the solo as a
track named "Sax", jazzgen's trio from the markers, the markers left out), so this test
checks the premise that script's training comparison rests on; no model is trained here.
"""
from __future__ import annotations

import mido

from conftest import WJAZZD
from jazzgen.data.corpus import load_corpus
from jazzgen.evaluation import chord_accuracy
from jazzgen.music.midi_io import read_midi

SOLOS = ["ArtPepper_Anthropology_FINAL.mid", "CliffordBrown_I'llRememberApril_FINAL.mid",
         "JohnColtrane_Mr.P.C._FINAL.mid"]


def test_band_files_without_symbols_get_the_markers_roots_inferred(tmp_path):
    check = chord_accuracy
    folder = tmp_path / "band"
    folder.mkdir()
    originals = {}
    for i, name in enumerate(SOLOS):
        seq, rep = read_midi(WJAZZD / name)
        assert rep.chord_source == "markers" and len(seq.chords) > 10
        originals[seq.name] = seq
        check.write_arrangement(folder / name, seq, "trio", seed=i)

    for f in folder.glob("*.mid"):
        mf = mido.MidiFile(f)
        assert check.symbol_events(f) == []
        names = [m.name for tr in mf.tracks for m in tr if m.type == "track_name"]
        assert names == ["Conductor", "Sax", "Piano", "Bass", "Drums"]

    corpus = load_corpus(folder, None, progress=False)
    assert len(corpus.songs) == 3 and not corpus.dropped
    for r in corpus.reports:
        assert r.chord_source == "inferred"
        assert (r.track, r.track_reason) == ("Sax", "highest monophonic part")
        assert r.chord_coverage > 0.8
    for s in corpus.songs:
        want = originals[s.name]
        assert len(s) == len(want) and (s.pitch == want.pitch).all() and (s.start == want.start).all()
        n, hits = check.root_accuracy([s], originals)
        assert n > 100 and hits / n > 0.8, (s.name, hits, n)


def test_melody_only_files_have_no_chords_at_all(tmp_path):
    check = chord_accuracy
    seq, _ = read_midi(WJAZZD / SOLOS[0])
    check.write_arrangement(tmp_path / "solo.mid", seq, "none")
    assert check.symbol_events(tmp_path / "solo.mid") == []
    got, rep = read_midi(tmp_path / "solo.mid")
    assert rep.chord_source == "none" and got.chords == []
    assert (got.pitch == seq.pitch).all() and rep.track == "Sax"


def test_the_triad_check_scores_a_chord_track_of_triads(tmp_path):
    """scripts/tools/chord_accuracy.py --triads: a tune (no markers) over a chord track of plain
    triads, G - C - D7 (not a triad: not scored) - G; every scored beat's
    inferred root must be the triad's, and the melody's notes must not count as chord."""
    import numpy as np

    from jazzgen.music.midi_io import Part, write_midi
    from jazzgen.music.notes import GRID, NoteSequence, TimeSignature
    acc = chord_accuracy
    assert acc.triad_root({7, 11, 2}) == 7 and acc.triad_root({7, 0, 4}) == 0 and acc.triad_root({2, 6, 9, 0}) is None
    bar = 4 * GRID
    tune = np.array([67, 71, 74, 72, 76, 79, 74, 78, 72, 71, 74, 79, 67, 71, 74, 79])
    start = np.arange(16) * GRID
    seq = NoteSequence(tune, start, np.full(16, GRID), np.full(16, 90),
                       time_signatures=[TimeSignature(0, 4, 4)], end=4 * bar)
    voicings = [(43, 47, 50), (48, 52, 55), (38, 42, 45, 48), (43, 47, 50)]
    p, s = zip(*[(q, k * bar + b * GRID) for k, v in enumerate(voicings) for b in range(4) for q in v])
    chords = Part("Chords", 0, 1, np.array(p), np.array(s), np.full(len(p), GRID), np.full(len(p), 70))
    folder = tmp_path / "folk"
    folder.mkdir()
    write_midi(folder / "tune.mid", seq, [chords])
    n, hits = acc.triad_roots(folder)
    assert n == 12 and hits == 12
