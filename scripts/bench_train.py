"""Training throughput: jazzgen's data source against a bare `model.fit` on fixed arrays.

    python scripts/bench_train.py --data midi/wjazzd [--epochs 3] [--units 256]

Both models have the same configuration and see the same number of windows per
epoch; ours is fed by `loop.KeyedWindows` (the keras PyDataset train.py uses), which
re-transposes every window to a random key each epoch; the baseline fits the same
un-transposed arrays held in memory.  The first epoch of each compiles and is not
timed; the timed epochs run in two rounds of one `fit` each (as train.py runs a whole
run in one), the other model first in the second round, so that machine noise and
drift hit both alike.  Tokens = non-padding target events.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jazzgen.train import TrainConfig  # noqa: E402  (no Keras import yet)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", default="midi/wjazzd")
    p.add_argument("--epochs", type=int, default=3, help="timed epochs of each")
    d = TrainConfig()   # defaults: the shipped model's configuration
    p.add_argument("--units", type=int, default=d.units)
    p.add_argument("--layers", type=int, default=d.layers)
    p.add_argument("--seq-len", type=int, default=d.seq_len)
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--max-songs", type=int, default=0)
    a = p.parse_args()

    import keras
    from jazzgen import tokens
    from jazzgen.model import ModelConfig, build_model, compile_model, xy
    from jazzgen.loop import KeyedWindows
    from jazzgen.train import _device, load_data

    cfg = TrainConfig(data=a.data, units=a.units, layers=a.layers, seq_len=a.seq_len, batch_size=a.batch_size,
                      max_songs=a.max_songs)   # cache: paths.CACHE
    data = load_data(cfg)
    mcfg = ModelConfig(layers=cfg.layers, units=cfg.units, dropout=cfg.dropout)
    ours, bare = (build_model(tokens.default_vocab(), mcfg) for _ in range(2))
    for m in (ours, bare):
        compile_model(m, cfg.lr, cfg.clipnorm)
    x, y = xy(data.train.arrays)
    n_tok = int((data.train.arrays["pitch"] != tokens.PAD).sum())

    windows = KeyedWindows(data.train, data.lo, data.hi, cfg.batch_size, cfg.seed)   # what train feeds fit

    def fit(who, first, n):
        """n epochs in one fit call, as train.py runs a whole run in one."""
        if who == "ours":
            windows.start_epoch = first
            ours.fit(windows, epochs=first + n, initial_epoch=first, steps_per_epoch=windows.steps, shuffle=False,
                     verbose=0)
        else:
            bare.fit(x, y, batch_size=cfg.batch_size, epochs=first + n, initial_epoch=first, shuffle=True, verbose=0)

    for who in ("ours", "bare"):
        fit(who, 0, 1)                                                       # compile, not timed
    per_round = max(1, a.epochs // 2)
    times = {"ours": 0.0, "bare": 0.0}
    for r in range(2):   # two rounds, the other one first in the second: drift hits both alike
        for who in (("bare", "ours") if r == 0 else ("ours", "bare")):
            t = time.perf_counter()
            fit(who, 1 + r * per_round, per_round)
            times[who] += time.perf_counter() - t
    r_ours, r_bare = (n_tok * 2 * per_round / times[w] for w in ("ours", "bare"))
    a.epochs = 2 * per_round
    print(f"model {cfg.layers}x{cfg.units} LSTM, seq {cfg.seq_len}, batch {cfg.batch_size}, "
          f"{len(data.train)} windows, {n_tok} tokens/epoch, {a.epochs} timed epochs each")
    print(f"[{keras.backend.backend()} | {_device()}] ours {r_ours:,.0f} tok/s  bare model.fit {r_bare:,.0f} tok/s  "
          f"ratio {r_ours / r_bare:.2f}x  (target >= 0.9x)")


if __name__ == "__main__":
    main()
