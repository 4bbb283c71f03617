"""Score a model folder (or folders of MIDI) against issue 20's targets, with the listener.

``model_sets``: one solo per validation file of the model's split, over that file's own
changes, tempo map and length, a performer drawn at random each (solo i: seed (seed, i)),
written as MIDI under ``out/<rendering>/`` (``comparison.RENDERINGS``), then read back,
solo track only, by the listener's reader, as the real files are.  ``folder_sets``: three
folders of MIDI as they are.  ``listen`` runs the two-sample tests with their real-vs-real
floor, what separates most, formula use, copies, chord-tone rate, detached share and
sounding-length overlaps and the targets on each set (``issue_rows``: the issue's own feature
sets beside them).  ``scripts/tools/listen.py`` is the command line over it.
"""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from jazzgen.evaluation import comparison as C


def model_sets(model, data, cache, sampling, out, renderings=C.RENDERINGS, seed: int = 0, max_files: int = 0,
               nuance: bool = True, grid_real: bool = False, log=C.log) -> tuple[dict, list, list]:
    """(generated solos per rendering, real validation solos, training solos), read as played.

    nuance=False plays the notes on the grid (the model's nuance tables unused); grid_real
    scores the real validation solos as jazzgen's grid reading holds them in place of
    improvised ones (the decoding's upper bound: what a perfect model would leave)."""
    from jazzgen.data.nuance import perform
    from jazzgen.evaluation.likelihood import model_split
    from jazzgen.generation.takes import load_stepper
    from jazzgen.model.folder import CONFIG_NEEDS, read_config
    train, val = model_split(read_config(model, CONFIG_NEEDS), data, cache)
    val = val[: max_files or None]
    stepper = load_stepper(model)
    if not nuance:
        stepper.nuance = None
    t0 = time.time()
    if grid_real:
        solos = [s if stepper.nuance is None else
                 perform(s, stepper.nuance, stepper.vocab, np.random.default_rng(C.solo_seed(seed, i)))
                 for i, s in enumerate(val)]
    else:
        solos = C.improvise_twins(stepper, val, seed, sampling)
    log(f"{'the real solos on the grid' if grid_real else 'improvised'}: {len(solos)} in {time.time() - t0:.1f} s "
        f"({'with' if stepper.nuance is not None else 'without'} nuance tables)")
    gen = {r: C.read_all(C.write_twins(solos, val, Path(out) / r, r, seed), track=0) for r in renderings}
    return gen, C.read_all(C.files_of(val, data)), C.read_all(C.files_of(train, data))


def folder_sets(generated, real, train=None, track=0) -> tuple[dict, list, list]:
    """(the generated folder's solos as one set, the real ones, the training ones) read as played."""
    from jazzgen.data.corpus import find_midi
    gen = C.read_all(find_midi(generated), track=track)
    return {"folder": gen}, C.read_all(find_midi(real)), C.read_all(find_midi(train)) if train else []


def issue_rows(gen, real, paired: bool) -> list[str]:
    """Markdown rows of the issue's own feature sets: its linear and tree features, the line alone."""
    from jazzgen.evaluation import listener as L, listener_features as F
    w = L.Windows.of(real, gen, paired)
    rows = ["| feature set (the issue's) | classifier | accuracy | AUC |", "|---|---|---|---|"]
    for name, sel, clf in (("issue's linear features", F.ISSUE_LINEAR, "linear"),
                           ("issue's tree features", F.ISSUE_TREES, "trees"), ("the line alone", F.LINE_ONLY, "trees")):
        v = L.judge(w, L.CLASSIFIERS[clf], sel)
        rows.append(f"| {name} | {clf} | {v.accuracy:.3f} | {v.auc:.3f} |")
    return rows


def listen(gen: dict, real: list, train: list, title: str, seed: int = 0, paired: bool = True,
           issue_features: bool = False) -> tuple[str, dict]:
    """(the markdown report, its figures per set) of each generated set against the real solos.

    paired: each generated solo is the twin of the real one at its place (``model_sets``),
    kept in one fold with it."""
    t_index = C.idiom.index(train)
    summary, md = {}, [f"# The listener on `{title}` ({len(real)} real solos)", ""]
    for name, g in gen.items():
        res = C.score(g, real, train, t_index, seed=seed, paired=paired)
        md.append(C.markdown(res, f"{name} rendering" if paired else title))
        if issue_features:
            md += issue_rows(g, real, paired=paired) + [""]
        summary[name] = {k: (v.to_dict() if hasattr(v, "to_dict") else v) for k, v in res.items()}
    return "\n".join(md), summary
