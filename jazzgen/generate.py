"""python -m jazzgen.generate: improvise a solo over chord changes, with a rhythm section.

    python -m jazzgen.generate --seconds 30
    python -m jazzgen.generate --form rhythm-changes --key Bb --bpm 220 --wav
    python -m jazzgen.generate --chords "Dm7 G7 | Cmaj7 | Cmaj7 |" --num 3 --seed 7

Writes MIDI (solo + walking bass, comping piano and drums, chord changes as markers),
and on request a WAV, a piano-roll PNG and a MusicXML lead sheet.  The changes loop
to fill the length; the solo lasts exactly --seconds at --bpm (rounded to the grid)
and ends with every note released.
"""
from __future__ import annotations

import argparse
import os
import secrets
import sys
from pathlib import Path

DEFAULT_MODEL = Path(__file__).resolve().parents[1] / "models" / "wjazzd"


class GenerateError(Exception):
    """Bad input: printed as one line, exit code 2."""


def parse_args(argv=None) -> argparse.Namespace:
    from .band import BANDS
    p = argparse.ArgumentParser(prog="python -m jazzgen.generate", description=__doc__.split("\n\n")[0])
    p.error = lambda msg: p.exit(2, f"jazzgen.generate: error: {msg}\n")  # one line, no usage dump
    p.add_argument("--model", default=str(DEFAULT_MODEL), help="model folder (default: the shipped models/wjazzd)")
    p.add_argument("--seconds", type=float, default=30.0, help="length of the solo at --bpm (default 30)")
    chart = p.add_mutually_exclusive_group()
    chart.add_argument("--chords", help='changes, bars separated by "|": "Dm7 G7 | Cmaj7 | %%"')
    chart.add_argument("--chart", help="a text file holding such changes")
    chart.add_argument("--form", help="a built-in form: blues, minor-blues, rhythm-changes, ii-v-i, modal "
                                      "(default: blues, or the primer's own changes)")
    p.add_argument("--key", help="transpose the form to this key (e.g. F, Bb, Cm)")
    p.add_argument("--bpm", type=float, help="tempo in quarter notes per minute (default 160, or the primer's)")
    p.add_argument("--swing", type=float, default=0.5, help="0 = straight eighths, 1 = triplet swing (default 0.5)")
    p.add_argument("--instrument", type=int, default=65, help="General MIDI program of the solo (default 65, alto sax)")
    p.add_argument("--temperature", type=float, default=1.0)
    p.add_argument("--top-k", type=int, default=0, help="sample from the k likeliest only (0 = off)")
    p.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (1 = off)")
    p.add_argument("--seed", type=int, help="same seed and arguments give byte-identical files")
    p.add_argument("--primer", help="a MIDI file whose melody the solo continues")
    p.add_argument("--num", type=int, default=1, help="how many different solos")
    p.add_argument("--out", default="out", help="output folder (default out/)")
    p.add_argument("--band", default="trio", choices=BANDS, help="rhythm section (default trio)")
    p.add_argument("--wav", action="store_true", help="also render audio with a General MIDI SoundFont")
    p.add_argument("--soundfont", help="SoundFont for --wav (default: TimGM6mb from the pretty_midi package)")
    p.add_argument("--png", action="store_true", help="also draw a piano roll")
    p.add_argument("--musicxml", action="store_true", help="also write a MusicXML lead sheet")
    a = p.parse_args(argv)
    checks = [(0 < a.seconds <= 3600, "--seconds must be in (0, 3600]"),
              (a.bpm is None or 20 <= a.bpm <= 400, "--bpm must be in [20, 400]"),
              (0 <= a.swing <= 1, "--swing must be in [0, 1]"),
              (0 <= a.instrument <= 127, "--instrument must be a General MIDI program 0..127"),
              (a.temperature > 0, "--temperature must be positive"),
              (a.top_k >= 0, "--top-k must be >= 0"),
              (0 < a.top_p <= 1, "--top-p must be in (0, 1]"),
              (1 <= a.num <= 1000, "--num must be in 1..1000"),
              (a.key is None or a.chords is None and a.chart is None, "--key transposes a --form, not --chords")]
    for ok, msg in checks:
        if not ok:
            p.error(msg)
    return a


def build_chart(a, primer):
    """The changes as a NoteSequence with no notes: chords, 4/4, tempo, looped to length."""
    from .chords import ChordError, form_changes, parse_changes
    from .notes import GRID, ChordChange, NoteSequence, Tempo, TimeSignature
    bpm = a.bpm or (primer.tempos[0].qpm if primer is not None and primer.tempos else 160.0)
    try:
        if a.chords is not None:
            bars = parse_changes(a.chords)
        elif a.chart is not None:
            try:
                bars = parse_changes(Path(a.chart).read_text())
            except OSError as e:
                raise GenerateError(f"cannot read chart {a.chart}: {e.strerror}") from None
        elif primer is not None and primer.chords and a.form is None:
            bars = None
        else:
            bars = form_changes(a.form or "blues", a.key or ("F" if a.form in (None, "blues") else None))
    except ChordError as e:
        raise GenerateError(str(e)) from None
    like = NoteSequence.empty("solo")
    like.tempos = [Tempo(0, float(bpm))]
    like.time_signatures = [TimeSignature(0, 4, 4)]
    steps = max(1, round(a.seconds * bpm / 60.0 * GRID))
    bar = 4 * GRID
    if bars is None:  # loop the primer's own changes, a whole number of bars long
        one, period = list(primer.chords), -(-primer.end // bar) * bar
    else:             # chords within a bar share it equally
        one = [ChordChange(i * bar + j * bar // len(b), s) for i, b in enumerate(bars) for j, s in enumerate(b)]
        period = len(bars) * bar
    chords = [ChordChange(c.step + k * period, c.symbol) for k in range(-(-steps // period)) for c in one]
    like.chords = [c for c in chords if c.step < steps]
    like.end = steps
    return like, steps


def read_primer(path: str | None):
    if path is None:
        return None
    from .midi_io import MidiError, read_midi
    try:
        seq, _ = read_midi(path)
    except MidiError as e:
        raise GenerateError(f"primer {path}: {e}") from None
    return seq


def generate(a) -> list[Path]:
    """Write the requested files; returns their paths. Nothing is left behind on failure."""
    from dataclasses import replace
    from .band import band_parts
    from .render import render_midi, render_musicxml, render_pianoroll, render_wav
    from .sample import ModelError, Stepper, improvise, load_weights

    primer = read_primer(a.primer)
    like, steps = build_chart(a, primer)
    try:
        stepper = Stepper(load_weights(a.model))
    except ModelError as e:
        raise GenerateError(str(e)) from None
    out = Path(a.out)
    try:
        out.mkdir(parents=True, exist_ok=True)
        probe = out / f".probe-{os.getpid()}"
        probe.touch()
        probe.unlink()
    except OSError as e:
        raise GenerateError(f"cannot write to {out}: {e.strerror}") from None
    seed = a.seed if a.seed is not None else secrets.randbelow(2**31)
    solos = improvise(None, like, steps, a.temperature, a.top_k, a.top_p, seed, primer, num=a.num, stepper=stepper)
    solos = solos if isinstance(solos, list) else [solos]
    written: list[Path] = []
    try:
        for k, solo in enumerate(solos):
            stem = out / (f"solo-{seed}" + (f"-{k + 1}" if a.num > 1 else ""))
            solo = replace(solo, name=stem.name)
            parts = band_parts(solo, a.band, seed=seed + k)
            midi = stem.with_suffix(".mid")
            written.append(midi)
            render_midi(midi, solo, parts, program=a.instrument, swing=a.swing)
            if a.wav:
                written.append(stem.with_suffix(".wav"))
                render_wav(written[-1], solo, parts, program=a.instrument, swing=a.swing, soundfont=a.soundfont)
            if a.png:
                written.append(stem.with_suffix(".png"))
                render_pianoroll(written[-1], solo, parts, title=f"{stem.name} ({a.seconds:g} s at {like.tempos[0].qpm:g} bpm)")
            if a.musicxml:
                written.append(stem.with_suffix(".musicxml"))
                render_musicxml(written[-1], solo)
    except BaseException:
        for f in written:
            f.unlink(missing_ok=True)
        raise
    return written


def main(argv=None) -> int:
    a = parse_args(argv)
    try:
        files = generate(a)
    except GenerateError as e:
        print(f"jazzgen.generate: error: {e}", file=sys.stderr)
        return 2
    except (ValueError, OSError) as e:  # e.g. an unreadable SoundFont
        print(f"jazzgen.generate: error: {str(e).splitlines()[0]}", file=sys.stderr)
        return 2
    for f in files:
        print(f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
