"""Choose the sampling defaults with the listener: its figures for each sampling setting, over seeds.

    python scripts/tools/sweep_sampling.py [--model models/wjazzd] [--seeds 0,1,2] SETTING ...

A SETTING is ``key=value,key=value`` over ``generation.sample.Sampling``'s fields
(``temperature``, ``top_p``, ``min_p``, ``formulas``, ``quote_notes``, ``harmony``...),
the empty string for the defaults: ``"" "formulas=2" "formulas=2,quote_notes=16"``.
For every setting and seed, one solo per validation file of the model's split is
improvised over that file's own changes, tempo map and length (a performer at random;
solo i of seed s: seed (s, i), as ``scripts/tools/listen.py``), written with ``--swing 0
--band none`` (the like-for-like rendering of the WJazzD files) and read back by the
listener's reader, as the real files are.  Printed per setting, mean and spread over
the seeds:

* the listener's two-sample accuracy, linear and gradient-boosted trees (5 folds
  grouped by twin pair; 0.5 = cannot tell), beside the real-vs-real floor;
* formula use (8-note interval patterns shared with the training solos), the longest
  shared run, copies of whole 8-note (interval, inter-onset) windows;
* the chord-tone rate, overall and by where the note starts (``idiom.POSITIONS``);
* the line, as window means of the listener's features: two descending steps in a
  row, repeated notes next to steps, arpeggios, the run length in one direction;
* the detached-share and sounding-length overlaps;

with the real validation solos' own figures in the first row and, last, how many of
issue 20's targets the setting meets (``evaluation.comparison.TARGETS``).  Nothing is
ranked by one number: the defaults in ``jazzgen/generation/sample.py`` are chosen from
the whole table (docs/measured.md says how).  ``--json FILE`` keeps every figure of
every seed.
"""
from __future__ import annotations

import dataclasses
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from jazzgen.evaluation.idiom import POSITIONS
from jazzgen.paths import CACHE, SHIPPED_MODEL

# the line, as the listener's window features show it (several summed: one figure)
LINE = {"desc steps": ("contour:desc_steps",),
        "repeat by step": ("bigram:rep>step-", "bigram:rep>step+", "bigram:step->rep", "bigram:step+>rep"),
        "arpeggios": ("contour:arp_up", "contour:arp_down"),
        "tritones": ("interval:-6", "interval:6"),
        "run length": ("contour:run_length",)}
COLUMNS = ("linear", "trees", "formula use", "longest run", "copies", "chord tones") + \
    POSITIONS + tuple(LINE) + ("detached ov", "sounding ov")


def parse_setting(text: str, fields) -> dict:
    """``"a=1,b=2"`` -> {"a": 1.0, "b": 2.0} over the names in `fields` (their types kept)."""
    out = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, _, value = part.partition("=")
        if key not in fields:
            raise ValueError(f"unknown sampling field {key!r}; fields: {', '.join(fields)}")
        out[key] = fields[key](value)
    return out


def line_figures(solos) -> dict:
    """LINE's figures: the window means of their listener features, summed per figure."""
    from jazzgen.evaluation.listener_features import FEATURES, window_features
    x = np.concatenate([window_features(s) for s in solos])
    return {k: float(sum(x[:, FEATURES.index(f)].mean() for f in names)) for k, names in LINE.items()}


def figures(gen, real, t_index, listener: bool, seed: int) -> dict:
    """Every column of one set of generated solos (gen[i] is real[i]'s twin)."""
    from jazzgen.evaluation import idiom, listener as L
    out = {}
    if listener:
        w = L.Windows.of(real, gen, paired=True)
        out.update({k: L.judge(w, L.CLASSIFIERS[k], seed=seed).accuracy for k in ("linear", "trees")})
    f, c = idiom.formulas(gen, t_index), idiom.closeness(gen, real)
    out.update({"formula use": f["formula_use"], "longest run": f["longest_shared_run"], "copies": f["copied"],
                "chord tones": c["chord_tone_generated"], "detached ov": c["detached_overlap"],
                "sounding ov": c["sounding_overlap"]})
    return {**out, **idiom.chord_tone_by_position(gen), **line_figures(gen)}


def real_figures(real, train, t_index, listener: bool) -> dict:
    """The real validation solos' own figures (the floor: them against as many training solos)."""
    from jazzgen.evaluation import idiom, listener as L
    out = {}
    if listener:
        w = L.Windows.of(train[:len(real)], real)
        out.update({k: L.judge(w, L.CLASSIFIERS[k]).accuracy for k in ("linear", "trees")})
    f = idiom.formulas(real, t_index)
    out.update({"formula use": f["formula_use"], "longest run": f["longest_shared_run"], "copies": f["copied"],
                "chord tones": idiom.chord_tone_rate(real)})
    return {**out, **idiom.chord_tone_by_position(real), **line_figures(real)}


def met(fig: dict, real: dict) -> int:
    """How many of issue 20's targets the mean figures `fig` meet."""
    from jazzgen.evaluation.comparison import TARGETS as T
    checks = [fig.get("linear", 1) <= T["linear"], fig.get("trees", 1) <= T["trees"],
              fig["formula use"] >= T["formula_use"], fig["copies"] <= T["copied"],
              abs(fig["chord tones"] - real["chord tones"]) <= T["chord_tone_gap"],
              fig["detached ov"] >= T["detached_overlap"], fig["sounding ov"] >= T["sounding_overlap"]]
    return sum(checks)


def _cell(values: list[float], col: str) -> str:
    pct = col in ("formula use", "copies")
    fmt = (lambda v: f"{100 * v:.1f} %" if col == "formula use" else f"{100 * v:.2f} %") if pct else \
        (lambda v: f"{v:.1f}") if col == "longest run" else (lambda v: f"{v:.3f}")
    if not values:
        return "-"
    return fmt(np.mean(values)) + (f" ± {fmt(np.std(values)).rstrip(' %')}" if len(values) > 1 else "")


def table(rows: list[tuple[str, list[dict]]], real: dict) -> str:
    cols = [c for c in COLUMNS if any(c in r for _, runs in rows for r in runs)]
    out = ["| setting | " + " | ".join(cols) + " | targets met |", "|---" * (len(cols) + 2) + "|",
           "| real validation solos (linear, trees: real vs real) | "
           + " | ".join(_cell([real[c]] if c in real else [], c) for c in cols) + " | |"]
    for name, runs in rows:
        mean = {c: float(np.mean([r[c] for r in runs])) for c in cols}
        out.append(f"| {name} | " + " | ".join(_cell([r[c] for r in runs], c) for c in cols)
                   + f" | {met(mean, real)} of {7 if 'linear' in cols else 5} |")
    return "\n".join(out)


def main(argv=None) -> int:
    from jazzgen.commands import cli
    from jazzgen.errors import JazzgenError
    from jazzgen.evaluation import comparison as C
    from jazzgen.evaluation.likelihood import model_split
    from jazzgen.generation.sample import Sampling, load_stepper
    from jazzgen.model.folder import CONFIG_NEEDS, read_config
    p = cli.Parser(prog="python scripts/tools/sweep_sampling.py", description=__doc__.split("\n\n")[0])
    p.add_argument("settings", nargs="*", default=[""], help="key=value,... over Sampling's fields ('' = defaults)")
    p.add_argument("--model", default=str(SHIPPED_MODEL))
    p.add_argument("--data", default="midi/wjazzd", help="the model's training folder")
    p.add_argument("--seeds", default="0,1,2", help="seeds per setting")
    p.add_argument("--max-files", type=int, default=0, help="only the first N validation files")
    p.add_argument("--no-listener", action="store_true", help="leave out the classifiers (the rest takes seconds)")
    p.add_argument("--json", help="write every figure of every seed here")
    p.add_argument("--cache", default=CACHE)
    a = p.parse_args(argv)
    fields = {f.name: f.type if callable(f.type) else {"float": float, "int": int}[f.type]
              for f in dataclasses.fields(Sampling)}
    try:
        settings = [(s or "defaults", Sampling(**parse_setting(s, fields))) for s in a.settings]
        seeds = [int(x) for x in a.seeds.split(",")]
        train, val = model_split(read_config(a.model, CONFIG_NEEDS), a.data, a.cache)
        val = val[: a.max_files or None]
        stepper = load_stepper(a.model)
        real, train_p = C.read_all(C.files_of(val, a.data)), C.read_all(C.files_of(train, a.data))
    except (JazzgenError, ValueError, FileNotFoundError) as e:
        return cli.fail("sweep_sampling.py", str(e))
    t_index = C.idiom.index(train_p)
    ref = real_figures(real, train_p, t_index, not a.no_listener)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, sampling in settings:
            runs = []
            for seed in seeds:
                t0 = time.time()
                solos = C.improvise_twins(stepper, val, seed, sampling)
                gen = C.read_all(C.write_twins(solos, val, Path(tmp) / f"{len(rows)}-{seed}", "plain", seed), track=0)
                runs.append(figures(gen, real, t_index, not a.no_listener, seed))
                C.log(f"{name} seed {seed}: " + ", ".join(f"{k} {v:.3f}" for k, v in runs[-1].items())
                      + f" ({time.time() - t0:.0f} s)")
            rows.append((name, runs))
    print(f"Sampling settings on {len(val)} validation solos of `{a.model}` (plain rendering), seeds {a.seeds}:\n")
    print(table(rows, ref))
    if a.json:
        Path(a.json).write_text(json.dumps({"real": ref, "settings": {n: r for n, r in rows}}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
