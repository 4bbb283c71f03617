"""python -m jazzgen.evaluate: how good is a model, and how jazz-like is a folder of solos.

    python -m jazzgen.evaluate --model models/wjazzd --data midi/wjazzd
    python -m jazzgen.evaluate --model none --data out/generated --compare midi/wjazzd

Flags in, ``jazzgen.evaluation.report.evaluate`` (its docstring says what is scored), the report out.
"""
from __future__ import annotations

import sys
from pathlib import Path

from jazzgen import paths
from jazzgen.commands import cli
from jazzgen.evaluation.likelihood import _log
from jazzgen.evaluation.report import DEFAULT_MODEL, evaluate
from jazzgen.model import backend

PROG = "jazzgen.evaluate"


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
                   command="python -m jazzgen.evaluate " + " ".join(argv), field_name=cli.flag)
    print(rep["markdown"])
    _log(f"wrote {Path(a.out) / 'report.md'} and report.json")
    return 0


def main(argv=None) -> int:
    return cli.run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
