"""Keras' jit_compile on this backend: model.fit on the same windows with it off and on.

    KERAS_BACKEND=tensorflow python scripts/bench_jit.py [--max-songs 60] [--epochs 3]
    KERAS_BACKEND=torch python scripts/bench_jit.py --modes default

The shipped configuration (2 x 256, batch 24, seq 96), compiled as compile_model does
(whose jit_compile is Keras' "auto"), then recompiled with jit_compile False / True.
One untimed epoch each (compilation), then timed epochs alternating between the modes.
Last line: tok/s per mode, and the ratio to the first mode.
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import time

from jazzgen.model.training import TrainConfig


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="midi/wjazzd")
    p.add_argument("--max-songs", type=int, default=60)
    p.add_argument("--epochs", type=int, default=3, help="timed epochs per mode")
    p.add_argument("--modes", default="default,off,on", help="default (compile_model's), off, on")
    a = p.parse_args()
    import keras

    from jazzgen.data import tokens as T
    from jazzgen.model.backend import device
    from jazzgen.model.network import ModelConfig, build_model, compile_model, xy
    from jazzgen.model.training import load_data

    cfg = TrainConfig(data=a.data, max_songs=a.max_songs)
    with contextlib.redirect_stdout(sys.stderr):
        data = load_data(cfg)
    x, y = xy(data.train.arrays)
    tok = int((data.train.arrays["pitch"] != T.PAD).sum())
    models, secs = {}, {}
    for mode in a.modes.split(","):
        m = build_model(T.default_vocab(), ModelConfig(layers=cfg.layers, units=cfg.units, dropout=cfg.dropout))
        compile_model(m, cfg.lr, cfg.clipnorm)
        if mode != "default":
            m.compile(optimizer=m.optimizer, loss=m.loss, jit_compile=mode == "on")
        m.fit(x, y, batch_size=cfg.batch_size, epochs=1, verbose=0)
        print(f"{mode}: jit_compile resolved to {m.jit_compile}", file=sys.stderr)
        models[mode], secs[mode] = m, 0.0
    names = list(models)
    for e in range(a.epochs):
        for k in names[e % len(names):] + names[:e % len(names)]:
            t = time.perf_counter()
            models[k].fit(x, y, batch_size=cfg.batch_size, epochs=1, shuffle=True, verbose=0)
            secs[k] += time.perf_counter() - t
    rate = {k: tok * a.epochs / s for k, s in secs.items()}
    first = names[0]
    print(f"[{keras.backend.backend()} | {device()[0]}] {len(data.train)} windows, {tok:,} tokens/epoch, "
          f"{a.epochs} timed epochs each; jit_compile resolved: "
          + ", ".join(f"{k}={models[k].jit_compile}" for k in names))
    print(" | ".join(f"{k} {r:,.0f} tok/s ({r / rate[first]:.2f}x)" for k, r in rate.items()))


if __name__ == "__main__":
    main()
