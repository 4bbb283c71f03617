"""python -m jazzgen.generate: improvise a solo over chord changes, with a rhythm section.

    python -m jazzgen.generate --seconds 30
    python -m jazzgen.generate --form rhythm-changes --key Bb --bpm 220 --wav
    python -m jazzgen.generate --chords "Dm7 G7 | Cmaj7 | Cmaj7 |" --num 3 --seed 7
    python -m jazzgen.generate --form waltz --bpm 180          # a jazz waltz, in 3/4
    python -m jazzgen.generate --meter 6/8 --chords "Dm7 | G7 | Cmaj7 | %"
    python -m jazzgen.generate --chart jazz1460.html --tune "Blue Bossa"   # iReal Pro playlist
    python -m jazzgen.generate --chart GiantSteps.ls                       # Impro-Visor leadsheet

Writes MIDI (solo + walking bass, comping piano and drums, chord changes as markers),
and on request a WAV, a piano-roll PNG and a MusicXML lead sheet.  The changes loop
to fill the length; the solo lasts exactly --seconds at --bpm (rounded to the grid)
and ends with every note released.  File names carry the seed and a digest of the
other arguments, so a run never replaces the files of a different one.

--chart reads jazzgen's text charts, iReal Pro links, playlists and HTML exports (--tune
picks a tune by title), Impro-Visor leadsheets and MusicXML lead sheets (``music.charts``);
repeats, endings, segno, coda, D.C./D.S. and Fine are played as the chart says.

Meter: --meter N/D, else the --chart file's (a text chart's first line, ``3/4`` or
``meter: 3/4``), else the form's own (the waltz is 3/4), else the primer's, else 4/4; bars,
markers and the band follow it.  Tempo: --bpm, else the chart file's, else the primer's,
else 160.  A --primer opens the solo with its first --primer-bars bars (default:
all of it, or its first 4 bars when it lasts more than half of --seconds), keeping its
tempo map, meter and key; the solo goes on after it.  Its chord markers are the changes
unless --chords/--chart/--form say otherwise; a primer without markers gets those (by
default the F blues), and the command says so on stderr.
"""
from __future__ import annotations

import sys
from dataclasses import replace
from pathlib import Path

from jazzgen import paths
from jazzgen.commands import cli
from jazzgen.errors import FieldError, MidiError, UsageError, in_words
from jazzgen.generation.sample import Sampling
from jazzgen.generation.takes import BANDS, TakeConfig, load_stepper, make_takes, write_take
from jazzgen.music.chart import DEFAULT_FORM, build_chart, check_primer, default_key, fit_primer, primer_end
from jazzgen.music.chords import FORMS
from jazzgen.music.timing import MAX_SWING
from jazzgen.util import check_out_folder

PROG = "jazzgen.generate"


def parser() -> cli.Parser:
    p = cli.Parser(prog="python -m jazzgen.generate", description=__doc__.split("\n\n")[0])
    p.add_argument("--model", default=str(paths.SHIPPED_MODEL),
                   help="model folder (default: the shipped models/wjazzd)")
    p.add_argument("--seconds", type=float, default=TakeConfig.seconds,
                   help=f"length of the solo at --bpm (default {TakeConfig.seconds:g})")
    chart = p.add_mutually_exclusive_group()
    chart.add_argument("--chords", help='changes, bars separated by "|": "Dm7 G7 | Cmaj7 | %%"')
    chart.add_argument("--chart", help="a chart file: such changes as text (its first line may state the meter, "
                       "'3/4' or 'meter: 3/4'), an iReal Pro link, playlist or HTML export (or the irealb:// link "
                       "itself), an Impro-Visor .ls leadsheet, or a MusicXML lead sheet (.musicxml, .xml, .mxl)")
    chart.add_argument("--form", help=f"a built-in form: {', '.join(FORMS)} (default: blues in F, or the primer's "
                       "own changes; a primer without chord markers gets the blues in F)")
    p.add_argument("--tune", metavar="TITLE", help="the tune of a --chart playlist to play, by title (ignoring "
                   "case; a unique part of the title will do)")
    p.add_argument("--key", help="transpose the form to this key (e.g. F, Bb, Cm)")
    p.add_argument("--meter", help="time signature N/D, e.g. 3/4, 6/8, 5/4 (default: the chart file's, the "
                   "form's (waltz: 3/4), the primer's, else 4/4)")
    p.add_argument("--bpm", type=float, help="tempo in quarter notes per minute (default: the chart file's, the "
                   "primer's, else 160)")
    p.add_argument("--swing", type=swing_arg, default=None, metavar="auto|AMOUNT",
                   help=f"auto (default) = from the tempo, as rhythm sections swing (3:1 slow to 1:1 at 300 bpm); "
                        f"0 = straight eighths, 1 = triplet (2:1), up to {MAX_SWING:g} (3:1)")
    p.add_argument("--like", metavar="PERFORMER", help="play like this performer of the model (--like list: who)")
    p.add_argument("--instrument", type=int, default=TakeConfig.instrument,
                   help=f"General MIDI program of the solo (default {TakeConfig.instrument}, alto sax)")
    p.add_argument("--temperature", type=float, default=Sampling.temperature)
    p.add_argument("--top-k", type=int, default=Sampling.top_k, help="sample from the k likeliest only (0 = off)")
    p.add_argument("--top-p", type=float, default=Sampling.top_p, help="nucleus sampling mass (1 = off)")
    p.add_argument("--min-p", type=float, default=Sampling.min_p,
                   help=f"drop notes less likely than this times the likeliest (default {Sampling.min_p:g}; 0 = off)")
    p.add_argument("--formulas", type=float, default=Sampling.formulas,
                   help="weight of the model's formula memory, the lines its training solos played next "
                   f"(default {Sampling.formulas:g}; 0 = the network alone)")
    p.add_argument("--calibration", type=float, default=Sampling.harmony,
                   help="scale of the model's sampling calibration, which brings chord tones and the line's "
                   f"steps and turns to the training solos' shares (default {Sampling.harmony:g}; 0 = off)")
    p.add_argument("--seed", type=int, help="same seed and arguments give byte-identical files")
    p.add_argument("--primer", help="a MIDI file whose melody the solo continues (with its tempo map, meter and "
                   "key; its chord markers, if any, are the changes)")
    p.add_argument("--primer-bars", type=int, metavar="N",
                   help="open with the primer's first N bars (default: all of it, or its first 4 bars "
                        "when it lasts more than half of --seconds)")
    p.add_argument("--num", type=int, default=1, help="how many different solos")
    p.add_argument("--out", default=paths.OUT, help=f"output folder (default {paths.OUT}/)")
    p.add_argument("--band", default=TakeConfig.band, choices=BANDS, help=f"rhythm section (default {TakeConfig.band})")
    p.add_argument("--wav", action="store_true", help="also render audio with a General MIDI SoundFont")
    p.add_argument("--soundfont", help="SoundFont for --wav (default: TimGM6mb from the pretty_midi package)")
    p.add_argument("--png", action="store_true", help="also draw a piano roll")
    p.add_argument("--musicxml", action="store_true", help="also write a MusicXML lead sheet")
    return p


def swing_arg(text: str) -> float | None:
    """--swing: 'auto' (None: from the tempo) or a number."""
    if text.strip().lower() == "auto":
        return None
    try:
        return float(text)
    except ValueError:
        raise UsageError(f"--swing must be auto or a number, not {text!r}") from None


def performer_list(stepper) -> str:
    """The model's performers with their training solo counts, one a line."""
    v = stepper.vocab
    return "\n".join(f"{p}\t{n}" for p, n in zip(v.performers, v.performer_solos)) or "(this model knows no performers)"


def read_primer(path: str | None):
    if path is None:
        return None
    from jazzgen.music.midi_io import read_midi
    from jazzgen.util import regular_file
    regular_file(path, MidiError, "primer")   # a FIFO would block the reader
    try:
        seq, _ = read_midi(path)
    except MidiError as e:
        raise MidiError(f"primer {path}: {e}") from None
    return replace(seq, name=str(path))        # errors about it name the file


def primer_for(primer, a):
    """The primer cut to what the solo continues, with a note on stderr if it was cut by default."""
    check_primer(primer, a.bpm)          # its tempo, meter and length first: a corrupt one is one line
    head, note = fit_primer(primer, a.seconds, a.primer_bars)
    if note:
        print(f"{PROG}: note: {in_words(note, cli.flag)}", file=sys.stderr)
    return head


def note_default_changes(primer, a, chart) -> None:
    """Say so when a primer without chord markers gets the default form's changes."""
    if not primer.chords and a.chords is None and a.chart is None and a.form is None:
        meter = "/".join(map(str, chart.meter))
        key = a.key or default_key(DEFAULT_FORM)
        print(f"{PROG}: note: the primer has no chord markers: improvising over the {DEFAULT_FORM} in {key} "
              f"in {meter} (--form, --chords or --chart to choose the changes)", file=sys.stderr)


def writable(folder: str) -> Path:
    """The output folder, made; a file in the way or no write permission is one line first."""
    check_out_folder(folder, "out")
    out = Path(folder)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise UsageError(f"--out {out}: cannot write to it ({e.strerror or e})") from None
    return out


def sampling_of(a) -> Sampling:
    """The flags' Sampling (--calibration scales both of its tables, and is named for either)."""
    try:
        return Sampling(a.temperature, a.top_k, a.top_p, a.min_p, a.formulas, harmony=a.calibration,
                        line=a.calibration)
    except FieldError as e:
        raise FieldError("calibration", e.problem) if e.field in ("harmony", "line") else e from None


def generate(a) -> list[Path]:
    """Write the requested files; returns their paths. Nothing is left behind on failure."""
    primer = read_primer(a.primer)
    if a.primer_bars is not None and primer is None:
        raise UsageError("--primer-bars needs a --primer")
    head = primer_for(primer, a) if primer is not None else None
    chart = build_chart(chords=a.chords, chart_file=a.chart, form=a.form, key=a.key, bpm=a.bpm, primer=primer,
                        meter=a.meter, primer_until=None if head is None else primer_end(head),
                        tune=a.tune)
    if primer is not None:
        note_default_changes(primer, a, chart)
        primer = head
    sampling = sampling_of(a)
    cfg = TakeConfig(seconds=a.seconds, sampling=sampling,
                     seed=a.seed, num=a.num, band=a.band, instrument=a.instrument, swing=a.swing, like=a.like)
    stepper = load_stepper(a.model)
    if a.like is not None:
        stepper.vocab.find_performer(a.like)          # an unknown name fails before any file is written
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
    a = parser().parse_args(argv)
    if a.like is not None and a.like.strip().lower() == "list":
        print(performer_list(load_stepper(a.model)))
        return 0
    for f in generate(a):
        print(f)
    return 0


def main(argv=None) -> int:
    return cli.run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
