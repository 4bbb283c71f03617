"""A model folder, read in one place: model.keras, weights.npz, vocab.json, config.json, and
state.json with last.keras for a resume.

Every way a folder can be broken (no folder, no model.keras, a cut or foreign file, a FIFO,
unreadable JSON, a config or vocabulary this jazzgen cannot use, weights with missing arrays,
NaN or shapes that do not fit) is one ``ModelError`` naming the file and the field.  Keras is
imported only to load model.keras itself (a stale or missing weights.npz is exported again).
"""
from __future__ import annotations

import hashlib
import json
import math
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np

from jazzgen.data import tokens as T
from jazzgen.errors import ModelError
from jazzgen.model.spec import TARGETS, check_weights, dense, features
from jazzgen.util import regular_file


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def model_file(model_dir: str | Path) -> Path:
    """model.keras of a model folder (or the file itself); ModelError if it is not there or no file."""
    d = Path(model_dir)
    if not d.exists() and not d.is_symlink():
        raise ModelError(f"no model folder {d} (train one with python -m jazzgen.train)")
    path = d / "model.keras" if d.is_dir() else d
    if d.is_dir() and not path.exists() and not path.is_symlink():
        raise ModelError(f"model folder {d}: no model.keras in it (train one with python -m jazzgen.train)")
    return regular_file(path, ModelError, "model")


def _check_zip(path: Path) -> None:
    """A .keras file is a zip archive: a cut or foreign one is named so before Keras reads it."""
    import zipfile
    try:
        with zipfile.ZipFile(path) as z:
            bad = z.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError) as e:
        raise ModelError(f"model {path}: not a Keras model file (not a whole zip archive: {e}); "
                         "truncated or overwritten?") from None
    if bad is not None:
        raise ModelError(f"model {path}: corrupt (member {bad} fails its checksum)")


def _read_npz(npz: Path, sha: str) -> dict[str, np.ndarray] | None:
    """The exported weights, or None if they belong to another model.keras (stale)."""
    regular_file(npz, ModelError, "weights")
    try:
        with np.load(npz, allow_pickle=False) as z:
            if "keras_sha256" not in z.files or str(z["keras_sha256"]) != sha:
                return None
            return {k: z[k] for k in z.files if k != "keras_sha256"}
    except Exception as e:  # BadZipFile, EOFError, zlib.error, ValueError (pickled object arrays)...
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"weights {npz}: unreadable ({why}); delete it to export it again from model.keras") \
            from None


def load_vocab(model_dir: str | Path) -> T.Vocab | None:
    """The vocab.json of a model folder (None if it has none); ModelError if it cannot be used:
    unreadable, or ids that mean something else in this jazzgen (grid, lengths, chord qualities).
    Its levels (articulation, velocity, tempo) and performers are the model's own."""
    d = Path(model_dir)
    path = (d if d.is_dir() else d.parent) / "vocab.json"
    if not path.exists() and not path.is_symlink():
        return None
    regular_file(path, ModelError, "model vocabulary")
    try:
        vocab = T.Vocab.from_json(path.read_bytes().decode("utf-8-sig"))
    except ModelError:
        raise
    except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
        why = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"model vocabulary {path}: unreadable ({why})") from None
    here = T.default_vocab()
    if any(getattr(vocab, f) != getattr(here, f) for f in ("grid", "max_dur", "max_beat", "qualities")):
        raise ModelError(f"model vocabulary {path}: differs from this jazzgen's")
    return vocab


def model_vocab(model_dir: str | Path) -> T.Vocab:
    """The model's vocabulary (its performers and levels), or this jazzgen's default without a vocab.json."""
    return load_vocab(model_dir) or T.default_vocab()


def load_keras(path: Path, what: str = "model"):
    """A .keras file loaded in safe mode (the custom layers registered); ModelError naming it."""
    _check_zip(path)
    import keras

    from jazzgen.model import network as _  # noqa: F401  (registers the custom layers)
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as e:
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"{what} {path}: cannot load it ({why[:200]})") from None


def export_weights(model, keras_path: Path, out: Path) -> dict[str, np.ndarray]:
    """The Keras model's weights by layer name, also written to a plain .npz beside it (no pickle).

    A folder that cannot be written (an installed, read-only model) only costs the
    export on every load: the weights are returned either way.
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
    try:
        atomic_write(out, lambda f: np.savez(f, **w, keras_sha256=np.array(_sha(keras_path))))
    except OSError as e:
        print(f"jazzgen: cannot write {out} ({e.strerror or e}): exporting on every load", file=sys.stderr)
    return w


def load_weights(model_dir: str | Path) -> dict[str, np.ndarray]:
    """weights.npz of a model folder, re-exported from model.keras if missing or stale.

    Every way a model folder can be broken (no folder, no model.keras, a cut or foreign
    file, a FIFO, weights with missing arrays, NaN or shapes that do not fit) is one
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
        w = export_weights(load_keras(keras_path), keras_path, npz)
    except ModelError:
        raise
    except Exception as e:
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"model {keras_path}: cannot load it ({why})") from None
    return check_weights(w, keras_path, vocab)


CONFIG_NEEDS = ("data", "val_fraction", "seed", "max_songs")   # what the model's split is made of


def read_config(model_dir: str | Path, needs: tuple[str, ...] = ()):
    """The run's TrainConfig from its config.json, checked as ``train`` checks its flags.

    A key this jazzgen does not know is ignored and one it does not find takes the value runs
    had before it existed (``training.BEFORE``), else its default (an older run), except
    `needs` (evaluation needs the split: ``CONFIG_NEEDS``).  Anything
    else is a ModelError naming the file and the field.
    """
    from jazzgen.model.training import BEFORE, TrainConfig, check_config
    path = Path(model_dir) / "config.json"
    if not path.exists() and not path.is_symlink():
        raise ModelError(f"model folder {model_dir}: no config.json (not a model folder written by jazzgen.train)")
    regular_file(path, ModelError, "model config")
    try:
        d = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ModelError(f"model config {path}: not JSON ({str(e).splitlines()[0]})") from None
    if not isinstance(d, dict):
        raise ModelError(f"model config {path}: not a JSON object")
    missing = [k for k in needs if k not in d]
    if missing:
        raise ModelError(f"model config {path}: missing {', '.join(missing)}")
    out = {k: v for k, v in BEFORE.items() if k not in d}
    for f in fields(TrainConfig):
        if f.name in d:
            out[f.name] = _typed(d[f.name], f.default if f.default is not MISSING else None, f.name, path)
    cfg = TrainConfig(**out)
    try:
        check_config(cfg)
    except ModelError:
        raise
    except ValueError as e:
        raise ModelError(f"model config {path}: {e}") from None
    return cfg


def _typed(v, default, name: str, path: Path):
    """`v` if it has the type of the field's default (a finite number for a float), else ModelError."""
    ok = (isinstance(v, bool) if isinstance(default, bool) else
          isinstance(v, int) and not isinstance(v, bool) if isinstance(default, int) else
          isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
          if isinstance(default, float) else isinstance(v, str) if isinstance(default, str) else True)
    if not ok:
        raise ModelError(f"model config {path}: {name} is {json.dumps(v)[:40]}, expected {type(default).__name__}")
    return float(v) if isinstance(default, float) else v


def load_model(model_dir: str | Path):
    """The Keras model of a model folder, its vocabulary checked first (``load_vocab``)."""
    load_vocab(model_dir)
    return load_keras(model_file(model_dir))


def read_json(path: Path):
    try:
        return json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise ModelError(f"{path}: unreadable ({str(e).splitlines()[0] if str(e) else type(e).__name__})") from None


STATE_TYPES = {"epoch": int, "lr": (int, float), "best": (dict, type(None)), "log": list,
               "train_seconds": (int, float), "command": str, "device": str}


def read_state(out: Path) -> dict:
    """state.json of an interrupted run, checked; ModelError for one that cannot be resumed."""
    if not (out / "state.json").is_file():
        raise ModelError(f"nothing to resume in {out} (no state.json)")
    if not (out / "last.keras").is_file():
        raise ModelError(f"nothing to resume in {out}: no last.keras (a finished model folder keeps only "
                         f"model.keras; train anew with another --name)")
    state = read_json(out / "state.json")
    if not isinstance(state, dict):
        raise ModelError(f"{out / 'state.json'}: not a JSON object")
    for k, t in STATE_TYPES.items():
        if not isinstance(state.get(k), t) or isinstance(state.get(k), bool):
            raise ModelError(f"{out / 'state.json'}: {k!r} missing or malformed")
    if state["epoch"] < 0 or len(state["log"]) != state["epoch"] + 1 or (state["best"] is None) != (state["epoch"] < 0):
        raise ModelError(f"{out / 'state.json'}: epoch {state['epoch']} does not match its log")
    state.setdefault("callbacks", {"early_stopping": {"wait": state.get("bad_epochs", 0),
                                                      "best": state["best"].get("val_nll")}})
    return state


def load_last(out: Path, state: dict):
    """last.keras with its optimizer; ModelError if it cannot be loaded or is not the state's."""
    import keras
    model = load_keras(out / "last.keras", "run")
    try:
        iters = int(keras.ops.convert_to_numpy(model.optimizer.iterations))
    except Exception as e:
        msg = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise ModelError(f"run {out / 'last.keras'}: cannot load it ({msg[:200]})") from None
    if state.get("iterations", iters) != iters:
        raise ModelError(f"{out / 'last.keras'}: {iters} optimizer steps, state.json says {state['iterations']} "
                         f"(killed while saving?); cannot resume exactly")
    model.optimizer.learning_rate.assign(state["lr"])
    return model
