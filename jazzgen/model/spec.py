"""The network described once: its inputs, the embeddings the first LSTM layer reads (in
order), the heads and the weight arrays they make, read by both the Keras model
(``network.build_model``) and the NumPy stepper (``generation.sample.Stepper``), and by the
check that a model folder's weights are a network this jazzgen can run.  No Keras here.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.errors import ModelError


@dataclass(frozen=True)      # shared by copies of a TrainConfig (dataclasses.replace): never changed
class ModelConfig:
    """The network's sizes: ``TrainConfig.model`` is one (a run sets its layers, units, dropout
    and harmony; the defaults are these), and generation reads them from the weights."""
    layers: int = 2
    units: int = 256
    dropout: float = 0.3
    emb_pitch: int = 64
    emb_dur: int = 32
    emb_cond: int = 16
    emb_dyn: int = 8          # previous articulation, previous velocity, tempo
    emb_performer: int = 16
    head_units: int = 64      # hidden width of the articulation and velocity heads
    harmony: bool = False     # the chord ahead as input, and pitch logits relative to its root


# The embeddings whose concatenation the first LSTM layer reads, in that order: (input, the
# vocabulary size it indexes, the ModelConfig field of its width).  prev_rel is computed
# from prev_pitch and root (the previous pitch's interval above the chord root).
EMBEDDINGS = (("prev_pitch", "pitch", "emb_pitch"), ("prev_dur", "dur", "emb_dur"), ("prev_art", "art", "emb_dyn"),
              ("prev_vel", "vel", "emb_dyn"), ("tempo", "tempo", "emb_dyn"),
              ("performer", "performer", "emb_performer"), ("root", "root", "emb_cond"), ("qual", "qual", "emb_cond"),
              ("beat", "beat", "emb_cond"), ("sub", "sub", "emb_cond"), ("prev_rel", "rel", "emb_cond"))
# ... and after them, in a model with harmony (ModelConfig.harmony): the next chord that differs
# from the one in force, how far away it is, and the previous pitch's interval above its root
# (prev_next_rel, computed); its pitch head adds 12 logits by interval above that root
# (``pitch_next``): "aim at the third of the chord ahead" is one weight, whatever the chord.
HARMONY_EMBEDDINGS = (("next_root", "root", "emb_cond"), ("next_qual", "qual", "emb_cond"),
                      ("change", "change", "emb_cond"), ("prev_next_rel", "rel", "emb_cond"))
COMPUTED = {"prev_rel": ("prev_pitch", "root"), "prev_next_rel": ("prev_pitch", "next_root")}
# the event being predicted, embedded for the heads that come after its pitch (and duration)
TARGETS = (("target_pitch", "pitch", "emb_pitch"), ("target_dur", "dur", "emb_dur"))
HEADS, EXPRESSION = T.PREDICTED, T.EXPRESSION   # art and vel see the target pitch and duration
# the dense layers, each with a kernel (_w) and a bias (_b): pitch (absolute + chord-relative),
# duration (hidden, out), and each expression head (hidden, out)
DENSE = ("pitch_abs", "pitch_rel", "dur_hidden", "dur") + tuple(f"{h}{x}" for h in EXPRESSION for x in ("_hidden", ""))
HARMONY_DENSE = ("pitch_next",)


def embeddings(harmony: bool) -> tuple[tuple[str, str, str], ...]:
    """The first layer's embeddings, in order, of a network with or without harmony."""
    return EMBEDDINGS + (HARMONY_EMBEDDINGS if harmony else ())


def features(harmony: bool) -> tuple[str, ...]:
    return tuple(name for name, _, _ in embeddings(harmony))


def inputs(harmony: bool) -> tuple[str, ...]:
    """The Keras model's inputs: the features it is given (not those it computes) and the targets."""
    return tuple(n for n in features(harmony) if n not in COMPUTED) + tuple(n for n, _, _ in TARGETS)


def dense(harmony: bool) -> tuple[str, ...]:
    return DENSE + (HARMONY_DENSE if harmony else ())


def has_harmony(w: dict[str, np.ndarray]) -> bool:
    """Whether a network's weights (by array name) read the chord ahead."""
    return "emb_next_root" in w


INPUTS = inputs(True)            # a new model's (an older one's are inputs(False))


def _required(n_layers: int, harmony: bool) -> list[str]:
    """The arrays of a network with `n_layers` LSTM layers, by name (what weights.npz holds)."""
    keys = [f"emb_{f}" for f in features(harmony)] + [f"emb_{t}" for t, _, _ in TARGETS]
    keys += [f"lstm_{i}_{k}" for i in range(n_layers) for k in ("kernel", "recurrent", "bias")]
    return keys + [f"{n}_{k}" for n in dense(harmony) for k in "wb"]


def check_weights(w: dict[str, np.ndarray], where: str | Path, vocab: T.Vocab | None = None) -> dict[str, np.ndarray]:
    """`w` if it is a network Stepper can run with `vocab` (the model's own, else this jazzgen's
    default), else ModelError naming the first thing wrong: a missing array, not numbers,
    NaN or inf, shapes that do not fit."""
    def bad(why: str) -> ModelError:
        return ModelError(f"weights {where}: {why}")

    if "pitch_abs_w" in w and "emb_prev_vel" not in w:
        raise ModelError(f"{where}: {T.PREDATES_DYNAMICS}")
    n_layers = sum(1 for k in w if k.startswith("lstm_") and k.endswith("_recurrent"))
    harmony = has_harmony(w)
    missing = [k for k in _required(max(n_layers, 1), harmony) if k not in w]
    if missing:
        raise bad(f"missing {', '.join(missing[:3])}{' ...' if len(missing) > 3 else ''}")
    for k in _required(n_layers, harmony):
        a = w[k]
        if a.dtype.kind != "f":
            raise bad(f"{k} holds {a.dtype}, not floating-point numbers")
        if a.ndim != (1 if k.endswith(("_bias", "_b")) else 2) or 0 in a.shape:
            raise bad(f"{k} has shape {a.shape}")
        if not np.isfinite(a).all():
            raise bad(f"{k} holds NaN or infinite values")
    sizes = (vocab or T.default_vocab()).sizes
    u = w["lstm_0_recurrent"].shape[0]
    n_pitch, n_dur = sizes["pitch"], sizes["dur"]
    emb_in = sum(w[f"emb_{f}"].shape[1] for f in features(harmony))
    tp, td = w["emb_target_pitch"].shape[1], w["emb_target_dur"].shape[1]
    h = w["dur_hidden_w"].shape[1]
    # (the performer table's size is the model's own vocabulary's: checked against vocab.json by the Stepper)
    want = {**{f"emb_{f}": (None if f == "performer" else sizes[n], None) for f, n, _ in embeddings(harmony)},
            "emb_target_pitch": (n_pitch, None), "emb_target_dur": (n_dur, None),
            "pitch_abs_w": (u, n_pitch), "pitch_abs_b": (n_pitch,),
            "pitch_rel_w": (u, T.N_REL - 1), "pitch_rel_b": (T.N_REL - 1,),
            **({"pitch_next_w": (u, T.N_REL - 1), "pitch_next_b": (T.N_REL - 1,)} if harmony else {}),
            "dur_hidden_w": (u + tp, h), "dur_hidden_b": (h,), "dur_w": (h, n_dur), "dur_b": (n_dur,)}
    for e in EXPRESSION:
        eh = w[f"{e}_hidden_w"].shape[1]
        want.update({f"{e}_hidden_w": (u + tp + td, eh), f"{e}_hidden_b": (eh,),
                     f"{e}_w": (eh, sizes[e]), f"{e}_b": (sizes[e],)})
    for i in range(n_layers):
        want.update({f"lstm_{i}_kernel": (emb_in if i == 0 else u, 4 * u), f"lstm_{i}_recurrent": (u, 4 * u),
                     f"lstm_{i}_bias": (4 * u,)})
    for k, shape in want.items():
        if any(s is not None and s != got for s, got in zip(shape, w[k].shape)):
            raise bad(f"{k} has shape {w[k].shape}, expected {tuple('?' if s is None else s for s in shape)} "
                      "(weights that do not fit together, or another vocabulary)")
    return w
