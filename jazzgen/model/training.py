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
import os
import sys
import time
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

import numpy as np

from jazzgen import paths
from jazzgen.data.corpus import read_settings
from jazzgen.errors import DataError, FieldError, UsageError
from jazzgen.model import backend, finetune
from jazzgen.model.distribute import ALONE, Cluster, Parallel, start_parallel
from jazzgen.model.folder import load_last, read_config, read_state, read_vocab
from jazzgen.model.spec import ModelConfig
from jazzgen.schema import Field
from jazzgen.util import atomic_json, atomic_write, check_out_folder

DATA_LICENCE = ("Weimar Jazz Database (WJazzD), Jazzomat Research Project, HfM Franz Liszt Weimar; "
                "ODbL 1.0 (https://opendatacommons.org/licenses/odbl/1-0/); MIDI with chord markers "
                "as prepared in midi/wjazzd")


@dataclass(frozen=True)
class OptimizerConfig:
    """How the network learns (``network.compile_model``): a group of its own in ``TrainConfig``
    and config.json, so an error names it as ``optimizer.lr`` (the command line: ``--lr``)."""
    lr: float = 3e-3           # batch 24 used 2e-3; scaled by about sqrt(64 / 24)
    clipnorm: float = 1.0
    weight_decay: float = 0.0  # AdamW's decoupled weight decay (0: Adam)


@dataclass
class TrainConfig:
    """A run's settings: the network (``model``: its defaults are ``spec.ModelConfig``'s, the one
    owner, which generation reads too), the optimizer, and the rest flat.  A field is named by its
    path (``model.units``, ``epochs``): in errors, in ``given``, in config.json's nesting."""
    data: str = paths.DATA
    out: str = paths.MODELS
    name: str = ""            # default: the data folder's name
    cache: str = paths.CACHE
    epochs: int = 40
    batch_size: int = 64       # 1.85x the tokens/s of batch 24 on CPU, as good per second (README)
    seq_len: int = 96
    model: ModelConfig = field(default_factory=ModelConfig)    # layers, units, dropout, harmony (the chord ahead)
    optimizer: OptimizerConfig = field(default_factory=OptimizerConfig)
    patience: int = 4
    val_fraction: float = 0.1
    seed: int = 0
    augment: bool = True
    mixed_precision: bool = False
    distribute: bool = False
    max_songs: int = 0        # 0 = all; a small number for smoke tests
    track: str | None = None  # melody track of every file (see ingest --track)
    track_map: str | None = None  # per-file melody tracks (see ingest --track-map)
    init: str = ""            # fine-tune: start from this model folder (model/finetune.py)
    replay: str = ""          # fine-tune: mix this folder's solos into every epoch (model/finetune.py)

    @property
    def model_dir(self) -> Path:
        return Path(self.out) / self.name


# The groups' fields a run sets and config.json holds (the network's other widths, the
# embeddings', are ModelConfig's defaults); config.json from before the groups had them flat.
GROUPS = {"model": ("layers", "units", "dropout", "harmony"), "optimizer": ("lr", "clipnorm", "weight_decay")}
GROUPED = {k: f"{g}.{k}" for g, names in GROUPS.items() for k in names}     # units -> model.units


def path_of(name: str) -> str:
    """A field's path from its own name (a flag's, an old flat config.json key's): units -> model.units."""
    return GROUPED.get(name, name)


def value(cfg: TrainConfig, path: str):
    """The value of a field by its path: value(cfg, "model.units") is cfg.model.units."""
    got = cfg
    for part in path.split("."):
        got = getattr(got, part)
    return got


def updated(cfg: TrainConfig, values: dict) -> TrainConfig:
    """A copy of cfg with `values` (by path: ``{"model.units": 16, "epochs": 2}``) set; its groups
    are copies too (never shared with cfg's, which a caller may still hold)."""
    flat = {k: v for k, v in values.items() if "." not in k}
    groups = {g: replace(getattr(cfg, g), **{k.split(".", 1)[1]: v for k, v in values.items()
                                             if k.startswith(g + ".")}) for g in GROUPS}
    return replace(cfg, **flat, **groups)


def config_json(cfg: TrainConfig) -> dict:
    """What config.json (and state.json's config, and the model card) holds: the groups nested."""
    d = asdict(cfg)
    return {**d, **{g: {k: d[g][k] for k in names} for g, names in GROUPS.items()}}


# what a run folder's config.json means by a key it does not have (it predates the key)
BEFORE = {"model.harmony": False}


# what a resumed run may change; any other field must repeat the run's own value
# (--distribute too: a step is the same over one device or several, see distribute.py)
RESUMABLE = {"epochs", "patience", "out", "name", "cache", "data", "distribute", "track_map", "init", "replay"}


MAX_WEIGHTS = 40_000_000     # LSTM weights a run may have: 160 MB, 480 MB with Adam's slots (see MAX_MODEL_BYTES)
# What config.json may hold (jazzgen.schema), checked before a value sizes anything; a saved
# run's paths are only read, never followed (see resume_config).
CONFIG_FIELDS = {
    **{k: Field(str) for k in ("data", "out", "name", "cache", "init", "replay")},
    **{k: Field(str, null=True) for k in ("track", "track_map")},
    **{k: Field(int) for k in ("epochs", "batch_size", "seq_len", "model.layers", "model.units", "patience",
                               "max_songs")},
    **{k: Field(float) for k in ("model.dropout", "optimizer.lr", "optimizer.clipnorm", "val_fraction",
                                 "optimizer.weight_decay")},     # check_config bounds them
    "seed": Field(int, 0, 2**63 - 1),
    **{k: Field(bool) for k in ("augment", "mixed_precision", "distribute", "model.harmony")},
}


NAME_MAX = 255        # bytes in one file name on Linux, macOS and Windows file systems


def check_name(name: str) -> None:
    """A run's --name is one folder name under --out: never a path that leads elsewhere."""
    if name in ("", ".", "..") or "/" in name or "\\" in name or "\0" in name:
        raise FieldError("name", f"must be a single folder name (no '/', not '.' or '..'), not {name!r}")
    if len(os.fsencode(name)) > NAME_MAX:
        raise FieldError("name", f"is {len(os.fsencode(name))} bytes long: a folder name may have at most {NAME_MAX}")


def check_config(cfg: TrainConfig) -> None:
    """FieldError (naming the field by its path: ``model.units``) for values no run can use: the
    command's flags, or a saved config.json's values (bounded: a run folder may come from anywhere)."""
    for f, hi in (("epochs", 10**6), ("batch_size", 2**16), ("seq_len", 2**16), ("model.layers", 16),
                  ("model.units", 8192)):
        if not 1 <= value(cfg, f) <= hi:
            raise FieldError(f, "must be at least 1" if value(cfg, f) < 1 else f"must be at most {hi}")
    m, opt = cfg.model, cfg.optimizer
    weights = 8 * m.units ** 2 * m.layers          # each layer's input and recurrent kernels, 4 gates
    if weights > MAX_WEIGHTS:
        raise FieldError("model.units", f"{m.units} with {m.layers} layers: about {weights / 1e6:.0f}M LSTM "
                                        f"weights, more than the {MAX_WEIGHTS / 1e6:.0f}M a model may have")
    for f, hi in (("patience", 10**6), ("max_songs", 10**9)):
        if not 0 <= value(cfg, f) <= hi:
            raise FieldError(f, "must not be negative" if value(cfg, f) < 0 else f"must be at most {hi}")
    if not 0 <= m.dropout < 1:
        raise FieldError("model.dropout", "must be in [0, 1)")
    if not 0 < cfg.val_fraction < 1:
        raise FieldError("val_fraction", "must be in (0, 1)")
    if not 0 < opt.lr <= 10:
        raise FieldError("optimizer.lr", "must be in (0, 10]")
    if not 0 <= opt.weight_decay < 1:
        raise FieldError("optimizer.weight_decay", "must be in [0, 1)")
    if not 0 < opt.clipnorm <= 1e9:
        raise FieldError("optimizer.clipnorm", "must be positive and finite")
    if cfg.replay and not cfg.init:
        raise FieldError("replay", "mixes a corpus into a fine-tuning run: give `init` too")
    check_name(cfg.name)


# ---------------------------------------------------------------------------- data

@dataclass
class Data:
    train: object            # a window source: dataset.ShardWindows (read from the corpus shards)
    val: object              # dataset.ShardWindows of the validation songs, scored whole (val_batches)
    lo: int
    hi: int
    train_files: list = field(default_factory=list)
    val_files: list = field(default_factory=list)
    dropped: int = 0
    wjazzd: int = 0          # how many of the solos used are WJazzD's (for the licence)
    vocab: object = None     # tokens.Vocab: the training solos' performers and bins
    nuance: object = None    # data.nuance.NuanceTables: how the training solos are played off the grid
    steps: int = 0           # batches per epoch (0: every training window once)
    own: int = 0             # the first `own` training songs are --data's (the rest: --replay's)

    def val_batches(self, batch_size: int = 16):
        """The validation songs whole, `batch_size` at a time, each batch padded to its longest."""
        for i in range(0, len(self.val_files), batch_size):
            yield self.val.whole_songs(range(i, min(i + batch_size, len(self.val_files))))


def nuance_tables(cfg: TrainConfig, train, own: int, vocab):
    """How the training solos (--data's, not --replay's) are played off the grid, from the first of
    them up to nuance.MAX_NOTES notes (read again from their files at tick resolution)."""
    from jazzgen.data.nuance import MAX_NOTES, tables_for
    upto = int(np.searchsorted(np.cumsum(train.notes[:own]), MAX_NOTES, side="right")) + 1
    return tables_for(train.take(range(min(upto, own))).sequences(), cfg.data, vocab)


def split(songs, cfg: TrainConfig, state: dict | None = None):
    """(train, validation) rows of a corpus.Songs table, as dataset.split_songs splits sequences:
    the songs with 2 notes or more, the first max_songs, split by file name.  A resumed run keeps
    the validation files its state names (its best stays comparable, and no file it validated on
    becomes a training file) and trains on every other file there is now."""
    from jazzgen.data import dataset
    usable = np.flatnonzero(songs.notes > 1)[:cfg.max_songs or None]
    names = [songs.names[i] for i in usable]
    if state is None or "val_files" not in state:
        tr, va = dataset.split_by_file(names, cfg.val_fraction, cfg.seed)
        return songs.take(usable[tr]), songs.take(usable[va])
    kept = set(state["val_files"])
    is_val = np.array([n in kept for n in names], bool)
    train, val = songs.take(usable[~is_val]), songs.take(usable[is_val])
    if not len(val):
        raise DataError(f"{cfg.data}: none of the run's {len(kept)} validation files is there any more; "
                        "this run cannot go on with this data: train anew (another `name`)")
    if len(val) < len(kept) or len(train) != state.get("n_train", len(train)):
        print(f"note: the data changed since the run began: {len(train)} training solos (were "
              f"{state.get('n_train', '?')}), {len(val)} of its {len(kept)} validation solos", file=sys.stderr)
    return train, val


def load_data(cfg: TrainConfig, state: dict | None = None) -> Data:
    """The corpus ingested into shards (streamed: any size), split, and served as windows from them;
    `state`: a resumed run's (see ``split``)."""
    from jazzgen.data import dataset, tokens
    from jazzgen.data.corpus import ingest
    if not Path(cfg.data).exists():
        raise DataError(f"no such data folder: {cfg.data}")
    got = ingest(cfg.data, cfg.cache, read_settings(cfg), progress=sys.stderr.isatty(),   # no bar in logs
                 each=lambda r: r.kept or print(r.line(), file=sys.stderr))
    for line in got.cache_dropped:
        print(line, file=sys.stderr)
    train, val = split(got.songs, cfg, state)
    if not len(train) or not len(val):
        raise DataError(f"{cfg.data}: {len(train) + len(val)} usable MIDI files; need at least 2 (one to validate on)")
    vocab = (run_vocab(cfg.model_dir, train.performers) if state is not None
             else finetune.init_vocab(cfg.init, train.performers) if cfg.init else tokens.vocab_of(train.performers))
    windows, steps, own = dataset.ShardWindows(train, cfg.seq_len, cfg.seq_len, vocab), 0, len(train)
    if cfg.replay:
        windows, train, steps = finetune.replayed(cfg, train, set(train.names + val.names), vocab)
    whole = dataset.ShardWindows(val, int(val.n_events.max()), None, vocab)     # one window per validation song
    wj = sum("wjazzd" in Path(p).resolve().as_posix().lower() for p in train.paths + val.paths)
    lo, hi = int(train.lo.min()), int(train.hi.max())
    nuance = nuance_tables(cfg, train, own, vocab)
    return Data(windows, whole, lo, hi, train.names, val.names, got.dropped, wj, vocab, nuance, steps, own)


def run_vocab(out: Path, performers: list[str]):
    """A resumed run's own vocabulary (vocab.json): its model's tables are that size, whatever the
    data holds now.  Solos by performers it does not know train as the unknown performer (a new
    run, or fine-tuning from this one, learns them): said in a line."""
    from jazzgen.data.tokens import UNKNOWN_PERFORMER
    vocab = read_vocab(out / "vocab.json")
    new = sorted(set(performers) - set(vocab.performers) - {UNKNOWN_PERFORMER, ""})
    if new:
        n = sum(p in new for p in performers)
        print(f"note: {n} training solos by {len(new)} performers this run does not know "
              f"({', '.join(new[:5])}{', ...' if len(new) > 5 else ''}) train as the unknown performer; "
              f"a new run learns them", file=sys.stderr)
    return vocab


# ---------------------------------------------------------------------------- the run folder


PATHS = ("data", "out", "name", "cache", "track_map", "init", "replay")    # where a run reads and writes: the
#                                                                             command's own


def resume_config(cfg: TrainConfig, given: set[str]) -> tuple[TrainConfig, dict]:
    """(the run's own config with what a resume may change, its state).

    A run folder is data, never directions: its config.json's settings (sizes, rates, seed)
    are the run's, but where the data, the cache and the folder are is always the command's
    (its flags, else their defaults); a saved path that differs is only mentioned.
    """
    out = cfg.model_dir
    state = read_state(out)
    saved = read_config(out)
    for k in sorted(given - RESUMABLE):                  # paths: model.units
        if value(cfg, k) != value(saved, k):
            raise FieldError(k, f"{value(cfg, k)} differs from the {value(saved, k)} that {out} was trained "
                                f"with: `resume` continues a run as it was configured")
    if "data" not in given and saved.data != cfg.data and not Path(cfg.data).exists():
        raise UsageError(f"`resume` reads `data` {cfg.data}, which is not here; the run began with `data` "
                         f"{saved.data[:200]}: give `data` (a run folder's paths are never followed)")
    for k in ("data", "track_map", "init", "replay"):
        if getattr(saved, k) != getattr(cfg, k) and k not in given:
            flag = "--" + k.replace("_", "-")
            print(f"note: the run began with {flag} {str(getattr(saved, k))[:200]}; this resume has "
                  f"{getattr(cfg, k)} (give {flag} to change it)", file=sys.stderr)
    return replace(saved, **{k: getattr(cfg, k) for k in (given & RESUMABLE) | set(PATHS)}), state


def lock_run(out: Path, stack) -> None:
    """Hold an exclusive lock on the run folder (flock on the folder itself) until `stack` closes;
    UsageError if another training holds it.  The kernel drops it when the process ends, even killed."""
    try:
        import fcntl
    except ImportError:             # not a POSIX system: no lock
        return
    fd = os.open(out, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    stack.callback(os.close, fd)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        raise UsageError(f"{out}: another training is writing into this folder; wait for it to end, "
                         f"or give another `name`") from None


def new_state(cfg: TrainConfig) -> dict:
    return {"epoch": -1, "lr": cfg.optimizer.lr, "best": None, "bad_epochs": 0, "log": [], "train_seconds": 0.0,
            "command": "python -m jazzgen.train " + " ".join(sys.argv[1:]), "device": backend.device()[0],
            "config": config_json(cfg)}


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
        f"conditioned on the chord in force{', the chord ahead (--harmony)' if cfg.model.harmony else ''}, "
        "the metric position, the solo's tempo bucket and its performer. "
        "Trained by `jazzgen.train`.", "",
        f"- Command: `{state['command']}`",
        f"- Backend and device: {state['device']}; trained {state['train_seconds']:.0f} s over "
        f"{state['epoch'] + 1} epochs (best: epoch {b['epoch'] + 1})",
        f"- Finished: {time.strftime('%Y-%m-%d %H:%M', time.localtime())}",
        f"- Data: {len(data.train_files)} training and {len(data.val_files)} validation solos from "
        f"`{cfg.data}` (split by file, seed {cfg.seed}); {data.dropped} files dropped; pitch range "
        f"{data.lo}-{data.hi}; 12-key transposition {'on' if cfg.augment else 'off'}",
        f"- Data licence: {_licence(cfg, data)}",
        *([f"- Fine-tuned from `{cfg.init}` (its network and vocabulary; performers added: "
           f"{', '.join(data.vocab.performers[len(data.vocab.performers) - _added(cfg, data):]) or 'none'})"
           + (f"; {len(data.train_files) - data.own} of the training solos replayed from `{cfg.replay}`"
              if cfg.replay else "")] if cfg.init else []), "",
        "## Validation (held-out files, no augmentation)", "",
        "Pitch and duration are scored on every event (note, rest or tie), articulation and velocity on notes.", "",
        "| head | perplexity | NLL (nats) | top-1 accuracy | targets |", "| --- | --- | --- | --- | --- |",
        *(f"| {HEAD_LABELS[h]} | {b[f'val_{h}_ppl']:.2f} | {b[f'val_{h}_nll']:.3f} | {100 * b[f'val_{h}_acc']:.1f}% "
          f"| {b.get(f'val_{h}_n', '-')} |" for h in HEADS if f"val_{h}_ppl" in b), "",
        "## Formula memory", "",
        "`formulas.npz`: the training solos' interval lines, which the sampler mixes into the pitch head "
        "(`jazzgen.generation.formulas`), with the default weights; fit them to this model on its validation "
        "solos with `python scripts/tools/formulas_fit.py --model DIR --write`.", "",
        "## Sampling calibration", "",
        "None yet: `python scripts/tools/calibration_fit.py --model DIR --write` fits `calibration.npz`, two tables "
        "of log-factors on the pitch head (`jazzgen.generation.calibration`) that bring the sampled solos' "
        "chord tones by beat and their intervals by the interval before to the training solos' shares "
        "(after the formula weights: it samples with them).", "",
        "## Config", "", "```json", json.dumps(config_json(cfg), indent=1), "```", "",
    ]
    atomic_write(path, lambda f: f.write("\n".join(lines).encode("utf-8", "backslashreplace")))


def _added(cfg: TrainConfig, data: Data) -> int:
    """How many performers the fine-tuning run added to the --init model's."""
    return len(data.vocab.performers) - len(finetune.init_vocab(cfg.init, []).performers)


def finish(cfg: TrainConfig, state: dict, data: Data) -> None:
    out = cfg.model_dir
    atomic_json(out / "metrics.json", {"best": state["best"], "epochs_run": state["epoch"] + 1})
    plot_curves(state["log"], out / "curve.png")
    write_card(cfg, state, data, out / "MODEL_CARD.md")
    write_formulas(cfg, data, out)


def write_formulas(cfg: TrainConfig, data: Data, out: Path) -> None:
    """formulas.npz: the training solos' formula memory, which the sampler mixes into the pitch
    head (generation.formulas), with its default weights (refit them for this model on its
    validation solos with scripts/tools/formulas_fit.py --write).  Fine-tuned: the --init model's
    memory (and weights) with this run's solos added.  Of a big corpus, the first solos up to
    formulas.MAX_NOTES notes."""
    from jazzgen.generation.formulas import FILE, MAX_NOTES, Formulas
    after = Formulas.load(Path(cfg.init) / FILE) if cfg.init and (Path(cfg.init) / FILE).is_file() else None
    if data.train is not None and len(data.train_files):
        notes = np.cumsum(data.train.songs.notes[:data.own or None])
        upto = min(int(np.searchsorted(notes, MAX_NOTES, side="right")) + 1, len(notes))
        own = data.train.song_tokens(upto)       # streamed from the shards; not the replayed songs
        Formulas.build(own, after=after).save(out / FILE)


# ---------------------------------------------------------------------------- the run

def inference_copy(model, cfg: TrainConfig, vocab):
    """The same weights in an uncompiled model: a third of the size (no optimizer slots)."""
    from jazzgen.model.network import build_model
    clone = build_model(vocab, cfg.model)
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
    print("config:", json.dumps(config_json(cfg)))
    if cfg.mixed_precision:
        gpu = backend.device()[1]
        keras.mixed_precision.set_global_policy("mixed_float16" if gpu else "mixed_bfloat16")
    keras.utils.set_random_seed(cfg.seed)


def _fit(model, cfg: TrainConfig, state: dict, data: Data, progress: bool, par: Parallel) -> None:
    from jazzgen.model import loop
    from jazzgen.model.network import model_inputs
    start = state["epoch"] + 1
    windows = loop.KeyedWindows(data.train, data.lo, data.hi, cfg.batch_size, cfg.seed, model_inputs(model),
                                cfg.augment, start, data.steps, shard=par.shard)
    cbs = loop.callbacks(cfg.model_dir, state, data.val_batches, cfg.epochs, cfg.patience, cfg.seed,
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
    """(model, state): a new compiled model for the training solos' vocabulary (holding the --init
    model's weights when fine-tuning), and a fresh state."""
    from jazzgen.model.network import build_model, compile_model
    if cfg.init:
        return finetune.init_model(cfg, vocab), new_state(cfg)
    model = build_model(vocab, cfg.model)
    compile_model(model, cfg.optimizer.lr, cfg.optimizer.clipnorm, cfg.optimizer.weight_decay)
    return model, new_state(cfg)


def _write_run(cfg: TrainConfig, data: Data, lock_in=None) -> None:
    """The run folder's vocabulary and config, before the first epoch; a new folder is locked
    (until the ExitStack `lock_in` closes) as soon as it is made."""
    out = cfg.model_dir
    out.mkdir(parents=True, exist_ok=True)
    if lock_in is not None:
        lock_run(out, lock_in)
    atomic_write(out / "vocab.json", lambda f: f.write(data.vocab.to_json().encode()))
    data.nuance.save(out)                           # nuance.npz: generation plays the notes off the grid
    atomic_json(out / "config.json", config_json(cfg))


def train(cfg: TrainConfig, resume: bool = False, progress: bool = True, given: set[str] = frozenset(),
          cluster: Cluster = ALONE) -> dict:
    """Train (or continue) the run in cfg.model_dir; returns the final state dict.

    ``given``: the fields set on the command line, by path (``model.units``: ``path_of``), which
    a resume checks against the run's own and fine-tuning against its init model.
    ``cluster``: this process's place in a run of several (``distribute.py``); only process 0
    writes the run folder, and holds its lock (``lock_run``: one training at a time).  Everything
    that can fail on the user's input (the run folder, the data) fails before the first file is
    written.
    """
    import contextlib
    cfg = replace(cfg, name=cfg.name or Path(cfg.data).resolve().name)
    check_config(cfg)
    check_out_folder(cfg.model_dir, "out")     # a file there: one line, before any work
    writer = cluster.process_id == 0
    with contextlib.ExitStack() as stack:
        locked = writer and cfg.model_dir.is_dir()
        if locked:
            lock_run(cfg.model_dir, stack)
        cfg, state = resume_config(cfg, given) if resume else (cfg, None)
        if cfg.init:
            cfg = finetune.init_config(cfg, given, resumed=resume)
        par = start_parallel(cfg.distribute, cfg.batch_size, cluster)
        _prepare(cfg)
        with par.scope():
            model = _resumed(cfg, state) if state is not None else None
            data = load_data(cfg, state)
            names = "\n".join(data.train_files).encode("utf-8", "surrogateescape")     # a name may not be UTF-8
            par.check_same_data("data", data.vocab.to_json().encode(), names, data.train.song, data.train.start,
                                data.train.songs.n_events, data.val.songs.n_events)
            print(f"data: {len(data.train_files)} train / {len(data.val_files)} validation solos, "
                  f"{len(data.train)} windows of {cfg.seq_len} events, pitch range {data.lo}-{data.hi}")
            if model is None:
                model, state = _new(cfg, data.vocab)
            state.update(config=config_json(cfg), val_files=data.val_files, n_train=data.own)   # own: not the replayed
            if par.writer:
                _write_run(cfg, data, None if locked else stack)
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
    return load_data(cfg).train.targets()


def steady_seconds(log: list[dict]) -> list[float]:
    """Per-epoch seconds without the first (compiling) epoch; the first alone if that is all."""
    s = [float(r["seconds"]) for r in log]
    return s[1:] or s


def rate(log: list[dict], tokens_per_epoch: int) -> float:
    """Tokens/s over the steady epochs of a run's log."""
    s = steady_seconds(log)
    return tokens_per_epoch * len(s) / sum(s)
