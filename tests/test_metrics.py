import math
import os

import numpy as np
import pytest

from jazzgen.evaluation import metrics as M
from jazzgen.music.notes import ChordChange, NoteSequence, TimeSignature

BAR = 48  # grid steps per 4/4 bar


def seq(pitch, start, duration=None, chords=("C7",), ts=(4, 4)):
    duration = duration if duration is not None else [3] * len(pitch)
    return NoteSequence(pitch=pitch, start=start, duration=duration, velocity=[90] * len(pitch),
                        chords=[ChordChange(0, c) for c in chords],
                        time_signatures=[TimeSignature(0, *ts)])


def test_entropy_one_and_two_pitch_classes():
    one = seq([60, 72, 48, 60], [0, 12, 24, 36])  # all C
    assert M.pitch_class_entropy(one, 1) == 0.0
    two = seq([60, 62, 60, 62], [0, 12, 24, 36])  # C and D, equal counts
    assert M.pitch_class_entropy(two, 1) == pytest.approx(1.0)


def test_entropy_windows():
    # Bar 0: only C (0 bits); bar 1: C and D (1 bit); bar 2 empty (skipped).
    # Bar 3: four pitch classes (2 bits).  H1 = mean(0, 1, 2) = 1.
    s = seq([60, 60, 60, 62, 60, 62, 64, 65],
            [0, 12, BAR, BAR + 12, 3 * BAR, 3 * BAR + 12, 3 * BAR + 24, 3 * BAR + 36])
    assert M.pitch_class_entropy(s, 1) == pytest.approx(1.0)
    # One 4-bar window: counts C=4, D=2, E=1, F=1 of 8.
    p = np.array([4, 2, 1, 1]) / 8
    assert M.pitch_class_entropy(s, 4) == pytest.approx(-(p * np.log2(p)).sum())


def test_grooving_identical_bars():
    on = [0, 12, 18, 36]
    s = seq([60] * 8, on + [BAR + x for x in on])
    assert M.grooving_similarity(s) == 1.0


def test_grooving_hand_computed():
    a = [0, 12, 24, 36]  # quarters
    b = [0, 24]          # half notes: XOR with a = {12, 36} -> 2 of 48 positions
    starts = a + [BAR + x for x in b] + [2 * BAR + x for x in a]
    s = seq([60] * len(starts), starts)
    # pairs: (a,b) 1-2/48, (a,a) 1, (b,a) 1-2/48
    assert M.grooving_similarity(s) == pytest.approx((2 * (1 - 2 / 48) + 1) / 3)


def test_chord_tone_rate():
    pytest.importorskip("jazzgen.music.chords")
    # Over C7 (C E G Bb): C, E, G in, F# out -> 3/4.
    s = seq([60, 64, 67, 66], [0, 12, 24, 36])
    ct, arp = M.chord_tone_rates(s)
    assert ct == pytest.approx(0.75) and arp == pytest.approx(0.75)
    # Notes under N.C. and before the first chord are not counted.
    s2 = NoteSequence(pitch=[61, 60, 61, 62], start=[0, 12, 24, 36], duration=[3] * 4,
                      velocity=[90] * 4,
                      chords=[ChordChange(12, "Cmaj7"), ChordChange(24, "N.C.")])
    assert M.chord_tone_rates(s2)[0] == 1.0  # only the C at step 12 counts
    s3 = seq([60, 62], [0, 12], chords=("N.C.",))
    assert all(math.isnan(x) for x in M.chord_tone_rates(s3))


def test_interval_stats():
    # intervals 0, +2, -1, +5, +13 -> |.| 0 2 1 5 13
    s = seq([60, 60, 62, 61, 66, 79], [0, 6, 12, 18, 24, 30])
    st = M.interval_stats(s)
    assert st["mean_abs_interval"] == pytest.approx(21 / 5)
    assert st["repeat_rate"] == pytest.approx(1 / 5)
    assert st["step_rate"] == pytest.approx(2 / 5)
    assert st["skip_rate"] == pytest.approx(1 / 5)
    assert st["leap_rate"] == pytest.approx(1 / 5)


def test_piece_metrics_keys_and_values():
    s = seq([60, 62, 64, 60], [0, 12, BAR, 2 * BAR], duration=[2, 6, 12, 30], chords=())
    d = M.piece_metrics(s)
    assert d["notes_per_bar"] == pytest.approx(4 / 3)
    assert d["pitch_range"] == 4 and d["distinct_pitches"] == 3
    assert math.isnan(d["chord_tone_rate"])  # no chords at all
    assert d["dur_share_le1_4"] == 0.25 and d["dur_share_le1_2"] == 0.25
    assert d["dur_share_le1"] == 0.25 and d["dur_share_gt2"] == 0.25
    assert sum(v for k, v in d.items() if k.startswith("dur_share_")) == pytest.approx(1.0)
    assert "copied_share" not in d
    empty = M.piece_metrics(NoteSequence.empty())
    assert math.isnan(empty["H1"]) and math.isnan(empty["GS"])


def test_novelty():
    rng = np.random.default_rng(0)
    train = [seq(list(rng.integers(50, 80, 40)), list(range(0, 40 * 6, 6)),
                 duration=list(rng.integers(1, 7, 40))) for _ in range(3)]
    index = M.build_ngram_index(train, n=8)
    assert len(index) == 3 * 33
    # A transposed copy of a slice of a training piece is fully copied.
    t = train[1]
    copy = seq(list(t.pitch[5:25] + 3), list(t.start[5:25]), duration=list(t.duration[5:25]))
    nv = M.novelty(copy, index, n=8)
    assert nv["copied_share"] == 1.0 and nv["longest_copied_run"] == 20
    # Ascending chromatic line in fixed 1-step notes appears nowhere.
    novel = seq(list(range(60, 80)), list(range(0, 20 * 6, 6)), duration=[1] * 20)
    assert M.novelty(novel, index, n=8) == dict(copied_share=0.0, longest_copied_run=0.0)
    # Copied 10-note chunk inside novel material: 3 windows of 13 copied, run of 10 notes.
    mixed = seq(list(np.concatenate([[90, 90, 90, 91, 92, 93, 94, 95, 96, 97], t.pitch[:10] - 30])),
                list(range(0, 20 * 6, 6)),
                duration=[1] * 10 + list(t.duration[:10]))
    nv = M.novelty(mixed, index, n=8)
    assert nv["copied_share"] == pytest.approx(3 / 13) and nv["longest_copied_run"] == 10
    assert math.isnan(M.novelty(seq([60], [0]), index)["copied_share"])


def test_summarize_ignores_nan():
    s = M.summarize([{"a": 1.0}, {"a": float("nan")}, {"a": 3.0}])
    assert s["a"] == dict(mean=2.0, sd=pytest.approx(math.sqrt(2)), median=2.0, n=2)


def test_compare_identical_and_disjoint():
    rng = np.random.default_rng(0)
    real = [{"x": v, "c": 1.0} for v in rng.normal(0, 1, 200)]
    c = M.compare(real, real)
    assert c["x"]["overlap"] == pytest.approx(1.0, abs=1e-6) and c["x"]["within_1sd"]
    assert c["c"]["overlap"] == pytest.approx(1.0, abs=1e-6)  # constant values
    far = [{"x": v + 50, "c": 9.0} for v in rng.normal(0, 1, 200)]
    c = M.compare(far, real)
    assert c["x"]["overlap"] < 1e-6 and not c["x"]["within_1sd"]
    assert c["c"]["overlap"] < 1e-6
    # Two draws of the same normal overlap a lot; shifted by 1 sd, about 0.62.
    other = [{"x": v} for v in rng.normal(0, 1, 2000)]
    shifted = [{"x": v + 1} for v in rng.normal(0, 1, 2000)]
    big = [{"x": v} for v in rng.normal(0, 1, 2000)]
    assert M.compare(other, big)["x"]["overlap"] > 0.9
    assert M.compare(shifted, big)["x"]["overlap"] == pytest.approx(0.617, abs=0.06)


def test_table_and_plot(tmp_path):
    rng = np.random.default_rng(0)
    pieces = [seq(list(rng.integers(55, 80, 30)), list(range(0, 30 * 6, 6)), chords=())
              for _ in range(6)]
    dicts = [M.piece_metrics(p) for p in pieces]
    comp = M.compare(dicts[:3], dicts[3:])
    md = M.metrics_table_markdown(comp)
    assert md.startswith("| metric |") and "| GS |" in md
    out = tmp_path / "hist.png"
    M.plot_histograms(dicts[:3], dicts[3:], str(out))
    assert out.stat().st_size > 1000 and os.listdir(tmp_path) == ["hist.png"]
