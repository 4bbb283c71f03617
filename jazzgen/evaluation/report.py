"""The evaluation report: which files are scored, likelihood and style in one report.

    python -m jazzgen.evaluate --model models/wjazzd --data midi/wjazzd
    python -m jazzgen.evaluate --model none --data out/generated --compare midi/wjazzd

Two sections in one report (``report.json``, ``report.md``, printed too): the likelihood
(``likelihood.py``; needs a model, skipped by ``--model none`` or ``--no-likelihood``) and
the style (always): ``metrics.piece_metrics`` per scored file (novelty against the
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

import math
from pathlib import Path

import numpy as np

from jazzgen import paths
from jazzgen.data import tokens as T
from jazzgen.errors import DataError, ModelError, UsageError, in_words
from jazzgen.evaluation import metrics
from jazzgen.evaluation.likelihood import (
    CONTEXT,
    HEADS,
    NOVELTY_N,
    EvalError,
    _log,
    _order,
    likelihood,
    model_split,
    usable_songs,
)
from jazzgen.model.folder import CONFIG_NEEDS, load_model, model_vocab, read_config
from jazzgen.music.notes import NoteSequence
from jazzgen.paths import CACHE
from jazzgen.util import atomic_json, atomic_write, check_out_folder

DEFAULT_MODEL = str(paths.SHIPPED_MODEL)


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
    from jazzgen.evaluation.twosample import two_sample_test
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
        atomic_write(out / "report.md", lambda f: f.write(md.encode("utf-8", "backslashreplace")))
        if gen is not None and real is not None:
            metrics.plot_histograms(gen, real, str(out / "histograms.png"))
    except OSError as e:
        raise UsageError(f"cannot write the report to {out}: {e.strerror or e}") from None
    return md


# ---------------------------------------------------------------------------- the whole run

def _training_folder(train_data: str | None, cfg, data: str) -> tuple[str | None, str | None]:
    """(the training folder to use, the config's folder if it is missing or not to be read).

    A `train_data` that is not there is an error; the folder named in the model's
    config.json may be missing (a shipped model scores any folder without it).  A model
    folder is data, not directions: its config's folder is read only if it is `data`, or
    relative and inside the current folder (where the commands' own defaults are)."""
    if train_data is not None:
        if not Path(train_data).exists():
            raise EvalError(f"{train_data}: no such training data folder", field="train_data")
        return train_data, None
    if cfg is None:
        return None, None
    p = Path(cfg.data)
    inside = not p.is_absolute() and ".." not in p.parts and p.parts != ()
    if not inside and not (p.exists() and _same(p, data)):
        return None, cfg.data
    return (cfg.data, None) if p.exists() else (None, cfg.data)


def _same(a, b) -> bool:
    return Path(a).resolve() == Path(b).resolve()


def _scored_songs(data: str, cfg, train_dir, split: str | None, cache, warnings: list[str], field_name):
    """(the songs of `data` to score, the split they come from, the model's training and validation
    songs): the model's split decides which files are scored, and which ones the baselines count."""
    train_songs, val_songs = ([], [])
    if train_dir is not None:
        train_songs, val_songs = model_split(cfg, train_dir, cache) if cfg else (usable_songs(train_dir, cache), [])
    songs = usable_songs(data, cache, cfg.max_songs if cfg and train_dir and _same(data, train_dir) else 0)
    seen = {s.name for s in train_songs} | {s.name for s in val_songs}
    overlap = sum(s.name in seen for s in songs)
    split = split or ("val" if overlap and cfg else "all")
    if split != "all":
        if cfg is None or train_dir is None:
            raise EvalError(f"{split} needs a model (its config.json holds the split)", field="split")
        side = {s.name for s in (val_songs if split == "val" else train_songs)}
        songs = [s for s in songs if s.name in side]
        if not songs:
            raise EvalError(f"{data}: none of its files is on the {split} side of the model's split")
    train_names = {s.name for s in train_songs}
    leaked = sum(s.name in train_names for s in songs)
    if overlap and split == "val":
        warnings.append(f"`data` holds the model's training data: scoring only its {len(songs)} validation files")
    if leaked:
        warnings.append(f"{leaked} of the {len(songs)} scored files are training files: likelihood and "
                        "novelty are optimistic")
    warnings[:] = [in_words(w, field_name) for w in warnings]
    for w in warnings:
        _log(f"jazzgen.evaluate: warning: {w}")
    return songs, split, train_songs, val_songs


def evaluate(data: str, model: str | None = DEFAULT_MODEL, train_data: str | None = None, out: str = "eval",
             split: str | None = None, compare: str | None = None, ngram_max: int = 5, baselines: bool = True,
             score_likelihood: bool = True, cache: str | None = CACHE, command: str = "", field_name=str) -> dict:
    """Evaluate `data` (see the module docstring); writes the report files, returns the report.

    `field_name`: how the warnings (logged as they come, and kept in the report) name this
    function's arguments: as they are by default; ``cli.flag`` for the command line's flags."""
    if not 1 <= ngram_max <= 5:
        raise EvalError(f"must be in 1..5, not {ngram_max}", field="ngram_max")
    if model is not None and not Path(model).is_dir():
        raise ModelError(f"{model}: no such model folder (give one, or none for style metrics only)", field="model")
    if not Path(data).exists():
        raise DataError(f"{data}: no such data folder", field="data")
    check_out_folder(out, "out")
    cfg = read_config(model, CONFIG_NEEDS) if model is not None else None
    warnings: list[str] = []
    train_dir, missing = _training_folder(train_data, cfg, data)
    if missing and split in ("val", "train"):
        raise EvalError(f"{split} needs the model's training folder {missing} (not found; give `train_data`)",
                        field="split")
    if missing:
        warnings.append(f"the model's training folder {missing} is not here (or outside this folder: "
                        f"`train_data` reads it): every file of `data` is scored "
                        "(the split is unknown: some may be training files), without novelty"
                        + ("; the n-gram baselines need it (give `train_data`)" if baselines and score_likelihood
                           else ""))

    songs, split, train_songs, val_songs = _scored_songs(data, cfg, train_dir, split, cache, warnings, field_name)

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


def unknown_line(lik: dict) -> str:
    """The same solos scored as by players the model never saw (the hidden performers' case)."""
    heads = [h for h in lik["best_baseline"] if h in lik["unknown_performer"]]
    best = {h: lik["baselines"][h][lik["best_baseline"][h]]["ppl"] for h in heads}
    got = lik["unknown_performer"]
    return ("Scored as by a player the model never saw (every performer unknown): " + ", ".join(
        f"{h} {got[h]['ppl']:.2f} ({100 * (1 - got[h]['ppl'] / best[h]):.1f}% below its best baseline)"
        for h in heads) + ".")
