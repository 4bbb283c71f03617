"""The listener (issue 20): the reader keeps ticks; the classifiers separate what differs and
nothing else; the idiom measures count what they say."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from conftest import ROOT, Track, save_midi, subprocess_env
from jazzgen.errors import MidiError
from jazzgen.evaluation import idiom, listener
from jazzgen.evaluation.listener_features import FEATURES, GROUPS, columns, held_bin, window_features
from jazzgen.music.performed import read_performed
from jazzgen.paths import WJAZZD

SOLOS = sorted(WJAZZD.glob("*.mid"))[:40:2]        # 20 real solos, a small subset


@pytest.fixture(scope="module")
def real():
    return [read_performed(p) for p in SOLOS]


def on_grid(s):
    """The same notes moved onto the 12-per-beat grid, struck at 11 loudnesses: jazzgen's reading."""
    step = s.tpq // 12
    on = np.rint(s.onset / step).astype(np.int64) * step
    ln = np.maximum(np.rint(s.length / step), 1).astype(np.int64) * step
    levels = np.array([75, 85, 92, 98, 103, 106, 109, 112, 115, 118, 122])
    vel = levels[np.abs(s.velocity[:, None] - levels[None, :]).argmin(1)]
    return replace(s, onset=on, length=ln, velocity=vel)


def test_reader_keeps_ticks_velocities_and_markers(tmp_path):
    notes = [(60, 0, 229 / 480, 101), (62, 0.5, 197 / 480, 87), (64, 1.1, 1.0, 64), (67, 4.0, 59 / 480, 99)]
    path = save_midi(tmp_path / "s.mid", Track(notes, name="Melody", meter=(4, 4), tempo=160,
                                               markers=[(0, "Dm7"), (4, "G7")]),
                     Track([(36, 0, 1.0), (40, 0, 1.0)], name="Bass", channel=1))
    s = read_performed(path)
    assert s.tpq == 480 and s.onset.tolist() == [0, 240, 528, 1920]
    assert s.length.tolist() == [229, 197, 480, 59]                    # as played, not on a 40-tick grid
    assert s.velocity.tolist() == [101, 87, 64, 99]
    assert s.chord_symbols == ["Dm7", "G7"] and s.chord_root.tolist() == [2, 2, 2, 7]
    assert s.chord_tone().tolist() == [1, 1, 0, 1]                      # C, D in Dm7; E is not; G in G7
    assert s.bar_starts.tolist() == [0, 1920]                          # the file ends in bar 2
    assert read_performed(path, track="Bass").pitch.tolist() == [40]    # a chord: its highest note


def test_reader_one_line_errors(tmp_path):
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd nonsense")
    with pytest.raises(MidiError, match="cannot read MIDI"):
        read_performed(bad)
    drums = save_midi(tmp_path / "d.mid", Track([(36, 0, 1)], channel=9))
    with pytest.raises(MidiError, match="no pitched track"):
        read_performed(drums)


def test_features_are_named_and_finite(real):
    x = window_features(real[0])
    assert x.shape[1] == len(FEATURES) and len(x) > 10 and np.isfinite(x).all()
    assert len(columns(("sounding", "articulation:detached"))) == 20
    with pytest.raises(ValueError, match="unknown listener features"):
        columns(("loudness",))
    assert set(GROUPS) >= {"interval", "sounding", "bigram", "contour", "timing"}
    assert held_bin(np.array([1 / 8, 0.125 * 1.05, 1 / 6, 0.5, 9.0])).tolist() == [2, 2, 3, 7, 18]


def test_listener_hears_the_grid(real):
    """Real solos against the same notes read onto the grid: both classifiers tell them apart."""
    res = listener.listen([on_grid(s) for s in real], real, importance=True)
    for name in ("linear", "trees"):
        assert res.verdicts[name].accuracy > 0.85 and res.verdicts[name].auc > 0.9, name
    top = [f for f, *_ in res.differences[:6]]
    assert any(f.startswith(("velocity:distinct", "sounding:", "timing:")) for f in top)
    assert res.verdicts["trees"].importance and "separates most" in listener.markdown(res)


def test_listener_does_not_separate_halves_of_one_set(real):
    res = listener.listen(real[0::2], real[1::2], importance=False)
    for name in ("linear", "trees"):
        assert res.verdicts[name].accuracy < 0.7, (name, res.verdicts[name])


def test_too_few_solos_is_an_error(real):
    with pytest.raises(ValueError, match="too few"):
        listener.listen(real[:3], real[3:6])


def test_formula_use_copies_and_closeness(real):
    train = real[:10]
    t_index = idiom.index(train)
    same = idiom.formulas(train, t_index)
    assert same["formula_use"] == 1.0 and same["copied"] == 1.0
    other = idiom.formulas(real[10:], t_index)
    assert 0 < other["formula_use"] < 0.5 and other["copied"] < other["formula_use"]
    shifted = [replace(s, pitch=s.pitch[::-1].copy()) for s in real[10:]]   # reversed lines: other intervals
    assert idiom.formulas(shifted, t_index)["copied"] < 0.01
    c = idiom.closeness(real[:10], real[:10])
    assert c["sounding_overlap"] == pytest.approx(1.0) and c["detached_overlap"] > 0.95
    grid = idiom.closeness([on_grid(s) for s in real[:10]], real[:10])
    assert grid["sounding_overlap"] < 0.95
    assert 0.3 < c["chord_tone_real"] < 0.8


def test_detached_share_counts_gaps_of_a_twelfth_beat(tmp_path):
    notes = [(60, 0, 0.5), (62, 0.5, 0.45), (64, 1.0, 0.40), (65, 1.5, 0.5)]   # gaps 0, 0.05, 0.1
    s = read_performed(save_midi(tmp_path / "g.mid", Track(notes, name="Melody")))
    assert idiom.detached_share(s) == pytest.approx(1 / 3)


def test_chord_tones_by_where_the_note_starts(tmp_path):
    # C7 over the bar: beat 1 E (tone), the swung off-beat C# (not), beat 2 G (tone), a sixteenth
    # later D (not), beat 3 Bb (tone), 5/12 into beat 3 F (not), beat 4 (off the grid by 1/48) A (not)
    notes = [(64, 0, 0.5), (61, 2 / 3, 0.3), (67, 1, 0.25), (62, 1.25, 0.5), (70, 2, 0.4), (65, 2 + 5 / 12, 0.5),
             (69, 3 + 1 / 48, 0.5)]
    s = read_performed(save_midi(tmp_path / "p.mid", Track(notes, name="Melody", markers=[(0, "C7")])))
    assert idiom.positions(s).tolist() == [0, 2, 1, 3, 0, 3, 1]
    by = idiom.chord_tone_by_position([s])
    assert by == {"strong beat": 1.0, "other beat": 0.5, "off-beat eighth": 0.0, "elsewhere": 0.0}


def test_listening_scores_folders_of_real_files(tmp_path):
    """Three folders of real files, as scripts/tools/listen.py --generated scores them."""
    import shutil

    from jazzgen.evaluation import listening
    for name, files in (("gen", SOLOS[:6]), ("real", SOLOS[6:12]), ("train", SOLOS[12:20])):
        (tmp_path / name).mkdir()
        for f in files:
            shutil.copy(f, tmp_path / name / f.name)
    gen, real, train = listening.folder_sets(tmp_path / "gen", tmp_path / "real", tmp_path / "train")
    assert [len(gen["folder"]), len(real), len(train)] == [6, 6, 8]
    md, summary = listening.listen(gen, real, train, "gen", paired=False)
    assert "| trees (generated vs real) |" in md and "formula use >= 10%" in md
    assert list(summary) == ["folder"] and 0 <= summary["folder"]["listener"]["verdicts"]["trees"]["auc"] <= 1


def test_the_listen_script_refuses_a_folder_alone_in_one_line(tmp_path):
    r = subprocess.run([sys.executable, str(ROOT / "scripts" / "tools" / "listen.py"), "--generated", str(tmp_path)],
                       cwd=tmp_path, env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and r.stderr.strip().endswith("--generated needs --real and --train"), r.stderr
    assert r.stderr.count("\n") == 1


def test_twins_stay_in_one_fold(real):
    """A set against itself: with each solo and its twin in one fold nothing is learnt (0.5); split
    across folds, the classifier learns each tune from one twin and misjudges the other."""
    paired = listener.listen(real, real, classifiers=("linear",), importance=False, paired=True)
    apart = listener.listen(real, real, classifiers=("linear",), importance=False)
    assert paired.verdicts["linear"].accuracy == pytest.approx(0.5, abs=0.02)
    assert apart.verdicts["linear"].accuracy < 0.4
    with pytest.raises(ValueError, match="paired sets"):
        listener.Windows.of(real, real[:-1], paired=True)
