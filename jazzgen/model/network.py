"""The network: embeddings -> LSTM stack -> pitch, duration, articulation and velocity heads.

Written with ``keras`` layers and ``keras.ops`` only, so the TensorFlow, JAX and
PyTorch backends all run it.  The LSTM layers keep the configuration the cuDNN
kernel accepts (tanh/sigmoid, no recurrent dropout, not unrolled, with bias), so on a
GPU they run fused.

Per step the model sees the previous event (pitch, duration), and for the event it
predicts: the chord in force (root, quality), its metric position (beat, step within
the beat), and the previous pitch relative to that chord's root.  The pitch head
adds to its absolute-pitch logits a second set of 12 logits indexed by the pitch's
interval above the chord root: "play the third of whatever chord this is" is then
one weight, not twelve.  The duration head also sees the pitch being predicted
(the true one in training, the sampled one when generating): rests and notes have
very different lengths.  The articulation and velocity heads see the pitch and the
duration being predicted (sampled before them): how much of its time a note sounds
depends first on how long that time is.  Given at every step too: the solo's tempo
bucket and its performer (an embedding: whose phrasing), and the previous note's
articulation and velocity are fed back like its pitch and duration.  A model with harmony
(``ModelConfig.harmony``, ``train --harmony``) also sees the chord ahead, as a player reading
the changes does: the next chord that differs, how many steps away it starts, and the
previous pitch above its root; its pitch head adds 12 logits by interval above the next
chord's root, so that an approach note can aim at that chord's tones.
"""
from __future__ import annotations

import keras
from keras import layers, ops

from jazzgen.data import tokens as T
from jazzgen.model.spec import COMPUTED, EXPRESSION, HEADS, INPUTS, TARGETS, ModelConfig, embeddings, inputs  # noqa: F401


@keras.saving.register_keras_serializable(package="jazzgen")
class ChordRelative(layers.Layer):
    """(previous pitch id, chord root id) -> interval id 0..12 of the pitch above the root."""

    def call(self, prev_pitch, root):
        return T.interval_ids(ops.cast(prev_pitch, "int32"), ops.cast(root, "int32"), ops)

    def compute_output_shape(self, prev_pitch_shape, root_shape):
        return prev_pitch_shape


@keras.saving.register_keras_serializable(package="jazzgen")
class RelativeLogits(layers.Layer):
    """Spread 12 root-relative logits onto the absolute pitch vocabulary."""

    def __init__(self, n_pitch: int, **kw):
        super().__init__(**kw)
        self.n_pitch = n_pitch

    def call(self, rel_logits, root):
        ids = ops.arange(self.n_pitch, dtype="int32")[None, None, :]
        root = ops.cast(root, "int32")[..., None]
        rel = T.interval_ids(ids, root, ops)                        # (B, T, V), 0 = none
        padded = ops.concatenate([ops.zeros_like(rel_logits[..., :1]), rel_logits], axis=-1)
        return ops.take_along_axis(padded, rel, axis=-1)

    def compute_output_shape(self, rel_logits_shape, root_shape):
        return tuple(rel_logits_shape[:-1]) + (self.n_pitch,)

    def get_config(self):
        return {**super().get_config(), "n_pitch": self.n_pitch}


def build_model(vocab: T.Vocab, cfg: ModelConfig) -> keras.Model:
    """Many-to-many model for training and scoring (teacher forcing on `pitch`)."""
    sizes = vocab.sizes
    inp = {k: keras.Input(shape=(None,), dtype="int32", name=k) for k in inputs(cfg.harmony)}
    # each layer made where it is first called, in the spec's order: the weights' draws (and so a
    # seeded model's start) follow the order layers are made in
    emb = lambda name, table, width: layers.Embedding(sizes[table], getattr(cfg, width), name=f"emb_{name}")
    given = dict(inp)
    for name, (pitch, root) in COMPUTED.items():
        if root in inp:
            given[name] = ChordRelative(name=name)(inp[pitch], inp[root])
    x = layers.Concatenate(name="features")([emb(*e)(given[e[0]]) for e in embeddings(cfg.harmony)])
    for i in range(cfg.layers):
        x = layers.LSTM(cfg.units, return_sequences=True, name=f"lstm_{i}")(x)
        x = layers.Dropout(cfg.dropout, name=f"dropout_{i}")(x)
    abs_logits = layers.Dense(sizes["pitch"], name="pitch_abs")(x)
    rel = layers.Dense(sizes["rel"] - 1, name="pitch_rel")(x)
    rel_logits = RelativeLogits(sizes["pitch"], name="pitch_rel_spread")(rel, inp["root"])
    parts = [abs_logits, rel_logits]
    if cfg.harmony:
        ahead = layers.Dense(sizes["rel"] - 1, name="pitch_next")(x)
        parts.append(RelativeLogits(sizes["pitch"], name="pitch_next_spread")(ahead, inp["next_root"]))
    pitch_sum = layers.Add(name="pitch_sum")(parts)
    pitch = layers.Activation("linear", dtype="float32", name="pitch")(pitch_sum)
    target_pitch = emb(*TARGETS[0])(inp["target_pitch"])   # shared by 3 heads
    d = layers.Concatenate(name="dur_features")([x, target_pitch])
    d = layers.Dense(cfg.units, activation="relu", name="dur_hidden")(d)
    out = {"pitch": pitch, "dur": layers.Dense(sizes["dur"], dtype="float32", name="dur")(d)}
    target_dur = emb(*TARGETS[1])(inp["target_dur"])
    for h in EXPRESSION:
        e = layers.Concatenate(name=f"{h}_features")([x, target_pitch, target_dur])
        e = layers.Dense(cfg.head_units, activation="relu", name=f"{h}_hidden")(e)
        out[h] = layers.Dense(sizes[h], dtype="float32", name=h)(e)
    return keras.Model(inp, out, name="jazzgen_lstm")


def compile_model(model: keras.Model, lr: float | None = None, clipnorm: float | None = None,
                  weight_decay: float = 0.0) -> None:
    """Masked cross-entropy per head (PAD = 0 targets are ignored: rests and ties for art/vel).
    The step size and the clipping norm default to ``training.OptimizerConfig``'s; a weight decay
    makes the optimizer AdamW (decoupled decay, embeddings and biases included)."""
    from jazzgen.model.training import OptimizerConfig
    lr = OptimizerConfig.lr if lr is None else lr
    clipnorm = OptimizerConfig.clipnorm if clipnorm is None else clipnorm
    loss = lambda: keras.losses.SparseCategoricalCrossentropy(from_logits=True, ignore_class=T.PAD)
    opt = (keras.optimizers.AdamW(learning_rate=lr, clipnorm=clipnorm, weight_decay=weight_decay) if weight_decay
           else keras.optimizers.Adam(learning_rate=lr, clipnorm=clipnorm))
    model.compile(optimizer=opt, loss={h: loss() for h in HEADS})


def model_inputs(model: keras.Model) -> tuple[str, ...]:
    """The names of a (loaded) model's inputs: an older model reads fewer than a new one."""
    return tuple(model.input) if isinstance(model.input, dict) else tuple(t.name for t in model.inputs)


def xy(arrays: dict, names: tuple[str, ...]) -> tuple[dict, dict]:
    """Window arrays (dataset.Windows.arrays) -> (the inputs `names`, targets).

    `names` are the model's own (``model_inputs``): Keras binds a dict with other keys
    than the model's inputs by position in training, so a model without harmony given
    the chord ahead would read the wrong arrays."""
    x = {k: arrays[k] for k in names if not k.startswith("target_")}
    x["target_pitch"], x["target_dur"] = arrays["pitch"], arrays["dur"]
    return x, {h: arrays[h] for h in HEADS}


def _log_softmax(z):
    import numpy as np
    z = z - z.max(-1, keepdims=True)
    return z - np.log(np.exp(z).sum(-1, keepdims=True))


def score(model: keras.Model, arrays: dict, batch_size: int = 16) -> dict:
    """Per-target NLL (nats), perplexity and top-1 accuracy of each head over its non-PAD targets.

    pitch and dur score every event (``notes``); art and vel every note (``{head}_n``).

    Scores the exact targets it is given, so windows cut with no overlap (or one
    window per song) count every note once.
    """
    n = len(arrays["pitch"])
    return score_batches(model, ({k: v[i:i + batch_size] for k, v in arrays.items()} for i in range(0, n, batch_size)))


def score_batches(model: keras.Model, batches) -> dict:
    """``score`` over an iterable of window-array batches (each may be padded to its own length)."""
    import numpy as np
    sums = {h: [0.0, 0, 0] for h in HEADS}
    names = model_inputs(model)
    for arrays in batches:
        x, y = xy(arrays, names)
        out = model.predict_on_batch(x)
        for h in HEADS:
            t = y[h].astype(np.int64)
            # [:len(t)]: under a tf.distribute strategy predict_on_batch runs the whole batch on
            # every replica and returns the copies stacked (replicas x rows)
            lp = _log_softmax(np.asarray(out[h], np.float64)[:len(t)])
            mask = t != T.PAD
            picked = np.take_along_axis(lp, t[..., None], -1)[..., 0]
            sums[h][0] -= picked[mask].sum()
            sums[h][1] += int((lp.argmax(-1) == t)[mask].sum())
            sums[h][2] += int(mask.sum())
    res = {"notes": sums["pitch"][2]}
    for h, (nll, correct, n) in sums.items():
        res[f"{h}_n"] = n
        res[f"{h}_nll"] = nll / max(n, 1)
        res[f"{h}_ppl"] = float(np.exp(res[f"{h}_nll"]))
        res[f"{h}_acc"] = correct / max(n, 1)
    # per event: art and vel count once per note, so their sums are spread over all events
    res["nll"] = sum(res[f"{h}_nll"] * res[f"{h}_n"] for h in HEADS) / max(res["notes"], 1)
    return res
