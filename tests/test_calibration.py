"""The sampling calibration: its cells, its bias, the fit, its file, and sampling with and without it."""
from __future__ import annotations

import os

import numpy as np
import pytest
from test_formulas import walk
from test_sample import chart, random_model, save_model

from jazzgen.data import tokens as T
from jazzgen.errors import FieldError, ModelError
from jazzgen.generation import calibration as K
from jazzgen.generation.sample import Sampling, improvise


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    return save_model(random_model(), tmp_path_factory.mktemp("calibration") / "m")


@pytest.fixture()
def stepper(folder):
    from jazzgen.generation.takes import load_stepper
    return load_stepper(folder)


def test_cells_count_each_note_once_in_its_position_quality_degree_and_interval_pair():
    song = walk(0)
    harm, line = K.cells(song)
    assert len(harm) == len(line) == len(song.pitch) and line[0] == -1
    h, w = K.counts([song])
    assert h.sum() == (harm >= 0).sum() and w.sum() == len(song.pitch) - 1
    # the second note: the interval into it, after "no interval before"
    iv = int(song.pitch[1] - song.pitch[0])
    assert w[K.ROWS - 1, np.clip(iv, -K.SPAN, K.SPAN) + K.SPAN] >= 1
    assert K.position_class([1, 2, 3, 4, 1], [1, 1, 1, 1, 7]).tolist() == [0, 1, 0, 1, 2]


def test_bias_reads_the_degree_above_the_root_and_the_interval_after_the_last_one():
    cal = K.Calibration.zero()
    n = T.PITCH0 + 128
    cal.harmony[1, 3, 4] = 2.0                           # beats 2 and 4, quality id 3, the major third
    cal.line[K.CONTEXT - 2, K.SPAN - 1] = -1.5           # down a step after down a whole step
    b = cal.bias(n, beat=2, sub=1, root=T.ROOT0 + 2, qual=3, notes=[64, 62])   # over D, after E D
    assert b[T.PITCH0 + 66] == b[T.PITCH0 + 78] == 2.0    # F# (either octave)
    assert b[T.PITCH0 + 61] == -1.5 and b[T.PITCH0 + 60] == 0.0
    assert b[:T.PITCH0].tolist() == [0.0] * T.PITCH0        # rests, ties and specials untouched
    assert (cal.bias(n, 2, 1, T.ROOT0 + 2, 3, [64, 62], harmony=0.0, line=0.5)[T.PITCH0 + 61]) == -0.75
    assert cal.bias(n, 1, 1, T.ROOT0 + 2, 3, [64])[T.PITCH0 + 66] == 0.0     # beat 1: its own row


def test_the_fit_brings_the_sampled_shares_toward_the_corpus(stepper):
    songs = [walk(i, 64) for i in range(6)]           # stepwise lines over changes; the network is random
    target = K.counts(songs)

    def off() -> np.ndarray:
        """How far the sampled degrees and intervals, pooled over the tables' rows, are from the corpus's."""
        got = K.counts([improvise(stepper, s, seed=50 + i)[0] for i, s in enumerate(songs)])
        share = lambda c, axes: c.sum(axes) / c.sum()  # noqa: E731
        return np.array([0.5 * np.abs(share(t, a) - share(g, a)).sum() for t, g, a in zip(target, got, ((0, 1), 0))])

    before = off()
    stepper.calibration = K.fit(stepper, songs, Sampling(), rounds=3, per_round=6)
    after = off()
    assert (after < before).all() and after[1] < 0.8 * before[1], (before, after)


def test_a_model_folder_without_calibration_samples_as_before(folder, stepper):
    assert stepper.calibration is None
    like = chart(bars=4)
    [plain] = improvise(stepper, like, seed=3)
    cal = K.Calibration.zero()
    cal.harmony[:] = np.random.default_rng(0).normal(0, 1.5, cal.harmony.shape)
    cal.line[:] = np.random.default_rng(1).normal(0, 1.5, cal.line.shape)
    stepper.calibration = cal
    [off] = improvise(stepper, like, seed=3, sampling=Sampling(harmony=0.0, line=0.0))
    [on] = improvise(stepper, like, seed=3)
    assert np.array_equal(plain.pitch, off.pitch) and np.array_equal(plain.start, off.start)
    assert not np.array_equal(plain.pitch, on.pitch)


def test_save_and_load_through_the_model_folder(folder, stepper):
    from jazzgen.generation.takes import load_stepper
    cal = K.Calibration.zero()
    cal.line[3, 4] = 0.25
    cal.save(folder / K.FILE)
    try:
        back = load_stepper(folder).calibration
        assert np.array_equal(back.line, cal.line) and np.array_equal(back.harmony, cal.harmony)
    finally:
        (folder / K.FILE).unlink()


@pytest.mark.parametrize("damage", ["cut", "pickle", "shapes", "nan", "missing", "fifo"])
def test_a_broken_calibration_file_is_one_model_error(tmp_path, damage):
    path = tmp_path / K.FILE
    cal = K.Calibration.zero()
    cal.save(path)
    if damage == "cut":
        path.write_bytes(path.read_bytes()[:60])
    elif damage == "pickle":
        np.savez(path, harmony=np.array([{"a": 1}], object), line=cal.line)
    elif damage == "shapes":
        np.savez(path, harmony=cal.harmony[:2], line=cal.line)
    elif damage == "missing":
        np.savez(path, harmony=cal.harmony)
    elif damage == "fifo":
        path.unlink()
        os.mkfifo(path)                                   # never opened: loading would hang on it
    else:
        np.savez(path, harmony=cal.harmony + np.nan, line=cal.line)
    with pytest.raises(ModelError, match="calibration") as e:
        K.load(tmp_path)
    assert "\n" not in str(e.value)


@pytest.mark.parametrize("field", ["harmony", "line"])
def test_its_scales_are_checked(field):
    with pytest.raises(FieldError, match=field):
        Sampling(**{field: -1.0})
