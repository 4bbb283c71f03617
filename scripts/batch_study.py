"""Is a bigger batch, with the learning rate scaled and a short warm-up, as good per second?

    python scripts/batch_study.py --epochs 3 24:2e-3:0 64:sqrt:20 96:sqrt:20 96:linear:20

Each argument is BATCH:LR:WARMUP, LR a number or `sqrt`/`linear` (scaled from the
shipped 2e-3 at batch 24), WARMUP the number of optimizer steps over which the
learning rate ramps linearly from lr/steps to lr (capped at one epoch's steps).
Every run is `jazzgen.train.train` as users run it (the bundled corpus, all songs,
augmentation on, the shipped configuration otherwise), one after another in this
process, in the order given.  The table has, per epoch, the cumulative training seconds
(from the run's own log: fit plus validation) and the validation perplexities, and the
shipped model's log.csv (batch 24, the same data split, 35 epochs) at the same epoch and
at the same cumulative seconds, for reference.

The warm-up is a Keras callback added to every `Model.fit` call of the run (this
script wraps `keras.Model.fit`): train.py itself has no warm-up, and this study
does not change it.
"""
from __future__ import annotations

import argparse
import csv
import json
import tempfile
from pathlib import Path

from jazzgen.model.training import TrainConfig

ROOT = Path(__file__).resolve().parents[1]

BASE_BATCH, BASE_LR = 24, 2e-3


def parse_spec(spec: str) -> tuple[int, float, int]:
    """'96:sqrt:20' -> (96, 2e-3 * sqrt(96/24), 20)."""
    b, lr, w = spec.split(":")
    b = int(b)
    scale = {"sqrt": (b / BASE_BATCH) ** 0.5, "linear": b / BASE_BATCH}
    return b, BASE_LR * scale[lr] if lr in scale else float(lr), int(w)


def warmup_callback(steps: int):
    """Ramp the learning rate over the first `steps` optimizer steps (at most one epoch)."""
    import keras

    class WarmUp(keras.callbacks.Callback):
        base = None

        def on_train_begin(self, logs=None):
            if self.base is None:
                self.base = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
                self.steps = min(steps, self.params.get("steps") or steps)

        def on_train_batch_begin(self, batch, logs=None):
            it = int(keras.ops.convert_to_numpy(self.model.optimizer.iterations))
            if it <= self.steps and self.steps > 0:
                self.model.optimizer.learning_rate.assign(self.base * min(1.0, (it + 1) / self.steps))

    return WarmUp()


def with_callback(cb):
    """Wrap keras.Model.fit so every fit of the run gets `cb` too; returns the undo."""
    import keras
    orig = keras.Model.fit

    def fit(self, *a, callbacks=None, **kw):
        return orig(self, *a, callbacks=list(callbacks or []) + [cb], **kw)
    keras.Model.fit = fit
    return lambda: setattr(keras.Model, "fit", orig)


def shipped_log() -> list[dict]:
    with open(ROOT / "models" / "wjazzd" / "log.csv") as f:
        return [{k: float(v) for k, v in r.items()} for r in csv.DictReader(f)]


def shipped_at_seconds(log: list[dict], sec: float) -> dict:
    """The shipped run's last epoch finished within `sec` cumulative seconds (None before the first)."""
    t, last = 0.0, None
    for r in log:
        t += r["seconds"]
        if t > sec:
            break
        last = r
    return last


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="midi/wjazzd")
    p.add_argument("--epochs", type=int, default=3)
    p.add_argument("--max-songs", type=int, default=0)
    p.add_argument("--json", default="", help="also write the rows here")
    p.add_argument("specs", nargs="+")
    a = p.parse_args()
    import keras

    from jazzgen.model import training

    ship = shipped_log()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for i, spec in enumerate(a.specs):
            b, lr, w = parse_spec(spec)
            cfg = TrainConfig(data=a.data, out=tmp, name=f"run{i}", epochs=a.epochs, batch_size=b, lr=lr,
                              patience=a.epochs + 1, max_songs=a.max_songs)
            undo = with_callback(warmup_callback(w))
            try:
                state = training.train(cfg, progress=False)
            finally:
                undo()
                keras.backend.clear_session()
            t = 0.0
            for r in state["log"]:
                t += r["seconds"]
                rows.append({"spec": spec, "batch": b, "lr": lr, "warmup": w, "epoch": int(r["epoch"]) + 1,
                             "seconds": round(t, 1), "pitch_ppl": r["val_pitch_ppl"], "dur_ppl": r["val_dur_ppl"]})
            print(json.dumps(rows[-1]), flush=True)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1))
    print(f"\n[{keras.backend.backend()}] validation perplexity per epoch; shipped = models/wjazzd/log.csv "
          "(batch 24) at the same epoch | at the same cumulative seconds")
    print("| batch | lr | warm-up steps | epoch | cum. s | pitch ppl | dur ppl | shipped @epoch pitch/dur "
          "| shipped @seconds (epoch) pitch/dur |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for r in rows:
        se = ship[r["epoch"] - 1] if r["epoch"] <= len(ship) else None
        ss = shipped_at_seconds(ship, r["seconds"])
        fe = f"{se['val_pitch_ppl']:.2f} / {se['val_dur_ppl']:.2f}" if se else "-"
        fs = f"{ss['val_pitch_ppl']:.2f} / {ss['val_dur_ppl']:.2f} ({int(ss['epoch']) + 1})" if ss else "- (none yet)"
        print(f"| {r['batch']} | {r['lr']:.2e} | {r['warmup']} | {r['epoch']} | {r['seconds']:.0f} | "
              f"{r['pitch_ppl']:.2f} | {r['dur_ppl']:.2f} | {fe} | {fs} |")


if __name__ == "__main__":
    main()
