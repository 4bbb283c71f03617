"""Fit a model's sampling calibration on its training solos (and write it into the model folder).

    python scripts/tools/calibration_fit.py --model models/wjazzd [--rounds 4] [--per-round 90] [--write]

Improvises over the changes of the model's training solos with the sampler as it samples
by default (the model folder's formula memory included), and fits the two tables of
``jazzgen.generation.calibration`` (the degree above the chord root by beat position and
chord quality; the interval by the interval before) so that the sampled notes fall in
each cell as often as the training solos' do.  Prints, per round, how far the sampled
shares still are from the training solos' (mean absolute difference within a row, in
points, weighted by the row's notes).  ``--write`` saves ``calibration.npz`` in the
model folder; refit it after retraining the network or refitting its formula memory.
"""
from __future__ import annotations

import sys
import time

from jazzgen.paths import CACHE, SHIPPED_MODEL


def main(argv=None) -> int:
    from jazzgen.commands import cli
    from jazzgen.errors import JazzgenError
    from jazzgen.evaluation import likelihood as L
    from jazzgen.generation import calibration as K
    from jazzgen.generation.sample import Sampling, load_stepper
    from jazzgen.model import folder
    p = cli.Parser(prog="python scripts/tools/calibration_fit.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHIPPED_MODEL))
    p.add_argument("--data", default=None, help="the model's training folder (default: its config's)")
    p.add_argument("--cache", default=CACHE)
    p.add_argument("--rounds", type=int, default=4)
    p.add_argument("--per-round", type=int, default=90, help="training solos improvised over per round")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--write", action="store_true", help="save calibration.npz into the model folder")
    a = p.parse_args(argv)
    t0 = time.time()
    try:
        train, _ = L.model_split(folder.read_config(a.model, folder.CONFIG_NEEDS), a.data, a.cache)
        stepper = load_stepper(a.model)
        log = lambda m: print(f"{m} ({time.time() - t0:.0f} s)", flush=True)  # noqa: E731
        cal = K.fit(stepper, train, Sampling(), a.rounds, a.per_round, seed=a.seed, log=log)
    except JazzgenError as e:
        return cli.fail("calibration_fit.py", str(e))
    print(f"{len(train)} training solos; largest log-factors: harmony {abs(cal.harmony).max():.2f}, "
          f"line {abs(cal.line).max():.2f}")
    if a.write:
        path = f"{a.model}/{K.FILE}"
        cal.save(path)
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
