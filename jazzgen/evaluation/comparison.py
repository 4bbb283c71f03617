"""Issue 20's comparison: each real validation solo beside a generated twin, both read as played.

The twin is improvised over the real solo's own chord changes, meter and tempo map, as
long as it, by a performer drawn at random (``improvise_twins``), and written as
jazzgen writes takes (``write_twins``) in one of two renderings:

- ``default``: what ``generate`` and the page write: swing from the tempo
  (``timing.swing_at_tempo``) and the trio behind the solo;
- ``plain``: ``--swing 0 --band none``, as the issue measured.

Both sets are then read by the listener's reader (the twin's solo track only), so
every figure here compares real files as they are with the files a user gets.
``score`` runs the listener, the idiom measures and the issue's targets on them.
"""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from jazzgen.evaluation import idiom, listener
from jazzgen.music.performed import PerformedSolo, read_performed

RENDERINGS = ("default", "plain")
TARGETS = {"trees": 0.70, "linear": 0.65, "formula_use": 0.10, "copied": 0.01, "chord_tone_gap": 0.03,
           "detached_overlap": 0.8, "sounding_overlap": 0.8}


def solo_seed(seed: int, i: int) -> int:
    """A well-mixed seed for solo i: runs with seeds 0 and 1 share no solo."""
    return int(np.random.SeedSequence([seed, i]).generate_state(1)[0])


def improvise_twins(stepper, reals: list, seed: int, sampling, performers: list | None = None) -> list:
    """One solo per real one, over its changes, at its tempo map and length (solo i: seed (seed, i))."""
    from jazzgen.generation import sample
    out = []
    for i, like in enumerate(reals):
        who = performers[i] if performers else None
        [solo] = sample.improvise(stepper, like, sampling=sampling, seed=solo_seed(seed, i), performer=who)
        out.append(solo)
    return out


def write_twins(solos: list, reals: list, folder: Path, rendering: str, seed: int = 0) -> list[Path]:
    """Each solo as a MIDI file named after its real twin, rendered as `rendering` says."""
    from jazzgen.data.tokens import solo_bpm
    from jazzgen.generation.band import band_parts
    from jazzgen.generation.render import SOLO_PROGRAM
    from jazzgen.music.midi_io import write_midi
    from jazzgen.music.timing import swing_at_tempo, swing_for
    if rendering not in RENDERINGS:
        raise ValueError(f"rendering must be one of {', '.join(RENDERINGS)}")
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, (solo, like) in enumerate(zip(solos, reals)):
        path = folder / f"{like.name}.mid"
        if rendering == "plain":
            write_midi(path, solo, [], program=SOLO_PROGRAM, swing=0.0)
        else:
            parts = band_parts(solo, "trio", seed=solo_seed(seed, i))
            write_midi(path, solo, parts, program=SOLO_PROGRAM, swing=swing_for(solo, swing_at_tempo(solo_bpm(like))))
        paths.append(path)
    return paths


def files_of(songs: list, folder: str | Path) -> list[Path]:
    """The MIDI file each corpus song was read from (by file stem, under `folder`)."""
    from jazzgen.data.corpus import find_midi
    by_stem: dict[str, Path] = {}
    for f in find_midi(folder):
        by_stem.setdefault(f.stem, f)
    missing = [s.name for s in songs if s.name not in by_stem]
    if missing:
        raise FileNotFoundError(f"{folder}: no MIDI file for {missing[0]} (and {len(missing) - 1} more)")
    return [by_stem[s.name] for s in songs]


def read_all(paths: list[Path], track=None) -> list[PerformedSolo]:
    return [read_performed(p, track=track) for p in paths]


def score(generated: list[PerformedSolo], real: list[PerformedSolo], train: list[PerformedSolo],
          train_index: tuple[set, set] | None = None, importance: bool = True, seed: int = 0,
          paired: bool = True) -> dict:
    """Listener (with its floor: the real solos against as many training solos), idiom measures, targets.
    `paired`: generated[i] is real[i]'s twin (``improvise_twins``), kept with it in one fold."""
    t_index = train_index if train_index is not None else idiom.index(train)
    heard = listener.listen(generated, real, floor=(train[:len(real)], real), importance=importance, seed=seed,
                            paired=paired)
    out = {"listener": heard, "formulas": idiom.formulas(generated, t_index),
           "real_formulas": idiom.formulas(real, t_index), "closeness": idiom.closeness(generated, real)}
    out["targets"] = targets(out)
    return out


def targets(res: dict) -> list[tuple[str, bool, str]]:
    """Issue 20's "done when" checks on one comparison: (what, met, figures)."""
    v, f, c = res["listener"].verdicts, res["formulas"], res["closeness"]
    rows = [(f"{k} two-sample accuracy <= {TARGETS[k]:.2f}", v[k].accuracy <= TARGETS[k],
             f"{v[k].accuracy:.3f} (AUC {v[k].auc:.3f}; real vs real {res['listener'].floor[k].accuracy:.3f})")
            for k in ("trees", "linear") if k in v]
    rows.append((f"formula use >= {TARGETS['formula_use']:.0%}", f["formula_use"] >= TARGETS["formula_use"],
                 f"{f['formula_use']:.1%} (real {res['real_formulas']['formula_use']:.1%}); longest shared run "
                 f"{f['longest_shared_run']:.1f} notes (real {res['real_formulas']['longest_shared_run']:.1f})"))
    rows.append((f"8-note (interval, duration) windows copied <= {TARGETS['copied']:.0%}",
                 f["copied"] <= TARGETS["copied"], f"{f['copied']:.2%} (real {res['real_formulas']['copied']:.2%})"))
    gap = abs(c["chord_tone_generated"] - c["chord_tone_real"])
    rows.append((f"chord-tone rate within {TARGETS['chord_tone_gap']} of real", gap <= TARGETS["chord_tone_gap"],
                 f"{c['chord_tone_generated']:.3f} (real {c['chord_tone_real']:.3f})"))
    rows.append((f"detached share overlap >= {TARGETS['detached_overlap']}",
                 c["detached_overlap"] >= TARGETS["detached_overlap"],
                 f"{c['detached_overlap']:.3f} (mean {c['detached_generated']:.3f}, real {c['detached_real']:.3f})"))
    rows.append((f"sounding-length histogram overlap >= {TARGETS['sounding_overlap']}",
                 c["sounding_overlap"] >= TARGETS["sounding_overlap"], f"{c['sounding_overlap']:.3f}"))
    return rows


def markdown(res: dict, title: str) -> str:
    lines = [f"### {title}", "", listener.markdown(res["listener"]),
             "| target | met | measured |", "|---|---|---|"]
    lines += [f"| {what} | {'yes' if ok else 'NO'} | {fig} |" for what, ok, fig in res["targets"]]
    by = res["closeness"]["chord_tone_by_position"]
    lines += ["", "| chord-tone rate where the note starts | generated | real |", "|---|---|---|"]
    lines += [f"| {where} | {by['generated'][where]:.3f} | {by['real'][where]:.3f} |" for where in idiom.POSITIONS]
    return "\n".join(lines) + "\n"


def log(*a) -> None:
    print(*a, file=sys.stderr, flush=True)
