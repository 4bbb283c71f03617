"""Notes held and placed as players do (issue 20, item 2): tables from the corpus at tick
resolution, drawn per note without changing what the tokens keep, written to the tick."""
from __future__ import annotations

import shutil

import numpy as np
import pytest

from conftest import blues_chart
from jazzgen.data import nuance as N, tokens as T
from jazzgen.errors import ModelError
from jazzgen.music.midi_io import read_midi, write_midi
from jazzgen.music.performed import read_performed
from jazzgen.paths import WJAZZD

FILES = sorted(WJAZZD.glob("*.mid"))[:60:6]           # 10 solos


@pytest.fixture(scope="module")
def corpus():
    songs = [read_midi(f)[0] for f in FILES]
    return songs, [read_performed(f) for f in FILES]


@pytest.fixture(scope="module")
def tables(corpus):
    return N.build_tables(*corpus)


def test_tables_are_deterministic_plain_data(corpus, tables, tmp_path):
    again = N.build_tables(*corpus)
    for k in N.FIELDS:
        assert np.array_equal(getattr(tables, k), getattr(again, k)), k
    a, b = tmp_path / "a", tmp_path / "b"
    a.mkdir(), b.mkdir()
    assert tables.save(a).read_bytes() == again.save(b).read_bytes()
    loaded = N.NuanceTables.load(a)
    assert np.allclose(loaded.length, tables.length, atol=0.01)
    assert loaded.shift.shape == (12, N.CONTEXT, N.CONTEXT, N.QUANTILES)
    with np.load(a / N.FILE, allow_pickle=False) as z:          # plain arrays: no pickle needed
        assert set(z.files) == {"version", *N.FIELDS}


def test_tables_hold_what_the_corpus_does(corpus, tables):
    songs, raws = corpus
    assert tables.length_n.sum() == sum(len(s) for s in songs)  # every note aligned (same files, one line)
    assert (np.abs(tables.shift) <= N.MAX_SHIFT).all()
    legato = tables.ratio[0]                                    # class 0: sounds >= 0.9 of its event
    assert 0.85 < np.median(legato) <= 1.01
    real = np.concatenate([r.length for r in raws])
    assert np.mean(real % 40 != 0) > 0.5                        # real lengths are off the grid ...
    drawn = tables.length[tables.length_n >= N.MIN_COUNT]
    assert np.mean(drawn % 40 != 0) > 0.5                       # ... and so are the tables'


def test_perform_keeps_every_token(corpus, tables):
    vocab = T.default_vocab()
    for seq in corpus[0][:4]:
        played = N.perform(seq, tables, vocab, np.random.default_rng(1))
        assert played.nuance is not None and len(played.nuance.length) == len(seq)
        a, b = T.encode(seq, vocab).arrays(), T.encode(played, vocab).arrays()
        for k in T.FIELDS:
            assert np.array_equal(a[k], b[k]), k                # pitch, onset, length, class, level
        assert not np.array_equal(played.velocity, seq.velocity)  # drawn inside each level
        assert (np.abs(played.nuance.shift) < 20).all() and (played.nuance.length >= 1).all()
        assert np.array_equal(T.decode(T.encode(played, vocab), vocab).start, seq.start)


def test_perform_is_seeded(corpus, tables):
    seq, vocab = corpus[0][0], T.default_vocab()
    one, two = (N.perform(seq, tables, vocab, np.random.default_rng(7)) for _ in range(2))
    assert np.array_equal(one.nuance.length, two.nuance.length) and np.array_equal(one.velocity, two.velocity)
    other = N.perform(seq, tables, vocab, np.random.default_rng(8))
    assert not np.array_equal(one.nuance.length, other.nuance.length)


def test_the_writer_plays_the_nuance_to_the_tick(corpus, tables, tmp_path):
    seq = corpus[0][1]
    played = N.perform(seq, tables, T.default_vocab(), np.random.default_rng(0))
    write_midi(tmp_path / "p.mid", played)
    back = read_performed(tmp_path / "p.mid", track=0)
    on = played.start.astype(np.int64) * 40 + played.nuance.shift
    assert np.array_equal(back.onset, on)
    nxt = np.append(on[1:], played.end * 40)
    assert np.array_equal(back.length, np.minimum(played.nuance.length, nxt - on))   # never past the next onset
    assert np.mean(back.length % 40 != 0) > 0.5
    assert np.array_equal(read_midi(tmp_path / "p.mid")[0].pitch, seq.pitch)       # the grid reading: same notes
    write_midi(tmp_path / "g.mid", T.decode(T.encode(played)))                     # no nuance: on the grid
    assert (read_performed(tmp_path / "g.mid").length % 40 == 0).all()


def test_a_nuance_must_fit_its_notes(corpus, tables):
    from dataclasses import replace
    played = N.perform(corpus[0][0], tables, T.default_vocab(), np.random.default_rng(0))
    with pytest.raises(ValueError, match="nuance of"):
        replace(played, pitch=played.pitch[:-1], start=played.start[:-1], duration=played.duration[:-1],
                velocity=played.velocity[:-1])


def test_model_folder_tables(gen_model, tables, tmp_path):
    """Absent: None (grid, as before); present: the sampled notes do not change, only how they
    are played, the same bytes for the same seed; broken: one line."""
    from jazzgen.generation.sample import improvise
    from jazzgen.generation.takes import load_stepper
    folder = tmp_path / "m"
    shutil.copytree(gen_model.path, folder, ignore=shutil.ignore_patterns(N.FILE, "last*.keras"))
    plain = load_stepper(folder)
    assert plain.nuance is None
    tables.save(folder)
    stepper = load_stepper(folder)
    timeline = blues_chart()
    [grid] = improvise(plain, timeline, seed=3)
    one, two = (improvise(stepper, timeline, seed=3)[0] for _ in range(2))
    assert grid.nuance is None and one.nuance is not None
    assert np.array_equal(one.pitch, grid.pitch) and np.array_equal(one.start, grid.start)
    assert np.array_equal(one.nuance.length, two.nuance.length) and np.array_equal(one.velocity, two.velocity)
    (folder / N.FILE).write_bytes(b"PK\x03\x04 not a zip")
    with pytest.raises(ModelError, match="nuance tables .* not a zip archive"):
        load_stepper(folder)
    np.savez(folder / N.FILE, version=np.array(N.VERSION), **{k: np.zeros(3) for k in N.FIELDS})
    with pytest.raises(ModelError, match="does not fit this model"):
        load_stepper(folder)
