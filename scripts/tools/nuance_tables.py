"""Write a model folder's nuance tables (``nuance.npz``) from its training solos read as played.

    python scripts/tools/nuance_tables.py --model models/wjazzd

``jazzgen.train`` writes them with every model; this is for a model trained before they
existed (the model's split is taken over --data, default its config's folder).  Prints
how many notes stand behind the tables and what they hold.
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

from jazzgen.paths import CACHE, SHIPPED_MODEL


def main(argv=None) -> int:
    from jazzgen.commands import cli
    from jazzgen.data import nuance
    from jazzgen.errors import JazzgenError
    from jazzgen.evaluation.likelihood import model_split
    from jazzgen.model.folder import CONFIG_NEEDS, load_vocab, read_config
    p = cli.Parser(prog="python scripts/tools/nuance_tables.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(SHIPPED_MODEL))
    p.add_argument("--data", default=None, help="the model's training folder (default: its config's)")
    p.add_argument("--cache", default=CACHE)
    a = p.parse_args(argv)
    t0 = time.time()
    try:
        cfg = read_config(a.model, CONFIG_NEEDS)
        train, _ = model_split(cfg, a.data or cfg.data, a.cache)
        tables = nuance.tables_for(train, a.data or cfg.data, load_vocab(a.model))
        path = tables.save(a.model)
    except (JazzgenError, FileNotFoundError) as e:
        return cli.fail("nuance_tables.py", str(e))
    n = tables.length_n
    print(f"{path}: from {len(train)} training solos ({time.time() - t0:.1f} s); {int(n.sum()):,} notes; "
          f"{int((n >= nuance.MIN_COUNT).sum())} (class, event length) rows of their own, the rest by ratio; "
          f"{Path(path).stat().st_size:,} bytes")
    return 0


if __name__ == "__main__":
    sys.exit(main())
