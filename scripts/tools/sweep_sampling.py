"""Choose the sampling defaults by measurement: temperature x top-p x min-p on the validation split.

    python scripts/tools/sweep_sampling.py [--model models/wjazzd] [--seeds 2] [--temperatures 0.9,1.0,1.1]
        [--top-ps 0.9,0.95,0.98,1.0] [--min-ps 0,0.005,...]

For every setting, one solo per validation file of the model's split is improvised
over that file's own changes, tempo map and length (performer drawn at random, as
``improvise`` does by default), --seeds times with different seeds.  Each setting is
scored by

* the classifier two-sample accuracy, generated vs real 4-bar windows, folds grouped
  by solo (``twosample.two_sample_test``; 0.5 = indistinguishable; lower is better);
* the density overlaps (``metrics.overlap_area``, 1 = same distribution) of four
  per-solo metrics: mean_abs_interval, detached_share, rest_share, velocity_sd and
  pitch_range (what one stray note from the far tail of the pitch distribution widens);

* the per-solo spread of step_rate, generated sd / real sd across solos (solos as
  different from each other as real ones: at least 0.5);

and ranked by ``score = accuracy + (1 - mean of the five overlaps)`` (lower is better),
each averaged over the seeds; the best is the lowest score whose spread is at least 0.5
with every seed.  The table and the best setting are printed; the
defaults in ``jazzgen/generation/sample.py`` are chosen from it (docs/measured.md).
"""
from __future__ import annotations

import itertools
import sys
import time

import numpy as np
from report import generate, load

from jazzgen.paths import CACHE

OVERLAP_METRICS = ("mean_abs_interval", "detached_share", "rest_share", "velocity_sd", "pitch_range")


def score_setting(stepper, train, val, real_per, sampling, seeds) -> dict:
    """Two-sample accuracy and the four overlaps of one setting, per seed and averaged."""
    from jazzgen.evaluation import metrics
    from jazzgen.evaluation.twosample import two_sample_test
    runs = []
    for seed in seeds:
        solos = generate(stepper, val, seed, sampling)
        per = [metrics.piece_metrics(s) for s in solos]
        ov = {k: metrics.overlap_area([d[k] for d in per], [d[k] for d in real_per]) for k in OVERLAP_METRICS}
        acc = two_sample_test(solos, val).accuracy
        spread = np.std([d["step_rate"] for d in per]) / np.std([d["step_rate"] for d in real_per])
        runs.append({"acc": acc, **ov, "spread": float(spread)})
    out = {k: float(np.mean([r[k] for r in runs])) for k in runs[0]}
    out["acc_sd"] = float(np.std([r["acc"] for r in runs]))
    out["spread_min"] = min(r["spread"] for r in runs)
    out["score"] = out["acc"] + 1 - float(np.mean([out[k] for k in OVERLAP_METRICS]))
    return out


def main(argv=None) -> int:
    from jazzgen.commands import cli
    from jazzgen.errors import JazzgenError
    from jazzgen.evaluation import metrics
    from jazzgen.generation import sample
    p = cli.Parser(prog="python scripts/tools/sweep_sampling.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default="models/wjazzd")
    p.add_argument("--data", default="midi/wjazzd")
    p.add_argument("--temperatures", default="0.9,1.0,1.1")
    p.add_argument("--top-ps", default="0.9,0.95,0.98,1.0")
    p.add_argument("--min-ps", default=str(sample.Sampling().min_p),
                   help="min-p values of the pitch head (0 = off; default: today's)")
    p.add_argument("--seeds", type=int, default=2, help="seeds per setting (0..N-1)")
    p.add_argument("--max-files", type=int, default=0)
    p.add_argument("--cache", default=CACHE)
    a = p.parse_args(argv)
    try:
        temps = [float(x) for x in a.temperatures.split(",")]
        tops = [float(x) for x in a.top_ps.split(",")]
        mins = [float(x) for x in a.min_ps.split(",")]
        train, val, stepper = load(a.model, a.data, a.cache, a.max_files)
        real_per = [metrics.piece_metrics(s) for s in val]
        rows = []
        for t, top_p, min_p in itertools.product(temps, tops, mins):
            t0 = time.time()
            r = score_setting(stepper, train, val, real_per, sample.Sampling(temperature=t, top_p=top_p, min_p=min_p),
                              range(a.seeds))
            rows.append(((t, top_p, min_p), r))
            print(f"T={t} top-p={top_p} min-p={min_p}: acc {r['acc']:.3f}, score {r['score']:.3f} "
                  f"({time.time() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
    except (JazzgenError, ValueError) as e:
        print(f"sweep_sampling: error: {e}", file=sys.stderr)
        return 2
    default = sample.Sampling()
    print(f"Sampling sweep on {len(val)} validation solos of `{a.model}`, {a.seeds} seed(s) per setting, "
          f"performer at random; score = two-sample accuracy + (1 - mean overlap), lower is better.\n")
    print("| temperature | top-p | min-p | two-sample acc | " + " | ".join(f"{k} overlap" for k in OVERLAP_METRICS)
          + " | step_rate spread | score |")
    print("|---|---|---|---|" + "---|" * len(OVERLAP_METRICS) + "---|---|")
    for (t, top_p, min_p), r in rows:
        mark = " (default)" if (t, top_p, min_p) == (default.temperature, default.top_p, default.min_p) else ""
        print(f"| {t}{mark} | {top_p} | {min_p} | {r['acc']:.3f} ± {r['acc_sd']:.3f} | "
              + " | ".join(f"{r[k]:.3f}" for k in OVERLAP_METRICS)
              + f" | {r['spread']:.2f} (min {r['spread_min']:.2f}) | {r['score']:.3f} |")
    (bt, bp, bm), br = min(rows, key=lambda kv: (kv[1]["spread_min"] < 0.5, kv[1]["score"]))
    print(f"\nBest: temperature {bt}, top-p {bp}, min-p {bm} (score {br['score']:.3f}, two-sample accuracy "
          f"{br['acc']:.3f}); today's default: temperature {default.temperature}, top-p {default.top_p}, "
          f"min-p {default.min_p}.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
