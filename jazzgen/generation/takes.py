"""The one generator: a chart in, takes out (a solo with its band), and their files.

The ``generate`` command and the web page both call ``make_takes`` and
``write_take``, so a take made from the page is the same file the command writes.
"""
from __future__ import annotations

import hashlib
import json
import secrets
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from jazzgen.errors import FieldError, JazzgenError, UsageError
from jazzgen.generation import render
from jazzgen.generation.band import BANDS, band_parts
from jazzgen.generation.render import SOLO_PROGRAM
from jazzgen.generation.sample import Sampling, Stepper, improvise, load_stepper  # noqa: F401 (the commands')
from jazzgen.music.chart import MAX_SOLO_SECONDS, Chart, timeline_with_primer
from jazzgen.music.midi_io import Part, write_midi
from jazzgen.music.notes import NoteSequence
from jazzgen.music.timing import MAX_SWING, swing_at_tempo, swing_for
from jazzgen.util import os_error

FORMATS = ("mid", "wav", "png", "musicxml", "svg")


@dataclass(frozen=True)
class TakeConfig:
    """Everything about a take that is not the chart: length, sampling, band, sound."""
    seconds: float = 30.0
    sampling: Sampling = field(default_factory=Sampling)
    seed: int | None = None      # None: a fresh random seed (written into the take's name)
    num: int = 1
    band: str = "trio"
    instrument: int = SOLO_PROGRAM
    swing: float | None = None   # None: auto, from the chart's tempo (timing.swing_at_tempo)
    like: str | None = None      # performer to play like (Vocab.find_performer); None: one at random

    def __post_init__(self):
        checks = [(0 < self.seconds <= MAX_SOLO_SECONDS, "seconds", f"must be in (0, {MAX_SOLO_SECONDS:g}]"),
                  (self.swing is None or 0 <= self.swing <= MAX_SWING, "swing",
                   f"must be auto or in [0, {MAX_SWING:g}]"),
                  (0 <= self.instrument <= 127, "instrument", "must be a General MIDI program 0..127"),
                  (1 <= self.num <= 1000, "num", "must be in 1..1000"),
                  (self.seed is None or 0 <= self.seed < 2**63, "seed", "must be in 0..2^63-1"),
                  (self.band in BANDS, "band", f"must be one of {', '.join(BANDS)}")]
        for ok, name, problem in checks:
            if not ok:
                raise FieldError(name, problem)


@dataclass
class Take:
    """One generated solo with its rhythm section, ready to be written."""
    name: str                    # file stem: solo-<seed>-<digest of chart and config>[-k]
    solo: NoteSequence
    parts: list[Part]
    chart: Chart
    config: TakeConfig


def digest(chart: Chart, cfg: TakeConfig, primer: NoteSequence | None) -> str:
    """Six hex digits that change whenever the music asked for changes: names never collide."""
    what = {"chart": [chart.changes, chart.chorus, chart.bpm, chart.meter] + ([chart.meters] if chart.meters else []),
            "config": {k: v for k, v in asdict(cfg).items() if k not in ("seed", "num")},
            "primer": None if primer is None else [primer.pitch.tolist(), primer.start.tolist(),
                                                   primer.duration.tolist()]}
    return hashlib.sha256(json.dumps(what, sort_keys=True).encode()).hexdigest()[:6]


def make_takes(stepper: Stepper, chart: Chart, cfg: TakeConfig, primer: NoteSequence | None = None) -> list[Take]:
    """cfg.num takes over the chart, each exactly cfg.seconds long at the chart's tempo.

    With a primer (already cut by ``chart.fit_primer``), the take opens with it, in its
    own tempo map, meter and key, and goes on in the chart's (``timeline_with_primer``).
    Each take's config holds the swing it is played with (auto resolved at the chart's tempo).
    """
    seed = cfg.seed if cfg.seed is not None else secrets.randbelow(2**31)
    cfg = replace(cfg, seed=seed, swing=swing_at_tempo(chart.bpm) if cfg.swing is None else cfg.swing)
    stem = f"solo-{seed}-{digest(chart, cfg, primer)}"
    if primer is not None:
        timeline = timeline_with_primer(chart, cfg.seconds, primer, name=stem)
    else:
        timeline = chart.timeline(chart.steps(cfg.seconds), name=stem)
    solos = improvise(stepper, timeline, sampling=cfg.sampling, seed=seed, primer=primer, num=cfg.num,
                      performer=cfg.like)
    takes = []
    for k, solo in enumerate(solos):
        name = stem + (f"-{k + 1}" if cfg.num > 1 else "")
        takes.append(Take(name, replace(solo, name=name), band_parts(solo, cfg.band, seed=seed + k), chart, cfg))
    return takes


def write_take(take: Take, folder: str | Path, formats=("mid",), soundfont: str | Path | None = None) -> list[Path]:
    """The take's files in `folder` (made if need be), one per format; on any failure none is left behind."""
    unknown = set(formats) - set(FORMATS)
    if unknown:
        raise UsageError(f"unknown output format(s) {', '.join(sorted(unknown))}; known: {', '.join(FORMATS)}")
    stem = Path(folder) / take.name
    cfg, written = take.config, []
    swing = swing_for(take.solo, cfg.swing)      # no swing where it would bend a 6/8 beat
    try:
        stem.parent.mkdir(parents=True, exist_ok=True)
        for fmt in FORMATS:
            if fmt not in formats:
                continue
            path = stem.with_suffix("." + fmt)
            written.append(path)
            if fmt == "mid":
                write_midi(path, take.solo, take.parts, program=cfg.instrument, swing=swing)
            elif fmt == "wav":
                render.render_wav(path, take.solo, take.parts, program=cfg.instrument, swing=swing,
                                  soundfont=soundfont)
            elif fmt == "png":
                render.render_pianoroll(path, take.solo, take.parts,
                                        title=f"{take.name} ({cfg.seconds:g} s at {take.chart.bpm:g} bpm)")
            elif fmt == "musicxml":
                render.render_musicxml(path, take.solo, program=cfg.instrument)
            else:
                render.render_notation(path, take.solo, program=cfg.instrument)
    except BaseException as e:
        for f in written:
            try:
                f.unlink(missing_ok=True)
            except OSError:            # a name too long, a folder gone read-only: nothing was written there
                pass
        where = written[-1] if written else stem
        if isinstance(e, OSError):
            raise UsageError(os_error(e) if e.filename else f"cannot write {where}: {os_error(e)}") from None
        if isinstance(e, ValueError) and not isinstance(e, JazzgenError):
            raise UsageError(f"cannot write {where}: {str(e).splitlines()[0]}") from None
        raise
    return written
