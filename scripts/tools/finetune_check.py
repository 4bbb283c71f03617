"""Fine-tuning on a player: their held-back solos scored by the shipped model, from scratch, and fine-tuned.

    python scripts/tools/finetune_check.py --performer JohnColtrane --work /tmp/ft
    python scripts/tools/finetune_check.py --performer JohnColtrane --work /tmp/ft --base BASE --lrs 3e-4,1e-3

One performer of the bundled corpus plays the user with a folder of their favourite
player's transcriptions.  Their solos in the shipped model's validation split are held
back (no model here has seen them, the shipped one included); their other solos are the
user's folder.  The runs, each the real ``python -m jazzgen.train``:

* base: the corpus without the performer at all, with the shipped model's settings
  (``--base DIR`` reuses one);
* scratch: the user's folder alone, from scratch, with train's defaults;
* fine-tuned: the user's folder with ``--init base``, once per ``--lrs`` value (train's
  fine-tuning defaults for the rest), and the same with ``--replay`` of the corpus without
  the player (the base's own training folder) mixed into every epoch.

Every held-back event is scored by each model (``evaluation.likelihood.score_model``: one
window per whole solo, no augmentation), as by the performer when the model knows them,
else as an unknown player; the shipped model, which knows them from their other solos,
is also scored as an unknown player.  The table: perplexity per head and per event (the
joint NLL of the four heads), and each run's own validation NLL (its best epoch), by which
a user (and the defaults) would choose between runs.  Forgetting: the last columns score
every model on the rest of the shipped model's validation split (the other players'
held-back solos, each as its performer when the model knows them), the idiom a fine-tuned
model should keep.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

from jazzgen.data import dataset, tokens as T
from jazzgen.data.corpus import INDEX_FILE, find_midi, load_corpus, performers_beside
from jazzgen.evaluation.likelihood import HEADS, score_model
from jazzgen.model.folder import load_model, model_vocab, read_config
from jazzgen.paths import SHIPPED_MODEL, WJAZZD


def link_folder(folder: Path, files: list[Path], who: dict[Path, str]) -> Path:
    """A folder of links to `files`, with an index.tsv naming their performers."""
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        if not (folder / f.name).exists():
            (folder / f.name).symlink_to(f.resolve())
    (folder / INDEX_FILE).write_text("file\tperformer\n" + "".join(f"{f.name}\t{who[f]}\n" for f in files))
    return folder


def folders(work: Path, performer: str) -> tuple[Path, Path, Path, list]:
    """(the corpus without the performer, the performer's other solos, their held-back solos, and the
    other players' solos of the shipped model's validation split)."""
    files = find_midi(WJAZZD)
    who = performers_beside(files)
    cfg = read_config(SHIPPED_MODEL)
    _, val = dataset.split_songs(load_corpus(WJAZZD, None, progress=False).songs, cfg.val_fraction, cfg.seed,
                                 cfg.max_songs)
    held_names = {s.name for s in val if s.performer == performer}
    theirs = [f for f in files if who.get(f) == performer]
    if not held_names or len(theirs) - len(held_names) < 2:
        sys.exit(f"{performer}: {len(theirs)} solos, {len(held_names)} in the shipped model's validation split; "
                 "need one held back and two to fine-tune on")
    return (link_folder(work / "others", [f for f in files if who.get(f) != performer], who),
            link_folder(work / "mine", [f for f in theirs if f.stem not in held_names], who),
            link_folder(work / "held", [f for f in theirs if f.stem in held_names], who),
            [s for s in val if s.performer != performer])


def train(work: Path, name: str, data: Path, *flags: str) -> Path:
    out = work / "models" / name
    if not (out / "metrics.json").exists():
        cmd = [sys.executable, "-m", "jazzgen.train", "--data", str(data), "--out", str(work / "models"),
               "--name", name, "--cache", str(work / "cache"), *flags]
        print("$", " ".join(cmd[1:]), file=sys.stderr, flush=True)
        subprocess.run(cmd, check=True, stdout=sys.stderr)
    return out


def score(model_dir: Path, songs, as_unknown: bool = False) -> dict:
    vocab = model_vocab(model_dir)
    toks = [T.encode(replace(s, performer=T.UNKNOWN_PERFORMER) if as_unknown else s, vocab) for s in songs]
    r = score_model(load_model(model_dir), toks)
    joint = sum(r[h]["nll"] * r[h]["targets"] for h in HEADS) / r["events"]
    return {**{h: r[h]["ppl"] for h in HEADS}, "event": math.exp(joint), "events": r["events"]}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--performer", default="JohnColtrane")
    p.add_argument("--work", required=True, help="folders, cache and models (kept: a rerun reuses finished runs)")
    p.add_argument("--base", help="a model trained without the performer (default: train one in --work)")
    p.add_argument("--lrs", default="3e-4,1e-3,3e-3", help="fine-tuning learning rates to try")
    p.add_argument("--replay", default="plain,replay", help="which fine-tuning runs: plain, replay or both")
    a = p.parse_args()
    work = Path(a.work)
    others, mine, held, general = folders(work, a.performer)
    shipped = json.loads((SHIPPED_MODEL / "config.json").read_text())
    base = Path(a.base) if a.base else train(work, "base", others, *(f"--{k.replace('_', '-')}={shipped[k]}" for k in (
        "epochs", "patience", "batch_size", "seq_len", "layers", "units", "dropout", "lr")))
    runs = {"scratch (train's defaults)": train(work, "scratch", mine)}
    for lr in a.lrs.split(","):
        if "plain" in a.replay:
            runs[f"fine-tuned, lr {lr}"] = train(work, f"finetuned-lr{lr}", mine, "--init", str(base), "--lr", lr,
                                                 "--replay", "none")
        if "replay" in a.replay:
            runs[f"fine-tuned with replay, lr {lr}"] = train(work, f"replay-lr{lr}", mine, "--init", str(base), "--lr",
                                                             lr, "--replay", str(others))
    songs = load_corpus(held, None, progress=False).songs
    rows = {"shipped model (knows the player)": score(SHIPPED_MODEL, songs),
            "shipped model, as an unknown player": score(SHIPPED_MODEL, songs, as_unknown=True),
            "base, without the player": score(base, songs)}
    rows.update({k: score(v, songs) for k, v in runs.items()})
    model_of = {**{k: SHIPPED_MODEL for k in rows if k.startswith("shipped")}, "base, without the player": base, **runs}
    kept_by = {d: score(d, general) for d in set(model_of.values())}          # forgetting: the others' solos
    kept = {k: kept_by[d] for k, d in model_of.items()}
    val = {k: json.loads((v / "metrics.json").read_text())["best"]["val_nll"] for k, v in runs.items()}
    n_mine = len(find_midi(mine))
    print(f"{a.performer}: {len(songs)} held-back solos ({rows['base, without the player']['events']:,} events), "
          f"{n_mine} solos to fine-tune on (split by train into training and validation); the other players' "
          f"validation solos: {len(general)} ({kept['base, without the player']['events']:,} events)\n")
    print("| model | held-back: pitch ppl | dur ppl | art ppl | vel ppl | per-event ppl | own validation NLL "
          "| other players' validation: pitch ppl | per-event ppl |")
    print("|---|---|---|---|---|---|---|---|---|")
    for k, r in rows.items():
        own = f"{val[k]:.3f}" if k in val else "-"
        print(f"| {k} | " + " | ".join(f"{r[h]:.2f}" for h in (*HEADS, "event")) + f" | {own} | "
              f"{kept[k]['pitch']:.2f} | {kept[k]['event']:.2f} |")
    best = min(runs, key=val.get)
    others_best = min(r["event"] for k, r in rows.items() if k not in runs or k.startswith("scratch"))
    print(f"\nchosen by its own validation: {best}; its per-event perplexity on the held-back solos "
          f"{rows[best]['event']:.2f} vs the best of the others {others_best:.2f} "
          f"({100 * (1 - rows[best]['event'] / others_best):.1f} % below)")


if __name__ == "__main__":
    main()
