"""python -m jazzgen.evaluate: how good is a model, and how jazz-like is a folder of solos.

    python -m jazzgen.evaluate --model models/wjazzd --data midi/wjazzd
    python -m jazzgen.evaluate --model none --data out/generated --compare midi/wjazzd

Two sections in one report (``report.json``, ``report.md``, printed too):

1. Likelihood (needs a model, skipped by ``--model none`` or ``--no-likelihood``): every
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

2. Style (always): ``metrics.piece_metrics`` per scored file (novelty against the
   training files' 8-note windows when those are known), their summary, and with
   ``--compare REAL_DIR`` the generated-vs-real table and ``histograms.png``.

Which files are scored: the model's split (``config.json``: data, val_fraction, seed,
max_songs, applied exactly as ``train.load_data`` does) decides.  When ``--data``
shares files with the model's training folder the default is ``--split val``: only
its validation files, so neither the model nor the baselines have seen them.
Otherwise the default is ``--split all``.  ``--split train|all`` over training files
is allowed (to measure over-fitting) with a warning.  When the model's training folder
(its ``config.json`` ``data``) is not on this machine and no ``--train-data`` is given, a
one-line warning says so and every file of ``--data`` is scored by the model alone: no
split, no novelty, and no baselines (they are counted on the training files).

``--model none``: no model at all; style only (novelty against ``--train-data`` if
given).  ``--no-likelihood``: use the model's config for the split and the novelty
index, but score nothing.  Neither imports Keras.
"""
from __future__ import annotations

import json
import math
import sys
from dataclasses import MISSING, fields
from pathlib import Path

import numpy as np

from . import backend, cli, dataset, metrics, ngram, paths, tokens as T
from .corpus import find_midi, load_corpus
from .errors import DataError, ModelError, UsageError
from .notes import NoteSequence
from .paths import CACHE
from .util import atomic_json, atomic_write, regular_file

HEADS, EXPRESSION = T.PREDICTED, T.EXPRESSION   # art and vel are scored on notes only
KEYS = dataset.KEYS                     # transpositions, as train.py's augmentation draws them
CONTEXT = {"pitch": "chord in force (root, quality) + whether the last note was released into a rest",
           "dur": "own pitch as rest/tie/note + onset step within the beat",
           "art": "the note's event length (dur id)",
           "vel": "onset step within the beat"}
NOVELTY_N = 8
DEFAULT_MODEL = str(paths.SHIPPED_MODEL)
PROG = "jazzgen.evaluate"
CONFIG_NEEDS = ("data", "val_fraction", "seed", "max_songs")   # what the model's split is made of


class EvalError(UsageError):
    """Bad arguments or data: printed as one line, exit code 2 (a JazzgenError, see cli.run)."""


def _log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------------------- the model's data

def read_config(model_dir: str | Path):
    """The model's TrainConfig from config.json (keys this jazzgen does not know are ignored)."""
    from .train import TrainConfig
    path = Path(model_dir) / "config.json"
    if not path.exists() and not path.is_symlink():
        raise ModelError(f"model folder {model_dir}: no config.json (not a model folder written by jazzgen.train)")
    regular_file(path, ModelError, "model config")
    try:
        d = json.loads(path.read_bytes().decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError) as e:
        raise ModelError(f"model config {path}: not JSON ({str(e).splitlines()[0]})") from None
    if not isinstance(d, dict):
        raise ModelError(f"model config {path}: not a JSON object")
    missing = [k for k in CONFIG_NEEDS if k not in d]
    if missing:
        raise ModelError(f"model config {path}: missing {', '.join(missing)}")
    out = {}
    for f in fields(TrainConfig):
        if f.name not in d:
            continue
        v, default = d[f.name], f.default if f.default is not MISSING else None
        ok = (isinstance(v, bool) if isinstance(default, bool) else
              isinstance(v, int) and not isinstance(v, bool) if isinstance(default, int) else
              isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v)
              if isinstance(default, float) else isinstance(v, str) if isinstance(default, str) else True)
        if not ok:
            raise ModelError(f"model config {path}: {f.name} is {json.dumps(v)[:40]}, "
                             f"expected {type(default).__name__}")
        out[f.name] = v
    cfg = TrainConfig(**out)
    if not 0 <= cfg.val_fraction < 1 or cfg.max_songs < 0 or not cfg.data.strip():
        raise ModelError(f"model config {path}: val_fraction must be in [0, 1), max_songs >= 0, data a folder")
    return cfg


def usable_songs(folder: str | Path, cache: str | None = CACHE, max_songs: int = 0,
                 progress: bool = False) -> list[NoteSequence]:
    """The songs of a folder as train.load_data keeps them: readable, > 1 note, first max_songs."""
    folder = Path(folder)
    if not folder.exists():
        raise DataError(f"no such data folder: {folder}")
    if not find_midi(folder):
        raise DataError(f"{folder}: no MIDI files")
    corpus = load_corpus(folder, cache, progress=progress)
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

def load_model(model_dir: str | Path):
    """The model of a run folder, after checking its vocabulary means what this jazzgen's does.

    Its levels (articulation, velocity, tempo) and performers are its own: the scored
    files are encoded with them (``model_vocab``).
    """
    from .sample import _check_zip, model_file
    model_dir = Path(model_dir)
    vocab_path = model_dir / "vocab.json"
    if vocab_path.exists() or vocab_path.is_symlink():
        regular_file(vocab_path, ModelError, "model vocabulary")
        try:
            vocab = T.Vocab.from_json(vocab_path.read_bytes().decode("utf-8-sig"))
        except (ValueError, TypeError, KeyError, AttributeError, RecursionError) as e:
            why = str(e).splitlines()[0] if str(e) else type(e).__name__
            raise ModelError(f"model vocabulary {vocab_path}: unreadable ({why})") from None
        here = T.default_vocab()
        if any(getattr(vocab, f) != getattr(here, f) for f in ("grid", "max_dur", "max_beat", "qualities")):
            raise ModelError(f"model vocabulary {vocab_path}: differs from this jazzgen's")
    path = model_file(model_dir)
    _check_zip(path)
    import keras

    from . import model as _  # noqa: F401  (registers the custom layers)
    try:
        return keras.saving.load_model(path, safe_mode=True)
    except Exception as e:
        why = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise ModelError(f"model {path}: cannot load it ({why})") from None


def model_vocab(model_dir: str | Path) -> T.Vocab:
    """The model's vocabulary (its performers), or this jazzgen's default without a vocab.json."""
    from .sample import load_vocab
    try:
        return load_vocab(model_dir) or T.default_vocab()
    except ModelError as e:
        raise EvalError(str(e)) from None


def score_model(model, toks: list[T.Tokens], batch_size: int = 16) -> dict:
    """model.score over whole songs, one window each, batched by length (less padding).

    An LSTM is causal, so padding after a song changes none of its scores.
    """
    from .model import score
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

def style(songs: list[NoteSequence], train_songs: list[NoteSequence] | None = None,
          real: list[NoteSequence] | None = None) -> dict:
    """Per-piece metrics, their summary, and (given real pieces) the comparison with those."""
    index = metrics.build_ngram_index(train_songs, NOVELTY_N) if train_songs else None
    per = [metrics.piece_metrics(s, index, NOVELTY_N) for s in songs]
    out = {"novelty_n": NOVELTY_N if index is not None else None, "summary": metrics.summarize(per),
           "files": [s.name for s in songs], "per_file": per}
    if real is not None:
        real_per = [metrics.piece_metrics(s, index, NOVELTY_N) for s in real]
        out.update(real_summary=metrics.summarize(real_per), real_files=[s.name for s in real],
                   real_per_file=real_per, compare=metrics.compare(per, real_per))
    return out


def two_sample(songs: list[NoteSequence], real: list[NoteSequence], train_songs: list[NoteSequence],
               val_songs: list[NoteSequence]) -> dict:
    """``twosample.two_sample_test`` of the scored solos against the real ones, and its floor.

    The floor is the same test between two sets of real solos: the model's validation
    solos against as many of its training solos when both are known (different files,
    mostly other tunes, as generated-vs-real compares), else the real solos split in
    two halves by file.  Held-out accuracy: 0.5 = indistinguishable, 1.0 = always told apart.
    """
    from .twosample import two_sample_test
    out: dict = {}
    for key, (a, b), what in (("generated_vs_real", (songs, real), "scored vs --compare solos"),
                              ("real_vs_real", _real_pair(real, train_songs, val_songs), None)):
        try:
            r = two_sample_test(a, b)
            out[key] = {"accuracy": r.accuracy, "windows": list(r.windows), "solos": list(r.solos), "folds": r.folds,
                        "what": what or _real_pair_what(train_songs, val_songs)}
        except ValueError as e:
            out[key] = {"accuracy": None, "error": str(e)}
    return out


def _real_pair(real, train_songs, val_songs):
    if train_songs and val_songs:
        return val_songs, train_songs[:len(val_songs)]
    return real[0::2], real[1::2]


def _real_pair_what(train_songs, val_songs) -> str:
    if train_songs and val_songs:
        return f"{len(val_songs)} validation vs {min(len(train_songs), len(val_songs))} training solos"
    return "the --compare solos, halves by file"


def two_sample_markdown(ts: dict) -> str:
    rows = ["| test | held-out accuracy | windows | solos |", "|---|---|---|---|"]
    for key, label in (("generated_vs_real", "scored vs real"), ("real_vs_real", "real vs real (floor)")):
        r = ts[key]
        if r.get("accuracy") is None:
            rows.append(f"| {label} | - ({r.get('error', '')}) | - | - |")
        else:
            rows.append(f"| {label}: {r['what']} | {100 * r['accuracy']:.1f}% | {r['windows'][0]} / {r['windows'][1]} "
                        f"| {r['solos'][0]} / {r['solos'][1]} |")
    return ("Logistic regression on 4-bar windows (intervals, lengths, onsets, chord tones, velocity, "
            "articulation, rests), 5 folds grouped by solo: 50% = indistinguishable.\n\n" + "\n".join(rows))


# ---------------------------------------------------------------------------- the report

def _fmt(x, spec=".3f") -> str:
    return "-" if x is None or (isinstance(x, float) and not math.isfinite(x)) else format(x, spec)


def _label(name: str) -> str:
    return name.replace("kn", "KN-").replace("+ctx", " + context")


def likelihood_markdown(lik: dict) -> str:
    """Model and baselines side by side, one row per predictor, every head (NLL in report.json)."""
    rows = ["| predictor | " + " | ".join(f"{h} ppl | {h} acc" for h in HEADS) + " |",
            "|---|" + "---|---|" * len(HEADS)]
    if "model" in lik:
        m = lik["model"]
        rows.append("| **jazzgen model** | " + " | ".join(
            f"**{m[h]['ppl']:.2f}** | {100 * m[h]['acc']:.1f}%" for h in HEADS) + " |")
    b = lik.get("baselines", {})
    for name in sorted(b.get("pitch", {}), key=_order):
        rows.append(f"| {_label(name)} | " + " | ".join(
            f"{b[h][name]['ppl']:.2f} | -" if h in b else "- | -" for h in HEADS) + " |")
    lines = [f"Per target: pitch and duration per event (note, rest or tie; {lik['events']} events), "
             f"articulation and velocity per note ({lik.get('notes', '-')} notes)."]
    if b:
        lines.append("Baseline context: " + "; ".join(f"{h} = {CONTEXT[h]}" for h in HEADS if h in b) + ".")
    lines += ["", *rows, ""]
    if "gain_pct" in lik:
        g, best = lik["gain_pct"], lik["best_baseline"]
        word = lambda x: f"beats it by {x:.1f}%" if x >= 0 else f"trails it ({-x:.1f}% higher)"
        parts = [f"{word(g[h])} in {h} perplexity ({_label(best[h])}: {b[h][best[h]]['ppl']:.2f})" for h in g]
        lines.append("Against the best baseline, the model " + ", ".join(parts[:-1]) + " and " + parts[-1] + ".")
        lines.append("")
    return "\n".join(lines)


def summary_markdown(summary: dict) -> str:
    rows = ["| metric | mean | sd | median | n |", "|---|---|---|---|---|"]
    rows += [f"| {k} | {_fmt(v['mean'])} | {_fmt(v['sd'])} | {_fmt(v['median'])} | {v['n']} |"
             for k, v in summary.items()]
    return "\n".join(rows) + "\n"


def report_markdown(rep: dict) -> str:
    """The whole report as Markdown (what report.md holds and stdout shows)."""
    lines = ["# jazzgen evaluation", "",
             f"- Data: `{rep['data']}`: {rep['n_files']} files (split: {rep['split']})"]
    if rep.get("model"):
        lines.append(f"- Model: `{rep['model']}`")
    if rep.get("train_data"):
        lines.append(f"- Training files (baselines, novelty): {rep['n_train_files']} from `{rep['train_data']}`")
    lines += [f"- Warning: {w}" for w in rep.get("warnings", [])]
    lines.append("")
    if "likelihood" in rep:
        on = f"Scored: {rep['likelihood_on']}. " if rep.get("likelihood_on") else ""
        lines += ["## Likelihood", "", on + likelihood_markdown(rep["likelihood"])]
    st = rep["style"]
    novelty = f"; novelty: share of {st['novelty_n']}-note windows found in the training files" \
        if st.get("novelty_n") else ""
    lines += ["## Style metrics", "", f"Per piece, then mean over the {rep['n_files']} pieces{novelty}.", "",
              summary_markdown(st["summary"])]
    if "two_sample" in rep:
        lines += ["## Can a classifier tell them apart?", "", two_sample_markdown(rep["two_sample"]), ""]
    if "compare" in st:
        lines += [f"## Compared with `{rep['compare']}` ({rep['n_real_files']} real pieces)", "",
                  "Overlap: area shared by the two kernel density estimates (1 = same distribution).", "",
                  metrics.metrics_table_markdown(st["compare"])]
    return "\n".join(lines).rstrip() + "\n"


def _json_safe(x):
    """NaN/inf -> null, NumPy scalars -> Python: report.json stays strict JSON."""
    if isinstance(x, dict):
        return {str(k): _json_safe(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_json_safe(v) for v in x]
    if isinstance(x, (np.integer, np.floating, np.bool_)):
        x = x.item()
    if isinstance(x, float) and not math.isfinite(x):
        return None
    return x


def write_report(rep: dict, out: str | Path, gen: list[dict] | None = None, real: list[dict] | None = None) -> str:
    """report.json, report.md (and histograms.png given both metric lists) in `out`; returns the Markdown."""
    out = Path(out)
    md = report_markdown(rep)
    try:
        out.mkdir(parents=True, exist_ok=True)
        atomic_json(out / "report.json", _json_safe(rep))
        atomic_write(out / "report.md", lambda f: f.write(md.encode()))
        if gen is not None and real is not None:
            metrics.plot_histograms(gen, real, str(out / "histograms.png"))
    except OSError as e:
        raise UsageError(f"cannot write the report to {out}: {e.strerror or e}") from None
    return md


# ---------------------------------------------------------------------------- the whole run

def _training_folder(train_data: str | None, cfg) -> tuple[str | None, str | None]:
    """(the training folder to use, the config's folder if it is missing).

    A --train-data that is not there is an error; the folder named in the model's
    config.json may be missing (a shipped model scores any folder without it)."""
    if train_data is not None:
        if not Path(train_data).exists():
            raise EvalError(f"training data folder {train_data} not found (--train-data)")
        return train_data, None
    if cfg is None:
        return None, None
    return (cfg.data, None) if Path(cfg.data).exists() else (None, cfg.data)


def _same(a, b) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def evaluate(data: str, model: str | None = DEFAULT_MODEL, train_data: str | None = None, out: str = "eval",
             split: str | None = None, compare: str | None = None, ngram_max: int = 5, baselines: bool = True,
             score_likelihood: bool = True, cache: str | None = CACHE, command: str = "") -> dict:
    """Evaluate `data` (see the module docstring); writes the report files, returns the report."""
    if not 1 <= ngram_max <= 5:
        raise EvalError("--ngram-max must be in 1..5")
    if model is not None and not Path(model).is_dir():
        raise ModelError(f"no such model folder: {model} (pass --model DIR, or --model none for style metrics only)")
    if not Path(data).exists():
        raise DataError(f"no such data folder: {data}")
    cli.check_out_folder(out, "--out")
    cfg = read_config(model) if model is not None else None
    warnings: list[str] = []
    train_dir, missing = _training_folder(train_data, cfg)
    if missing and split in ("val", "train"):
        raise EvalError(f"--split {split} needs the model's training folder {missing} (not found; "
                        "pass --train-data DIR)")
    if missing:
        warnings.append(f"the model's training folder {missing} is not here: every file of --data is scored "
                        "(the split is unknown: some may be training files), without novelty"
                        + ("; the n-gram baselines need it (pass --train-data DIR)" if baselines and score_likelihood
                           else ""))

    # the model's split decides which files are scored, and which ones the baselines count
    train_songs, val_songs = ([], [])
    if train_dir is not None:
        train_songs, val_songs = model_split(cfg, train_dir, cache) if cfg else (usable_songs(train_dir, cache), [])
    songs = usable_songs(data, cache, cfg.max_songs if cfg and train_dir and _same(data, train_dir) else 0)
    seen = {s.name for s in train_songs} | {s.name for s in val_songs}
    overlap = sum(s.name in seen for s in songs)
    split = split or ("val" if overlap and cfg else "all")
    if split != "all":
        if cfg is None or train_dir is None:
            raise EvalError(f"--split {split} needs a model (its config.json holds the split)")
        side = {s.name for s in (val_songs if split == "val" else train_songs)}
        songs = [s for s in songs if s.name in side]
        if not songs:
            raise EvalError(f"{data}: none of its files is on the {split} side of the model's split")
    train_names = {s.name for s in train_songs}
    leaked = sum(s.name in train_names for s in songs)
    if overlap and split == "val":
        warnings.append(f"--data holds the model's training data: scoring only its {len(songs)} validation files")
    if leaked:
        warnings.append(f"{leaked} of the {len(songs)} scored files are training files: likelihood and "
                        "novelty are optimistic")
    for w in warnings:
        _log(f"jazzgen.evaluate: warning: {w}")

    rep: dict = {"command": command, "data": str(data), "model": str(model) if model else None, "split": split,
                 "n_files": len(songs), "files": [s.name for s in songs], "warnings": warnings,
                 "train_data": str(train_dir) if train_dir else None, "n_train_files": len(train_songs)}
    if cfg is not None:
        rep["model_split"] = {"val_fraction": cfg.val_fraction, "seed": cfg.seed, "max_songs": cfg.max_songs,
                              "n_train": len(train_songs), "n_val": len(val_songs)}
    if score_likelihood and model is not None:
        net = load_model(model)
        vocab = model_vocab(model)
        toks = [T.encode(s, vocab) for s in songs]
        _log(f"scoring {len(toks)} files ({sum(map(len, toks))} events)"
             + (f"; fitting baselines on {len(train_songs)} training files" if baselines and train_songs else ""))
        rep["likelihood"] = likelihood(toks, net, [T.encode(s, vocab) for s in train_songs] if baselines else None,
                                       ngram_max, vocab)
    real = None
    if compare is not None:
        real = usable_songs(compare, cache)
        rep["compare"], rep["n_real_files"] = str(compare), len(real)
    rep["style"] = style(songs, train_songs or None, real)
    if real is not None:
        rep["two_sample"] = two_sample(songs, real, train_songs, val_songs)
    rep["markdown"] = write_report(rep, out, rep["style"]["per_file"], rep["style"].get("real_per_file"))
    return rep


# ---------------------------------------------------------------------------- command line

def parse_args(argv=None):
    p = cli.Parser(prog="python -m jazzgen.evaluate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=DEFAULT_MODEL, help="model folder (default: the shipped models/wjazzd); "
                                                          "'none': style only")
    p.add_argument("--data", required=True, help="folder of MIDI files to evaluate")
    p.add_argument("--train-data", help="the model's training folder (default: its config.json 'data')")
    p.add_argument("--out", default="eval", help="report folder (default eval/)")
    p.add_argument("--split", choices=("val", "train", "all"),
                   help="which files of --data: default val if it holds the model's training data, else all")
    p.add_argument("--compare", metavar="REAL_DIR", help="compare style metrics with these real solos")
    p.add_argument("--ngram-max", type=int, default=5, help="highest Kneser-Ney order, 1..5 (default 5)")
    p.add_argument("--no-baselines", action="store_true", help="no n-gram baselines")
    p.add_argument("--no-likelihood", action="store_true", help="style metrics only (no Keras)")
    p.add_argument("--cache", default=paths.CACHE, help=f"corpus cache folder (default {paths.CACHE})")
    p.add_argument("--backend", choices=backend.BACKENDS,
                   help="Keras backend that scores (default: KERAS_BACKEND, else tensorflow)")
    a = p.parse_args(argv)
    if not 1 <= a.ngram_max <= 5:
        p.error("--ngram-max must be in 1..5")
    a.model = None if a.model.lower() == "none" else a.model
    return a


def _main(argv) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    a = parse_args(argv)
    backend.choose(a.backend)
    rep = evaluate(a.data, a.model, a.train_data, a.out, a.split, a.compare, a.ngram_max,
                   not a.no_baselines, not a.no_likelihood, a.cache,
                   command="python -m jazzgen.evaluate " + " ".join(argv))
    print(rep["markdown"])
    _log(f"wrote {Path(a.out) / 'report.md'} and report.json")
    return 0


def main(argv=None) -> int:
    return cli.run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
