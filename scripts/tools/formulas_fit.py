"""Fit a model's formula memory on its validation solos (and write it into the model folder).

    python scripts/tools/formulas_fit.py --model models/wjazzd [--write]

Builds the memory of the model's training solos (``jazzgen.generation.formulas``),
scores every event of the validation solos with the network alone and with the memory
mixed in as the sampler mixes it, and fits one weight per match length (the grid
value that best predicts the events matched that far).  Prints the pitch perplexity
of the network alone, with the weights fitted on the other half of the solos
(two folds by solo: the honest figure), and with the weights fitted on all of them,
and per match length how many events and which weight.  ``--write`` saves the
memory with the weights fitted on all validation solos as ``formulas.npz`` in the
model folder (``jazzgen.train`` does the same at the end of a run).
"""
from __future__ import annotations

import math
import sys
import time

import numpy as np

from jazzgen.paths import CACHE, SHIPPED_MODEL


def main(argv=None) -> int:
    from jazzgen.commands import cli
    from jazzgen.data import tokens as T
    from jazzgen.errors import JazzgenError
    from jazzgen.evaluation import likelihood as L
    from jazzgen.generation import formulas as F
    from jazzgen.model import folder
    p = cli.Parser(prog="python scripts/tools/formulas_fit.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHIPPED_MODEL))
    p.add_argument("--data", default=None, help="the model's training folder (default: its config's)")
    p.add_argument("--cache", default=CACHE)
    p.add_argument("--write", action="store_true", help="save formulas.npz into the model folder")
    a = p.parse_args(argv)
    t0 = time.time()
    try:
        cfg = folder.read_config(a.model, folder.CONFIG_NEEDS)
        train, val = L.model_split(cfg, a.data, a.cache)
        vocab = folder.model_vocab(a.model)
        memory = F.Formulas.build([T.encode(s, vocab) for s in train])
        rows = L.formula_rows(folder.load_model(a.model), [T.encode(s, vocab) for s in val], memory)
    except JazzgenError as e:
        print(f"formulas_fit: error: {e}", file=sys.stderr)
        return 2
    alone = float(-np.log(rows[:, 0]).mean())
    crossed, weights = L.formula_cross_fit(rows, F.MAX_MATCH)
    print(f"{len(train)} training solos in the memory ({len(memory.order)} continuations); "
          f"{len(rows)} validation events, {time.time() - t0:.0f} s")
    print(f"pitch perplexity: network alone {math.exp(alone):.3f}, with the memory "
          f"{math.exp(crossed):.3f} (weights fitted on the other half of the solos), "
          f"{math.exp(L.formula_nll(rows, weights)):.3f} (fitted on all)")
    k = rows[:, 3].astype(int)
    print("| intervals matched | events | weight |\n|---|---|---|")
    for n in range(F.MAX_MATCH + 1):
        print(f"| {n}{'+' if n == F.MAX_MATCH else ''} | {int(((k >= n) if n == F.MAX_MATCH else (k == n)).sum())} "
              f"| {weights[n]:.2f} |")
    if a.write:
        memory.weights = weights
        path = f"{a.model}/{F.FILE}"
        memory.save(path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
