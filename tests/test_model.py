"""The Keras model: it learns, it saves and loads, score() is exact, and it runs on two backends."""
from __future__ import annotations

import subprocess
import sys

import keras
import numpy as np
import pytest

from conftest import subprocess_env
from jazzgen.data import dataset, tokens as T
from jazzgen.model.network import HEADS, INPUTS, ModelConfig, build_model, compile_model, model_inputs, score, xy
from jazzgen.music.chords import parse_chord
from jazzgen.music.notes import GRID, ChordChange, NoteSequence, Tempo, TimeSignature

BAR = 4 * GRID
EIGHTH = GRID // 2
PATTERN = (0, 1, 2, 3, 0, 1, 2, 3)        # which chord tone each eighth of a bar plays
PROG = ("Dm7", "G7", "Cmaj7", "A7")        # ii V I VI, in all 12 keys, starting on each of its chords
VAL = ((0, 2), (5, 3))                      # (key, rotation) pairs no training song has


def arpeggio_song(symbols, name="arp") -> NoteSequence:
    """A bar per chord, eighth notes up its root-3-5-7 twice: fully determined by chord and beat.

    On-beat eighths are legato and loud, off-beat ones sound 4 of their 6 steps and
    softer: articulation and velocity are determined by the position too."""
    pitch, start = [], []
    for b, sym in enumerate(symbols):
        c = parse_chord(sym)
        base = 55 + (c.root - 7) % 12                       # the root, between G3 and F#4
        ivs = [(t - c.root) % 12 for t in c.tones]          # 0, 3rd, 5th, 7th above the root
        for k, j in enumerate(PATTERN):
            pitch.append(base + ivs[j])
            start.append(b * BAR + k * EIGHTH)
    n = len(pitch)
    on_beat = np.arange(n) % 2 == 0
    return NoteSequence(pitch, start, np.where(on_beat, EIGHTH, 4), np.where(on_beat, 115, 98),
                        chords=[ChordChange(i * BAR, s) for i, s in enumerate(symbols)],
                        tempos=[Tempo(0, 120.0)], time_signatures=[TimeSignature(0, 4, 4)], name=name)


def transposed(prog, k):
    from jazzgen.music.chords import transpose_symbol
    return [transpose_symbol(s, k) for s in prog]


def song(key, rot, times):
    prog = transposed(PROG[rot:] + PROG[:rot], key)
    return T.encode(arpeggio_song(prog * times, f"k{key}r{rot}"))


def corpus(seq_len=32):
    train = [song(k, k % 4, 3) for k in range(12)]
    val = [song(k, r, 2) for k, r in VAL]
    return dataset.make_windows(train, seq_len, stride=seq_len), dataset.make_windows(val, seq_len, stride=seq_len)


def tiny(layers=1, units=16, seed=0, harmony=False):
    keras.utils.set_random_seed(seed)
    return build_model(T.default_vocab(), ModelConfig(layers=layers, units=units, dropout=0.0,
                                                      emb_pitch=16, emb_dur=8, emb_cond=8, harmony=harmony))


@pytest.mark.slow
def test_loss_falls_and_learns_a_learnable_corpus():
    tr, va = corpus()
    assert len(tr) == 36 and len(va) == 4
    model = tiny()
    compile_model(model, lr=2e-2)
    model.jit_compile = False   # XLA takes longer to compile than this fit runs (the CLI tests use it)
    x, y = xy(tr.arrays, model_inputs(model))
    hist = model.fit(x, y, batch_size=4, epochs=20, shuffle=True, verbose=0)
    loss = hist.history["loss"]
    assert loss[-1] < 0.25 * loss[0], loss
    res = score(model, va.arrays)
    assert res["notes"] == int((va.arrays["pitch"] != T.PAD).sum()) == 128
    assert res["pitch_acc"] > 0.85, res     # chance: 1/133; these (key, first chord) pairs are unseen
    assert res["dur_acc"] > 0.95, res
    assert res["art_acc"] > 0.95 and res["vel_acc"] > 0.95, res
    assert res["art_n"] == res["vel_n"] == 128                  # every event here is a note
    assert res["pitch_ppl"] < 2.0, res
    # an untrained model of the same shape scores far worse on the same windows
    fresh = score(tiny(seed=1), va.arrays)
    assert fresh["pitch_nll"] > 3 * res["pitch_nll"]


def _random_inputs(rng, batch, length, names=INPUTS):
    sizes = T.default_vocab().sizes
    hi = {"prev_pitch": sizes["pitch"], "prev_dur": sizes["dur"], "root": sizes["root"], "qual": sizes["qual"],
          "beat": sizes["beat"], "sub": sizes["sub"], "target_pitch": sizes["pitch"], "target_dur": sizes["dur"],
          "prev_art": sizes["art"], "prev_vel": sizes["vel"], "tempo": sizes["tempo"], "performer": sizes["performer"],
          "next_root": sizes["root"], "next_qual": sizes["qual"], "change": sizes["change"]}
    return {k: rng.integers(1, hi[k], (batch, length)).astype("int32") for k in names}


def _scramble(model, rng, scale=0.3):
    """Random weights big enough that outputs differ clearly between inputs."""
    model.set_weights([rng.normal(0, scale, w.shape).astype("float32") for w in model.get_weights()])


@pytest.mark.slow
@pytest.mark.parametrize("harmony", [False, True])
def test_save_load_gives_identical_predictions(tmp_path, harmony):
    model = tiny(layers=2, harmony=harmony)
    _scramble(model, np.random.default_rng(0))
    path = tmp_path / "m.keras"
    model.save(path)
    loaded = keras.saving.load_model(path, safe_mode=True)
    assert ("next_root" in model_inputs(loaded)) == harmony
    x = _random_inputs(np.random.default_rng(1), 3, 7, model_inputs(model))
    a, b = model.predict(x, verbose=0), loaded.predict(x, verbose=0)
    for h in HEADS:
        assert a[h].std() > 0.1
        np.testing.assert_array_equal(a[h], b[h])
    assert [layer.name for layer in loaded.layers] == [layer.name for layer in model.layers]


@pytest.mark.slow
def test_score_counts_every_target_once_and_matches_hand_nll():
    model = tiny()
    _scramble(model, np.random.default_rng(2))
    rng = np.random.default_rng(3)
    x = _random_inputs(rng, 5, 6, model_inputs(model))
    arrays = {k: v.astype(np.int16) for k, v in x.items() if not k.startswith("target_")}
    arrays["pitch"] = x["target_pitch"].astype(np.int16)
    arrays["dur"] = rng.integers(T.DUR0 + 1, T.default_vocab().sizes["dur"], (5, 6)).astype(np.int16)
    for h in ("art", "vel"):
        arrays[h] = rng.integers(1, T.default_vocab().sizes[h], (5, 6)).astype(np.int16)
        arrays[h][:, 2] = T.PAD                          # a rest mid-song: no articulation, no velocity
    lengths = [6, 4, 1, 6, 3]                            # PAD (0) after each window's song ends
    for i, n in enumerate(lengths):
        for k in arrays:
            arrays[k][i, n:] = 0
    res = score(model, arrays, batch_size=2)             # batches of 2, 2, 1
    assert res["notes"] == sum(lengths) == 20
    xin, y = xy(arrays, model_inputs(model))
    out = model.predict(xin, verbose=0)
    for h in HEADS:
        mask = arrays[h] != T.PAD
        z = out[h].astype(np.float64)
        lp = z - z.max(-1, keepdims=True)
        lp = lp - np.log(np.exp(lp).sum(-1, keepdims=True))
        t = y[h].astype(np.int64)
        nll = -np.take_along_axis(lp, t[..., None], -1)[..., 0][mask].sum() / mask.sum()
        acc = (lp.argmax(-1) == t)[mask].mean()
        assert res[f"{h}_nll"] == pytest.approx(nll, rel=1e-5)
        assert res[f"{h}_acc"] == pytest.approx(acc)
        assert res[f"{h}_ppl"] == pytest.approx(np.exp(nll), rel=1e-5)
    assert res["art_n"] == res["vel_n"] == 20 - 4          # the rest column, in the 4 songs that reach it
    assert res["nll"] == pytest.approx(sum(res[f"{h}_nll"] * res[f"{h}_n"] for h in HEADS) / 20)
    # the PAD positions really are ignored: changing what the model sees there changes nothing
    arrays2 = {k: v.copy() for k, v in arrays.items()}
    arrays2["prev_pitch"][2, 1:] = 0
    arrays2["root"][2, 1:] = 0
    assert score(model, arrays2, batch_size=3)["pitch_nll"] == pytest.approx(res["pitch_nll"], rel=1e-6)


BACKEND_SCRIPT = r"""
import sys
import numpy as np
import keras
from jazzgen.data import tokens as T
from jazzgen.model.network import ModelConfig, build_model, compile_model, model_inputs, xy
weights, data, out = sys.argv[1:4]
m = build_model(T.default_vocab(), ModelConfig(layers=1, units=16, dropout=0.0, emb_pitch=16, emb_dur=8, emb_cond=8))
m.load_weights(weights)
with np.load(data) as z:
    arrays = {k: z[k] for k in z.files}
x, y = xy(arrays, model_inputs(m))
compile_model(m, lr=1e-2)
m.run_eagerly = True    # graph tracing (or XLA / torch.compile) would cost more than these few steps
pred = m.predict(x, verbose=0, batch_size=8)
before = m.evaluate(x, y, verbose=0, batch_size=8, return_dict=True)["loss"]
m.fit(x, y, batch_size=8, epochs=4, shuffle=False, verbose=0)
after = m.evaluate(x, y, verbose=0, batch_size=8, return_dict=True)["loss"]
np.savez(out, **pred, before=before, after=after, backend=keras.backend.backend())
"""


@pytest.mark.slow
def test_tensorflow_and_torch_backends_agree_and_train(tmp_path):
    tr, _ = corpus(seq_len=16)
    arrays = {k: v[:8] for k, v in tr.arrays.items()}
    np.savez(tmp_path / "data.npz", **arrays)
    model = tiny()
    _scramble(model, np.random.default_rng(4), scale=0.2)
    model.save_weights(tmp_path / "tiny.weights.h5")
    here = model.predict(xy(arrays, model_inputs(model))[0], verbose=0, batch_size=8)
    script = tmp_path / "run_backend.py"
    script.write_text(BACKEND_SCRIPT)
    procs = {}
    for b in ("tensorflow", "torch"):      # both at once: most of the time is importing the framework
        procs[b] = subprocess.Popen([sys.executable, str(script), str(tmp_path / "tiny.weights.h5"),
                                     str(tmp_path / "data.npz"), str(tmp_path / f"{b}.npz")],
                                    cwd=tmp_path, env=subprocess_env(KERAS_BACKEND=b),
                                    stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    res = {}
    for b, p in procs.items():
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, f"{b}: {err[-3000:]}"
        with np.load(tmp_path / f"{b}.npz") as z:
            res[b] = {k: z[k] for k in z.files}
        assert str(res[b]["backend"]) == b
        assert float(res[b]["after"]) < float(res[b]["before"]) - 0.1, (b, res[b]["before"], res[b]["after"])
    for h in HEADS:
        assert here[h].std() > 0.05
        np.testing.assert_allclose(res["torch"][h], res["tensorflow"][h], atol=1e-4, rtol=0)
        np.testing.assert_allclose(res["tensorflow"][h], here[h], atol=1e-4, rtol=0)
    # same starting loss; both fell
    assert float(res["torch"]["before"]) == pytest.approx(float(res["tensorflow"]["before"]), abs=1e-4)
