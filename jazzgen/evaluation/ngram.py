"""Smoothed n-gram baselines over integer token sequences.

A neural melody model is only interesting if it beats counting.  These models score
exactly the tokens the network predicts (pitch-class ids, duration-class ids), so
their perplexities are directly comparable.

``KneserNey`` is *interpolated* Kneser-Ney (Chen & Goodman 1998, section 3) with one
absolute discount per order (plain, not "modified" KN with three discounts).  By
default each order's discount is estimated as D = n1 / (n1 + 2 n2), n1 and n2 being
the numbers of n-grams of that order seen exactly once and twice (continuation
counts below the top order), clipped to [0.05, 0.95]; pass ``discount=0.75`` to fix
it.  The lowest order interpolates with a uniform distribution over the V ids, so
every id gets a nonzero probability and every conditional sums to 1.

Optional conditioning: ``cond`` is a parallel int array (chord class, the event's
pitch, ...) treated as the *most recent* element of the context.  The full context of
token t is (x[t-n+1], ..., x[t-1], cond[t]) and back-off drops elements from the
left, so the oldest history goes first and the condition last:

    p(x | h3 h2 h1 c) -> p(x | h2 h1 c) -> p(x | h1 c) -> p(x | c) -> p(x) -> 1/V

Implementation: every n-gram is packed into one int64 (mixed radix, token in the
last digit) so counting is ``np.unique`` and lookup is ``np.searchsorted``; no
Python loop touches individual tokens.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

BOS = -1  # reserved id padding the history before a sequence starts


def perplexity(logprobs) -> float:
    """exp of the mean negative natural-log probability per token."""
    return float(np.exp(-np.mean(np.asarray(logprobs, np.float64))))


def _as_seqs(seqs) -> list[np.ndarray]:
    return [np.asarray(s, np.int64).ravel() for s in seqs]


def _check_tokens(seq: np.ndarray, vocab_size: int) -> None:
    if len(seq) and (seq.min() < 0 or seq.max() >= vocab_size):
        raise ValueError(f"token ids must lie in 0..{vocab_size - 1}")


@dataclass
class _Level:
    """Counts for one context length k: n-gram keys and per-context totals."""

    keys: np.ndarray      # sorted int64 keys of (context, token)
    counts: np.ndarray    # their (continuation) counts
    ctx: np.ndarray       # sorted int64 keys of the contexts
    total: np.ndarray     # sum of counts per context
    types: np.ndarray     # number of distinct tokens seen after the context
    discount: float


def _lookup(sorted_keys: np.ndarray, values: np.ndarray, q: np.ndarray) -> np.ndarray:
    """values[i] where sorted_keys[i] == q, else 0."""
    if len(sorted_keys) == 0:
        return np.zeros(len(q), values.dtype)
    i = np.minimum(np.searchsorted(sorted_keys, q), len(sorted_keys) - 1)
    return np.where(sorted_keys[i] == q, values[i], 0)


class KneserNey:
    """Interpolated Kneser-Ney LM of order n (1..5) over ids 0..V-1, optionally conditioned.

    ``fit(seqs, conds=None)``, then ``logprob_seq(seq, cond=None)``, ``prob(context,
    token, cond=None)`` or ``dist(context, cond=None)`` for a whole next-token
    distribution.  A model fitted with conds must be queried with conds; cond values
    never seen in training simply back off past every conditioned context.
    """

    def __init__(self, n: int, vocab_size: int, discount: float | None = None):
        if not 1 <= n <= 5:
            raise ValueError("order n must be in 1..5")
        self.n, self.V, self.fixed_discount = n, int(vocab_size), discount
        self.levels: list[_Level] = []
        self.conditioned = False

    # -- encoding -------------------------------------------------------------------

    def _context_columns(self, seq: np.ndarray, cond: np.ndarray | None) -> np.ndarray:
        """(len(seq), L) codes of each token's full context, oldest first, cond last.

        History codes are id + 1 (BOS -> 0, base V + 1); cond codes are cond + 1 for
        -1 <= cond < C, and C + 1 for anything unseen in training (base C + 2).
        """
        h = self.n - 1
        padded = np.concatenate([np.full(h, BOS, np.int64), seq])
        cols = [padded[j: j + len(seq)] + 1 for j in range(h)]
        if self.conditioned:
            if cond is None or len(cond) != len(seq):
                raise ValueError("this model was fitted with conds: pass a parallel cond array")
            c = np.asarray(cond, np.int64)
            cols.append(np.where((c >= -1) & (c < self.C), c + 1, self.C + 1))
        return np.stack(cols, 1) if cols else np.zeros((len(seq), 0), np.int64)

    def _ctx_keys(self, cols: np.ndarray, k: int) -> np.ndarray:
        """Int64 key of the k most recent context elements (k = 0: the empty context)."""
        key = np.zeros(len(cols), np.int64)
        for j in range(cols.shape[1] - k, cols.shape[1]):
            key = key * self.bases[j] + cols[:, j]
        return key

    # -- fitting ----------------------------------------------------------------------

    def fit(self, seqs, conds=None) -> "KneserNey":
        """Count every order from the sequences (each one starts from a BOS history)."""
        seqs = _as_seqs(seqs)
        for s in seqs:
            _check_tokens(s, self.V)
        self.conditioned = conds is not None
        if self.conditioned:
            conds = _as_seqs(conds)
            if [len(c) for c in conds] != [len(s) for s in seqs]:
                raise ValueError("conds must parallel seqs")
            self.C = int(max((c.max() for c in conds if len(c)), default=0)) + 1
        self.bases = [self.V + 1] * (self.n - 1) + ([self.C + 2] if self.conditioned else [])
        if math.prod(self.bases) * self.V >= 2 ** 62:
            raise ValueError("n-gram keys would overflow int64: vocabulary too large for this order")

        cols = np.concatenate([self._context_columns(s, c) for s, c in
                               zip(seqs, conds if self.conditioned else [None] * len(seqs))])
        tok = np.concatenate(seqs) if seqs else np.zeros(0, np.int64)
        top = cols.shape[1]

        # Top order: raw counts.  Lower orders: continuation counts N1+(. ctx w), i.e.
        # how many distinct longer n-grams end in (ctx w).
        keys, rep_rows, counts = np.unique(self._ctx_keys(cols, top) * self.V + tok,
                                           return_index=True, return_counts=True)
        levels = [self._make_level(keys, counts, top)]
        for k in range(top - 1, -1, -1):
            lower = self._ctx_keys(cols[rep_rows], k) * self.V + tok[rep_rows]
            keys, first, counts = np.unique(lower, return_index=True, return_counts=True)
            rep_rows = rep_rows[first]
            levels.append(self._make_level(keys, counts, k))
        self.levels = levels[::-1]  # levels[k] has context length k
        return self

    def _make_level(self, keys: np.ndarray, counts: np.ndarray, k: int) -> _Level:
        ctx, start, types = np.unique(keys // self.V, return_index=True, return_counts=True)
        total = np.add.reduceat(counts, start) if len(counts) else counts
        return _Level(keys, counts, ctx, total, types, self._discount(counts))

    def _discount(self, counts: np.ndarray) -> float:
        if self.fixed_discount is not None:
            return float(self.fixed_discount)
        n1, n2 = int(np.sum(counts == 1)), int(np.sum(counts == 2))
        d = n1 / (n1 + 2 * n2) if n1 and n2 else 0.75
        return float(np.clip(d, 0.05, 0.95))

    # -- scoring --------------------------------------------------------------------

    def _probs(self, cols: np.ndarray, tok: np.ndarray) -> np.ndarray:
        """p(tok[i] | context cols[i]) by the interpolation recursion, lowest order first."""
        p = np.full(len(tok), 1.0 / self.V)
        for k, lv in enumerate(self.levels):
            ctx = self._ctx_keys(cols, k)
            total = _lookup(lv.ctx, lv.total, ctx).astype(np.float64)
            types = _lookup(lv.ctx, lv.types, ctx).astype(np.float64)
            c = _lookup(lv.keys, lv.counts, ctx * self.V + tok).astype(np.float64)
            seen = total > 0
            safe = np.where(seen, total, 1.0)
            interp = (np.maximum(c - lv.discount, 0.0) + lv.discount * types * p) / safe
            p = np.where(seen, interp, p)  # unseen context: fall through to the lower order
        return p

    def logprob_seq(self, seq, cond=None) -> np.ndarray:
        """Natural-log probability of each token given its preceding n-1 tokens (and cond)."""
        seq = np.asarray(seq, np.int64).ravel()
        _check_tokens(seq, self.V)
        return np.log(self._probs(self._context_columns(seq, cond), seq))

    def _single_context(self, context, cond) -> np.ndarray:
        """Context columns of one query: last n-1 ids of ``context``, BOS-padded on the left."""
        h = self.n - 1
        hist = [int(x) for x in tuple(context)[-h:]] if h else []
        hist = [BOS] * (h - len(hist)) + hist
        cols = [x + 1 for x in hist]
        if self.conditioned:
            if cond is None:
                raise ValueError("this model was fitted with conds: pass cond")
            c = int(cond)
            cols.append(c + 1 if -1 <= c < self.C else self.C + 1)
        return np.array([cols], np.int64).reshape(1, len(cols))

    def dist(self, context=(), cond=None) -> np.ndarray:
        """The whole next-token distribution (V,) after ``context`` (oldest first)."""
        cols = np.repeat(self._single_context(context, cond), self.V, 0)
        return self._probs(cols, np.arange(self.V, dtype=np.int64))

    def prob(self, context, token: int, cond=None) -> float:
        """p(token | last n-1 ids of context[, cond]); a short context is BOS-padded."""
        return float(self._probs(self._single_context(context, cond), np.array([int(token)]))[0])


class Unigram:
    """Add-one smoothed unigram: p(w) = (count(w) + 1) / (N + V).  Ignores context and cond."""

    def __init__(self, vocab_size: int):
        self.V = int(vocab_size)
        self.p = np.full(self.V, 1.0 / self.V)

    def fit(self, seqs, conds=None) -> "Unigram":
        seqs = _as_seqs(seqs)
        for s in seqs:
            _check_tokens(s, self.V)
        counts = np.bincount(np.concatenate(seqs) if seqs else np.zeros(0, np.int64),
                             minlength=self.V).astype(np.float64)
        self.p = (counts + 1.0) / (counts.sum() + self.V)
        return self

    def dist(self, context=(), cond=None) -> np.ndarray:
        return self.p.copy()

    def prob(self, context, token: int, cond=None) -> float:
        return float(self.p[int(token)])

    def logprob_seq(self, seq, cond=None) -> np.ndarray:
        seq = np.asarray(seq, np.int64).ravel()
        _check_tokens(seq, self.V)
        return np.log(self.p[seq])
