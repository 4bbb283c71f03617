"""Reproduce the full evaluation report of a trained model, in one command.

    python scripts/tools/report.py --model models/wjazzd --data midi/wjazzd --out eval/report

(a) likelihood of every predicted head (pitch, dur, art, vel) of the model and of the
    n-gram baselines (fitted on the model's training files) over the validation files
    of the model's split, with each head's gain over its best baseline;
(b) one improvised solo per validation file, over *that file's own* chord changes,
    meter and tempo map, as long as the original (so the two sets differ only in who
    played the notes), written as MIDI to ``<out>/<mode>/``, twice: with a performer
    drawn at random (``random``) and with the real solo's own performer where the model
    knows them (``own``, random otherwise);
(c) per mode: the classifier two-sample test (generated vs real 4-bar windows, folds
    grouped by solo) beside the real-vs-real floor, the style metrics of the generated
    solos against the real validation solos (novelty against the training files), the
    per-solo spread (sd across solos) of every metric, and notes per beat by tempo band;
(d) the listener of issue 20 (``evaluation.listener``) on the random-performer solos,
    written in both renderings (``<out>/listener/{default,plain}/``) and read back as
    played beside the real files read the same way: linear and gradient-boosted
    two-sample tests with their real-vs-real floor, what separates most, formula use,
    copies, chord-tone rate, detached share and sounding-length overlaps, and the
    issue's targets (``python scripts/tools/listen.py`` runs this part alone).

``report.md`` and ``report.json`` (the random mode, as ``jazzgen.evaluate`` writes them)
and ``histograms.png`` go to ``<out>``, ``summary.md`` (everything printed) beside them.
Every random choice comes from --seed: solo i is sampled with seed (seed, i).
"""
from __future__ import annotations

import json
import sys
import time
from dataclasses import replace
from pathlib import Path

import numpy as np

from jazzgen.evaluation.comparison import solo_seed
from jazzgen.paths import CACHE

TEMPO_BANDS = ((0.0, 140.0, "< 140 bpm"), (140.0, 200.0, "140-200 bpm"), (200.0, float("inf"), ">= 200 bpm"))
MODES = ("random", "own")
SPREAD_METRICS = ("H1", "H4", "GS", "chord_tone_rate", "notes_per_bar", "pitch_range", "mean_abs_interval",
                  "step_rate", "skip_rate", "dur_share_le1_4", "dur_share_le1_2", "velocity_mean", "velocity_sd",
                  "detached_share", "rest_share")


def own_performer(stepper, real) -> str | None:
    """The real solo's performer if the model knows them, else None (drawn at random)."""
    return real.performer if real.performer in stepper.vocab.performers else None


def generate(stepper, likes: list, seed: int, sampling, mode: str = "random", out: Path | None = None) -> list:
    """One solo per real piece, over its changes, at its tempo map and length (MIDI in `out` if given)."""
    from jazzgen.generation import sample
    from jazzgen.music.midi_io import write_midi
    if out is not None:
        out.mkdir(parents=True, exist_ok=True)
    solos = []
    for i, like in enumerate(likes):
        who = own_performer(stepper, like) if mode == "own" else None
        [solo] = sample.improvise(stepper, like, sampling=sampling, seed=solo_seed(seed, i), performer=who)
        if out is not None:
            write_midi(out / f"{like.name}.mid", solo)
        solos.append(solo)
    return solos


# ---------------------------------------------------------------------------- tables

def notes_per_beat(seq) -> float:
    """Notes per beat over the solo's whole length (a generated solo has its real one's length)."""
    from jazzgen.music.notes import GRID
    return len(seq) / max(seq.end / GRID, 1e-9)


def tempo_table(gen: list, real: list) -> tuple[str, dict]:
    """Notes per beat by tempo band (the real solo's tempo, which its generated twin shares)."""
    from jazzgen.data.tokens import solo_bpm
    bpm = np.array([solo_bpm(r) for r in real])
    g = np.array([notes_per_beat(s) for s in gen])
    r = np.array([notes_per_beat(s) for s in real])
    rows = ["| tempo | solos | real notes/beat | generated notes/beat |", "|---|---|---|---|"]
    bands = {}
    for lo, hi, label in TEMPO_BANDS:
        m = (bpm >= lo) & (bpm < hi)
        if m.any():
            bands[label] = {"n": int(m.sum()), "real": float(r[m].mean()), "gen": float(g[m].mean()),
                            "real_sd": float(r[m].std()), "gen_sd": float(g[m].std())}
            rows.append(f"| {label} | {m.sum()} | {r[m].mean():.2f} ± {r[m].std():.2f} "
                        f"| {g[m].mean():.2f} ± {g[m].std():.2f} |")
    corr = {"real": float(np.corrcoef(bpm, r)[0, 1]), "gen": float(np.corrcoef(bpm, g)[0, 1])}
    rows.append(f"| correlation with tempo (Pearson) | {len(bpm)} | {corr['real']:+.2f} | {corr['gen']:+.2f} |")
    return "\n".join(rows) + "\n", {"bands": bands, "corr": corr}


def spread_table(compare: dict) -> tuple[str, dict]:
    """Per metric the sd across solos, real vs generated; the target is a ratio of at least 0.5."""
    rows = ["| metric | real sd | generated sd | ratio | >= 0.5 |", "|---|---|---|---|---|"]
    out = {}
    for k in SPREAD_METRICS:
        if k not in compare:
            continue
        c = compare[k]
        ratio = c["gen_sd"] / c["real_sd"] if c["real_sd"] > 0 else float("nan")
        out[k] = ratio
        ok = "yes" if ratio >= 0.5 else "no"
        rows.append(f"| {k} | {c['real_sd']:.3f} | {c['gen_sd']:.3f} | {ratio:.2f} | {ok} |")
    return "\n".join(rows) + "\n", out


def in_range(metric: str, gen_per: list[dict], real_per: list[dict]) -> tuple[float, float, float, float]:
    """(generated min, max, real min, max) of a per-solo metric."""
    g = np.array([d[metric] for d in gen_per], float)
    r = np.array([d[metric] for d in real_per], float)
    return float(np.nanmin(g)), float(np.nanmax(g)), float(np.nanmin(r)), float(np.nanmax(r))


def targets(lik: dict | None, ts: dict, st: dict, spread: dict, tempo: dict) -> list[tuple[str, bool, str]]:
    """The issue's checks, each (what, met, figures)."""
    cmp_ = st["compare"]
    out = []
    acc, floor = ts["generated_vs_real"]["accuracy"], ts["real_vs_real"]["accuracy"]
    out.append(("two-sample accuracy <= 0.80", acc is not None and acc <= 0.80,
                f"{acc:.3f} (real vs real {floor:.3f})"))
    if lik and "model" in lik:
        ppl = lik["model"]["pitch"]["ppl"]
        out.append(("pitch perplexity <= 8.46", ppl <= 8.46, f"{ppl:.2f}"))
        for h, g in lik.get("gain_pct", {}).items():
            out.append((f"{h} >= 10% below best baseline", g >= 10, f"{g:.1f}%"))
    for k, need in (("detached_share", 0.6), ("rest_share", 0.6), ("mean_abs_interval", 0.7)):
        out.append((f"{k} overlap >= {need}", cmp_[k]["overlap"] >= need, f"{cmp_[k]['overlap']:.3f}"))
    gmin, gmax, rmin, rmax = in_range("velocity_sd", st["per_file"], st["real_per_file"])
    g = np.array([d["velocity_sd"] for d in st["per_file"]], float)
    inside = float(np.mean((g >= rmin) & (g <= rmax)))
    gm = cmp_["velocity_sd"]["gen_mean"]
    out.append(("velocity sd within the real range (mean inside, >= 90% of solos inside)",
                rmin <= gm <= rmax and inside >= 0.9,
                f"generated {gm:.1f} ({gmin:.1f}-{gmax:.1f}, {100 * inside:.0f}% inside), real "
                f"{cmp_['velocity_sd']['real_mean']:.1f} ({rmin:.1f}-{rmax:.1f}), overlap "
                f"{cmp_['velocity_sd']['overlap']:.3f}"))
    low = [k for k, r in spread.items() if not r >= 0.5]
    out.append(("per-solo spread >= half the real one", not low,
                f"min ratio {min(spread.values()):.2f}" + (f" (below: {', '.join(low)})" if low else "")))
    c = tempo["corr"]
    bands = [b["gen"] for b in tempo["bands"].values()]
    falls = all(x >= y for x, y in zip(bands, bands[1:])) and c["gen"] < 0
    out.append(("notes per beat fall with tempo", falls, f"corr real {c['real']:+.2f}, generated {c['gen']:+.2f}"))
    return out


def targets_markdown(rows) -> str:
    lines = ["| target | met | measured |", "|---|---|---|"]
    lines += [f"| {what} | {'yes' if ok else 'NO'} | {fig} |" for what, ok, fig in rows]
    return "\n".join(lines) + "\n"


def style_rows(compare: dict) -> str:
    """The style table (metrics.metrics_table_markdown) of the metrics worth a row here."""
    from jazzgen.evaluation import metrics
    return metrics.metrics_table_markdown({k: v for k, v in compare.items()})


# ---------------------------------------------------------------------------- the run

def load(model: str, data: str, cache: str, max_files: int = 0):
    """(train songs, validation songs, stepper) of the model's split over `data`."""
    from jazzgen.evaluation import likelihood as L, report as R
    from jazzgen.generation.takes import load_stepper
    from jazzgen.model import folder
    if not Path(model).is_dir():
        raise L.EvalError(f"no such model folder: {model}")
    cfg = folder.read_config(model, folder.CONFIG_NEEDS)
    if not R._same(data, cfg.data):
        print(f"report: note: --data {data} is not the model's config data {cfg.data}; "
              "its split is taken over --data", file=sys.stderr)
    train, val = L.model_split(cfg, data, cache)
    val = val[: max_files or None]
    if not val:
        raise L.EvalError(f"{data}: the model's split has no validation files")
    return train, val, load_stepper(model)


def mode_section(mode: str, solos: list, train: list, val: list, seconds: float) -> tuple[str, dict]:
    """Markdown and figures of one performer mode: two-sample, style, spread, tempo, targets."""
    from jazzgen.evaluation import report as R
    st = R.style(solos, train, real=val)
    ts = R.two_sample(solos, val, train, val)
    ts["generated_vs_real"]["what"] = f"{len(solos)} generated vs the {len(val)} real validation solos"
    spread_md, spread = spread_table(st["compare"])
    tempo_md, tempo = tempo_table(solos, val)
    what = {"random": "performer drawn at random per solo",
            "own": "the real solo's performer where the model knows them, else random"}[mode]
    md = "\n".join([f"## Generated solos, {mode} performer ({what}; {len(solos)} solos, {seconds:.1f} s)", "",
                    "### Two-sample test", "", R.two_sample_markdown(ts), "",
                    "### Style metrics, generated vs real", "", style_rows(st["compare"]),
                    "### Per-solo spread (sd across solos)", "", spread_md,
                    "### Notes per beat by tempo", "", tempo_md])
    return md, {"style": st, "two_sample": ts, "spread": spread, "tempo": tempo}


def listener_section(solos: list, train: list, val: list, data: str, out: Path, seed: int) -> tuple[str, dict]:
    """Issue 20's listener on the random-performer solos, both renderings, read as played
    (``evaluation.comparison``; ``python scripts/tools/listen.py`` runs the same alone)."""
    from jazzgen.evaluation import comparison as C
    real, train_raw = C.read_all(C.files_of(val, data)), C.read_all(C.files_of(train, data))
    t_index = C.idiom.index(train_raw)
    md, figures = ["## The listener: generated vs real, both read as played (random performer)", ""], {}
    for r in C.RENDERINGS:
        print(f"(c) the listener, {r} rendering", file=sys.stderr)
        gen = C.read_all(C.write_twins(solos, val, out / "listener" / r, r, seed), track=0)
        res = C.score(gen, real, train_raw, t_index, seed=seed)
        md.append(C.markdown(res, {"default": "default rendering (swing from the tempo, trio)",
                                   "plain": "--swing 0 --band none"}[r]))
        figures[r] = {"listener": res["listener"].to_dict(), "formulas": res["formulas"],
                      "real_formulas": res["real_formulas"], "closeness": res["closeness"],
                      "targets": [list(t) for t in res["targets"]]}
    return "\n".join(md), figures


def parse_args(argv=None):
    from jazzgen.commands import cli
    from jazzgen.evaluation import report as R
    from jazzgen.generation import sample
    p = cli.Parser(prog="python scripts/tools/report.py", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=R.DEFAULT_MODEL)
    p.add_argument("--data", default="midi/wjazzd", help="the model's training folder")
    p.add_argument("--out", default="eval/report")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--temperature", type=float, default=sample.Sampling().temperature)
    p.add_argument("--top-p", type=float, default=sample.Sampling().top_p)
    p.add_argument("--min-p", type=float, default=sample.Sampling().min_p)
    p.add_argument("--formulas", type=float, default=sample.Sampling().formulas,
                   help="weight of the formula memory (0: the network alone)")
    p.add_argument("--ngram-max", type=int, default=5)
    p.add_argument("--max-files", type=int, default=0, help="only the first N validation files (smoke tests)")
    p.add_argument("--no-likelihood", action="store_true", help="skip (a)")
    p.add_argument("--cache", default=CACHE)
    return p.parse_args(argv)


def memory_line(lik: dict) -> str:
    """The pitch head as the sampler draws from it: the network with the model's formula memory."""
    m = lik.get("with_formulas")
    if m is None:
        return "The model folder has no formula memory (formulas.npz): the network alone samples."
    best = lik["baselines"]["pitch"][lik["best_baseline"]["pitch"]]["ppl"]
    return (f"With its formula memory, as generate samples (`generation.formulas`, the weights in the model "
            f"folder): pitch perplexity {m['ppl']:.2f} on the same events ({100 * (1 - m['ppl'] / best):.1f}% "
            f"below its best baseline; the network alone {lik['model']['pitch']['ppl']:.2f}).")


def with_formulas(net, toks: list, memory) -> dict | None:
    """Pitch NLL and perplexity of the network mixed with its memory, as the sampler mixes them."""
    import math

    from jazzgen.evaluation import likelihood as L
    if memory is None:
        return None
    nll = L.formula_nll(L.formula_rows(net, toks, memory), memory.weights)
    return {"nll": nll, "ppl": math.exp(nll)}


def likelihood_section(a, train: list, val: list, stepper) -> dict:
    """(a): the model and the baselines on the validation solos, the model as by an unknown player,
    and its pitch head with the formula memory."""
    from jazzgen.data import tokens as T
    from jazzgen.evaluation import likelihood as L
    from jazzgen.model import folder
    vocab = stepper.vocab
    net = folder.load_model(a.model)
    print(f"(a) likelihood: {len(val)} validation files, baselines on {len(train)} training files", file=sys.stderr)
    lik = L.likelihood([T.encode(s, vocab) for s in val], net, [T.encode(s, vocab) for s in train],
                       a.ngram_max, vocab)
    lik["unknown_performer"] = L.score_model(net, [T.encode(replace(s, performer=T.UNKNOWN_PERFORMER), vocab)
                                                  for s in val])
    lik["with_formulas"] = with_formulas(net, [T.encode(s, vocab) for s in val], stepper.formulas)
    return lik


def write_random_report(a, argv, solos: list, train: list, val: list, figures: dict, lik, out: Path) -> None:
    """report.md/json of the random-performer solos, as ``jazzgen.evaluate`` writes them."""
    from jazzgen.evaluation import report as R
    rep = {"command": "python scripts/tools/report.py " + " ".join(sys.argv[1:] if argv is None else argv),
           "data": str(out / "random"), "model": a.model,
           "split": f"one solo per validation file of the model's split, over its changes "
                    f"(seed {a.seed}, temperature {a.temperature}, top-p {a.top_p}, min-p {a.min_p}, "
                    f"random performer)",
           "n_files": len(solos), "files": [s.name for s in solos], "warnings": [],
           "likelihood_on": f"the {len(val)} real validation files", "train_data": a.data,
           "n_train_files": len(train), "compare": "the real validation solos", "n_real_files": len(val),
           "style": figures["style"], "two_sample": figures["two_sample"]}
    if lik is not None:
        rep["likelihood"] = lik
    R.write_report(rep, out, rep["style"]["per_file"], rep["style"]["real_per_file"])


def write_summary(a, train: list, val: list, known: int, lik, sections: list, figures: dict, heard, out: Path) -> str:
    """summary.md and summary.json; returns the markdown."""
    from jazzgen.evaluation import report as R, twosample
    from jazzgen.util import atomic_write
    head = [f"# jazzgen report: `{a.model}` on its {len(val)} validation solos", "",
            f"Sampling: temperature {a.temperature}, top-p {a.top_p}, min-p {a.min_p}, formula memory "
            f"{a.formulas}, seed {a.seed}; "
            f"baselines and novelty on "
            f"{len(train)} training solos; {known} of the {len(val)} validation performers are known to the model.",
            "", "Two-sample features (per 4-bar window): " + ", ".join(_feature_groups(twosample.FEATURES)) + ".", ""]
    if lik is not None:
        head += ["## Likelihood (real validation solos)", "", R.likelihood_markdown(lik), "", R.unknown_line(lik), "",
                 memory_line(lik)]
    checks = {m: targets(lik, figures[m]["two_sample"], figures[m]["style"], figures[m]["spread"],
                         figures[m]["tempo"]) for m in MODES}
    tail = []
    for m in MODES:
        tail += [f"## The issue's targets, {m} performer", "", targets_markdown(checks[m])]
    md = "\n".join(head + sections + [heard[0]] + tail)
    atomic_write(out / "summary.md", lambda f: f.write(md.encode()))
    summary = {m: {"two_sample": figures[m]["two_sample"], "spread": figures[m]["spread"],
                   "tempo": figures[m]["tempo"], "targets": [list(t) for t in checks[m]]} for m in MODES}
    summary["listener"] = heard[1]
    atomic_write(out / "summary.json", lambda f: f.write(json.dumps(R._json_safe(summary), indent=1).encode()))
    return md


def main(argv=None) -> int:
    from jazzgen.errors import JazzgenError
    from jazzgen.generation import sample
    a = parse_args(argv)
    out = Path(a.out)
    t0 = time.time()
    try:
        sampling = sample.Sampling(temperature=a.temperature, top_p=a.top_p, min_p=a.min_p, formulas=a.formulas)
        train, val, stepper = load(a.model, a.data, a.cache, a.max_files)
        lik = None if a.no_likelihood else likelihood_section(a, train, val, stepper)
        known = sum(own_performer(stepper, r) is not None for r in val)
        sections, figures, heard = [], {}, ("", {})
        for mode in MODES:
            print(f"(b) improvising {len(val)} solos, {mode} performer", file=sys.stderr)
            t1 = time.time()
            solos = generate(stepper, val, a.seed, sampling, mode, out / mode)
            md, figures[mode] = mode_section(mode, solos, train, val, time.time() - t1)
            sections.append(md)
            if mode == "random":
                write_random_report(a, argv, solos, train, val, figures[mode], lik, out)
                heard = listener_section(solos, train, val, a.data, out, a.seed)
    except JazzgenError as e:
        print(f"report: error: {e}", file=sys.stderr)
        return 2
    md = write_summary(a, train, val, known, lik, sections, figures, heard, out)
    print(f"wrote {out}/summary.md, report.md, report.json, histograms.png and MIDI in {out}/{{random,own}} "
          f"({time.time() - t0:.0f} s)", file=sys.stderr)
    print(md)
    return 0


def _feature_groups(names) -> list[str]:
    """FEATURES with their histograms folded: interval_-12..12 -> 'interval histogram (25)'."""
    groups: dict[str, int] = {}
    for n in names:
        base = next((g.rstrip("_") for g in ("interval_", "dur_", "onset_sub_", "chord_rel_") if n.startswith(g)), n)
        groups[base] = groups.get(base, 0) + 1
    return [f"{k} histogram ({v})" if v > 1 else k for k, v in groups.items()]


if __name__ == "__main__":
    sys.exit(main())
