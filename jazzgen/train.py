"""python -m jazzgen.train: learn jazz improvisation from a folder of MIDI.

    python -m jazzgen.train --data midi/wjazzd --name wjazzd

The corpus is read (and cached) once, split by file, cut into windows of whole
solos, and each epoch the training windows are re-transposed to random keys (all
12, an octave moved where needed to stay inside the corpus's pitch range).  After
every epoch the held-out files are scored note by note (cross-entropy, perplexity,
top-1 accuracy of each head); the best and the last model are written atomically,
with the optimizer state, so that `--resume` continues an interrupted run.
"""
from __future__ import annotations

import argparse
import csv
import io
import json
import os
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from .paths import CACHE
from .util import atomic_write

DATA_LICENCE = ("Weimar Jazz Database (WJazzD), Jazzomat Research Project, HfM Franz Liszt Weimar; "
                "ODbL 1.0 (https://opendatacommons.org/licenses/odbl/1-0/); MIDI with chord markers "
                "as prepared in midi/wjazzd")


@dataclass
class TrainConfig:
    data: str = "midi"
    out: str = "models"
    name: str = ""            # default: the data folder's name
    cache: str = CACHE
    epochs: int = 40
    batch_size: int = 24
    seq_len: int = 96
    layers: int = 2
    units: int = 256
    dropout: float = 0.3
    lr: float = 2e-3
    clipnorm: float = 1.0
    patience: int = 4
    val_fraction: float = 0.1
    seed: int = 0
    augment: bool = True
    mixed_precision: bool = False
    distribute: bool = False
    max_songs: int = 0        # 0 = all; a small number for smoke tests

    @property
    def model_dir(self) -> Path:
        return Path(self.out) / self.name


class TrainError(Exception):
    """A problem with the arguments or the data: printed as one line, exit code 2."""


def parse_args(argv=None) -> tuple[TrainConfig, bool]:
    d = TrainConfig()
    p = argparse.ArgumentParser(prog="python -m jazzgen.train", description=__doc__.split("\n\n")[0])
    p.error = lambda msg: p.exit(2, f"jazzgen.train: error: {msg}\n")  # one line, no usage dump
    p.add_argument("--data", default=d.data, help="folder of MIDI files (default: midi/)")
    p.add_argument("--out", default=d.out, help="where model folders go (default: models/)")
    p.add_argument("--name", default=d.name, help="model folder name under --out (default: the data folder's name)")
    p.add_argument("--cache", default=d.cache, help="corpus cache folder")
    for f in ("epochs", "batch_size", "seq_len", "layers", "units", "patience", "seed", "max_songs"):
        p.add_argument("--" + f.replace("_", "-"), type=int, default=getattr(d, f))
    for f in ("dropout", "lr", "clipnorm", "val_fraction"):
        p.add_argument("--" + f.replace("_", "-"), type=float, default=getattr(d, f))
    p.add_argument("--no-augment", dest="augment", action="store_false", help="no 12-key transposition")
    p.add_argument("--mixed-precision", action="store_true", help="float16/bfloat16 compute (GPU)")
    p.add_argument("--distribute", action="store_true", help="data-parallel over all local devices")
    p.add_argument("--resume", action="store_true", help="continue the run in --out/--name from its last epoch")
    a = p.parse_args(argv)
    resume = a.__dict__.pop("resume")
    cfg = TrainConfig(**a.__dict__)
    cfg.name = cfg.name or Path(cfg.data).resolve().name
    for f in ("epochs", "batch_size", "seq_len", "layers", "units"):
        if getattr(cfg, f) < 1:
            p.error(f"--{f.replace('_', '-')} must be at least 1")
    if not 0 <= cfg.dropout < 1:
        p.error("--dropout must be in [0, 1)")
    if not 0 < cfg.val_fraction < 1:
        p.error("--val-fraction must be in (0, 1)")
    if cfg.lr <= 0:
        p.error("--lr must be positive")
    return cfg, resume


# ---------------------------------------------------------------------------- data

@dataclass
class Data:
    train: object            # dataset.Windows
    val: object              # dataset.Windows, one window per validation song
    lo: int
    hi: int
    train_files: list = field(default_factory=list)
    val_files: list = field(default_factory=list)
    dropped: int = 0
    vocab: object = None     # tokens.Vocab: the training solos' performers


def load_data(cfg: TrainConfig) -> Data:
    from . import dataset, tokens
    from .corpus import load_corpus
    if not Path(cfg.data).exists():
        raise TrainError(f"no such data folder: {cfg.data}")
    corpus = load_corpus(cfg.data, cfg.cache, progress=sys.stderr.isatty())  # no bar in logs
    for r in corpus.dropped:
        print(r.line(), file=sys.stderr)
    train_songs, val_songs = dataset.split_songs(corpus.songs, cfg.val_fraction, cfg.seed, cfg.max_songs)
    if not train_songs or not val_songs:
        n = len(train_songs) + len(val_songs)
        raise TrainError(f"{cfg.data}: {n} usable MIDI files; need at least 2 (one to validate on)")
    vocab = tokens.vocab_for(train_songs)
    tr, va = [tokens.encode(s, vocab) for s in train_songs], [tokens.encode(s, vocab) for s in val_songs]
    lo, hi = dataset.pitch_range(tr)
    longest = max(len(t) for t in va)
    return Data(dataset.make_windows(tr, cfg.seq_len, stride=cfg.seq_len), dataset.make_windows(va, longest), lo, hi,
                [s.name for s in train_songs], [s.name for s in val_songs], len(corpus.dropped), vocab)


# ---------------------------------------------------------------------------- run state

def _atomic_json(path: Path, obj) -> None:
    atomic_write(path, lambda f: f.write(json.dumps(obj, indent=1).encode()))


def _save_model(model, path: Path) -> None:
    """model.save into a temporary name, then rename: a kill never leaves half a model."""
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    model.save(tmp)
    os.replace(tmp, path)


def _strategy_scope(cfg: TrainConfig):
    """A context in which to build the model: data-parallel over local devices if asked."""
    import contextlib
    import keras
    if not cfg.distribute:
        return contextlib.nullcontext()
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf
        devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices("CPU")
        strategy = tf.distribute.MirroredStrategy([d.name for d in devices])
        print(f"distribute: MirroredStrategy over {strategy.num_replicas_in_sync} devices")
        return strategy.scope()
    if backend == "jax":
        keras.distribution.set_distribution(keras.distribution.DataParallel())
        print(f"distribute: keras DataParallel over {len(keras.distribution.list_devices())} devices")
        return contextlib.nullcontext()
    raise TrainError(f"--distribute needs the tensorflow or jax backend, not {backend}")


def _device() -> str:
    import keras
    b = keras.backend.backend()
    try:
        if b == "jax":
            import jax
            return f"jax {jax.devices()[0].device_kind}"
        if b == "torch":
            import torch
            return f"torch {torch.cuda.get_device_name(0)}" if torch.cuda.is_available() else "torch cpu"
        import tensorflow as tf
        gpus = tf.config.list_physical_devices("GPU")
        return f"tensorflow {'GPU x%d' % len(gpus) if gpus else 'cpu'}"
    except Exception:
        return b


def plot_curves(log: list[dict], path: Path) -> None:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    ep = [r["epoch"] for r in log]
    fig, ax = plt.subplots(1, 2, figsize=(10, 3.5))
    for h, a in zip(("pitch", "dur"), ax):
        a.plot(ep, [r[f"train_{h}_loss"] for r in log], label="train loss")
        a.plot(ep, [r[f"val_{h}_nll"] for r in log], label="validation NLL")
        a.set_title(f"{h}: validation perplexity {log[-1][f'val_{h}_ppl']:.2f} (last)")
        a.set_xlabel("epoch")
        a.legend()
    fig.tight_layout()
    try:
        atomic_write(path, lambda f: fig.savefig(f, format="png", dpi=100))
    finally:
        plt.close(fig)


def _licence(data: str) -> str:
    """The shipped corpus's licence; for any other folder jazzgen cannot know it."""
    if "wjazzd" in Path(data).resolve().as_posix().lower():
        return DATA_LICENCE
    return f"that of the MIDI files in `{data}` (not recorded by jazzgen)"


def write_card(cfg: TrainConfig, state: dict, data: Data, path: Path) -> None:
    b = state["best"]
    lines = [
        f"# jazzgen model `{cfg.name}`", "",
        "A 2-head LSTM that predicts the next note (pitch and duration) of a jazz solo, conditioned on "
        "the chord in force and the metric position. Trained by `jazzgen.train`.", "",
        f"- Command: `{state['command']}`",
        f"- Backend and device: {state['device']}; trained {state['train_seconds']:.0f} s over "
        f"{state['epoch'] + 1} epochs (best: epoch {b['epoch'] + 1})",
        f"- Finished: {time.strftime('%Y-%m-%d %H:%M', time.localtime())}",
        f"- Data: {len(data.train_files)} training and {len(data.val_files)} validation solos from "
        f"`{cfg.data}` (split by file, seed {cfg.seed}); {data.dropped} files dropped; pitch range "
        f"{data.lo}-{data.hi}; 12-key transposition {'on' if cfg.augment else 'off'}",
        f"- Data licence: {_licence(cfg.data)}", "",
        "## Validation (per note, held-out files, no augmentation)", "",
        "| head | perplexity | NLL (nats) | top-1 accuracy |", "| --- | --- | --- | --- |",
        f"| pitch | {b['val_pitch_ppl']:.2f} | {b['val_pitch_nll']:.3f} | {100 * b['val_pitch_acc']:.1f}% |",
        f"| duration | {b['val_dur_ppl']:.2f} | {b['val_dur_nll']:.3f} | {100 * b['val_dur_acc']:.1f}% |", "",
        "## Config", "", "```json", json.dumps(asdict(cfg), indent=1), "```", "",
    ]
    atomic_write(path, lambda f: f.write("\n".join(lines).encode()))


# ---------------------------------------------------------------------------- the loop

def fit_epoch(model, data: Data, cfg: TrainConfig, epoch: int, lr: float, verbose=2):
    """One pass over the training windows, each re-transposed to a random key.

    The transposition is a few vectorised NumPy operations on the (N, L) arrays, so
    the hot path is Keras' own: nothing in Python runs per step.
    """
    from .model import xy
    rng = np.random.default_rng([cfg.seed, epoch])  # per epoch: a resumed run sees the same keys
    w = data.train.transposed(rng, data.lo, data.hi) if cfg.augment else data.train
    x, y = xy(w.arrays)
    model.optimizer.learning_rate.assign(lr)
    return model.fit(x, y, batch_size=cfg.batch_size, epochs=epoch + 1, initial_epoch=epoch,
                     shuffle=True, verbose=verbose)


def inference_copy(model, mcfg, vocab):
    """The same weights in an uncompiled model: a third of the size (no optimizer slots)."""
    from .model import build_model
    from . import tokens
    clone = build_model(vocab, mcfg)
    clone.set_weights(model.get_weights())
    return clone


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True) -> dict:
    """Train (or continue) the run in cfg.model_dir; returns the final state dict."""
    import keras
    from . import tokens
    from .model import ModelConfig, build_model, compile_model, score
    from .sample import export_weights

    out = cfg.model_dir
    state_path = out / "state.json"
    if resume:
        if not state_path.exists():
            raise TrainError(f"nothing to resume in {out} (no state.json)")
        saved = json.loads(state_path.read_text())
        cfg = TrainConfig(**{**saved["config"], "epochs": cfg.epochs})
    print("config:", json.dumps(asdict(cfg)))
    if cfg.mixed_precision:
        keras.mixed_precision.set_global_policy("mixed_float16" if "GPU" in _device() or "cuda" in _device().lower()
                                                else "mixed_bfloat16")
    keras.utils.set_random_seed(cfg.seed)
    data = load_data(cfg)
    print(f"data: {len(data.train_files)} train / {len(data.val_files)} validation solos, "
          f"{len(data.train)} windows of {cfg.seq_len} events, pitch range {data.lo}-{data.hi}")
    out.mkdir(parents=True, exist_ok=True)
    vocab = data.vocab
    atomic_write(out / "vocab.json", lambda f: f.write(vocab.to_json().encode()))
    _atomic_json(out / "config.json", asdict(cfg))

    with _strategy_scope(cfg):
        mcfg = ModelConfig(layers=cfg.layers, units=cfg.units, dropout=cfg.dropout)
        if resume:
            model = keras.saving.load_model(out / "last.keras", safe_mode=True)
            state = saved
            print(f"resuming after epoch {state['epoch']} (lr {state['lr']:.2e})")
        else:
            model = build_model(vocab, mcfg)
            compile_model(model, cfg.lr, cfg.clipnorm)
            state = {"epoch": -1, "lr": cfg.lr, "best": None, "bad_epochs": 0, "log": [],
                     "train_seconds": 0.0, "command": "python -m jazzgen.train " + " ".join(sys.argv[1:]),
                     "device": _device()}
    state["config"] = asdict(cfg)
    val_arrays = data.val.arrays
    for epoch in range(state["epoch"] + 1, cfg.epochs):
        t0 = time.time()
        hist = fit_epoch(model, data, cfg, epoch, state["lr"], verbose=1 if progress else 2)
        val = score(model, val_arrays)
        state["train_seconds"] += time.time() - t0
        row = {"epoch": epoch, "lr": state["lr"], "seconds": round(time.time() - t0, 2),
               "train_pitch_loss": hist.history["pitch_loss"][-1], "train_dur_loss": hist.history["dur_loss"][-1],
               **{f"val_{k}": v for k, v in val.items() if k != "notes"}}
        state["log"].append(row)
        print(f"epoch {epoch + 1}/{cfg.epochs}: val pitch ppl {val['pitch_ppl']:.2f} acc {val['pitch_acc']:.3f} | "
              f"dur ppl {val['dur_ppl']:.2f} acc {val['dur_acc']:.3f} | {row['seconds']:.0f} s", flush=True)
        improved = state["best"] is None or val["nll"] < state["best"]["val_nll"] - 1e-4
        if improved:
            state["best"], state["bad_epochs"] = row, 0
            best = inference_copy(model, mcfg, vocab)
            _save_model(best, out / "model.keras")
            export_weights(best, out / "model.keras", out / "weights.npz")
        else:
            state["bad_epochs"] += 1
            state["lr"] *= 0.5          # halve the step size when validation stalls
        state["epoch"] = epoch
        _save_model(model, out / "last.keras")
        _atomic_json(state_path, state)
        _write_log(state["log"], out)
        if state["bad_epochs"] >= cfg.patience:
            print(f"early stop: no improvement for {cfg.patience} epochs")
            break
    _atomic_json(out / "metrics.json", {"best": state["best"], "epochs_run": state["epoch"] + 1})
    plot_curves(state["log"], out / "curve.png")
    write_card(cfg, state, data, out / "MODEL_CARD.md")
    return state


def _write_log(log: list[dict], out: Path) -> None:
    buf = io.StringIO()
    wr = csv.DictWriter(buf, fieldnames=list(log[0]))
    wr.writeheader()
    wr.writerows(log)
    atomic_write(out / "log.csv", lambda f: f.write(buf.getvalue().encode()))


def main(argv=None) -> int:
    cfg, resume = parse_args(argv)
    try:
        state = train(cfg, resume=resume, progress=sys.stderr.isatty())
    except TrainError as e:
        print(f"jazzgen.train: error: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"\ninterrupted; continue with: python -m jazzgen.train --out {cfg.out} --name {cfg.name} --resume",
              file=sys.stderr)
        return 130
    b = state["best"]
    print(f"best: pitch ppl {b['val_pitch_ppl']:.2f}, dur ppl {b['val_dur_ppl']:.2f} -> {cfg.model_dir}/model.keras")
    print(f"improvise with it: python -m jazzgen.generate --model {cfg.model_dir} --seconds 30")
    return 0


if __name__ == "__main__":
    sys.exit(main())
