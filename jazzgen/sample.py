"""Improvise: run the trained network one note at a time and sample from it.

Generation is one-to-many: each sampled note is fed back as the next step's input.
Calling ``model.predict`` per note costs ~100 ms of framework overhead; instead the
trained weights are run in NumPy (checked equal to Keras to 1e-5 in the tests), with
every embedding folded into the first LSTM layer's input projection once, so a step
is a handful of small matrix-vector products.  This module never imports Keras or
TensorFlow unless ``weights.npz`` is missing or stale and must be exported.
"""
from __future__ import annotations

import hashlib
import io
from dataclasses import replace
from pathlib import Path

import numpy as np

from . import tokens as T
from .notes import GRID, NoteSequence

FEATURES = ("prev_pitch", "prev_dur", "root", "qual", "beat", "sub", "prev_rel")  # model.py's concat order


class ModelError(Exception):
    """A model folder that cannot be used; one line."""


# ---------------------------------------------------------------------------- weights

def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_weights(model, keras_path: Path, out: Path) -> None:
    """Write the Keras model's weights by layer name to a plain .npz beside it (no pickle)."""
    from .midi_io import atomic_write
    w = {}
    for f in FEATURES:
        w[f"emb_{f}"] = model.get_layer(f"emb_{f}").get_weights()[0]
    w["emb_target_pitch"] = model.get_layer("emb_target_pitch").get_weights()[0]
    i = 0
    while True:
        try:
            k, u, b = model.get_layer(f"lstm_{i}").get_weights()
        except ValueError:
            break
        w[f"lstm_{i}_kernel"], w[f"lstm_{i}_recurrent"], w[f"lstm_{i}_bias"] = k, u, b
        i += 1
    for name in ("pitch_abs", "pitch_rel", "dur_hidden", "dur"):
        w[f"{name}_w"], w[f"{name}_b"] = model.get_layer(name).get_weights()
    w = {k: np.asarray(v, np.float32) for k, v in w.items()}
    w["keras_sha256"] = np.array(_sha(keras_path))
    buf = io.BytesIO()
    np.savez(buf, **w)
    atomic_write(out, lambda f: f.write(buf.getvalue()))


def load_weights(model_dir: str | Path) -> dict[str, np.ndarray]:
    """weights.npz of a model folder, re-exported from model.keras if missing or stale."""
    d = Path(model_dir)
    keras_path = d / "model.keras" if d.is_dir() else d
    d = keras_path.parent
    if not keras_path.exists():
        raise ModelError(f"no model at {keras_path} (train one with python -m jazzgen.train)")
    npz = d / "weights.npz"
    sha = _sha(keras_path)
    if npz.exists():
        with np.load(npz, allow_pickle=False) as z:
            if str(z["keras_sha256"]) == sha:
                return {k: z[k] for k in z.files if k != "keras_sha256"}
    import keras
    from . import model as _  # registers the custom layers
    try:
        m = keras.saving.load_model(keras_path, safe_mode=True)
    except Exception as e:
        raise ModelError(f"cannot load {keras_path}: {str(e).splitlines()[0]}") from None
    export_weights(m, keras_path, npz)
    return load_weights(d)


# ---------------------------------------------------------------------------- the step

def _sigmoid(x):
    return 0.5 * (np.tanh(0.5 * x) + 1.0)


class Stepper:
    """The network of model.py, one step at a time, in NumPy (float64 for exactness)."""

    def __init__(self, w: dict[str, np.ndarray]):
        w = {k: v.astype(np.float64) for k, v in w.items()}
        self.n_layers = sum(1 for k in w if k.endswith("_recurrent"))
        self.units = w["lstm_0_recurrent"].shape[0]
        # Fold each embedding table into its slice of the first layer's input kernel.
        k0, off = w["lstm_0_kernel"], 0
        self.tables = []
        for f in FEATURES:
            e = w[f"emb_{f}"]
            self.tables.append(e @ k0[off:off + e.shape[1]])
            off += e.shape[1]
        self.tables[0] = self.tables[0] + w["lstm_0_bias"]  # bias folded in once
        self.kernels = [w[f"lstm_{i}_kernel"] for i in range(1, self.n_layers)]
        self.recurrent = [w[f"lstm_{i}_recurrent"] for i in range(self.n_layers)]
        self.biases = [w[f"lstm_{i}_bias"] for i in range(1, self.n_layers)]
        self.pitch_w, self.pitch_b = w["pitch_abs_w"], w["pitch_abs_b"]
        self.rel_w, self.rel_b = w["pitch_rel_w"], w["pitch_rel_b"]
        u = self.units
        self.dur_h_w, self.dur_h_b = w["dur_hidden_w"][:u], w["dur_hidden_b"]
        self.dur_target = w["emb_target_pitch"] @ w["dur_hidden_w"][u:]  # target-pitch table, folded
        self.dur_w, self.dur_b = w["dur_w"], w["dur_b"]
        n_pitch = self.pitch_w.shape[1]
        ids = np.arange(n_pitch)[None, :]
        self._rel_index = {r: _rel_np(ids, np.array([[r]]))[0] for r in range(14)}  # root id -> (V,)

    def zero_state(self, batch: int) -> list[tuple[np.ndarray, np.ndarray]]:
        z = np.zeros((batch, self.units))
        return [(z, z) for _ in range(self.n_layers)]

    def step(self, state, prev_pitch, prev_dur, root, qual, beat, sub):
        """One event for a batch; ids are int arrays of shape (B,). Returns (top hidden, new state)."""
        rel = _rel_np(prev_pitch, root)
        z = sum(t[i] for t, i in zip(self.tables, (prev_pitch, prev_dur, root, qual, beat, sub, rel)))
        new = []
        x = None
        for layer, (h, c) in enumerate(state):
            if layer > 0:
                z = x @ self.kernels[layer - 1] + self.biases[layer - 1]
            z = z + h @ self.recurrent[layer]
            u = self.units
            i, f, g, o = _sigmoid(z[:, :u]), _sigmoid(z[:, u:2 * u]), np.tanh(z[:, 2 * u:3 * u]), _sigmoid(z[:, 3 * u:])
            c = f * c + i * g
            x = o * np.tanh(c)
            new.append((x, c))
        return x, new

    def pitch_logits(self, hidden, root):
        rel = hidden @ self.rel_w + self.rel_b                      # (B, 12)
        rel = np.concatenate([np.zeros((len(rel), 1)), rel], 1)     # index 0: no interval
        idx = np.stack([self._rel_index[int(r)] for r in root])
        return hidden @ self.pitch_w + self.pitch_b + np.take_along_axis(rel, idx, 1)

    def dur_logits(self, hidden, pitch):
        d = np.maximum(hidden @ self.dur_h_w + self.dur_h_b + self.dur_target[pitch], 0.0)
        return d @ self.dur_w + self.dur_b


def _rel_np(pitch_ids, root_ids):
    """NumPy twin of model._rel_ids."""
    valid = (pitch_ids >= T.PITCH0) & (root_ids >= 2)
    return np.where(valid, (pitch_ids - T.PITCH0 - (root_ids - 2)) % 12 + 1, 0)


# ---------------------------------------------------------------------------- sampling

def sample_ids(logits: np.ndarray, allowed: np.ndarray, rng: np.random.Generator,
               temperature: float = 1.0, top_k: int = 0, top_p: float = 1.0) -> np.ndarray:
    """One id per row from softmax(logits / temperature) restricted to `allowed`, top-k and nucleus."""
    z = np.where(allowed, logits / max(temperature, 1e-6), -np.inf)
    out = np.empty(len(z), np.int64)
    for r in range(len(z)):
        order = np.argsort(-z[r])
        zr = z[r, order]
        p = np.exp(zr - zr[0])
        if top_k > 0:
            p[top_k:] = 0.0
        c = np.cumsum(p)
        if top_p < 1.0:
            p[np.searchsorted(c, top_p * c[-1]) + 1:] = 0.0   # smallest set with mass >= top_p
            c = np.cumsum(p)
        out[r] = order[min(np.searchsorted(c, rng.random() * c[-1], side="right"), len(c) - 1)]
    return out


def chart_arrays(like: NoteSequence, steps: int) -> dict[str, np.ndarray]:
    """Conditioning ids (root, qual, beat, sub) for every grid step of the piece."""
    return T.condition(like, np.arange(max(steps, 1)))


def improvise(model_dir, like: NoteSequence, steps: int | None = None, temperature: float = 1.0,
              top_k: int = 0, top_p: float = 0.95, seed: int | None = None,
              primer: NoteSequence | None = None, num: int = 1, stepper: Stepper | None = None):
    """New solo(s) over like.chords / time signatures / tempos, exactly `steps` grid steps long.

    With a primer, its notes open the solo (fed through the network to set its state)
    and the rest is improvised.  Returns one NoteSequence, or a list when num > 1.
    """
    stepper = stepper or Stepper(load_weights(model_dir))
    steps = int(steps if steps is not None else like.end)
    if steps < 1:
        raise ValueError("nothing to improvise: length must be at least one grid step")
    rng = np.random.default_rng(seed)
    cond = chart_arrays(like, steps)
    B = num
    state = stepper.zero_state(B)
    prev_p = np.full(B, T.BOS)
    prev_d = np.full(B, T.BOS)
    t = np.zeros(B, np.int64)
    events: list[list[tuple[int, int]]] = [[] for _ in range(B)]
    if primer is not None and len(primer):
        ptok = T.encode(replace(primer, chords=like.chords, time_signatures=like.time_signatures))
        keep = np.cumsum(T.durations_steps(ptok.dur)) <= steps
        for p, d in zip(ptok.pitch[keep], ptok.dur[keep]):
            c = {k: np.full(B, v[min(t[0], steps - 1)]) for k, v in cond.items()}
            _, state = stepper.step(state, prev_p, prev_d, **c)
            prev_p, prev_d = np.full(B, int(p)), np.full(B, int(d))
            t += int(d) - T.DUR0
            for ev in events:
                ev.append((int(p), int(d)))
    n_pitch, n_dur = stepper.pitch_w.shape[1], stepper.dur_w.shape[1]
    pitch_ok = np.zeros(n_pitch, bool)
    pitch_ok[T.REST] = True
    pitch_ok[T.PITCH0:] = True
    dur_len = np.arange(n_dur) - T.DUR0                           # steps of each dur id
    while np.any(t < steps):
        live = t < steps
        tc = np.minimum(t, steps - 1)
        c = {k: v[tc] for k, v in cond.items()}
        h, new_state = stepper.step(state, prev_p, prev_d, **c)
        state = [(np.where(live[:, None], nh, oh), np.where(live[:, None], nc, oc))
                 for (nh, nc), (oh, oc) in zip(new_state, state)]
        allowed = np.tile(pitch_ok, (B, 1))
        allowed[:, T.TIE] = prev_p >= T.PITCH0                    # a tie only continues a note
        p = sample_ids(stepper.pitch_logits(h, c["root"]), allowed, rng, temperature, top_k, top_p)
        d_allowed = (dur_len[None, :] >= 1) & (dur_len[None, :] <= (steps - t)[:, None])
        d = sample_ids(stepper.dur_logits(h, p), d_allowed, rng, temperature, top_k, top_p)
        for b in np.flatnonzero(live):
            events[b].append((int(p[b]), int(d[b])))
        prev_p = np.where(live, p, prev_p)
        prev_d = np.where(live, d, prev_d)
        t = t + np.where(live, d - T.DUR0, 0)
    solos = []
    for ev in events:
        pid, did = (np.array(x, np.int64) for x in zip(*ev)) if ev else (np.zeros(0, np.int64),) * 2
        solo = T.decode_events(pid, did, like)
        solos.append(replace(solo, end=steps, name=f"{like.name or 'solo'}"))
    return solos[0] if num == 1 else solos


def seconds_to_steps(like: NoteSequence, seconds: float) -> int:
    """Grid steps whose tempo-mapped length is `seconds` (to the nearest step)."""
    qpm = like.tempos[0].qpm if like.tempos else 120.0
    if len(like.tempos) <= 1:
        return max(1, int(round(seconds * qpm / 60.0 * GRID)))
    grid = np.arange(0, int(seconds * 4000 / 60 * GRID) + 2)
    return max(1, int(np.searchsorted(like.seconds_at(grid), seconds)))
