"""A model folder, read in one place: model.keras, weights.npz, vocab.json, config.json, and
state.json with last.keras for a resume.

Every way a folder can be broken (no folder, no model.keras, a cut, foreign or bomb file, a
FIFO, unreadable JSON, a config or vocabulary this jazzgen cannot use or with values out of
bounds, weights with missing arrays, NaN or shapes that do not fit) is one ``ModelError`` naming
the file and the field.  A folder may come from anywhere: it is data, never directions.  Every
file is opened only if it is a regular file, its size bounded (zip archives unpacked size too,
before anything is unpacked), its JSON checked against a schema (``jazzgen.schema``) before a
value is used, and nothing is written into a folder that is only being read.  Keras is imported
only to load model.keras itself (when weights.npz is missing or stale).
"""
from __future__ import annotations

import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.errors import ModelError
from jazzgen.model.spec import TARGETS, check_weights, dense, features
from jazzgen.schema import Field, check
from jazzgen.util import MAX_MODEL_BYTES, check_zip, load_npz, open_regular, read_json, regular_file


def _sha(path: Path) -> str:
    """The model file's SHA-256 (what ties weights.npz to it), read in chunks, its size bounded."""
    h = hashlib.sha256()
    with open_regular(path, ModelError, "model", MAX_MODEL_BYTES) as f:
        while chunk := f.read(2**20):
            h.update(chunk)
    return h.hexdigest()


def model_file(model_dir: str | Path) -> Path:
    """model.keras of a model folder (or the file itself); ModelError if it is not there or no file."""
    d = Path(model_dir)
    if not d.exists() and not d.is_symlink():
        raise ModelError(f"no model folder {d} (train one with python -m jazzgen.train)")
    path = d / "model.keras" if d.is_dir() else d
    if d.is_dir() and not path.exists() and not path.is_symlink():
        raise ModelError(f"model folder {d}: no model.keras in it (train one with python -m jazzgen.train)")
    return regular_file(path, ModelError, "model")


def _check_zip(path: Path, what: str = "model") -> None:
    """A .keras file is a zip archive: a cut, foreign, bomb or corrupt one is named so before Keras
    reads it."""
    check_zip(path, ModelError, what, kind="a Keras model file", crc=True)


def _read_npz(npz: Path, sha: str) -> dict[str, np.ndarray] | None:
    """The exported weights, or None if they belong to another model.keras (stale)."""
    z = load_npz(npz, ModelError, "weights")
    if "keras_sha256" not in z or z["keras_sha256"].size != 1 or str(z["keras_sha256"]) != sha:
        return None
    return {k: v for k, v in z.items() if k != "keras_sha256"}


def read_vocab(path: Path) -> T.Vocab:
    """vocab.json, its fields checked (``tokens.VOCAB_FIELDS``); ModelError naming the file."""
    return T.Vocab.from_dict(read_json(path, ModelError, "model vocabulary"), str(path))


def optional_file(model_dir: str | Path, name: str) -> Path | None:
    """A model folder's file `name` (beside model.keras when given the file), or None when the
    folder has none (a model written before it); a broken link counts as there, so its reader
    says so."""
    d = Path(model_dir)
    path = (d if d.is_dir() else d.parent) / name
    return path if path.exists() or path.is_symlink() else None


def load_vocab(model_dir: str | Path) -> T.Vocab | None:
    """The vocab.json of a model folder (None if it has none); ModelError if it cannot be used:
    unreadable, or ids that mean something else in this jazzgen (grid, lengths, chord qualities).
    Its levels (articulation, velocity, tempo) and performers are the model's own."""
    path = optional_file(model_dir, "vocab.json")
    if path is None:
        return None
    vocab = read_vocab(path)
    here = T.default_vocab()
    if any(getattr(vocab, f) != getattr(here, f) for f in ("grid", "max_dur", "max_beat", "qualities")):
        raise ModelError(f"model vocabulary {path}: differs from this jazzgen's")
    return vocab


def model_vocab(model_dir: str | Path) -> T.Vocab:
    """The model's vocabulary (its performers and levels), or this jazzgen's default without a vocab.json."""
    return load_vocab(model_dir) or T.default_vocab()


def load_keras(path: Path, what: str = "model"):
    """A .keras file loaded in safe mode (the custom layers registered); ModelError naming it."""
    _check_zip(path, what)
    import keras

    from jazzgen.model import network as _  # noqa: F401  (registers the custom layers)
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as e:
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{what} {path}: cannot load it ({why[:200]})") from None


def export_weights(model, keras_path: Path, out: Path | None = None) -> dict[str, np.ndarray]:
    """The Keras model's weights by layer name, also written to the plain .npz `out` (no pickle)
    when given: training does that for the model it writes; a model only being read is never
    written into.
    """
    import sys

    from jazzgen.util import atomic_write
    w = {}
    harmony = any(layer.name == "emb_next_root" for layer in model.layers)
    for f in features(harmony) + tuple(t for t, _, _ in TARGETS):
        w[f"emb_{f}"] = model.get_layer(f"emb_{f}").get_weights()[0]
    i = 0
    while True:
        try:
            k, u, b = model.get_layer(f"lstm_{i}").get_weights()
        except ValueError:
            break
        w[f"lstm_{i}_kernel"], w[f"lstm_{i}_recurrent"], w[f"lstm_{i}_bias"] = k, u, b
        i += 1
    for name in dense(harmony):
        w[f"{name}_w"], w[f"{name}_b"] = model.get_layer(name).get_weights()
    w = {k: np.asarray(v, np.float32) for k, v in w.items()}
    if out is None:
        return w
    try:
        atomic_write(out, lambda f: np.savez(f, **w, keras_sha256=np.array(_sha(keras_path))))
    except OSError as e:
        print(f"jazzgen: cannot write {out} ({e.strerror or e}): exporting on every load", file=sys.stderr)
    return w


def load_weights(model_dir: str | Path) -> dict[str, np.ndarray]:
    """weights.npz of a model folder, or the weights of its model.keras if that is missing or
    stale (read, not written: the folder is only being read).

    Every way a model folder can be broken (no folder, no model.keras, a cut, foreign or
    bomb file, a FIFO, weights with missing arrays, NaN or shapes that do not fit) is one
    ModelError naming the file.
    """
    keras_path = model_file(model_dir)
    vocab = load_vocab(keras_path.parent)       # the sizes its weights must have
    npz = keras_path.parent / "weights.npz"
    sha = _sha(keras_path)
    if npz.exists() or npz.is_symlink():
        w = _read_npz(npz, sha)
        if w is not None:
            return check_weights(w, npz, vocab)
    try:
        w = export_weights(load_keras(keras_path), keras_path)
    except ModelError:
        raise
    except Exception as e:
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"model {keras_path}: cannot load it ({why})") from None
    return check_weights(w, keras_path, vocab)


CONFIG_NEEDS = ("data", "val_fraction", "seed", "max_songs")   # what the model's split is made of


def by_path(d, where: str) -> dict:
    """config.json's values by field path (``model.units``: ``training.GROUPS``), from either shape:
    nested, as this jazzgen writes it, or flat (``units`` beside ``epochs``), as every run folder
    written before the groups has it (the shipped model's too).  A flat key is checked under its
    own name first, so an error says the field as the file spells it; a field given both ways,
    or a group that is not a JSON object, is a ModelError naming the file and the field."""
    from jazzgen.model.training import CONFIG_FIELDS, GROUPED, GROUPS
    if not isinstance(d, dict):
        raise ModelError(f"{where}: not a JSON object")
    check(d, {k: CONFIG_FIELDS[p] for k, p in GROUPED.items()}, where, ModelError)
    out = {k: v for k, v in d.items() if k not in GROUPS and "." not in k}     # ("model.units": unknown)
    for g in GROUPS:
        inner = d.get(g, {})
        if not isinstance(inner, dict):
            raise ModelError(f"{where}: {g!r} should be a JSON object, not {type(inner).__name__}")
        for k, v in inner.items():                 # a key this jazzgen does not know is ignored
            if k in GROUPS[g] and k in d:
                raise ModelError(f"{where}: '{g}.{k}' is given twice, as {k!r} and in {g!r}; keep one")
            out[f"{g}.{k}"] = v
    return {GROUPED.get(k, k): v for k, v in out.items()}


def read_config(model_dir: str | Path, needs: tuple[str, ...] = ()):
    """The run's TrainConfig from its config.json (nested or flat: ``by_path``), checked as
    ``train`` checks its flags.

    A key this jazzgen does not know is ignored and one it does not find takes the value runs
    had before it existed (``training.BEFORE``), else its default (an older run), except
    `needs` (evaluation needs the split: ``CONFIG_NEEDS``).  Anything
    else is a ModelError naming the file and the field.
    """
    from jazzgen.model.training import BEFORE, CONFIG_FIELDS, TrainConfig, check_config, updated
    path = Path(model_dir) / "config.json"
    if not path.exists() and not path.is_symlink():
        raise ModelError(f"model folder {model_dir}: no config.json (not a model folder written by jazzgen.train)")
    where = f"model config {path}"
    d = by_path(read_json(path, ModelError, "model config"), where)
    missing = [k for k in needs if k not in d]
    if missing:
        raise ModelError(f"{where}: missing {', '.join(missing)}")
    cfg = updated(TrainConfig(), {**{k: v for k, v in BEFORE.items() if k not in d},
                                  **check(d, CONFIG_FIELDS, where, ModelError)})
    try:
        check_config(replace(cfg, name="run"))     # its name (and paths) steer nothing: see resume_config
    except ModelError:
        raise
    except ValueError as e:
        raise ModelError(f"{where}: {e}") from None
    return cfg


def load_model(model_dir: str | Path):
    """The Keras model of a model folder, its vocabulary checked first (``load_vocab``)."""
    load_vocab(model_dir)
    return load_keras(model_file(model_dir))


STATE_FIELDS = {"epoch": Field(int, -1, 10**6), "lr": Field(float, 0, 10), "train_seconds": Field(float, 0, 1e12),
                "command": Field(str, chars=100_000), "device": Field(str), "iterations": Field(int, 0, 2**62),
                "bad_epochs": Field(int, 0, 10**6), "stopped_early": Field(bool), "n_train": Field(int, 0, 10**9),
                "val_files": Field(str, many=10**6), "checkpoint": Field(str, chars=40)}
LOGGED = ("epoch", "val_nll", "val_pitch_ppl", "val_dur_ppl", "train_pitch_loss", "train_dur_loss")


def _numbers(x, depth: int = 1) -> bool:
    """A dict of str -> number or null (or, depth 2, of such dicts): a log row, the best, counters."""
    return isinstance(x, dict) and all(isinstance(k, str) and (
        _numbers(v, depth - 1) if depth > 1 else isinstance(v, (int, float, type(None))) and not isinstance(v, bool))
        for k, v in x.items())


def read_state(out: Path) -> dict:
    """state.json of an interrupted run, every field checked, and the checkpoint it names there;
    ModelError for one that cannot be resumed."""
    from jazzgen.model.loop import CHECKPOINT
    where = out / "state.json"
    if not where.is_file():
        raise ModelError(f"nothing to resume in {out} (no state.json)")
    state = read_json(where, ModelError, "run state")
    known = check(state, STATE_FIELDS, where, ModelError)
    if any(k not in known for k in ("epoch", "lr", "train_seconds", "command", "device")) \
            or not isinstance(state.get("log"), list) or not all(_numbers(r) for r in state["log"]) \
            or not (state.get("best") is None or _numbers(state["best"])) \
            or not _numbers(state.get("callbacks", {}), 2):
        raise ModelError(f"{where}: a field is missing or malformed")
    state.update(known)
    if state["epoch"] < 0 or len(state["log"]) != state["epoch"] + 1 or state["best"] is None:
        raise ModelError(f"{where}: epoch {state['epoch']} does not match its log")
    if any(k not in row for row in state["log"] + [state["best"]] for k in LOGGED):
        raise ModelError(f"{where}: its log lacks one of {', '.join(LOGGED)}")
    state.setdefault("checkpoint", "last.keras")      # runs from before versioned checkpoints
    if not CHECKPOINT.fullmatch(state["checkpoint"]) or not (out / state["checkpoint"]).is_file():
        raise ModelError(f"nothing to resume in {out}: no {state['checkpoint']} (a finished model folder "
                         f"keeps only model.keras; train anew with another `name`)")
    state.setdefault("callbacks", {"early_stopping": {"wait": state.get("bad_epochs", 0),
                                                      "best": state["best"].get("val_nll")}})
    return state


def load_last(out: Path, state: dict):
    """The run's checkpoint (state.json names it) with its optimizer; ModelError if it cannot be
    loaded or is not the state's."""
    import keras
    path = out / state["checkpoint"]
    model = load_keras(path, "checkpoint")
    try:
        iters = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"checkpoint {path}: cannot load it ({msg[:200]})") from None
    if state.get("iterations", iters) != iters:
        raise ModelError(f"{path}: {iters} optimizer steps, state.json says {state['iterations']} "
                         f"(killed while saving?); cannot resume exactly")
    model.optimizer.learning_rate.assign(state["lr"])
    return model
