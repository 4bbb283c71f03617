"""Training: a folder of MIDI in, a model folder out (the command is ``jazzgen.commands.train``).

The corpus is read (and cached) once, split by file, cut into windows of whole
solos, and each epoch the training windows are re-transposed to random keys (all
12, an octave moved where needed to stay inside the corpus's pitch range).  Keras'
`fit` runs the loop (`loop.py` holds the data source and the callbacks): after every
epoch the held-out files are scored note by note (cross-entropy, perplexity, top-1
accuracy of each head), the step size is halved when that stalls, training stops
after `--patience` epochs without progress, and the best and the last model are
written atomically with the run state, so that `--resume` continues exactly.
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from jazzgen import paths
from jazzgen.data.corpus import read_settings
from jazzgen.errors import DataError, FieldError, UsageError
from jazzgen.model import backend
from jazzgen.model.distribute import ALONE, Cluster, Parallel, start_parallel
from jazzgen.model.folder import load_last, read_config, read_state
from jazzgen.model.spec import ModelConfig
from jazzgen.util import atomic_json, atomic_write, check_out_folder

DATA_LICENCE = ("Weimar Jazz Database (WJazzD), Jazzomat Research Project, HfM Franz Liszt Weimar; "
                "ODbL 1.0 (https://opendatacommons.org/licenses/odbl/1-0/); MIDI with chord markers "
                "as prepared in midi/wjazzd")


@dataclass
class TrainConfig:
    data: str = paths.DATA
    out: str = paths.MODELS
    name: str = ""            # default: the data folder's name
    cache: str = paths.CACHE
    epochs: int = 40
    batch_size: int = 64       # 1.85x the tokens/s of batch 24 on CPU, as good per second (README)
    seq_len: int = 96
    layers: int = ModelConfig.layers
    units: int = ModelConfig.units
    dropout: float = ModelConfig.dropout
    harmony: bool = ModelConfig.harmony   # the chord ahead as input (model.spec)
    lr: float = 3e-3           # batch 24 used 2e-3; scaled by about sqrt(64 / 24)
    clipnorm: float = 1.0
    weight_decay: float = 0.0  # AdamW's decoupled weight decay (0: Adam)
    patience: int = 4
    val_fraction: float = 0.1
    seed: int = 0
    augment: bool = True
    mixed_precision: bool = False
    distribute: bool = False
    max_songs: int = 0        # 0 = all; a small number for smoke tests
    track: str | None = None  # melody track of every file (see ingest --track)
    track_map: str | None = None  # per-file melody tracks (see ingest --track-map)

    @property
    def model_dir(self) -> Path:
        return Path(self.out) / self.name

    def model_config(self) -> ModelConfig:
        """The network's sizes this run trains."""
        return ModelConfig(layers=self.layers, units=self.units, dropout=self.dropout, harmony=self.harmony)


# what a run folder's config.json means by a key it does not have (it predates the key)
BEFORE = {"harmony": False}


# what a resumed run may change; any other flag must repeat the run's own value
# (--distribute too: a step is the same over one device or several, see distribute.py)
RESUMABLE = {"epochs", "patience", "out", "name", "cache", "data", "distribute"}


def check_config(cfg: TrainConfig) -> None:
    """FieldError (naming the field) for values no run can use."""
    for f in ("epochs", "batch_size", "seq_len", "layers", "units"):
        if getattr(cfg, f) < 1:
            raise FieldError(f, "must be at least 1")
    for f in ("patience", "max_songs"):
        if getattr(cfg, f) < 0:
            raise FieldError(f, "must not be negative")
    if not 0 <= cfg.dropout < 1:
        raise FieldError("dropout", "must be in [0, 1)")
    if not 0 < cfg.val_fraction < 1:
        raise FieldError("val_fraction", "must be in (0, 1)")
    if cfg.lr <= 0:
        raise FieldError("lr", "must be positive")
    if not 0 <= cfg.weight_decay < 1:
        raise FieldError("weight_decay", "must be in [0, 1)")


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
    wjazzd: int = 0          # how many of the solos used are WJazzD's (for the licence)
    vocab: object = None     # tokens.Vocab: the training solos' performers and bins
    train_toks: list = field(default_factory=list)   # the training solos' tokens (the formula memory's)
    nuance: object = None    # data.nuance.NuanceTables: how the training solos are played off the grid


def load_data(cfg: TrainConfig) -> Data:
    from jazzgen.data import dataset, tokens
    from jazzgen.data.corpus import load_corpus
    if not Path(cfg.data).exists():
        raise DataError(f"no such data folder: {cfg.data}")
    corpus = load_corpus(cfg.data, cfg.cache, read_settings(cfg), progress=sys.stderr.isatty())  # no bar in logs
    for r in corpus.dropped:
        print(r.line(), file=sys.stderr)
    train_songs, val_songs = dataset.split_songs(corpus.songs, cfg.val_fraction, cfg.seed, cfg.max_songs)
    if not train_songs or not val_songs:
        n = len(train_songs) + len(val_songs)
        raise DataError(f"{cfg.data}: {n} usable MIDI files; need at least 2 (one to validate on)")
    vocab = tokens.vocab_for(train_songs)
    tr, va = [tokens.encode(s, vocab) for s in train_songs], [tokens.encode(s, vocab) for s in val_songs]
    lo, hi = dataset.pitch_range(tr)
    wj = {Path(r.path).stem for r in corpus.reports if r.kept and "wjazzd" in Path(r.path).resolve().as_posix().lower()}
    from jazzgen.data.nuance import tables_for
    return Data(dataset.make_windows(tr, cfg.seq_len, stride=cfg.seq_len), dataset.make_windows(va, max(map(len, va))),
                lo, hi, [s.name for s in train_songs], [s.name for s in val_songs], len(corpus.dropped),
                sum(s.name in wj for s in train_songs + val_songs), vocab, tr,
                tables_for(train_songs, cfg.data, vocab))


# ---------------------------------------------------------------------------- the run folder


def resume_config(cfg: TrainConfig, given: set[str]) -> tuple[TrainConfig, dict]:
    """(the run's own config with what a resume may change, its state)."""
    out = cfg.model_dir
    state = read_state(out)
    saved = read_config(out)
    for k in sorted(given - RESUMABLE):
        if getattr(cfg, k) != getattr(saved, k):
            raise UsageError(f"--resume continues {out} as it was configured: --{k.replace('_', '-')} "
                             f"{getattr(cfg, k)} differs from its {getattr(saved, k)}")
    return replace(saved, **{k: getattr(cfg, k) for k in given & RESUMABLE}), state


def new_state(cfg: TrainConfig) -> dict:
    return {"epoch": -1, "lr": cfg.lr, "best": None, "bad_epochs": 0, "log": [], "train_seconds": 0.0,
            "command": "python -m jazzgen.train " + " ".join(sys.argv[1:]), "device": backend.device()[0],
            "config": asdict(cfg)}


# ---------------------------------------------------------------------------- what a run leaves

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


def _licence(cfg: TrainConfig, data: Data) -> str:
    """The bundled corpus's licence for its solos; for any other file jazzgen cannot know it."""
    other = f"that of the MIDI files in `{cfg.data}` (not recorded by jazzgen)"
    n = len(data.train_files) + len(data.val_files)
    if data.wjazzd == n:
        return DATA_LICENCE
    if data.wjazzd:
        return f"{DATA_LICENCE} for its {data.wjazzd} WJazzD solos; for the other {n - data.wjazzd}, {other}"
    return other


HEAD_LABELS = {"pitch": "pitch", "dur": "duration", "art": "articulation", "vel": "velocity"}


def write_card(cfg: TrainConfig, state: dict, data: Data, path: Path) -> None:
    """MODEL_CARD.md: what the model is, how it was trained, and every head's validation scores."""
    from jazzgen.model.spec import HEADS
    b = state["best"]
    lines = [
        f"# jazzgen model `{cfg.name}`", "",
        f"A {len(HEADS)}-head LSTM that predicts the next note of a jazz solo "
        f"({', '.join(HEAD_LABELS[h] for h in HEADS)}), "
        "conditioned on the chord in force, the metric position, the solo's tempo bucket and its performer. "
        "Trained by `jazzgen.train`.", "",
        f"- Command: `{state['command']}`",
        f"- Backend and device: {state['device']}; trained {state['train_seconds']:.0f} s over "
        f"{state['epoch'] + 1} epochs (best: epoch {b['epoch'] + 1})",
        f"- Finished: {time.strftime('%Y-%m-%d %H:%M', time.localtime())}",
        f"- Data: {len(data.train_files)} training and {len(data.val_files)} validation solos from "
        f"`{cfg.data}` (split by file, seed {cfg.seed}); {data.dropped} files dropped; pitch range "
        f"{data.lo}-{data.hi}; 12-key transposition {'on' if cfg.augment else 'off'}",
        f"- Data licence: {_licence(cfg, data)}", "",
        "## Validation (held-out files, no augmentation)", "",
        "Pitch and duration are scored on every event (note, rest or tie), articulation and velocity on notes.", "",
        "| head | perplexity | NLL (nats) | top-1 accuracy | targets |", "| --- | --- | --- | --- | --- |",
        *(f"| {HEAD_LABELS[h]} | {b[f'val_{h}_ppl']:.2f} | {b[f'val_{h}_nll']:.3f} | {100 * b[f'val_{h}_acc']:.1f}% "
          f"| {b.get(f'val_{h}_n', '-')} |" for h in HEADS if f"val_{h}_ppl" in b), "",
        "## Formula memory", "",
        "`formulas.npz`: the training solos' interval lines, which the sampler mixes into the pitch head "
        "(`jazzgen.generation.formulas`), with the default weights; fit them to this model on its validation "
        "solos with `python scripts/tools/formulas_fit.py --model DIR --write`.", "",
        "## Config", "", "```json", json.dumps(asdict(cfg), indent=1), "```", "",
    ]
    atomic_write(path, lambda f: f.write("\n".join(lines).encode()))


def finish(cfg: TrainConfig, state: dict, data: Data) -> None:
    out = cfg.model_dir
    atomic_json(out / "metrics.json", {"best": state["best"], "epochs_run": state["epoch"] + 1})
    plot_curves(state["log"], out / "curve.png")
    write_card(cfg, state, data, out / "MODEL_CARD.md")
    write_formulas(data, out)


def write_formulas(data: Data, out: Path) -> None:
    """formulas.npz: the training solos' formula memory, which the sampler mixes into the pitch
    head (generation.formulas), with its default weights (refit them for this model on its
    validation solos with scripts/tools/formulas_fit.py --write)."""
    from jazzgen.generation.formulas import FILE, Formulas
    if data.train_toks:
        Formulas.build(data.train_toks).save(out / FILE)


# ---------------------------------------------------------------------------- the run

def inference_copy(model, cfg: TrainConfig, vocab):
    """The same weights in an uncompiled model: a third of the size (no optimizer slots)."""
    from jazzgen.model.network import build_model
    clone = build_model(vocab, cfg.model_config())
    clone.set_weights(model.get_weights())
    return clone


def export_best(cfg: TrainConfig, vocab):
    """The checkpoint's hook for a new best: model.keras without optimizer, and its weights.npz."""
    from jazzgen.model.folder import export_weights
    from jazzgen.model.loop import save_model

    def export(model, path: Path) -> None:
        best = inference_copy(model, cfg, vocab)
        save_model(best, path)
        export_weights(best, path, path.with_name("weights.npz"))
    return export


def _prepare(cfg: TrainConfig) -> None:
    import keras
    print("config:", json.dumps(asdict(cfg)))
    if cfg.mixed_precision:
        gpu = backend.device()[1]
        keras.mixed_precision.set_global_policy("mixed_float16" if gpu else "mixed_bfloat16")
    keras.utils.set_random_seed(cfg.seed)


def _fit(model, cfg: TrainConfig, state: dict, data: Data, progress: bool, par: Parallel) -> None:
    from jazzgen.model import loop
    from jazzgen.model.network import model_inputs
    start = state["epoch"] + 1
    windows = loop.KeyedWindows(data.train, data.lo, data.hi, cfg.batch_size, cfg.seed, model_inputs(model),
                                cfg.augment, start, shard=par.shard)
    cbs = loop.callbacks(cfg.model_dir, state, data.val.arrays, cfg.epochs, cfg.patience, cfg.seed,
                         export_best(cfg, data.vocab), progress and par.writer, par)
    stop = next(c for c in cbs if isinstance(c, loop.keras.callbacks.EarlyStopping))
    model.fit(windows, epochs=cfg.epochs, initial_epoch=start, steps_per_epoch=windows.steps, shuffle=False,
              callbacks=cbs, verbose=1 if progress else 0)
    if stop.stopped_epoch:
        print(f"early stop: no improvement for {cfg.patience} epochs")


def _resumed(cfg: TrainConfig, state: dict):
    """The interrupted run's model (checked before any data is read)."""
    model = load_last(cfg.model_dir, state)
    print(f"resuming after epoch {state['epoch']} (lr {state['lr']:.2e})")
    return model


def _new(cfg: TrainConfig, vocab):
    """(model, state): a new compiled model for the training solos' vocabulary, and a fresh state."""
    from jazzgen.model.network import build_model, compile_model
    model = build_model(vocab, cfg.model_config())
    compile_model(model, cfg.lr, cfg.clipnorm, cfg.weight_decay)
    return model, new_state(cfg)


def _write_run(cfg: TrainConfig, data: Data) -> None:
    """The run folder's vocabulary and config, before the first epoch."""
    out = cfg.model_dir
    out.mkdir(parents=True, exist_ok=True)
    atomic_write(out / "vocab.json", lambda f: f.write(data.vocab.to_json().encode()))
    data.nuance.save(out)                           # nuance.npz: generation plays the notes off the grid
    atomic_json(out / "config.json", asdict(cfg))


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, given: set[str] = frozenset(),
          cluster: Cluster = ALONE) -> dict:
    """Train (or continue) the run in cfg.model_dir; returns the final state dict.

    ``given``: the flags set on the command line, which a resume checks against the run's own.
    ``cluster``: this process's place in a run of several (``distribute.py``); only process 0
    writes the run folder.  Everything that can fail on the user's input (the run folder, the
    data) fails before the first file is written.
    """
    state = None
    check_out_folder(cfg.model_dir, "--out/--name")     # a file there: one line, before any work
    if resume:
        cfg, state = resume_config(cfg, given)
    par = start_parallel(cfg.distribute, cfg.batch_size, cluster)
    _prepare(cfg)
    with par.scope():
        model = _resumed(cfg, state) if state is not None else None
        data = load_data(cfg)
        par.check_same_data("data", data.vocab.to_json().encode(), data.train.arrays["pitch"],
                            data.val.arrays["pitch"])
        print(f"data: {len(data.train_files)} train / {len(data.val_files)} validation solos, "
              f"{len(data.train)} windows of {cfg.seq_len} events, pitch range {data.lo}-{data.hi}")
        if model is None:
            model, state = _new(cfg, data.vocab)
        state["config"] = asdict(cfg)
        if par.writer:
            _write_run(cfg, data)
        if state.get("stopped_early") and "patience" not in given:
            print(f"nothing to resume: the run stopped early after epoch {state['epoch'] + 1}")
        elif state["epoch"] + 1 >= cfg.epochs:
            print(f"nothing to resume: the run has done its {cfg.epochs} epochs (give a larger --epochs)")
        else:
            _fit(model, cfg, state, data, progress, par)
    if par.writer:
        finish(cfg, state, data)
    return state


# ---------------------------------------------------------------------------- throughput (the benchmarks')

def train_tokens(cfg) -> int:
    """Non-padding targets in one epoch of the training windows `cfg` gives."""
    from jazzgen.data import tokens
    return int((load_data(cfg).train.arrays["pitch"] != tokens.PAD).sum())


def steady_seconds(log: list[dict]) -> list[float]:
    """Per-epoch seconds without the first (compiling) epoch; the first alone if that is all."""
    s = [float(r["seconds"]) for r in log]
    return s[1:] or s


def rate(log: list[dict], tokens_per_epoch: int) -> float:
    """Tokens/s over the steady epochs of a run's log."""
    s = steady_seconds(log)
    return tokens_per_epoch * len(s) / sum(s)
