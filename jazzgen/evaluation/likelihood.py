"""Likelihood: a model and counting baselines score the same events of real solos.

Used by ``jazzgen.evaluation.report.evaluate`` (the ``jazzgen.evaluate`` command).

Likelihood (needs a model, skipped by ``--model none`` or ``--no-likelihood``): every
   event of every scored file, one window per whole song, no augmentation, scored by
   the model (per-event NLL, perplexity, top-1 accuracy of the pitch and duration
   heads) and by counting baselines fitted on the model's *training* files, which
   score exactly the same targets (BOS-padded at each song's start):

   * unigram and Kneser-Ney n = 2..--ngram-max, each without and with context;
   * pitch context = the chord in force (root id x quality id) x whether the event comes
     straight after a note released into a rest (that note's articulation, which the
     model sees, says the event is a rest: the baseline knows it too).  The pitch counts are
     taken over the 12 transpositions (-5..+6 semitones) the model also trained on, so
     every chord is seen in every key and the absolute-chord condition carries the same
     statistics as a chord-relative one, while keeping the targets absolute pitches;
   * duration context = the event's own pitch as rest / tie / note (the duration head
     sees the pitch it is timing) x the onset's step within the beat (the model sees it
     too).  Measured on the wjazzd validation split this beat the note's interval above
     the chord root (best KN perplexity 5.76, vs 6.08 with the interval added and 7.40
     with the interval instead of the position).  Durations are counted in the original key only: they are the same in
     every key, and 12 identical copies only multiply every count by 12, which breaks
     Kneser-Ney's count-of-counts discounts (KN-3 dur perplexity 8.26 with copies vs 7.63).
"""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np

from jazzgen.data import dataset, tokens as T
from jazzgen.data.corpus import find_midi, load_corpus
from jazzgen.errors import DataError, UsageError
from jazzgen.evaluation import ngram
from jazzgen.music.notes import NoteSequence
from jazzgen.paths import CACHE

HEADS, EXPRESSION = T.PREDICTED, T.EXPRESSION   # art and vel are scored on notes only
KEYS = dataset.KEYS                     # transpositions, as train.py's augmentation draws them
CONTEXT = {"pitch": "chord in force (root, quality) + whether the last note was released into a rest",
           "dur": "own pitch as rest/tie/note + onset step within the beat",
           "art": "the note's event length (dur id)",
           "vel": "onset step within the beat"}
NOVELTY_N = 8


class EvalError(UsageError):
    """Bad arguments or data: printed as one line, exit code 2 (a JazzgenError, see cli.run)."""


def _log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- the model's data


def usable_songs(folder: str | Path, cache: str | None = CACHE, max_songs: int = 0,
                 progress: bool = False) -> list[NoteSequence]:
    """The songs of a folder as train.load_data keeps them: readable, > 1 note, first max_songs."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"no such data folder: {folder}")
    if not find_midi(folder):
        raise DataError(f"{folder}: no MIDI files")
    corpus = load_corpus(folder, cache, progress=progress)
    for note in corpus.cache_dropped:
        _log(note)
    for r in corpus.reports:
        if not r.kept:
            _log(r.line())
        elif r.notes < 2:   # kept by the corpus, but one note is no melody to score
            _log(f"dropped  {r.path}: only {r.notes} note (scoring needs 2 or more)")
    songs = dataset.usable(corpus.songs, max_songs)
    if not songs:
        raise DataError(f"{folder}: no usable MIDI files (none with 2 or more notes)")
    return songs


def model_split(cfg, folder: str | Path | None = None, cache: str | None = CACHE):
    """(train songs, validation songs) of `folder` (default cfg.data), split as train.py splits."""
    songs = usable_songs(folder or cfg.data, cache, cfg.max_songs)
    return dataset.split_songs(songs, cfg.val_fraction, cfg.seed)


# ---------------------------------------------------------------------------- the model


def score_model(model, toks: list[T.Tokens], batch_size: int = 16) -> dict:
    """model.score over whole songs, one window each, batched by length (less padding).

    An LSTM is causal, so padding after a song changes none of its scores.
    """
    from jazzgen.model.network import score
    order = sorted(range(len(toks)), key=lambda i: len(toks[i]))
    tot = {"events": 0, **{f"{h}_{k}": 0.0 for h in HEADS for k in ("nll", "acc", "n")}}
    for i in range(0, len(order), batch_size):
        chunk = [toks[j] for j in order[i:i + batch_size]]
        w = dataset.make_windows(chunk, length=max(len(t) for t in chunk))
        r = score(model, w.arrays, batch_size=batch_size)
        tot["events"] += r["notes"]
        for h in HEADS:
            tot[f"{h}_nll"] += r[f"{h}_nll"] * r[f"{h}_n"]
            tot[f"{h}_acc"] += r[f"{h}_acc"] * r[f"{h}_n"]
            tot[f"{h}_n"] += r[f"{h}_n"]
    n = {h: max(tot[f"{h}_n"], 1) for h in HEADS}
    return {"events": tot["events"],
            **{h: {"nll": tot[f"{h}_nll"] / n[h], "ppl": math.exp(tot[f"{h}_nll"] / n[h]),
                   "acc": tot[f"{h}_acc"] / n[h], "targets": int(tot[f"{h}_n"])} for h in HEADS}}


# ---------------------------------------------------------------------------- baselines

def context(head: str, pitch, root, qual, sub, vocab: T.Vocab | None = None, dur=None, art=None) -> np.ndarray:
    """The condition of each event for the `head` baselines with context (see the docstring).

    vocab: the sizes of the chord and position ids (None: this jazzgen's default vocabulary).
    art: the events' articulation ids, for the pitch context (None: no note was released).
    """
    vocab = vocab or T.default_vocab()
    pitch = np.asarray(pitch, np.int64)
    if head == "art":
        return np.asarray(dur, np.int64)
    if head == "vel":
        return np.asarray(sub, np.int64)
    if head == "pitch":
        released = np.zeros(len(pitch), bool) if art is None else T.follows_release(pitch, art, vocab)
        return (np.asarray(root, np.int64) * vocab.sizes["qual"] + qual) * 2 + released
    kind = np.where(pitch == T.REST, 0, np.where(pitch == T.TIE, 1, 2))
    return kind * vocab.sizes["sub"] + sub


def streams(toks: list[T.Tokens], head: str, augment: bool = True) -> tuple[list, list]:
    """(target sequences, their conditions) of one head; pitch over the 12 keys if `augment`.

    Keys that would take a song out of the MIDI range are skipped.  Articulation and
    velocity are sequences over the notes alone (the model's non-PAD targets).
    """
    seqs, conds = [], []
    for t in toks:
        if head in EXPRESSION:
            m = getattr(t, head) != T.PAD
            seqs.append(getattr(t, head)[m].astype(np.int64))
            conds.append(context(head, t.pitch, t.root, t.qual, t.sub, dur=t.dur)[m])
            continue
        for k in (KEYS if augment and head == "pitch" else [0]):
            p, r = T.transpose_ids(t.pitch, t.root, k)
            notes = p[p >= T.PITCH0].astype(np.int64) - T.PITCH0
            if notes.size and (notes.min() < 0 or notes.max() > 127):
                continue
            seqs.append((p if head == "pitch" else t.dur).astype(np.int64))
            conds.append(context(head, p, r, t.qual, t.sub, art=t.art))
    return seqs, conds


def fit_baselines(train_toks: list[T.Tokens], ngram_max: int = 5, augment: bool = True,
                  vocab: T.Vocab | None = None) -> dict:
    """{head: {name: (model, uses context)}}: unigram and KN-2..ngram_max, without and with context.

    vocab: the one the tokens were encoded with (None: this jazzgen's default).
    """
    sizes = (vocab or T.default_vocab()).sizes
    out = {}
    for h in HEADS:
        seqs, conds = streams(train_toks, h, augment)
        V = sizes[h]
        m = {"unigram": (ngram.Unigram(V).fit(seqs), False),
             "unigram+ctx": (ngram.KneserNey(1, V).fit(seqs, conds), True)}
        for n in range(2, ngram_max + 1):
            m[f"kn{n}"] = (ngram.KneserNey(n, V).fit(seqs), False)
            m[f"kn{n}+ctx"] = (ngram.KneserNey(n, V).fit(seqs, conds), True)
        out[h] = m
    return out


def score_baselines(baselines: dict, toks: list[T.Tokens]) -> dict:
    """{head: {name: {nll, ppl}}} over every event of `toks`, the model's own targets."""
    out = {}
    for h, models in baselines.items():
        seqs, conds = streams(toks, h, augment=False)
        out[h] = {}
        for name, (m, ctx) in models.items():
            lp = np.concatenate([m.logprob_seq(s, c if ctx else None) for s, c in zip(seqs, conds)])
            out[h][name] = {"nll": float(-lp.mean()), "ppl": ngram.perplexity(lp), "events": int(lp.size)}
    return out


def _order(name: str) -> tuple:
    base = name.replace("+ctx", "")
    return (0 if base == "unigram" else int(base[2:]), "+ctx" in name)


def likelihood(toks: list[T.Tokens], model=None, train_toks: list[T.Tokens] | None = None,
               ngram_max: int = 5, vocab: T.Vocab | None = None) -> dict:
    """The likelihood section: the model's scores, the baselines', and the model's gain."""
    out: dict = {"events": int(sum(len(t) for t in toks)), "context": CONTEXT,
                 "notes": int(sum((t.pitch >= T.PITCH0).sum() for t in toks))}
    if model is not None:
        out["model"] = score_model(model, toks)
    if train_toks:
        out["baselines"] = score_baselines(fit_baselines(train_toks, ngram_max, vocab=vocab), toks)
        out["best_baseline"] = {h: min(b.items(), key=lambda kv: kv[1]["ppl"])[0]
                                for h, b in out["baselines"].items()}
        if model is not None:  # % perplexity below the best baseline's (negative: worse)
            out["gain_pct"] = {h: 100 * (1 - out["model"][h]["ppl"] / out["baselines"][h][b]["ppl"])
                               for h, b in out["best_baseline"].items()}
    return out


# ---------------------------------------------------------------------------- style


# ---------------------------------------------------------------------------- the formula memory

WEIGHT_GRID = tuple(round(0.05 * i, 2) for i in range(19))    # the memory's weights tried: 0 .. 0.9

def formula_rows(model, toks: list[T.Tokens], memory) -> np.ndarray:
    """Per event of `toks`: (network's probability of the true pitch, its notes' total, the
    memory's probability of the true pitch, intervals matched, song index, whether the true
    pitch is a note: rests and ties keep the network's probability), for scoring
    the network with its formula memory (``generation.formulas``) as the sampler mixes them."""
    from jazzgen.model.network import _log_softmax, model_inputs, xy
    rows = []
    for si, tok in enumerate(toks):
        x, _ = xy(dataset.make_windows([tok], len(tok)).arrays, model_inputs(model))
        q = np.exp(_log_softmax(np.asarray(model.predict_on_batch(x)["pitch"], np.float64)[0]))
        notes: list[int] = []
        for i, t in enumerate(tok.pitch.tolist()):
            root = int(tok.root[i])
            k, mem = memory.memory(notes, root - T.ROOT0 if root >= T.ROOT0 else None, q.shape[1], int(tok.qual[i]))
            rows.append((q[i, t], q[i, T.PITCH0:].sum(), 0.0 if mem is None else mem[t], k, si, t >= T.PITCH0))
            if t >= T.PITCH0:
                notes.append(t - T.PITCH0)
    return np.array(rows, np.float64)


def formula_nll(rows: np.ndarray, weights) -> float:
    """Mean pitch NLL of the network mixed with its memory at `weights` (one per match length)."""
    w = np.asarray(weights, np.float64)
    k = rows[:, 3].astype(np.int64)
    lam = np.where((k > 0) & (rows[:, 5] > 0), w[np.minimum(k, len(w) - 1)], 0.0)
    return float(-np.log((1 - lam) * rows[:, 0] + lam * rows[:, 1] * rows[:, 2]).mean())


def fit_formula_weights(rows: np.ndarray, max_match: int, grid=WEIGHT_GRID) -> np.ndarray:
    """One weight per match length, each the grid value that best predicts its events."""
    k = np.minimum(rows[:, 3].astype(np.int64), max_match)
    w = np.zeros(max_match + 1)
    for n in range(1, max_match + 1):
        m = rows[(k == n) & (rows[:, 5] > 0)]
        if len(m):
            nll = [-np.log((1 - g) * m[:, 0] + g * m[:, 1] * m[:, 2]).sum() for g in grid]
            w[n] = grid[int(np.argmin(nll))]
    return w


def formula_cross_fit(rows: np.ndarray, max_match: int, folds: int = 2) -> tuple[float, np.ndarray]:
    """(pitch NLL with weights fitted on the other folds' songs, weights fitted on all of them)."""
    fold = rows[:, 4].astype(np.int64) % folds
    nll = sum(formula_nll(rows[fold == f], fit_formula_weights(rows[fold != f], max_match)) * (fold == f).sum()
              for f in range(folds))
    return nll / len(rows), fit_formula_weights(rows, max_match)
