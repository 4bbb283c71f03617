"""melody: the right hand's top line out of a two-hand texture; parts with no line."""
import numpy as np

from jazzgen.music import melody
from jazzgen.music.notes import GRID

BAR = 4 * GRID


def two_hands():
    """A right-hand melody with rests, the left hand comping chords (some in its rests),
    plus an inner right-hand note under a held melody note.  Returns arrays and the
    indices of the melody notes."""
    mel = [(0, 6, 76), (6, 12, 74), (12, 24, 72), (36, 42, 79), (42, 48, 77), (48, 72, 76),
           (96, 102, 71), (102, 108, 72), (108, 120, 74), (144, 150, 81), (150, 168, 79)]
    lh = [(0, 12, (48, 55, 59, 64)), (24, 36, (50, 57, 60, 65)), (72, 90, (48, 55, 59, 64)),
          (84, 96, (43, 53, 59, 62)), (120, 132, (48, 52, 55, 60)), (132, 144, (50, 53, 57, 60))]
    inner = [(54, 60, 67)]                     # under the held 76
    p, s, e, is_mel = [], [], [], []
    for a, b, q in mel:
        p.append(q), s.append(a), e.append(b), is_mel.append(True)
    for a, b, q in inner:
        p.append(q), s.append(a), e.append(b), is_mel.append(False)
    for a, b, chord in lh:
        for q in chord:
            p.append(q), s.append(a), e.append(b), is_mel.append(False)
    p, s, e = map(np.array, (p, s, e))
    return p, s, e, np.flatnonzero(is_mel)


def test_top_voice_follows_the_right_hand_and_skips_the_left_in_its_rests():
    p, s, e, want = two_hands()
    assert melody.top_voice(p, s, e).tolist() == want.tolist()
    sky = melody.skyline(p, s)
    assert set(sky.tolist()) - set(want.tolist())      # the plain skyline borrows the left hand
    iv = np.abs(np.diff(p[sky]))
    assert iv.max() > 12 >= np.abs(np.diff(p[want])).max()


def test_top_voice_does_not_depend_on_the_input_order():
    p, s, e, want = two_hands()
    perm = np.random.default_rng(0).permutation(len(p))
    got = melody.top_voice(p[perm], s[perm], e[perm])
    assert sorted(perm[got].tolist()) == want.tolist()


def test_a_line_walking_down_into_the_left_hands_register_is_followed():
    line = list(range(76, 56, -2))             # 76 74 ... 58, one per beat
    chords = [0, 4, 8]                         # left-hand C triads (48 52 55) on beats 1, 5, 9
    p = np.array(line + [48, 52, 55] * len(chords))
    s = np.array([i * GRID for i in range(len(line))] + [b * GRID for b in chords for _ in range(3)])
    got = melody.top_voice(p, s, s + GRID)
    assert got.tolist() == list(range(len(line)))


def test_a_monophonic_line_is_kept_whole():
    p = np.array([60, 72, 64, 79, 55, 67])     # a two-octave drop: one voice, so kept
    s = np.arange(6) * GRID
    assert melody.top_voice(p, s, s + GRID).tolist() == list(range(6))
    assert melody.top_voice(p[:0], s[:0], s[:0]).tolist() == []


def test_melodic_reason():
    z = np.zeros(0, np.int64)
    assert melody.melodic_reason(z, z, z).startswith("empty track")
    s = np.repeat(np.arange(16) * GRID, 4)             # four-note chords on every beat
    p = np.tile([48, 52, 55, 59], 16)
    assert melody.melodic_reason(p, s, s + GRID).startswith("block chords only")
    assert not melody.is_melodic(p, s, s + GRID)
    pad_s = np.array([0, 0, 8 * BAR // 2, 8 * BAR // 2])   # two held dyads over eight bars
    pad_p = np.array([60, 67, 62, 69])
    assert melody.melodic_reason(pad_p, pad_s, pad_s + 4 * BAR).startswith("sustained pad")
    line_s = np.arange(32) * GRID // 2
    assert melody.melodic_reason(60 + line_s % 7, line_s, line_s + 6) is None
    assert melody.is_melodic(60 + line_s % 7, line_s, line_s + 6)
