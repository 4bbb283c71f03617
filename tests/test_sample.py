"""The NumPy sampler: equal to Keras, weights kept fresh, sampling rules, and improvise()'s output."""
from __future__ import annotations

import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from conftest import subprocess_env
from jazzgen.data import tokens as T
from jazzgen.generation.sample import Sampling, Stepper, improvise, sample_ids
from jazzgen.model.folder import export_weights, load_weights
from jazzgen.music.notes import GRID, ChordChange, NoteSequence, Tempo, TimeSignature

FIELDS = ("prev_pitch", "prev_dur", "prev_art", "prev_vel", "tempo", "performer", "root", "qual", "beat", "sub",
          "next_root", "next_qual", "change")
PERFORMERS = ("ArtPepper", "Chet Baker")
VOCAB = T.default_vocab(PERFORMERS, (6, 3))


def random_model(layers=2, units=16, seed=0, scale=0.3, harmony=True):
    """A tiny model with random weights large enough that every input matters."""
    import keras

    from jazzgen.model.network import ModelConfig, build_model
    keras.utils.set_random_seed(seed)
    m = build_model(VOCAB, ModelConfig(layers=layers, units=units, dropout=0.5, emb_pitch=12, emb_dur=8,
                                       emb_cond=6, emb_dyn=4, emb_performer=5, head_units=12, harmony=harmony))
    rng = np.random.default_rng(seed)
    m.set_weights([rng.normal(0, scale, w.shape).astype("float32") for w in m.get_weights()])
    return m


def save_model(m, folder):
    folder.mkdir(parents=True, exist_ok=True)
    m.save(folder / "model.keras")
    export_weights(m, folder / "model.keras", folder / "weights.npz")
    (folder / "vocab.json").write_text(VOCAB.to_json())
    return folder


@pytest.fixture(scope="module")
def model_folder(tmp_path_factory):
    return save_model(random_model(), tmp_path_factory.mktemp("sample") / "m")


@pytest.fixture(scope="module")
def stepper(model_folder):
    from jazzgen.generation.takes import load_stepper
    return load_stepper(model_folder)


# ---------------------------------------------------------------------------- Stepper == Keras

@pytest.mark.parametrize("harmony", [True, False])
def test_stepper_equals_keras_predict_every_head(model_folder, stepper, harmony, tmp_path):
    """A model with the chord ahead and one without (as every model before it): the same."""
    import keras

    from jazzgen.generation.takes import load_stepper
    from jazzgen.model.network import model_inputs
    if not harmony:
        model_folder = save_model(random_model(harmony=False), tmp_path / "old")
        stepper = load_stepper(model_folder)
    model = keras.saving.load_model(model_folder / "model.keras", safe_mode=True)
    assert stepper.harmony == harmony == ("next_root" in model_inputs(model))
    sizes = VOCAB.sizes
    rng = np.random.default_rng(7)
    B, L = 3, 9
    x = {"prev_pitch": rng.integers(T.BOS, sizes["pitch"], (B, L)),
         "prev_dur": rng.integers(T.BOS, sizes["dur"], (B, L)),
         "root": rng.integers(1, sizes["root"], (B, L)), "qual": rng.integers(1, sizes["qual"], (B, L)),
         "beat": rng.integers(1, sizes["beat"], (B, L)), "sub": rng.integers(1, sizes["sub"], (B, L)),
         "target_pitch": rng.integers(T.REST, sizes["pitch"], (B, L)),
         "target_dur": rng.integers(T.DUR0 + 1, sizes["dur"], (B, L)),
         "prev_art": rng.integers(0, sizes["art"], (B, L)), "prev_vel": rng.integers(0, sizes["vel"], (B, L)),
         "tempo": np.repeat(rng.integers(1, sizes["tempo"], (B, 1)), L, 1),
         "performer": np.repeat(np.array([[1], [2], [3]]), L, 1),
         "next_root": rng.integers(1, sizes["root"], (B, L)), "next_qual": rng.integers(1, sizes["qual"], (B, L)),
         "change": rng.integers(1, sizes["change"], (B, L))}
    x["prev_pitch"][:, 0] = x["prev_dur"][:, 0] = T.BOS          # a song's first step
    x["prev_art"][:, 0] = x["prev_vel"][:, 0] = T.PAD
    x["root"][0, :3] = 1                                        # no chord: no relative logits
    x = {k: v.astype("int32") for k, v in x.items()}
    ref = model.predict({k: x[k] for k in model_inputs(model)}, verbose=0)
    assert all(ref[h].std() > 0.2 for h in ("pitch", "dur", "art", "vel"))   # far above the 1e-5 tolerance
    state = stepper.zero_state(B)
    assert stepper.n_layers == 2 and stepper.units == 16
    for t in range(L):
        h, state = stepper.step(state, *(x[f][:, t] for f in FIELDS))
        got = stepper.pitch_logits(h, x["root"][:, t], x["next_root"][:, t])
        np.testing.assert_allclose(got, ref["pitch"][:, t], atol=1e-5, rtol=0)
        np.testing.assert_allclose(stepper.dur_logits(h, x["target_pitch"][:, t]), ref["dur"][:, t], atol=1e-5, rtol=0)
        for head in ("art", "vel"):
            got = stepper.expression_logits(head, h, x["target_pitch"][:, t], x["target_dur"][:, t])
            np.testing.assert_allclose(got, ref[head][:, t], atol=1e-5, rtol=0)


# ---------------------------------------------------------------------------- weights.npz

def test_stale_or_missing_weights_are_read_from_model_keras_and_nothing_is_written(tmp_path):
    """A model folder that is only being read is never written into (it may be someone else's)."""
    folder = save_model(random_model(seed=1), tmp_path / "m")
    old = load_weights(folder)
    stale = (folder / "weights.npz").read_bytes()
    newer = random_model(seed=2)
    newer.save(folder / "model.keras")                    # weights.npz now describes another file
    w = load_weights(folder)
    np.testing.assert_array_equal(w["lstm_0_kernel"], newer.get_layer("lstm_0").get_weights()[0])
    assert not np.array_equal(w["lstm_0_kernel"], old["lstm_0_kernel"])
    assert (folder / "weights.npz").read_bytes() == stale
    (folder / "weights.npz").unlink()                     # missing: read from model.keras again
    before = sorted(p.name for p in folder.iterdir())
    w2 = load_weights(folder / "model.keras")
    assert sorted(p.name for p in folder.iterdir()) == before
    assert sorted(w2) == sorted(w) and all(np.array_equal(w[k], w2[k]) for k in w)


def test_load_weights_fresh_does_not_import_keras(model_folder):
    code = ("import sys\nfrom jazzgen.generation.sample import Stepper\nfrom jazzgen.model.folder import load_weights\n"
            f"s = Stepper(load_weights({str(model_folder)!r}))\n"
            "print(s.n_layers, 'keras' in sys.modules, 'tensorflow' in sys.modules)\n")
    r = subprocess.run([sys.executable, "-c", code], env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["2", "False", "False"]


def test_load_weights_missing_model_is_a_model_error(tmp_path):
    from jazzgen.generation.sample import ModelError
    with pytest.raises(ModelError, match="no model"):
        load_weights(tmp_path / "nothing")
    (tmp_path / "bad").mkdir()
    (tmp_path / "bad" / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(ModelError, match="not a Keras model file"):
        load_weights(tmp_path / "bad")


# ---------------------------------------------------------------------------- sample_ids

def test_top_k_1_is_argmax():
    rng = np.random.default_rng(0)
    logits = rng.normal(0, 3, (200, 40))
    allowed = np.ones_like(logits, bool)
    got = sample_ids(logits, allowed, rng, temperature=1.5, top_k=1)
    np.testing.assert_array_equal(got, logits.argmax(1))


def test_top_p_keeps_the_smallest_nucleus():
    p = np.array([0.05, 0.5, 0.15, 0.3])          # sorted: 1 (0.5), 3 (0.3), 2 (0.15), 0 (0.05)
    logits = np.tile(np.log(p), (4000, 1))
    allowed = np.ones_like(logits, bool)
    rng = np.random.default_rng(1)
    for top_p, nucleus in ((0.4, {1}), (0.7, {1, 3}), (0.9, {1, 2, 3}), (1.0, {0, 1, 2, 3})):
        got = sample_ids(logits, allowed, rng, top_p=top_p)
        assert set(got.tolist()) == nucleus, top_p
    got = sample_ids(logits, allowed, rng, top_p=0.7)   # renormalised inside the nucleus: 0.5/0.8
    assert abs((got == 1).mean() - 0.625) < 0.04


def test_min_p_drops_what_is_far_less_likely_than_the_likeliest():
    p = np.array([0.005, 0.5, 0.015, 0.48])
    logits = np.tile(np.log(p), (4000, 1))
    allowed = np.ones_like(logits, bool)
    rng = np.random.default_rng(4)
    assert set(sample_ids(logits, allowed, rng).tolist()) == {0, 1, 2, 3}
    assert set(sample_ids(logits, allowed, rng, min_p=0.02).tolist()) == {1, 2, 3}     # cut below 0.01
    assert set(sample_ids(logits, allowed, rng, min_p=0.5).tolist()) == {1, 3}
    assert set(sample_ids(logits, allowed, rng, min_p=0.02, temperature=1e-4).tolist()) == {1}


def test_disallowed_ids_are_never_drawn():
    rng = np.random.default_rng(2)
    logits = rng.normal(0, 1, (3000, 12))
    logits[:, 5] = 20.0                              # by far the likeliest...
    allowed = np.ones_like(logits, bool)
    allowed[:, 5] = False                            # ...and forbidden
    allowed[:, 7] = False
    got = sample_ids(logits, allowed, rng, temperature=2.0)
    assert not np.isin(got, [5, 7]).any()
    assert len(set(got.tolist())) == 10
    best = sample_ids(logits, allowed, rng, top_k=1)
    np.testing.assert_array_equal(best, np.where(allowed, logits, -np.inf).argmax(1))


def test_low_temperature_approaches_argmax():
    rng = np.random.default_rng(3)
    logits = rng.normal(0, 1, (2000, 20))
    allowed = np.ones_like(logits, bool)
    share = {t: (sample_ids(logits, allowed, rng, temperature=t) == logits.argmax(1)).mean()
             for t in (2.0, 1.0, 0.3, 1e-4)}
    assert share[2.0] < share[1.0] < share[0.3] < share[1e-4] == 1.0
    assert share[1.0] < 0.5


# ---------------------------------------------------------------------------- improvise

def chart(bars=8, qpm=160.0) -> NoteSequence:
    like = NoteSequence.empty("chart")
    syms = ["Dm7", "G7", "Cmaj7", "A7"]
    like.chords = [ChordChange(i * 4 * GRID, syms[i % 4]) for i in range(bars)]
    like.tempos = [Tempo(0, qpm)]
    like.time_signatures = [TimeSignature(0, 4, 4)]
    like.end = bars * 4 * GRID
    return like


def check_solo(solo: NoteSequence, steps: int):
    assert solo.end == steps
    assert len(solo) > 0
    assert np.all(solo.duration >= 1)
    ends = solo.start.astype(np.int64) + solo.duration
    assert np.all(ends[:-1] <= solo.start[1:]), "overlapping notes"
    assert np.all(np.diff(solo.start) > 0)
    assert ends[-1] <= steps and solo.start[0] >= 0
    assert solo.pitch.min() >= 0 and solo.pitch.max() <= 127


@pytest.mark.filterwarnings("error::RuntimeWarning")     # no NaNs once some solos have finished
@pytest.mark.parametrize("steps", [1, 7, 5 * GRID + 5, 16 * 4 * GRID])
def test_improvise_lasts_exactly_steps_without_overlaps(stepper, steps, monkeypatch):
    events = []
    real = T.decode_events

    def spy(pitch_ids, dur_ids, *a, **k):
        events.append((np.asarray(pitch_ids), np.asarray(dur_ids)))
        return real(pitch_ids, dur_ids, *a, **k)
    monkeypatch.setattr(T, "decode_events", spy)
    solos = improvise(stepper, replace(chart(), end=steps), seed=0, num=3)
    assert len(solos) == 3 and len(events) == 3
    for solo, (pid, did) in zip(solos, events):
        # the sampled notes and rests fill the length exactly, none longer than allowed
        assert int(T.durations_steps(did).sum()) == steps
        assert np.all((pid == T.REST) | (pid == T.TIE) | (pid >= T.PITCH0))
        assert solo.end == steps
        if len(solo):
            check_solo(solo, steps)
        assert solo.chords == chart().chords                 # the changes travel with the solo
    if steps > GRID:
        assert all(len(s) > 0 for s in solos)


def test_a_rest_follows_exactly_the_notes_released_into_one(stepper, monkeypatch):
    """The sampled articulation decides the phrase end, and the next event obeys it."""
    events = []
    real = T.decode_events

    def spy(pitch_ids, dur_ids, *a, **k):
        events.append((np.asarray(pitch_ids), k["art_ids"]))
        return real(pitch_ids, dur_ids, *a, **k)
    monkeypatch.setattr(T, "decode_events", spy)
    solos = improvise(stepper, chart(bars=16), seed=2, num=4)
    into_rest = then_rest = 0
    for solo, (pid, art) in zip(solos, events):
        head = np.flatnonzero(pid >= T.PITCH0)
        nxt = np.array([next((j for j in range(i + 1, len(pid)) if pid[j] != T.TIE), -1) for i in head])
        has_next = nxt >= 0
        released = art[head] == VOCAB.art_rest_id
        assert np.array_equal(released[has_next], pid[nxt[has_next]] == T.REST)
        into_rest += int(released.sum())
        then_rest += int((pid == T.REST).sum())
        tok = T.encode(solo, VOCAB)                                # the phrase ends survive a re-encoding
        again = tok.art[tok.pitch >= T.PITCH0]
        assert np.array_equal((again == VOCAB.art_rest_id)[has_next], released[has_next])
    assert into_rest > 0 and then_rest > 0


def test_improvise_is_deterministic_per_seed_and_differs_across_seeds(stepper):
    like = chart()
    [a] = improvise(stepper, like, seed=11)
    [b] = improvise(stepper, like, seed=11)
    [c] = improvise(stepper, like, seed=12)
    check_solo(a, like.end)
    for f in ("pitch", "start", "duration", "velocity"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    assert not (len(a) == len(c) and np.array_equal(a.pitch, c.pitch) and np.array_equal(a.start, c.start))


def test_improvise_opens_with_the_primer(stepper):
    like = chart()
    primer = NoteSequence([60, 62, 64, 65], [0, 12, 24, 36], [12, 12, 12, 6], [90] * 4, name="primer")
    for seed in (0, 1):
        [solo] = improvise(stepper, like, seed=seed, primer=primer)
        check_solo(solo, like.end)
        np.testing.assert_array_equal(solo.pitch[:3], primer.pitch[:3])
        np.testing.assert_array_equal(solo.start[:4], primer.start)
        np.testing.assert_array_equal(solo.duration[:3], primer.duration[:3])
        assert solo.pitch[3] == 65 and solo.duration[3] >= 6   # a sampled tie may lengthen the last one


def test_min_p_cuts_the_pitch_head_only(stepper, monkeypatch):
    import jazzgen.generation.sample as S
    calls, draw = [], S._sample_row

    def spy(z, allowed, u, *args):
        got = draw(z, allowed, u, *args)
        calls.append((np.where(allowed, z, -np.inf), got, args[3] if len(args) > 3 else 0.0))
        return got
    monkeypatch.setattr(S, "_sample_row", spy)
    like = chart(bars=16)
    [solo] = improvise(stepper, like, seed=5, sampling=Sampling(min_p=0.3))
    check_solo(solo, like.end)
    cut = [(z, got) for z, got, m in calls if m == 0.3]
    assert len(cut) == sum(1 for z, _, _ in calls if z.shape[0] == stepper.n_pitch) > 10   # every pitch draw
    assert all(z[got] >= z.max() + np.log(0.3) - 1e-9 for z, got in cut)
    assert all(m == 0.0 for z, _, m in calls if z.shape[0] != stepper.n_pitch)


def test_solos_have_dynamics_articulation_and_a_performer(stepper):
    like = chart(bars=16)
    solos = improvise(stepper, like, seed=3, num=6)
    assert {s.performer for s in solos} <= set(PERFORMERS) and len({s.performer for s in solos}) == 2
    for s in solos:
        check_solo(s, like.end)
        assert set(s.velocity.tolist()) <= set(VOCAB.vel_values)
    vel = np.concatenate([s.velocity for s in solos])
    detached = sum(int((s.start[:-1] + s.duration[:-1] < s.start[1:]).sum()) for s in solos)
    assert len(set(vel.tolist())) >= 4 and detached > 0
    [a] = improvise(stepper, like, seed=3, performer="chetbaker")      # case and spaces do not matter
    [b] = improvise(stepper, like, seed=3, performer="ArtPepper")
    assert a.performer == "Chet Baker" and b.performer == "ArtPepper"
    assert not (len(a) == len(b) and np.array_equal(a.pitch, b.pitch))  # the performer changes the solo
    from jazzgen.errors import UsageError
    with pytest.raises(UsageError, match="like 'Bird': no such performer"):
        improvise(stepper, like, seed=3, performer="Bird")


def test_tempo_reaches_the_network(stepper):
    slow, fast = (improvise(stepper, chart(qpm=q), seed=4, performer="ArtPepper")[0] for q in (70.0, 280.0))
    assert not (len(slow) == len(fast) and np.array_equal(slow.pitch, fast.pitch))


@pytest.mark.parametrize("harmony", [True, False])
def test_the_chord_ahead_reaches_a_model_with_harmony_only(harmony, tmp_path):
    """Two charts that agree on bar 1 and differ from bar 2 on: a model with harmony plays bar 1
    differently (it sees the next chord coming); one without (every model before it) the same."""
    from jazzgen.generation.takes import load_stepper
    stepper = load_stepper(save_model(random_model(harmony=harmony), tmp_path / "m"))
    a, b = chart(bars=4), chart(bars=4)
    b.chords = [b.chords[0]] + [ChordChange(c.step, "F#7") for c in b.chords[1:]]
    bar1 = [(s.pitch[s.start < 4 * GRID], s.start[s.start < 4 * GRID])
            for s in (improvise(stepper, c, seed=9, performer="ArtPepper")[0] for c in (a, b))]
    same = all(np.array_equal(x, y) for x, y in zip(*bar1))
    assert same != harmony


def test_a_model_from_before_dynamics_is_one_model_error(model_folder, tmp_path):
    from jazzgen.errors import ModelError
    w = load_weights(model_folder)
    old = {k: v for k, v in w.items() if not k.startswith(("emb_prev_vel", "vel", "art"))}
    with pytest.raises(ModelError, match="predates dynamics"):
        Stepper(old)
