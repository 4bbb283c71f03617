"""Score a model folder (or two folders of MIDI) against issue 20's targets, with the listener.

    python scripts/tools/listen.py --model models/wjazzd                  # both renderings
    python scripts/tools/listen.py --model DIR --renderings plain --seed 1
    python scripts/tools/listen.py --generated out/gen --real some/solos --train midi/wjazzd

With --model: one solo per validation file of the model's split, over that file's own
changes, tempo map and length, a performer drawn at random each (solo i: seed (seed, i)),
written as MIDI under --out/<rendering>/ (``default``: swing from the tempo and the trio,
as ``generate`` writes; ``plain``: --swing 0 --band none), then read back, solo track
only, by the listener's reader, as the real files are.  Printed per rendering: the
linear and nonlinear two-sample tests with their real-vs-real floor (the validation
solos against as many training solos), what separates most, formula use, copies,
chord-tone rate, detached share and sounding-length overlaps, and the issue's targets.
--issue-features adds the issue's own feature sets (its linear and tree features, and
the line alone) to reproduce its measurement; --no-nuance plays the notes on the grid
(the model's nuance tables unused); --grid-real scores the real validation solos as
jazzgen's grid reading holds them, written as generated solos are (the decoding's upper
bound: what a perfect model would leave).  ``summary.json`` goes to --out.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import numpy as np

from jazzgen.paths import CACHE, SHIPPED_MODEL


def model_sets(a, log):
    """(generated per rendering, real validation, training) solos read as played, for --model."""
    from jazzgen.data.nuance import perform
    from jazzgen.evaluation import comparison as C
    from jazzgen.evaluation.likelihood import model_split
    from jazzgen.generation.sample import Sampling
    from jazzgen.generation.takes import load_stepper
    from jazzgen.model.folder import CONFIG_NEEDS, read_config
    train, val = model_split(read_config(a.model, CONFIG_NEEDS), a.data, a.cache)
    val = val[: a.max_files or None]
    stepper = load_stepper(a.model)
    if a.no_nuance:
        stepper.nuance = None
    sampling = Sampling(temperature=a.temperature, top_p=a.top_p, min_p=a.min_p, formulas=a.formulas)
    t0 = time.time()
    if a.grid_real:
        solos = [s if stepper.nuance is None else
                 perform(s, stepper.nuance, stepper.vocab, np.random.default_rng(C.solo_seed(a.seed, i)))
                 for i, s in enumerate(val)]
    else:
        solos = C.improvise_twins(stepper, val, a.seed, sampling)
    log(f"{'the real solos on the grid' if a.grid_real else 'improvised'}: {len(solos)} in {time.time() - t0:.1f} s "
        f"({'with' if stepper.nuance is not None else 'without'} nuance tables)")
    gen = {r: C.read_all(C.write_twins(solos, val, Path(a.out) / r, r, a.seed), track=0) for r in a.renderings}
    return gen, C.read_all(C.files_of(val, a.data)), C.read_all(C.files_of(train, a.data))


def folder_sets(a):
    from jazzgen.data.corpus import find_midi
    from jazzgen.evaluation import comparison as C
    gen = C.read_all(find_midi(a.generated), track=a.track)
    return {"folder": gen}, C.read_all(find_midi(a.real)), C.read_all(find_midi(a.train)) if a.train else []


def issue_rows(gen, real, paired: bool) -> list[str]:
    from jazzgen.evaluation import listener as L, listener_features as F
    w = L.Windows.of(real, gen, paired)
    rows = ["| feature set (the issue's) | classifier | accuracy | AUC |", "|---|---|---|---|"]
    for name, sel, clf in (("issue's linear features", F.ISSUE_LINEAR, "linear"),
                           ("issue's tree features", F.ISSUE_TREES, "trees"), ("the line alone", F.LINE_ONLY, "trees")):
        v = L.judge(w, L.CLASSIFIERS[clf], sel)
        rows.append(f"| {name} | {clf} | {v.accuracy:.3f} | {v.auc:.3f} |")
    return rows


def main(argv=None) -> int:
    from jazzgen.commands import cli
    from jazzgen.errors import JazzgenError
    from jazzgen.evaluation import comparison as C
    from jazzgen.generation.sample import Sampling
    p = cli.Parser(prog="python scripts/tools/listen.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHIPPED_MODEL))
    p.add_argument("--data", default="midi/wjazzd", help="the model's training folder")
    p.add_argument("--generated", help="score this folder of MIDI instead of a model's solos")
    p.add_argument("--real", help="with --generated: the real solos")
    p.add_argument("--train", help="with --generated: the training solos (formula use, copies, floor)")
    p.add_argument("--track", type=int, default=0, help="with --generated: the solo's track (default 0)")
    p.add_argument("--renderings", default=",".join(C.RENDERINGS))
    p.add_argument("--out", default="eval/listen")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=Sampling().temperature)
    p.add_argument("--top-p", type=float, default=Sampling().top_p)
    p.add_argument("--min-p", type=float, default=Sampling().min_p)
    p.add_argument("--formulas", type=float, default=Sampling().formulas,
                   help="weight of the model's formula memory (0: the network alone)")
    p.add_argument("--max-files", type=int, default=0, help="only the first N validation files (smoke tests)")
    p.add_argument("--issue-features", action="store_true", help="also the issue's own feature sets")
    p.add_argument("--no-nuance", action="store_true", help="play on the grid even if the model has nuance tables")
    p.add_argument("--grid-real", action="store_true",
                   help="score the real validation solos as jazzgen's grid reading holds them (given nuance from "
                        "the model's tables unless --no-nuance) in place of improvised ones: what the decoding leaves")
    p.add_argument("--cache", default=CACHE)
    a = p.parse_args(argv)
    a.renderings = [r for r in a.renderings.split(",") if r]
    if any(r not in C.RENDERINGS for r in a.renderings):
        p.error(f"--renderings: each of {', '.join(C.RENDERINGS)}")
    if a.generated and not (a.real and a.train):
        p.error("--generated needs --real and --train")
    t0 = time.time()
    try:
        gen, real, train = folder_sets(a) if a.generated else model_sets(a, C.log)
        t_index = C.idiom.index(train)
        out, md = {}, [f"# The listener on `{a.generated or a.model}` ({len(real)} real solos)", ""]
        for name, g in gen.items():
            res = C.score(g, real, train, t_index, seed=a.seed, paired=not a.generated)
            md.append(C.markdown(res, f"{name} rendering" if not a.generated else a.generated))
            if a.issue_features:
                md += issue_rows(g, real, paired=not a.generated) + [""]
            out[name] = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in res.items()}
    except (JazzgenError, ValueError, FileNotFoundError) as e:
        return cli.fail("listen.py", str(e))
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "summary.json").write_text(json.dumps(out, indent=1, default=str))
    print("\n".join(md))
    C.log(f"listen.py: {time.time() - t0:.0f} s; summary in {a.out}/summary.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
