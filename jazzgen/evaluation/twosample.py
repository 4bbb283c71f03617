"""Can a simple classifier tell generated solos from real ones?  A two-sample test.

A listener hears short stretches, not whole-solo averages, so solos are cut into
4-bar windows and each window becomes a small feature vector of things a listener
notices: melodic intervals, note lengths, where onsets fall in the beat, which
chord tones are played, loudness and its spread, detached (non-legato) notes, rests
and density.  A logistic regression is trained and tested on them with
cross-validation whose folds are grouped by solo (windows of one solo never sit on
both sides), and its held-out accuracy is the statistic: 0.5 means the two sets
cannot be told apart by these features, 1.0 means they always can.  The same test
between two sets of real solos gives the floor to read it against.

NumPy only (a few hundred windows, tens of features): no scikit-learn dependency.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from jazzgen.evaluation.metrics import DUR_BINS
from jazzgen.music.notes import GRID, NoteSequence

WINDOW_BARS = 4
MIN_NOTES = 4                     # windows with fewer notes say little about a style
INTERVAL_CLIP = 12                # intervals beyond an octave share the end bins
FEATURES = (
    [f"interval_{i}" for i in range(-INTERVAL_CLIP, INTERVAL_CLIP + 1)]
    + [f"dur_{label}" for label, _ in DUR_BINS]
    + [f"onset_sub_{k}" for k in range(GRID)]
    + [f"chord_rel_{k}" for k in range(12)] + ["chord_rel_none"]
    + ["velocity_mean", "velocity_sd", "detached_share", "rest_share", "notes_per_beat",
       "pitch_mean", "pitch_range"])


def _hist(values: np.ndarray, n: int) -> np.ndarray:
    h = np.bincount(values, minlength=n)[:n].astype(np.float64)
    return h / max(h.sum(), 1.0)


def window_features(seq: NoteSequence, window_bars: int = WINDOW_BARS) -> np.ndarray:
    """(windows, len(FEATURES)) features of each window of `window_bars` bars with enough notes."""
    if len(seq) < 2:
        return np.zeros((0, len(FEATURES)))
    bar, _ = seq.bar_position(seq.start)
    win = (bar - bar.min()) // window_bars
    roots = seq.roots_at(seq.start)
    start, dur = seq.start.astype(np.int64), seq.duration.astype(np.int64)
    nxt = np.append(start[1:], start[-1] + dur[-1])
    gap = nxt - (start + dur)                                      # silence after each note
    rows = []
    for w in np.unique(win):
        m = np.flatnonzero(win == w)
        if len(m) < MIN_NOTES:
            continue
        p = seq.pitch[m].astype(np.int64)
        iv = np.clip(np.diff(p), -INTERVAL_CLIP, INTERVAL_CLIP) + INTERVAL_CLIP
        d = dur[m]
        dbin = np.searchsorted([hi for _, hi in DUR_BINS[:-1]], d, side="left")
        rel = np.where(roots[m] >= 0, (p - roots[m]) % 12, 12)
        v = seq.velocity[m].astype(np.float64)
        span = max(int(nxt[m[-1]] - start[m[0]]), 1)
        rows.append(np.concatenate([
            _hist(iv, 2 * INTERVAL_CLIP + 1), _hist(dbin, len(DUR_BINS)), _hist(start[m] % GRID, GRID),
            _hist(rel, 13),
            [v.mean() / 127, v.std() / 127, np.mean((gap[m] > 0) & (gap[m] <= GRID // 4)),
             np.sum(np.where(gap[m] > GRID // 4, gap[m], 0)) / span, len(m) / (span / GRID),
             p.mean() / 127, (p.max() - p.min()) / 48]]))
    return np.array(rows) if rows else np.zeros((0, len(FEATURES)))


# ----------------------------------------------------------------------------- the classifier

def _standardize(train: np.ndarray, test: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    mu, sd = train.mean(0), train.std(0) + 1e-6
    return (train - mu) / sd, (test - mu) / sd


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float = 1.0, iters: int = 50) -> np.ndarray:
    """L2-regularised logistic regression by Newton's method; returns weights (bias last)."""
    xb = np.hstack([x, np.ones((len(x), 1))])
    w = np.zeros(xb.shape[1])
    reg = np.full(xb.shape[1], l2)
    reg[-1] = 0.0
    for _ in range(iters):
        p = 1.0 / (1.0 + np.exp(-np.clip(xb @ w, -30, 30)))
        grad = xb.T @ (p - y) + reg * w
        hess = (xb * (p * (1 - p))[:, None]).T @ xb + np.diag(reg + 1e-9)
        step = np.linalg.solve(hess, grad)
        w -= step
        if np.abs(step).max() < 1e-6:
            break
    return w


def predict(w: np.ndarray, x: np.ndarray) -> np.ndarray:
    return (np.hstack([x, np.ones((len(x), 1))]) @ w) > 0


def grouped_folds(groups: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    """Indices of k test folds, whole groups (solos) each, sizes as even as possible."""
    rng = np.random.default_rng(seed)
    uniq = rng.permutation(np.unique(groups))
    return [np.flatnonzero(np.isin(groups, uniq[i::k])) for i in range(k)]


@dataclass
class TwoSampleResult:
    accuracy: float               # held-out accuracy over all windows
    windows: tuple[int, int]      # windows of set A and set B
    solos: tuple[int, int]
    folds: int


def two_sample_test(a: list[NoteSequence], b: list[NoteSequence], folds: int = 5, seed: int = 0,
                    l2: float = 1.0) -> TwoSampleResult:
    """Held-out accuracy of telling windows of `a` from windows of `b` (folds grouped by solo).

    The classes are balanced by weighting: each set counts half whatever its window count,
    so 0.5 is chance even when one set has more windows.
    """
    feats, labels, groups = [], [], []
    for label, solos in ((0, a), (1, b)):
        for i, s in enumerate(solos):
            f = window_features(s)
            feats.append(f)
            labels.append(np.full(len(f), label))
            groups.append(np.full(len(f), 2 * i + label))
    x, y, g = np.concatenate(feats), np.concatenate(labels).astype(np.float64), np.concatenate(groups)
    n_a, n_b = int((y == 0).sum()), int((y == 1).sum())
    if min(n_a, n_b) < folds or len(np.unique(g)) < 2 * folds:
        raise ValueError(f"too few windows for a {folds}-fold test ({n_a} and {n_b} windows)")
    correct = np.zeros(len(y), bool)
    for test in grouped_folds(g, folds, seed):
        train = np.setdiff1d(np.arange(len(y)), test)
        xtr, xte = _standardize(x[train], x[test])
        w = fit_logistic(xtr, y[train], l2)
        correct[test] = predict(w, xte) == (y[test] == 1)
    weight = np.where(y == 0, 0.5 / n_a, 0.5 / n_b)
    return TwoSampleResult(float((weight * correct).sum()), (n_a, n_b),
                           (len(a), len(b)), folds)
