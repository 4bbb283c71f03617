"""python -m jazzgen.generate: improvise a solo over chord changes, with a rhythm section.

    python -m jazzgen.generate --seconds 30
    python -m jazzgen.generate --form rhythm-changes --key Bb --bpm 220 --wav
    python -m jazzgen.generate --chords "Dm7 G7 | Cmaj7 | Cmaj7 |" --num 3 --seed 7

Writes MIDI (solo + walking bass, comping piano and drums, chord changes as markers),
and on request a WAV, a piano-roll PNG and a MusicXML lead sheet.  The changes loop
to fill the length; the solo lasts exactly --seconds at --bpm (rounded to the grid)
and ends with every note released.  File names carry the seed and a digest of the
other arguments, so a run never replaces the files of a different one.
"""
from __future__ import annotations

import os
import sys
from dataclasses import replace
from pathlib import Path

from . import cli, paths
from .chart import build_chart
from .chords import FORMS
from .errors import MidiError, UsageError
from .sample import Sampling
from .takes import BANDS, DEFAULT_PROGRAM, TakeConfig, load_stepper, make_takes, write_take

PROG = "jazzgen.generate"


def parser() -> cli.Parser:
    p = cli.Parser(prog="python -m jazzgen.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(paths.SHIPPED_MODEL), help="model folder (default: the shipped models/wjazzd)")
    p.add_argument("--seconds", type=float, default=30.0, help="length of the solo at --bpm (default 30)")
    chart = p.add_mutually_exclusive_group()
    chart.add_argument("--chords", help='changes, bars separated by "|": "Dm7 G7 | Cmaj7 | %%"')
    chart.add_argument("--chart", help="a text file holding such changes")
    chart.add_argument("--form", help=f"a built-in form: {', '.join(FORMS)} (default: blues, or the primer's own changes)")
    p.add_argument("--key", help="transpose the form to this key (e.g. F, Bb, Cm)")
    p.add_argument("--bpm", type=float, help="tempo in quarter notes per minute (default 160, or the primer's)")
    p.add_argument("--swing", type=float, default=0.5, help="0 = straight eighths, 1 = triplet swing (default 0.5)")
    p.add_argument("--instrument", type=int, default=DEFAULT_PROGRAM,
                   help=f"General MIDI program of the solo (default {DEFAULT_PROGRAM}, alto sax)")
    p.add_argument("--temperature", type=float, default=Sampling.temperature)
    p.add_argument("--top-k", type=int, default=Sampling.top_k, help="sample from the k likeliest only (0 = off)")
    p.add_argument("--top-p", type=float, default=Sampling.top_p, help="nucleus sampling mass (1 = off)")
    p.add_argument("--seed", type=int, help="same seed and arguments give byte-identical files")
    p.add_argument("--primer", help="a MIDI file whose melody the solo continues")
    p.add_argument("--num", type=int, default=1, help="how many different solos")
    p.add_argument("--out", default=paths.OUT, help=f"output folder (default {paths.OUT}/)")
    p.add_argument("--band", default="trio", choices=BANDS, help="rhythm section (default trio)")
    p.add_argument("--wav", action="store_true", help="also render audio with a General MIDI SoundFont")
    p.add_argument("--soundfont", help="SoundFont for --wav (default: TimGM6mb from the pretty_midi package)")
    p.add_argument("--png", action="store_true", help="also draw a piano roll")
    p.add_argument("--musicxml", action="store_true", help="also write a MusicXML lead sheet")
    return p


def read_primer(path: str | None):
    if path is None:
        return None
    from .files import regular_file
    from .midi_io import read_midi
    regular_file(path, MidiError, "primer")   # a FIFO would block the reader
    try:
        seq, _ = read_midi(path)
    except MidiError as e:
        raise MidiError(f"primer {path}: {e}") from None
    return replace(seq, name=str(path))        # errors about it name the file


def writable(folder: str) -> Path:
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise UsageError(f"cannot write to {out}: {e.strerror}") from None
    return out


def generate(a) -> list[Path]:
    """Write the requested files; returns their paths. Nothing is left behind on failure."""
    primer = read_primer(a.primer)
    chart = build_chart(chords=a.chords, chart_file=a.chart, form=a.form, key=a.key, bpm=a.bpm, primer=primer)
    cfg = TakeConfig(seconds=a.seconds, sampling=Sampling(a.temperature, a.top_k, a.top_p), seed=a.seed,
                     num=a.num, band=a.band, instrument=a.instrument, swing=a.swing)
    stepper = load_stepper(a.model)
    out = writable(a.out)
    formats = ["mid"] + [f for f in ("wav", "png", "musicxml") if getattr(a, f)]
    written: list[Path] = []
    try:
        for take in make_takes(stepper, chart, cfg, primer):
            written += write_take(take, out, formats, a.soundfont)
    except BaseException:
        for f in written:
            f.unlink(missing_ok=True)
        raise
    return written


def _main(argv) -> int:
    for f in generate(parser().parse_args(argv)):
        print(f)
    return 0


def main(argv=None) -> int:
    return cli.run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
