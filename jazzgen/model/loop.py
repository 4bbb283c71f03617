"""The Keras side of training: the batches `model.fit` is served and the callbacks around it.

Keras runs the loop (steps, progress bar, learning-rate schedule on plateau, early
stopping); what it cannot do is here: a data source that re-transposes every window
each epoch, the held-out scoring note by note, and a checkpoint that writes every
file atomically (Keras' ModelCheckpoint and CSVLogger write in place, so a kill can
leave half a file) and keeps the run state that makes `--resume` exact.
"""
from __future__ import annotations

import csv
import io
import math
import os
import re
import time
from pathlib import Path

import keras
import numpy as np

from jazzgen.data.dataset import draw_keys, transpose
from jazzgen.model.distribute import undistributed
from jazzgen.model.network import score_batches, xy
from jazzgen.util import atomic_json, atomic_write


class KeyedWindows(keras.utils.PyDataset):
    """Training batches: each epoch every window moved to a random key, then shuffled.

    Batch ``i`` of the run is batch ``i % steps`` of epoch ``start_epoch + i // steps``,
    and an epoch's keys and order come from an rng seeded by (seed, epoch): what a batch
    holds depends on nothing but its index, so a resumed run sees the same keys, and
    neither Keras calling ``on_epoch_end`` before the first epoch nor tf.data reading
    ahead across an epoch boundary can shift it.  (That is why the dataset is endless,
    ``num_batches`` None, with ``steps_per_epoch`` given to fit, rather than redrawn in
    ``on_epoch_end``.)

    Every batch has ``batch_size`` rows: the epoch's last one is padded with all-PAD rows,
    which the loss ignores (Keras averages a masked loss over the unmasked targets).  One
    shape, so the step compiles once, and a batch splits evenly over the devices of a
    distributed run, whose ``shard`` then gives each process its rows.

    ``windows`` is a window source (``dataset.Windows`` in memory, ``dataset.ShardWindows``
    read from the corpus shards): only an epoch's keys and order are held here, and each
    batch's windows are read when it is asked for.  ``steps``: batches per epoch (default:
    every window once); fewer serve the first ``steps`` batches of each epoch's order.
    """

    def __init__(self, windows, lo: int, hi: int, batch_size: int, seed: int, names: tuple[str, ...],
                 augment: bool = True, start_epoch: int = 0, steps: int = 0, shard=None):
        super().__init__()
        self.names = names                   # the model's inputs (network.model_inputs)
        self.windows, self.lo, self.hi, self.batch_size = windows, lo, hi, batch_size
        self.seed, self.augment, self.start_epoch = seed, augment, start_epoch
        self.shard = shard                   # (x, y) -> this process's rows of them (distribute.Parallel.shard)
        self.steps = min(steps or math.inf, math.ceil(len(windows) / batch_size))
        self.bounds = windows.pitch_bounds() if augment else None
        self._memo = (None, None)            # (epoch, (keys, order)): one assignment, safe to read from a thread

    @property
    def num_batches(self):
        return None

    def epoch_plan(self, epoch: int) -> tuple[np.ndarray | None, np.ndarray]:
        """(each window's key or None, the order the windows are served in) of one epoch."""
        memo_epoch, plan = self._memo
        if memo_epoch != epoch:
            rng = np.random.default_rng([self.seed, epoch])
            keys = draw_keys(rng, *self.bounds, self.lo, self.hi) if self.augment else None
            plan = (keys, rng.permutation(len(self.windows)))
            self._memo = (epoch, plan)
        return plan

    def __getitem__(self, i: int):
        epoch, b = divmod(int(i), self.steps)
        keys, order = self.epoch_plan(self.start_epoch + epoch)
        ids = order[b * self.batch_size:(b + 1) * self.batch_size]
        arrays = self.windows.read(ids)
        x, y = xy(transpose(arrays, keys[ids]) if keys is not None else arrays, self.names)
        batch = tuple({k: padded(v, self.batch_size) for k, v in d.items()} for d in (x, y))
        return self.shard(*batch) if self.shard else batch


def padded(a: np.ndarray, rows: int) -> np.ndarray:
    """`a` with zero (PAD) rows appended up to `rows`."""
    return a if len(a) == rows else np.concatenate([a, np.zeros((rows - len(a), *a.shape[1:]), a.dtype)])


class ValidationScore(keras.callbacks.Callback):
    """Scores the held-out songs after each epoch into the logs as val_* (NLL, perplexity, accuracy).

    Keras' own validation would average the loss per batch; this is per note over
    whole songs, the figure the model card and evaluate report.  It must come before
    the callbacks that monitor ``val_nll``.  A distributed run scores through ``par``
    (``distribute.Parallel.score``).
    """

    def __init__(self, batches, par=None):
        super().__init__()
        self.batches, self.par = batches, par   # batches: a callable, the held-out songs as batches of window arrays

    def on_epoch_end(self, epoch, logs=None):
        score = lambda model, batches: score_batches(model, batches())
        val = self.par.score(self.model, self.batches, score) if self.par else score(self.model, self.batches)
        logs.update({f"val_{k}": v for k, v in val.items() if k != "notes"})


class EpochNoise(keras.callbacks.Callback):
    """Reseeds the model's random draws (dropout) from (seed, epoch) at each epoch's start.

    Keras does not save a seed generator's state with the model, so without this a
    resumed run would draw other dropout masks than the run it continues.
    """

    def __init__(self, seed: int):
        super().__init__()
        self.seed = seed

    def on_epoch_begin(self, epoch, logs=None):
        states = [v for v in self.model.variables if v.name == "seed_generator_state"]
        seeds = np.random.default_rng([self.seed, epoch, 1]).integers(0, 2 ** 31, len(states))
        for v, s in zip(states, seeds):
            v.assign(np.array([s, 0]).astype(keras.backend.standardize_dtype(v.dtype)))


# the counters of Keras' callbacks that a resumed run must carry on from
COUNTERS = ("wait", "best", "cooldown_counter")


def snapshot(cb) -> dict:
    return {k: (None if getattr(cb, k) is None else float(getattr(cb, k))) if k == "best" else int(getattr(cb, k))
            for k in COUNTERS if hasattr(cb, k)}


def f32(v) -> float:
    """A float32 variable's value as the shortest decimal that reads back to it (0.002, not 0.0020000000949949026)."""
    return float(str(np.float32(keras.ops.convert_to_numpy(v))))


def save_model(model, path: Path) -> None:
    """model.save into a temporary name, then rename: a kill never leaves half a model, and a
    failure (a full disk) leaves no temporary file."""
    tmp = path.with_name(f".{path.stem}.tmp.keras")
    try:
        model.save(tmp)
        os.replace(tmp, path)
    except BaseException as e:
        tmp.unlink(missing_ok=True)
        if isinstance(e, OSError) and e.filename is None:     # a full disk says no path: name ours
            raise OSError(e.errno, f"cannot write it ({e.strerror or e})", str(path)) from None
        raise


# The run's checkpoint (model and optimizer) has a new name each epoch, and state.json names the
# one it goes with: written in that order, a kill at any moment leaves a state.json whose
# checkpoint is whole and matches it (the older one is deleted only after the state names the new).
CHECKPOINT = re.compile(r"last(-\d{1,7})?\.keras")


def checkpoint_name(epoch: int) -> str:
    return f"last-{epoch + 1:04d}.keras"


def prune_checkpoints(out: Path, keep: str) -> None:
    """Delete the run's other checkpoints (and temporary ones a kill left), only those by our names."""
    for p in out.glob("*last*.keras"):
        name = p.name[1:].replace(".tmp.keras", ".keras") if p.name.startswith(".") else p.name
        if CHECKPOINT.fullmatch(name) and p.name != keep:
            p.unlink(missing_ok=True)


def write_log(log: list[dict], path: Path) -> None:
    buf = io.StringIO()
    wr = csv.DictWriter(buf, fieldnames=list(log[0]))
    wr.writeheader()
    wr.writerows(log)
    atomic_write(path, lambda f: f.write(buf.getvalue().encode()))


class RunCheckpoint(keras.callbacks.Callback):
    """After each epoch: the log row; the best model and its weights.npz; the checkpoint (model
    with its optimizer, ``checkpoint_name``); state.json naming it; log.csv; then the previous
    checkpoint is deleted.  Each file atomically: a kill anywhere resumes exactly.

    ``state`` is the run's plain-dict state (epoch, lr, best, log, counters), updated in
    place; ``counted`` are the Keras callbacks whose counters it saves, and restores
    after their ``on_train_begin`` reset them (so it must come after them in the list).
    ``export(model, keras_path)`` writes the best model's files.  With ``writer`` False (a
    process other than 0 of a distributed run) it keeps the state and writes nothing.
    """

    def __init__(self, out: Path, state: dict, counted: dict, export, writer: bool = True):
        super().__init__()
        self.out, self.state, self.counted, self.export = Path(out), state, counted, export
        self.writer = writer
        self.t0, self.improved = time.time(), False

    def on_train_begin(self, logs=None):
        for name, cb in self.counted.items():
            for k, v in self.state.get("callbacks", {}).get(name, {}).items():
                setattr(cb, k, v)

    def on_epoch_begin(self, epoch, logs=None):
        self.t0 = time.time()

    def on_epoch_end(self, epoch, logs=None):
        st = self.state
        row = {"epoch": epoch, "lr": f32(logs["learning_rate"]), "seconds": round(time.time() - self.t0, 2),
               "train_pitch_loss": logs["pitch_loss"], "train_dur_loss": logs["dur_loss"],
               **{k: v for k, v in logs.items() if k.startswith("val_")}}
        self.improved = st["best"] is None or row["val_nll"] < st["best"]["val_nll"] - 1e-4
        if self.improved:
            st["best"] = row
        st["log"].append(row)
        st["epoch"], st["train_seconds"] = epoch, st["train_seconds"] + row["seconds"]
        st["lr"] = f32(self.model.optimizer.learning_rate)
        st["iterations"] = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
        st["callbacks"] = {name: snapshot(cb) for name, cb in self.counted.items()}
        st["bad_epochs"] = st["callbacks"].get("early_stopping", {}).get("wait", 0)
        st["stopped_early"] = bool(self.model.stop_training)
        st["checkpoint"] = checkpoint_name(epoch)
        if self.writer:
            with undistributed():        # process 0 alone: nothing in here may wait for the other processes
                self.write(st)

    def write(self, st: dict) -> None:
        """The epoch's files, each atomically: a new best, then last.keras, then the state that names it."""
        if self.improved:
            self.export(self.model, self.out / "model.keras")
        save_model(self.model, self.out / st["checkpoint"])
        atomic_json(self.out / "state.json", st)
        write_log(st["log"], self.out / "log.csv")
        prune_checkpoints(self.out, st["checkpoint"])


def eta(seconds: float) -> str:
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.0f} min" if seconds < 5400 else f"{seconds / 3600:.1f} h"


class EpochLine(keras.callbacks.Callback):
    """One line per epoch: validation figures, time, and the ETA of the whole run.

    The ETA assumes the remaining epochs all run (early stopping can only make it
    shorter), at the mean pace of this session's epochs.
    """

    def __init__(self, epochs: int, checkpoint: RunCheckpoint, printer=print):
        super().__init__()
        self.epochs, self.checkpoint, self.printer, self.times = epochs, checkpoint, printer, []

    def on_epoch_end(self, epoch, logs=None):
        row = self.checkpoint.state["log"][-1]
        self.times.append(row["seconds"])
        pace = float(np.mean(self.times[1:] or self.times))     # the first epoch also compiles
        left = (self.epochs - epoch - 1) * pace
        self.printer(f"epoch {epoch + 1}/{self.epochs}: val pitch ppl {logs['val_pitch_ppl']:.2f} "
                     f"acc {logs['val_pitch_acc']:.3f} | dur ppl {logs['val_dur_ppl']:.2f} "
                     f"acc {logs['val_dur_acc']:.3f} | lr {row['lr']:.1e} | {row['seconds']:.0f} s"
                     f"{' | best' if self.checkpoint.improved else ''}"
                     f"{f' | ETA {eta(left)}' if epoch + 1 < self.epochs and not self.model.stop_training else ''}")


def callbacks(out: Path, state: dict, val_batches, epochs: int, patience: int, seed: int, export,
              progress: bool, par=None) -> list:
    """The callback list, in the order that matters: score, then act on the score, then save.

    ``par``: a distributed run's ``distribute.Parallel`` (scores on process 0, which alone writes and prints).
    """
    reduce = keras.callbacks.ReduceLROnPlateau(monitor="val_nll", mode="min", factor=0.5, patience=1,
                                               min_delta=1e-4)     # halve the step size when validation stalls
    stop = keras.callbacks.EarlyStopping(monitor="val_nll", mode="min", patience=patience, min_delta=1e-4)
    counted = {"reduce_lr": reduce, "early_stopping": stop}
    bar = [keras.callbacks.ProgbarLogger()] if progress else []
    writer = par is None or par.writer
    checkpoint = RunCheckpoint(out, state, counted, export, writer)
    return [EpochNoise(seed), ValidationScore(val_batches, par), reduce, stop, checkpoint, *bar,
            EpochLine(epochs, checkpoint, lambda s: print(s, flush=True) if writer else None)]
