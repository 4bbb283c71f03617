"""Score a model folder (or two folders of MIDI) against issue 20's targets, with the listener.

    python scripts/tools/listen.py --model models/wjazzd                  # both renderings
    python scripts/tools/listen.py --model DIR --renderings plain --seed 1
    python scripts/tools/listen.py --generated out/gen --real some/solos --train midi/wjazzd

The command line of ``jazzgen.evaluation.listening`` (what is generated, read and printed
is said there).  With --model: one solo per validation file of the model's split, written
under --out/<rendering>/ (``default``: swing from the tempo and the trio, as ``generate``
writes; ``plain``: --swing 0 --band none).  --issue-features adds the issue's own feature
sets (its linear and tree features, and the line alone) to reproduce its measurement;
--no-nuance plays the notes on the grid (the model's nuance tables unused); --grid-real
scores the real validation solos as jazzgen's grid reading holds them, written as generated
solos are (the decoding's upper bound).  ``summary.json`` goes to --out.
"""
from __future__ import annotations

import json
import sys
import time
from pathlib import Path

from jazzgen.paths import CACHE, SHIPPED_MODEL


def parser():
    from jazzgen.commands import cli
    from jazzgen.evaluation.comparison import RENDERINGS
    from jazzgen.generation.sample import Sampling
    p = cli.Parser(prog="python scripts/tools/listen.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHIPPED_MODEL))
    p.add_argument("--data", default="midi/wjazzd", help="the model's training folder")
    p.add_argument("--generated", help="score this folder of MIDI instead of a model's solos")
    p.add_argument("--real", help="with --generated: the real solos")
    p.add_argument("--train", help="with --generated: the training solos (formula use, copies, floor)")
    p.add_argument("--track", type=int, default=0, help="with --generated: the solo's track (default 0)")
    p.add_argument("--renderings", default=",".join(RENDERINGS))
    p.add_argument("--out", default="eval/listen")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=Sampling().temperature)
    p.add_argument("--top-p", type=float, default=Sampling().top_p)
    p.add_argument("--min-p", type=float, default=Sampling().min_p)
    p.add_argument("--formulas", type=float, default=Sampling().formulas,
                   help="weight of the model's formula memory (0: the network alone)")
    p.add_argument("--calibration", type=float, default=Sampling().harmony,
                   help="scale of the model's sampling calibration (0: off)")
    p.add_argument("--max-files", type=int, default=0, help="only the first N validation files (smoke tests)")
    p.add_argument("--issue-features", action="store_true", help="also the issue's own feature sets")
    p.add_argument("--no-nuance", action="store_true", help="play on the grid even if the model has nuance tables")
    p.add_argument("--grid-real", action="store_true",
                   help="score the real validation solos as jazzgen's grid reading holds them (given nuance from "
                        "the model's tables unless --no-nuance) in place of improvised ones: what the decoding leaves")
    p.add_argument("--cache", default=CACHE)
    return p


def main(argv=None) -> int:
    from jazzgen.commands import cli
    from jazzgen.errors import JazzgenError
    from jazzgen.evaluation import comparison as C, listening
    from jazzgen.generation.sample import Sampling
    p = parser()
    a = p.parse_args(argv)
    a.renderings = [r for r in a.renderings.split(",") if r]
    if any(r not in C.RENDERINGS for r in a.renderings):
        p.error(f"--renderings: each of {', '.join(C.RENDERINGS)}")
    if a.generated and not (a.real and a.train):
        p.error("--generated needs --real and --train")
    t0 = time.time()
    try:
        if a.generated:
            gen, real, train = listening.folder_sets(a.generated, a.real, a.train, a.track)
        else:
            sampling = Sampling(temperature=a.temperature, top_p=a.top_p, min_p=a.min_p, formulas=a.formulas,
                                harmony=a.calibration, line=a.calibration)
            gen, real, train = listening.model_sets(a.model, a.data, a.cache, sampling, a.out, a.renderings, a.seed,
                                                    a.max_files, nuance=not a.no_nuance, grid_real=a.grid_real)
        md, summary = listening.listen(gen, real, train, a.generated or a.model, a.seed, paired=not a.generated,
                                       issue_features=a.issue_features)
    except (JazzgenError, ValueError, FileNotFoundError) as e:
        return cli.fail("listen.py", e.named(cli.flag) if isinstance(e, JazzgenError) else str(e))
    Path(a.out).mkdir(parents=True, exist_ok=True)
    (Path(a.out) / "summary.json").write_text(json.dumps(summary, indent=1, default=str))
    print(md)
    C.log(f"listen.py: {time.time() - t0:.0f} s; summary in {a.out}/summary.json")
    return 0


if __name__ == "__main__":
    sys.exit(main())
