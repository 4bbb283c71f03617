"""Shared by the training benchmarks: tokens per epoch and tokens/s from a run's log.

A token is a non-padding target event of the training windows (what the loss counts);
an epoch's seconds are the run's own log row (`train.train`'s "seconds": the fit and
the validation scoring).  The first epoch compiles, so it is left out of every rate.
"""
from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def train_tokens(cfg) -> int:
    """Non-padding targets in one epoch of the training windows `cfg` gives."""
    from jazzgen.data import tokens
    from jazzgen.model.training import load_data
    return int((load_data(cfg).train.arrays["pitch"] != tokens.PAD).sum())


def steady_seconds(log: list[dict]) -> list[float]:
    """Per-epoch seconds without the first (compiling) epoch; the first alone if that is all."""
    s = [float(r["seconds"]) for r in log]
    return s[1:] or s


def rate(log: list[dict], tokens_per_epoch: int) -> float:
    """Tokens/s over the steady epochs of a run's log."""
    s = steady_seconds(log)
    return tokens_per_epoch * len(s) / sum(s)
