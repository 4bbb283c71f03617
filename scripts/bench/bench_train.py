"""Training throughput: jazzgen's loop as users run it, the previous batch, and plain PyTorch.

    python scripts/bench/bench_train.py [--epochs 2] [--rounds 2] [--max-songs 0] [--batch-size B]

Three systems, all on the bundled corpus's training windows (the shipped configuration:
2 x 256 LSTM, seq 96, augmentation on) and measured in this one run, in an order that
rotates every round so that machine noise and drift hit all three alike:

- ours: `jazzgen.train.train` with the default configuration (`--batch-size` overrides
  its batch), for --epochs epochs;
- previous: the same loop with batch 24, the configuration before this change;
- reference: the same network written directly in PyTorch, outside Keras (the same
  embeddings, 2 x 256 `nn.LSTM` with dropout after each layer, the pitch head with its
  root-relative logits, the duration head seeing the target pitch; per-head masked
  cross-entropy; Adam with Keras' epsilon and per-tensor gradient clipping by norm, as
  Keras' `clipnorm` does), fed the same re-transposed windows in ours' batch size.

A token is a non-padding target; each epoch's seconds come from the run's own log (the
fit and the validation scoring; the reference times its own epoch and scores the same
validation windows), and every system's first epoch (compilation) is left out.  The
last line is the result:

    ours N tok/s | previous N tok/s (ours X.XXx) | reference N tok/s (ours Y.YYx)
"""
from __future__ import annotations

import argparse
import contextlib
import sys
import tempfile
import time
import types
from dataclasses import replace
from pathlib import Path

from jazzgen.model.training import TrainConfig  # (no Keras import yet)

ROOT = Path(__file__).resolve().parents[2]

PREVIOUS_BATCH = 24


# ---------------------------------------------------------------------------- the Keras loop

def run_loop(cfg: TrainConfig) -> list[float]:
    """train.train as users run it; its steady per-epoch seconds."""
    import keras

    from jazzgen.model.training import steady_seconds, train
    with tempfile.TemporaryDirectory() as tmp:
        cfg = replace(cfg, out=tmp, name="bench")
        with contextlib.redirect_stdout(sys.stderr):   # its chatter is not the result
            state = train(cfg, progress=False)
    keras.backend.clear_session()
    return steady_seconds(state["log"])


# ---------------------------------------------------------------------------- the reference

def torch_reference(cfg: TrainConfig):
    """The jazzgen network as a torch.nn.Module (its ModelConfig: TrainConfig.model)."""
    import torch
    from torch import nn

    from jazzgen.data import tokens as T
    m = cfg.model
    sizes = T.default_vocab().sizes
    tops = types.SimpleNamespace(logical_and=torch.logical_and, mod=torch.remainder, where=torch.where,
                                 zeros_like=torch.zeros_like)

    class Net(nn.Module):
        def __init__(self):
            super().__init__()
            dims = {"prev_pitch": ("pitch", m.emb_pitch), "prev_dur": ("dur", m.emb_dur), "root": ("root", m.emb_cond),
                    "qual": ("qual", m.emb_cond), "beat": ("beat", m.emb_cond), "sub": ("sub", m.emb_cond),
                    "prev_rel": ("rel", m.emb_cond)}
            self.emb = nn.ModuleDict({k: nn.Embedding(sizes[v], d) for k, (v, d) in dims.items()})
            width = sum(d for _, d in dims.values())
            self.lstms = nn.ModuleList(nn.LSTM(width if i == 0 else m.units, m.units, batch_first=True)
                                       for i in range(m.layers))
            self.drop = nn.Dropout(m.dropout)
            self.pitch_abs = nn.Linear(m.units, sizes["pitch"])
            self.pitch_rel = nn.Linear(m.units, sizes["rel"] - 1)
            self.emb_target = nn.Embedding(sizes["pitch"], m.emb_pitch)
            self.dur_hidden = nn.Linear(m.units + m.emb_pitch, m.units)
            self.dur = nn.Linear(m.units, sizes["dur"])
            self.register_buffer("ids", torch.arange(sizes["pitch"]))

        def forward(self, b):
            rel = T.interval_ids(b["prev_pitch"], b["root"], tops)
            feats = {**b, "prev_rel": rel}
            x = torch.cat([self.emb[k](feats[k]) for k in self.emb], -1)
            for lstm in self.lstms:
                x = self.drop(lstm(x)[0])
            rel_ids = T.interval_ids(self.ids[None, None, :], b["root"][..., None], tops)       # (B, T, V)
            r = self.pitch_rel(x)
            padded = torch.cat([torch.zeros_like(r[..., :1]), r], -1)
            pitch = self.pitch_abs(x) + torch.gather(padded, -1, rel_ids)
            d = torch.relu(self.dur_hidden(torch.cat([x, self.emb_target(b["pitch"])], -1)))
            return pitch, self.dur(d)

    return Net()


def run_reference(cfg: TrainConfig, data) -> list[float]:
    """Epochs of the PyTorch reference on the same windows; steady per-epoch seconds."""
    import numpy as np
    import torch

    from jazzgen.data import tokens as T
    torch.manual_seed(cfg.seed)
    net = torch_reference(cfg)
    opt = torch.optim.Adam(net.parameters(), lr=cfg.optimizer.lr, eps=1e-7)
    ce = torch.nn.CrossEntropyLoss(ignore_index=T.PAD)
    keys = ("prev_pitch", "prev_dur", "root", "qual", "beat", "sub", "pitch", "dur")
    as_t = lambda a: {k: torch.from_numpy(a[k].astype(np.int64)) for k in keys}
    val = as_t(data.val.whole_songs(range(len(data.val_files))))
    train = data.train.in_memory()
    seconds = []
    for epoch in range(cfg.epochs):
        t0 = time.perf_counter()
        rng = np.random.default_rng([cfg.seed, epoch])
        w = as_t(train.transposed(rng, data.lo, data.hi).arrays if cfg.augment else train.arrays)
        order = torch.from_numpy(rng.permutation(len(w["pitch"])))
        net.train()
        for i in range(0, len(order), cfg.batch_size):
            b = {k: v[order[i:i + cfg.batch_size]] for k, v in w.items()}
            pitch, dur = net(b)
            loss = ce(pitch.flatten(0, 1), b["pitch"].flatten()) + ce(dur.flatten(0, 1), b["dur"].flatten())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            grads = [p.grad for p in net.parameters() if p.grad is not None]
            norms = torch._foreach_norm(grads)                 # Keras clipnorm: each tensor by its own norm
            torch._foreach_mul_(grads, [torch.clamp(cfg.optimizer.clipnorm / (n + 1e-12), max=1.0) for n in norms])
            opt.step()
        net.eval()
        with torch.no_grad():
            for i in range(0, len(val["pitch"]), 16):          # score the validation windows as train does
                net({k: v[i:i + 16] for k, v in val.items()})
        seconds.append(time.perf_counter() - t0)
    return seconds[1:] or seconds


# ---------------------------------------------------------------------------- main

def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", default="midi/wjazzd")
    p.add_argument("--epochs", type=int, default=2, help="epochs per run; the first of each is not timed")
    p.add_argument("--rounds", type=int, default=2, help="runs of each system, in rotating order")
    p.add_argument("--max-songs", type=int, default=0, help="0 = the whole corpus")
    p.add_argument("--batch-size", type=int, default=0, help="ours' batch (default: TrainConfig's)")
    a = p.parse_args()
    if a.epochs < 2:
        p.error("--epochs must be at least 2 (the first compiles and is not timed)")

    import keras
    import torch

    from jazzgen.model.backend import device
    from jazzgen.model.training import load_data, train_tokens

    d = TrainConfig()
    ours = TrainConfig(data=a.data, epochs=a.epochs, patience=a.epochs + 1, max_songs=a.max_songs,
                       batch_size=a.batch_size or d.batch_size)
    prev = replace(ours, batch_size=PREVIOUS_BATCH)
    with contextlib.redirect_stdout(sys.stderr):
        data = load_data(ours)
    tokens = train_tokens(ours)
    runs = {"ours": lambda: run_loop(ours), "previous": lambda: run_loop(prev),
            "reference": lambda: run_reference(ours, data)}
    names = list(runs)
    secs = {k: [] for k in names}
    for r in range(a.rounds):
        order = names[r % 3:] + names[:r % 3]
        for k in order:
            secs[k] += runs[k]()
            print(f"round {r + 1} {k}: {tokens * len(secs[k]) / sum(secs[k]):,.0f} tok/s so far", file=sys.stderr,
                  flush=True)
    rate = {k: tokens * len(v) / sum(v) for k, v in secs.items()}
    print(f"[{keras.backend.backend()} | {device()[0]} | torch {torch.__version__}, {torch.get_num_threads()} threads] "
          f"{ours.model.layers}x{ours.model.units} LSTM, seq {ours.seq_len}, ours batch {ours.batch_size}, "
          f"previous batch {prev.batch_size}, {len(data.train)} windows, {tokens:,} tokens/epoch, "
          f"{len(secs['ours'])} timed epochs each")
    print(f"ours {rate['ours']:,.0f} tok/s | previous {rate['previous']:,.0f} tok/s "
          f"(ours {rate['ours'] / rate['previous']:.2f}x) | reference {rate['reference']:,.0f} tok/s "
          f"(ours {rate['ours'] / rate['reference']:.2f}x)")


if __name__ == "__main__":
    main()
