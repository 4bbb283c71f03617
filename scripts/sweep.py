"""Train several configurations one after another and keep the best (one-off tool).

    python scripts/sweep.py --data midi/wjazzd --out /tmp/sweep --budget 500 \
        "--units 256" "--units 512 --dropout 0.4" ...

Each quoted argument is a set of extra `jazzgen.train` flags.  Configurations start
only while the time budget lasts; a table of validation perplexities is printed, and
the best run's folder (lowest pitch + duration NLL) is copied to `--best`.
"""
from __future__ import annotations

import argparse
import json
import shlex
import shutil
import time
from pathlib import Path


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--data", required=True)
    p.add_argument("--out", required=True)
    p.add_argument("--best", default="")
    p.add_argument("--budget", type=float, default=1e9, help="seconds; no new run starts after this")
    p.add_argument("--common", default="", help="flags for every run")
    p.add_argument("configs", nargs="+")
    a = p.parse_args()
    from jazzgen.commands.train import main as train_main

    t0, rows = time.time(), []
    for i, flags in enumerate(a.configs):
        if time.time() - t0 > a.budget:
            print(f"budget spent; skipped: {flags}")
            continue
        name = f"run{i}"
        argv = ["--data", a.data, "--out", a.out, "--name", name] + shlex.split(a.common) + shlex.split(flags)
        print(f"=== {name}: {' '.join(argv)}", flush=True)
        ts = time.time()
        train_main(argv)
        m = json.loads((Path(a.out) / name / "metrics.json").read_text())["best"]
        rows.append((m["val_nll"], name, flags, m, time.time() - ts))
        if a.best and min(rows)[1] == name:   # keep the best so far, in case time runs out
            shutil.rmtree(a.best, ignore_errors=True)
            shutil.copytree(Path(a.out) / name, a.best, ignore=shutil.ignore_patterns("last.keras", ".*"))
            print(f"best so far: {name} -> {a.best}", flush=True)
    print("\n| run | flags | pitch ppl | dur ppl | pitch acc | dur acc | best epoch | seconds |")
    print("| --- | --- | --- | --- | --- | --- | --- | --- |")
    for _, name, flags, m, sec in rows:
        print(f"| {name} | `{flags}` | {m['val_pitch_ppl']:.2f} | {m['val_dur_ppl']:.2f} | "
              f"{m['val_pitch_acc']:.3f} | {m['val_dur_acc']:.3f} | {m['epoch'] + 1} | {sec:.0f} |")


if __name__ == "__main__":
    main()
