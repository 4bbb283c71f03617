"""The split and the windows: whole files on one side, seeded; shapes, padding, transposition."""
import random

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.data.dataset import KEYS, make_windows, pitch_range, split_by_file
from jazzgen.evaluation import likelihood as L
from jazzgen.music.notes import ChordChange, NoteSequence

# ---------------------------------------------------------------------------- split

def test_split_by_file_is_seeded_stable_and_whole():
    names = [f"solo_{i}" for i in range(100)]
    tr, va = split_by_file(names, 0.1, seed=0)
    assert (tr, va) == split_by_file(names, 0.1, seed=0) and len(va) == 10
    assert sorted(tr + va) == list(range(100)) and not set(tr) & set(va)   # every song on one side, whole
    assert va != split_by_file(names, 0.1, seed=1)[1]
    shuffled = names[:]
    random.Random(3).shuffle(shuffled)
    _, va2 = split_by_file(shuffled, 0.1, seed=0)
    assert {shuffled[i] for i in va2} == {names[i] for i in va}
    assert split_by_file(["only"], 0.1) == ([0], [])


# ---------------------------------------------------------------------------- windows

def songs():
    a = NoteSequence(np.arange(60, 80), np.arange(20) * 6, np.full(20, 6), np.full(20, 90),
                     chords=[ChordChange(0, "Bb7"), ChordChange(60, "Ebmaj7")], name="a")
    b = NoteSequence([50, 52, 53], [0, 12, 24], [12, 12, 12], [90] * 3, chords=[ChordChange(0, "F7")], name="b")
    return [T.encode(a), T.encode(b)]


def test_windows_shapes_shift_and_padding():
    toks = songs()
    w = make_windows(toks, length=8, stride=4)
    a = w.arrays
    assert set(a) == set(T.FIELDS) | {f"prev_{f}" for f in T.PREDICTED}
    assert all(x.shape == (len(w), 8) and x.dtype == np.int16 for x in a.values())
    assert len(w) == 4 + 1     # song a (20 events): starts 0, 4, 8, 12; song b (3 events): one, padded
    first = a["pitch"][0]
    assert a["prev_pitch"][0, 0] == T.BOS and a["prev_dur"][0, 0] == T.BOS and a["prev_vel"][0, 0] == T.PAD
    assert (a["prev_pitch"][0, 1:] == first[:-1]).all() and (a["prev_pitch"][1, 0] == a["pitch"][0, 3])
    short = a["pitch"][-1]
    assert short[:3].tolist() == [T.PITCH0 + 50, T.PITCH0 + 52, T.PITCH0 + 53] and (short[3:] == 0).all()
    assert (a["dur"][-1, 3:] == 0).all() and (a["root"][-1, 3:] == 0).all()


def test_transposed_windows_stay_in_range_and_move_roots_with_pitches():
    toks = songs()
    lo, hi = pitch_range(toks)
    assert (lo, hi) == (50, 79)
    w = make_windows(toks, length=8, stride=2)
    rng = np.random.default_rng(0)
    for _ in range(20):
        t = w.transposed(rng, lo, hi).arrays
        p = t["pitch"][t["pitch"] >= T.PITCH0] - T.PITCH0
        assert p.min() >= lo and p.max() <= hi
        is_p = w.arrays["pitch"] >= T.PITCH0
        first = np.argmax(is_p, axis=1)                                         # every window has a note
        rows = np.arange(len(first))
        k = t["pitch"][rows, first].astype(int) - w.arrays["pitch"][rows, first]  # the window's shift
        has_root = w.arrays["root"] >= 2
        shift = (t["root"].astype(int) - w.arrays["root"]) % 12
        assert (shift[has_root] == np.broadcast_to(k[:, None] % 12, shift.shape)[has_root]).all()
        assert (np.where(is_p, t["pitch"].astype(int) - w.arrays["pitch"] - k[:, None], 0) == 0).all()
        specials = w.arrays["prev_pitch"] < T.PITCH0
        assert (t["prev_pitch"][specials] == w.arrays["prev_pitch"][specials]).all()


def test_one_set_of_keys_for_training_and_evaluation():
    assert list(KEYS) == list(range(-5, 7)) and L.KEYS is KEYS
    toks = songs()
    w = make_windows(toks, length=8, stride=2)
    seen = set()
    rng = np.random.default_rng(1)
    for _ in range(40):                        # wide range: no octave moves, so every shift is a key drawn
        t = w.transposed(rng, 0, 127).arrays
        seen |= set((t["pitch"][:, 0].astype(int) - w.arrays["pitch"][:, 0]).tolist())
    assert seen == set(KEYS)
