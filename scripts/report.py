"""Reproduce the full evaluation report of a trained model, in one command.

    python scripts/report.py --model models/wjazzd --data midi/wjazzd --out eval/report

(a) likelihood of the model and of the n-gram baselines (fitted on the model's
    training files) over the validation files of the model's split;
(b) one improvised solo per validation file, over *that file's own* chord changes,
    meter and tempo map, as long as the original (so the two sets differ only in who
    played the notes), written as MIDI to ``<out>/generated/``;
(c) style metrics of the generated solos against the real validation solos (novelty
    measured against the training files): ``report.md``, ``report.json`` and
    ``histograms.png`` in ``<out>``.  The last lines printed are the Markdown tables.

Every random choice comes from --seed: solo i is sampled with seed (seed, i).
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from jazzgen.paths import CACHE  # noqa: E402


def solo_seed(seed: int, i: int) -> int:
    """A well-mixed seed for solo i: runs with seeds 0 and 1 share no solo."""
    return int(np.random.SeedSequence([seed, i]).generate_state(1)[0])


def generate(model_dir: str, likes: list, seed: int, temperature: float, top_p: float, out: Path) -> list:
    """One solo per real piece, over its changes, at its tempo and length; written as MIDI."""
    from jazzgen import sample
    from jazzgen.midi_io import write_midi
    from jazzgen.takes import load_stepper
    stepper = load_stepper(model_dir)
    sampling = sample.Sampling(temperature=temperature, top_p=top_p)
    out.mkdir(parents=True, exist_ok=True)
    solos = []
    for i, like in enumerate(likes):
        [solo] = sample.improvise(stepper, like, sampling=sampling, seed=solo_seed(seed, i))
        write_midi(out / f"{like.name}.mid", solo)
        solos.append(solo)
        print(f"\rgenerated {i + 1}/{len(likes)}", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    return solos


def main(argv=None) -> int:
    from jazzgen import evaluate as E, tokens as T
    p = E._Parser(prog="python scripts/report.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=E.DEFAULT_MODEL)
    p.add_argument("--data", default="midi/wjazzd", help="the model's training folder")
    p.add_argument("--out", default="eval/report")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-p", type=float, default=0.95)
    p.add_argument("--ngram-max", type=int, default=5)
    p.add_argument("--max-files", type=int, default=0, help="only the first N validation files (smoke tests)")
    p.add_argument("--cache", default=CACHE)
    a = p.parse_args(argv)
    out = Path(a.out)
    t0 = time.time()
    try:
        if not Path(a.model).is_dir():
            raise E.EvalError(f"no such model folder: {a.model}")
        cfg = E.read_config(a.model)
        if not E._same(a.data, cfg.data):
            print(f"report: warning: --data {a.data} is not the model's training folder {cfg.data}; "
                  "its split is taken over --data", file=sys.stderr)
        train, val = E.model_split(cfg, a.data, a.cache)
        val = val[: a.max_files or None]
        if not val:
            raise E.EvalError(f"{a.data}: the model's split has no validation files")
        net = E.load_model(a.model)
    except E.EvalError as e:
        print(f"report: error: {e}", file=sys.stderr)
        return 2
    print(f"(a) likelihood: {len(val)} validation files, baselines on {len(train)} training files", file=sys.stderr)
    lik = E.likelihood([T.encode(s) for s in val], net, [T.encode(s) for s in train], a.ngram_max)
    print(f"(b) improvising {len(val)} solos over the validation files' changes", file=sys.stderr)
    t1 = time.time()
    solos = generate(a.model, val, a.seed, a.temperature, a.top_p, out / "generated")
    gen_seconds = time.time() - t1
    print("(c) style metrics, generated vs real", file=sys.stderr)
    st = E.style(solos, train, real=val)
    rep = {"command": "python scripts/report.py " + " ".join(sys.argv[1:] if argv is None else argv),
           "data": str(out / "generated"), "model": a.model,
           "split": f"one solo per validation file of the model's split, over its changes (seed {a.seed}, "
                    f"temperature {a.temperature}, top-p {a.top_p})",
           "n_files": len(solos), "files": [s.name for s in solos],
           "likelihood_on": f"the {len(val)} real validation files",
           "warnings": [], "train_data": a.data, "n_train_files": len(train),
           "compare": "the real validation solos", "n_real_files": len(val),
           "generation": {"seed": a.seed, "temperature": a.temperature, "top_p": a.top_p, "seconds": gen_seconds},
           "likelihood": lik, "style": st, "seconds": time.time() - t0}
    md = E.write_report(rep, out, st["per_file"], st["real_per_file"])
    print(f"wrote {out}/report.md, report.json, histograms.png and {len(solos)} MIDI files in {out}/generated",
          file=sys.stderr)
    print(md)
    return 0


if __name__ == "__main__":
    sys.exit(main())
