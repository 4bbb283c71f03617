"""The listener: can a classifier tell generated solos from real ones, both read as played?

The judge of issue 20.  Both sets are read by one reader at full tick resolution
(``music.performed.read_performed``: real files as they are, generated solos from the
MIDI files jazzgen writes, solo track only), never through jazzgen's own grid reading,
which would hide what the grid throws away.  Each solo is cut into 4-bar windows, each
window becomes one feature vector (``listener_features``: interval, sounding-length,
chord-relative, onset-position histograms, velocity and its contour, detached share,
rests, density, range, interval bigrams, inter-onset classes, onset x inter-onset,
contour runs, micro-timing), and two classifiers try to tell the sets apart:

- ``linear``: logistic regression on standardized features;
- ``trees``: scikit-learn's HistGradientBoostingClassifier (nonlinear, interactions).

Both are scored by 5-fold cross-validation with folds grouped by solo (no solo on both
sides of a split; a generated twin and its real solo, over one tune, in one fold), as
held-out accuracy (each set weighs half: 0.5 is chance) and AUC.
The same test between two sets of real solos (the model's validation solos against as
many training solos) is the floor to read them against.  What separates most is
printed two ways: the standardized difference of the window means (which way and how
far each feature moves) and the trees' permutation importance on the held-out windows
(how much the AUC falls when a feature group, or one of the features that differ most,
is shuffled).

Use it from Python::

    from jazzgen.evaluation import listener
    real = [listener.read(p) for p in real_paths]
    gen = [listener.read(p, track=0) for p in generated_paths]   # jazzgen's solo is track 0
    result = listener.listen(gen, real, floor=(real, train_solos))
    print(listener.markdown(result))

or score a model folder against issue 20's targets in one command (one solo per
validation file of the model's split, over its changes, tempo and length; both
renderings; formula use, copies, chord tones and overlaps beside it)::

    python scripts/tools/listen.py --model models/wjazzd

The classifiers run on one thread (``threadpool_limits``): on a shared machine the
trees' OpenMP pool otherwise spins against other work and ran 50 times slower here.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np

from jazzgen.evaluation.listener_features import FEATURES, columns, window_features
from jazzgen.music.performed import PerformedSolo, read_performed

FOLDS = 5
TOP = 12                          # features printed per ranking
read = read_performed             # the one reader both sets go through


@dataclass
class Windows:
    """Every window of two sets of solos: features, label (0: set a, 1: set b), solo id."""
    x: np.ndarray
    y: np.ndarray
    group: np.ndarray

    @staticmethod
    def of(a: list[PerformedSolo], b: list[PerformedSolo], paired: bool = False) -> "Windows":
        """Windows of both sets; `paired`: a[i] and b[i] are twins (one tune, changes and length),
        kept in one fold, else the classifier learns the tune from one twin and misjudges the other."""
        if paired and len(a) != len(b):
            raise ValueError(f"paired sets must be as long as each other ({len(a)} and {len(b)} solos)")
        xs, ys, gs = [np.zeros((0, len(FEATURES)))], [np.zeros(0, np.int64)], [np.zeros(0, np.int64)]
        for label, solos in ((0, a), (1, b)):
            for i, s in enumerate(solos):
                f = window_features(s)
                xs.append(f)
                ys.append(np.full(len(f), label))
                gs.append(np.full(len(f), i if paired else 2 * i + label))
        return Windows(np.concatenate(xs), np.concatenate(ys), np.concatenate(gs))

    def counts(self) -> tuple[int, int]:
        return int((self.y == 0).sum()), int((self.y == 1).sum())


@dataclass
class Verdict:
    """One classifier's held-out result on one pair of sets."""
    accuracy: float               # balanced: each set weighs half, 0.5 = cannot tell
    auc: float
    windows: tuple[int, int]
    importance: list = field(default_factory=list)   # (feature, AUC drop when shuffled), largest first


@dataclass
class Listening:
    """The listener's whole answer: generated vs real, the real-vs-real floor, what separates."""
    verdicts: dict                # classifier name -> Verdict (generated vs real)
    floor: dict                   # classifier name -> Verdict (real vs real), may be empty
    differences: list             # (feature, real mean, generated mean, standardized difference)
    solos: tuple[int, int]

    def to_dict(self) -> dict:
        return asdict(self)


# ---------------------------------------------------------------------------- classifiers

def linear():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler
    return make_pipeline(StandardScaler(), LogisticRegression(C=0.1, max_iter=3000, class_weight="balanced"))


def trees():
    from sklearn.ensemble import HistGradientBoostingClassifier
    return HistGradientBoostingClassifier(max_iter=100, learning_rate=0.1, max_leaf_nodes=15,
                                          l2_regularization=1.0, class_weight="balanced", random_state=0)


CLASSIFIERS = {"linear": linear, "trees": trees}


def folds(group: np.ndarray, y: np.ndarray, k: int = FOLDS, seed: int = 0) -> list[np.ndarray]:
    """k test folds of whole solos (or twin pairs), each set's dealt evenly over the folds."""
    rng = np.random.default_rng(seed)
    out: list[list[int]] = [[] for _ in range(k)]
    dealt: set = set()
    for label in (0, 1):
        g = rng.permutation(np.setdiff1d(np.unique(group[y == label]), list(dealt)))
        dealt.update(g.tolist())
        for i in range(k):
            out[i].extend(g[i::k].tolist())
    return [np.flatnonzero(np.isin(group, f)) for f in out]


def _balanced(y: np.ndarray) -> np.ndarray:
    """Sample weights under which each set weighs half."""
    n1 = max(int(y.sum()), 1)
    return np.where(y == 1, 0.5 / n1, 0.5 / max(len(y) - n1, 1))


def judge(w: Windows, make, select=None, seed: int = 0, importance: bool = False) -> Verdict:
    """Held-out accuracy and AUC of classifier `make()` over grouped folds (and permutation importance)."""
    from threadpoolctl import threadpool_limits
    a, b = w.counts()
    if min(a, b) < FOLDS or min(len(np.unique(w.group[w.y == k])) for k in (0, 1)) < FOLDS:
        raise ValueError(f"too few windows or solos for a {FOLDS}-fold test ({a} and {b} windows)")
    cols = columns(select)
    sets = _importance_sets(w, cols) if importance else {}
    with threadpool_limits(1):
        score, imp = _cross_validate(w, make, cols, sets, seed)
    from sklearn.metrics import roc_auc_score
    wt = _balanced(w.y)
    acc = float((wt * ((score > 0.5) == (w.y == 1))).sum())
    ranked = sorted(((k, float(v)) for k, v in imp.items() if v > 0), key=lambda kv: -kv[1])[:2 * TOP]
    return Verdict(acc, float(roc_auc_score(w.y, score, sample_weight=wt)), (a, b), ranked)


def _importance_sets(w: Windows, cols: np.ndarray) -> dict[str, np.ndarray]:
    """What to shuffle: each feature group whole ("group: sounding"), and the 2*TOP single
    features whose window means differ most (shuffling all 250 one by one costs minutes)."""
    names = [FEATURES[c] for c in cols]
    sets = {f"group: {g}": np.flatnonzero([n.split(":")[0] == g for n in names])
            for g in dict.fromkeys(n.split(":")[0] for n in names)}
    for f, *_ in mean_differences(Windows(w.x[:, cols], w.y, w.group), 2 * TOP, names):
        sets[f] = np.array([names.index(f)])
    return sets


def _cross_validate(w: Windows, make, cols: np.ndarray, sets: dict, seed: int):
    """Out-of-fold probabilities of set b, and each shuffled set's mean AUC drop over folds."""
    from sklearn.metrics import roc_auc_score
    score, imp = np.zeros(len(w.y)), dict.fromkeys(sets, 0.0)
    x = w.x[:, cols]
    rng = np.random.default_rng(seed)
    for test in folds(w.group, w.y, FOLDS, seed):
        train = np.setdiff1d(np.arange(len(w.y)), test)
        clf = make().fit(x[train], w.y[train])
        score[test] = clf.predict_proba(x[test])[:, 1]
        base = roc_auc_score(w.y[test], score[test])
        for name, idx in sets.items():
            for _ in range(2):
                xs = x[test].copy()
                xs[:, idx] = xs[rng.permutation(len(test))][:, idx]
                imp[name] += (base - roc_auc_score(w.y[test], clf.predict_proba(xs)[:, 1])) / (2 * FOLDS)
    return score, imp


def mean_differences(w: Windows, top: int = TOP, names=FEATURES) -> list[tuple[str, float, float, float]]:
    """(feature, mean of set a, mean of set b, standardized difference) for the `top` that differ most."""
    a, b = w.x[w.y == 0], w.x[w.y == 1]
    sd = np.sqrt((a.var(0) + b.var(0)) / 2)
    d = np.where(sd > 1e-9, (b.mean(0) - a.mean(0)) / np.maximum(sd, 1e-9), 0.0)
    return [(names[i], float(a[:, i].mean()), float(b[:, i].mean()), float(d[i]))
            for i in np.argsort(-np.abs(d))[:top]]


def listen(generated: list[PerformedSolo], real: list[PerformedSolo],
           floor: tuple[list[PerformedSolo], list[PerformedSolo]] | None = None,
           classifiers=("linear", "trees"), select=None, importance: bool = True, seed: int = 0,
           paired: bool = False) -> Listening:
    """Every classifier on real (0) vs generated (1) windows, and on the floor pair if given.
    `paired`: generated[i] is real[i]'s twin (over its changes): each pair stays in one fold."""
    w = Windows.of(real, generated, paired)
    verdicts = {c: judge(w, CLASSIFIERS[c], select, seed, importance and c == "trees") for c in classifiers}
    low = {}
    if floor is not None:
        wf = Windows.of(*floor)
        low = {c: judge(wf, CLASSIFIERS[c], select, seed) for c in classifiers}
    return Listening(verdicts, low, mean_differences(w), (len(real), len(generated)))


# ---------------------------------------------------------------------------- printing

def markdown(result: Listening, what: str = "generated vs real") -> str:
    """The verdict table, then what separates most (both rankings)."""
    rows = ["| classifier | held-out accuracy | AUC | real-vs-real floor (acc / AUC) | windows (real / generated) |",
            "|---|---|---|---|---|"]
    for name, v in result.verdicts.items():
        f = result.floor.get(name)
        fl = f"{f.accuracy:.3f} / {f.auc:.3f}" if f else "-"
        rows.append(f"| {name} ({what}) | {v.accuracy:.3f} | {v.auc:.3f} | {fl} | {v.windows[0]} / {v.windows[1]} |")
    rows += ["", "What separates most, by standardized difference of window means (generated - real):", "",
             "| feature | real | generated | difference (sd) |", "|---|---|---|---|"]
    rows += [f"| {f} | {a:.4f} | {b:.4f} | {d:+.2f} |" for f, a, b, d in result.differences]
    imp = next((v.importance for v in result.verdicts.values() if v.importance), [])
    if imp:
        rows += ["", "Permutation importance of the trees (held-out AUC lost when one feature is shuffled):", "",
                 "| feature (or group, all its features shuffled together) | AUC drop |", "|---|---|"]
        rows += [f"| {f} | {x:.4f} |" for f, x in imp]
    return "\n".join(rows) + "\n"
