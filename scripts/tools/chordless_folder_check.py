"""Does a folder of band arrangements without chord symbols train a model that hears the changes?

Before chords were inferred from the accompaniment, such a folder trained a chord-blind
model (chord-tone rate about chance).  This script checks, in one run:

1. it writes a folder of band arrangements without chord symbols: for each of N bundled
   WJazzD solos a type-1 MIDI with the solo as a track named "Sax" (not "Melody": the
   reader must pick it by its own rules) and jazzgen's trio (piano, bass, drums) made
   from the solo's chord markers, which are then left out of the file (checked with mido:
   no marker or text events); and, for comparison, the old chord-blind situation: the
   same solos alone, no band, no markers (so both models see the same notes);
2. it ingests the band folder (``corpus.load_corpus``) and reports where the chords came
   from, the share of notes under an inferred chord and the per-beat root accuracy of the
   inferred chords against the original markers;
3. it trains the same small model on each folder (``train.train``);
4. it improvises K solos per sampling seed with each model, and with the shipped model, over typed changes
   (blues in F, rhythm changes in Bb, the ii-V-I form) and prints each solo's chord-tone
   rate (``metrics.chord_tone_rates``) with the chance level (random notes: the share of
   the 12 pitch classes that are the chord's, averaged over the chart's time).

    python scripts/tools/chordless_folder_check.py [--n 150] [--epochs 10] [--layers 1] [--units 128]
        [--k 16] [--seeds 3] [--seconds 30] [--top-p P] [--min-p P] [--work DIR] [--markers] [--reuse]
        (--markers: also a model on the markers; --reuse: the models in --work DIR, untrained again)

The defaults fit a shared 2-core CPU: writing and reading the folders takes about a minute,
each small model about 100 s (10 epochs over 150 solos), five minutes in all.
"""
from __future__ import annotations

import argparse
import contextlib
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np

from jazzgen.evaluation.chord_accuracy import root_accuracy, symbol_events, write_arrangement
from jazzgen.music.chords import parse_chord
from jazzgen.music.midi_io import read_midi, write_midi
from jazzgen.music.notes import NoteSequence

ROOT = Path(__file__).resolve().parents[2]

WJAZZD = ROOT / "midi" / "wjazzd"
SHIPPED = ROOT / "models" / "wjazzd"
CHARTS = (("blues in F", {"form": "blues", "key": "F"}),
          ("rhythm changes in Bb", {"form": "rhythm-changes", "key": "Bb"}),
          ("ii-V-I (form ii-v-i, C)", {"form": "ii-v-i"}))


# ---------------------------------------------------------------------------- the folders

def pick_solos(n: int, data: Path = WJAZZD) -> list[Path]:
    """n solos spread evenly over the sorted folder (many players, not the first few)."""
    files = sorted(data.glob("*.mid"))
    if n >= len(files):
        return files
    return [files[i] for i in np.linspace(0, len(files) - 1, n).round().astype(int)]


def write_folders(files: list[Path], work: Path) -> tuple[Path, Path, Path, dict[str, NoteSequence]]:
    """(band folder, melody-only folder, markers folder, original sequences by name)."""
    band, blind, marked = work / "band", work / "blind", work / "markers"
    for d in (band, blind, marked):
        d.mkdir(parents=True, exist_ok=True)
    originals = {}
    for i, f in enumerate(files):
        seq, _ = read_midi(f)
        originals[seq.name] = seq
        write_arrangement(band / f.name, seq, "trio", seed=i)
        write_arrangement(blind / f.name, seq, "none")
        write_midi(marked / f.name, seq)                 # the original situation, for --markers
    return band, blind, marked, originals


# ---------------------------------------------------------------------------- reading them back


def ingest(folder: Path, cache: Path):
    from jazzgen.data.corpus import load_corpus
    corpus = load_corpus(folder, cache, progress=False)
    sources = Counter(r.chord_source for r in corpus.reports if r.kept)
    tracks = Counter(f"{r.track} ({r.track_reason})" for r in corpus.reports if r.kept)
    return corpus, sources, tracks


# ---------------------------------------------------------------------------- training and playing

def train_small(name: str, folder: Path, work: Path, args) -> tuple[Path, dict, float | None]:
    """The same small model on `folder`; training's own lines go to work/NAME.log."""
    from jazzgen.model.spec import ModelConfig
    from jazzgen.model.training import TrainConfig, train
    cfg = TrainConfig(data=str(folder), out=str(work / "models"), name=name, cache=str(work / "cache"),
                      epochs=args.epochs, model=ModelConfig(layers=args.layers, units=args.units), max_songs=args.n,
                      patience=args.epochs, seed=args.seed)
    t = time.perf_counter()
    if args.reuse and (cfg.model_dir / "state.json").exists():
        import json
        return cfg.model_dir, json.loads((cfg.model_dir / "state.json").read_text()), None
    with open(work / f"{name}.log", "w") as log, contextlib.redirect_stdout(log):
        state = train(cfg, progress=False)
    return cfg.model_dir, state, time.perf_counter() - t


def chance_level(chart) -> float:
    """Chord-tone rate of random notes: |chord pcs| / 12, weighted by each chord's time."""
    steps = [c.step for c in chart.changes] + [chart.chorus]
    share = [len(parse_chord(c.symbol).pcs) / 12 for c in chart.changes]
    return float(np.average(share, weights=np.diff(steps)))


def rates(model_dir: Path, chart, k: int, seconds: float, seed: int, sampling=None) -> list[float]:
    from jazzgen.evaluation.metrics import chord_tone_rates
    from jazzgen.generation.sample import Sampling
    from jazzgen.generation.takes import TakeConfig, load_stepper, make_takes
    cfg = TakeConfig(seconds=seconds, seed=seed, num=k, band="none", sampling=sampling or Sampling())
    takes = make_takes(load_stepper(model_dir), chart, cfg)
    return [chord_tone_rates(t.solo)[0] for t in takes]


# ---------------------------------------------------------------------------- the run

def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=150, help="WJazzD solos in the folder")
    ap.add_argument("--epochs", type=int, default=10)
    ap.add_argument("--layers", type=int, default=1)
    ap.add_argument("--units", type=int, default=128)
    ap.add_argument("--k", type=int, default=16, help="solos per chart, model and seed")
    ap.add_argument("--seeds", type=int, default=3, help="sampling seeds (the spread between them is the noise)")
    ap.add_argument("--seconds", type=float, default=30.0)
    ap.add_argument("--top-p", type=float, help="sampling top-p (default: generate's); the issue's 0.53 for the "
                    "shipped model was measured with top-p 0.95 and no min-p")
    ap.add_argument("--min-p", type=float, help="sampling min-p (default: generate's)")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--work", help="folder for the MIDI, cache and models (default: a temporary one)")
    ap.add_argument("--markers", action="store_true", help="also train the small model on the original markers")
    ap.add_argument("--reuse", action="store_true",
                    help="use the models a run left in --work DIR instead of training them again")
    return ap.parse_args(argv)


def report_folders(files, band, blind, originals, work) -> None:
    leaks = [(f.name, e) for d in (band, blind) for f in sorted(d.glob("*.mid")) for e in symbol_events(f)[:1]]
    print(f"wrote {len(files)} band arrangements ({band}) and {len(files)} melody-only files ({blind}); "
          f"marker/text events in them (mido): {len(leaks)}" + (f", e.g. {leaks[0]}" if leaks else ""))
    if leaks:
        raise SystemExit("a chordless file has symbol events")
    corpus, sources, tracks = ingest(band, work / "cache")
    notes = sum(r.notes for r in corpus.reports if r.kept)
    covered = sum(r.notes * r.chord_coverage for r in corpus.reports if r.kept and r.chord_source == "inferred")
    n, hits = root_accuracy(corpus.songs, originals)
    print(f"band folder: {len(corpus.songs)} kept, {len(corpus.dropped)} dropped; chord source "
          + ", ".join(f"{k} {v}" for k, v in sources.most_common()) + "; melody "
          + ", ".join(f"{k} x{v}" for k, v in tracks.most_common()))
    print(f"notes under an inferred chord: {covered / max(notes, 1):.1%} of {notes}; "
          f"root accuracy of the inferred chords per beat: {hits / max(n, 1):.1%} "
          f"({hits}/{n} beats with a marker chord)")
    bcorpus, bsources, _ = ingest(blind, work / "cache")
    same = all(np.array_equal(a.pitch, b.pitch) and np.array_equal(a.start, b.start)
               for a, b in zip(sorted(corpus.songs, key=lambda s: s.name), sorted(bcorpus.songs, key=lambda s: s.name)))
    print(f"melody-only folder: {len(bcorpus.songs)} kept; chord source "
          + ", ".join(f"{k} {v}" for k, v in bsources.most_common())
          + "; same notes as the band folder's melodies: "
          + ("yes" if same and len(bcorpus.songs) == len(corpus.songs) else "NO"))


def main(argv=None) -> int:
    args = parse_args(argv)
    from jazzgen.music.chart import build_chart
    with contextlib.ExitStack() as stack:
        work = Path(args.work) if args.work else Path(stack.enter_context(tempfile.TemporaryDirectory()))
        work.mkdir(parents=True, exist_ok=True)
        t0 = time.perf_counter()
        files = pick_solos(args.n)
        band, blind, marked, originals = write_folders(files, work)
        report_folders(files, band, blind, originals, work)
        print(f"(folders written and read in {time.perf_counter() - t0:.1f} s)")
        models = {}
        runs = [("band, chords inferred", "band", band), ("melody only, chord-blind", "blind", blind)]
        if args.markers:
            runs.append(("melody with its markers", "markers", marked))
        for label, name, folder in runs:
            d, state, sec = train_small(name, folder, work, args)
            b = state["best"]
            took = "reused from --work" if sec is None else f"in {sec:.0f} s"
            print(f"trained {label}: {args.layers} x {args.units} LSTM, {state['epoch'] + 1} epochs {took}; "
                  f"best validation pitch ppl {b['val_pitch_ppl']:.2f}, dur ppl {b['val_dur_ppl']:.2f}")
            models[label] = d
        models["shipped model (WJazzD markers)"] = SHIPPED
        charts = [(label, build_chart(**kw)) for label, kw in CHARTS]
        table = {m: [] for m in models}
        chance = []
        seeds = range(args.seed, args.seed + args.seeds)
        from jazzgen.generation.sample import Sampling
        sampling = Sampling(**{k: v for k, v in (("top_p", args.top_p), ("min_p", args.min_p)) if v is not None})
        print(f"sampling: {sampling}")
        for label, chart in charts:
            chance.append(chance_level(chart))
            print(f"{label}: chance {chance[-1]:.3f}")
            for m, d in models.items():
                r = [rates(d, chart, args.k, args.seconds, s, sampling) for s in seeds]
                table[m].append([np.mean(x) for x in r])
                print(f"  {m:32s} mean over {args.k} solos, per seed: " + " ".join(f"{np.mean(x):.3f}" for x in r)
                      + f"   all {np.mean(r):.3f}")
        print(f"settings: N={len(files)} solos, {args.layers} x {args.units} LSTM, {args.epochs} epochs, "
              f"K={args.k} solos of {args.seconds:g} s per chart and seed, seeds {seeds.start}-{seeds.stop - 1}; "
              f"total {time.perf_counter() - t0:.0f} s")
        per_seed = {m: np.mean(v, axis=0) for m, v in table.items()}     # (seeds,): mean over the charts
        means = {m: float(v.mean()) for m, v in per_seed.items()}
        band_rate = means["band, chords inferred"]
        print("per seed (all charts): "
              + "; ".join(f"{m} " + " ".join(f"{x:.3f}" for x in v) for m, v in per_seed.items()))
        print("summary: chord-tone rate over typed changes: "
              + ", ".join(f"{m} {v:.3f}" for m, v in means.items())
              + f", chance {np.mean(chance):.3f}; aim >= 0.50 for the band-trained model: "
              + ("met" if band_rate >= 0.50 else "not met"))
        shipped, base = means["shipped model (WJazzD markers)"], float(np.mean(chance))
        print(f"the band-trained model plays {(band_rate - base) / (shipped - base):.0%} of the shipped model's "
              f"margin over chance (the issue's aim, 0.50 against the shipped model's 0.53: "
              f"{(0.50 - base) / (0.53 - base):.0%})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
