"""Do jazzgen's lead sheets open in notation programs?  Three checks of a take's MusicXML.

1. it validates against the W3C MusicXML 4.0 schema (``schema``: the XSD kept in a checkout's
   tests/data/musicxml/, read by lxml);
2. music21 parses it, and its notes (ties joined) are the written notes, pitch and onset,
   one for one, in as many bars as the take has, with every chord symbol (``reread_errors``);
3. each written onset is within a third of a beat of where the note is played (a swung
   eighth played on the last triplet is written on the off-beat; nothing moves further;
   ``moved_errors``).

``check`` runs all three on takes with random settings, as the page makes them;
``scripts/tools/check_musicxml.py`` is its command line.  lxml and music21 are development
requirements (requirements-dev.txt), imported only here.
"""
from __future__ import annotations

import time
from fractions import Fraction
from pathlib import Path

import numpy as np

from jazzgen.paths import MUSICXML_XSD

CHARTS = (("3/4", "Dm7 | G7 | Cmaj7 | A7 |"), ("5/4", "Ebm7 | Bbm7 |"), ("6/8", "Fmaj7 | Em7b5 A7 | Dm7 | G7 |"),
          ("4/4", "Dm7 G7 | Cmaj7 | C7alt | Fm(maj7) | Eb6/9 | N.C. | F#m7b5 B7 | Bb7/Ab |"))


def schema(path: str | Path = MUSICXML_XSD):
    """The MusicXML XSD, its imports of xml.xsd and xlink.xsd pointed at the copies beside it."""
    from lxml import etree
    path = Path(path)
    doc = etree.parse(str(path))
    for imp in doc.getroot().findall("{http://www.w3.org/2001/XMLSchema}import"):
        imp.set("schemaLocation", str(path.parent / imp.get("schemaLocation").rsplit("/", 1)[1]))
    return etree.XMLSchema(doc)


def schema_errors(xsd, data: bytes) -> list[str]:
    """The schema's first three complaints about `data` (none: it validates)."""
    from lxml import etree
    parser = etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False)
    ok = xsd.validate(etree.fromstring(data, parser))
    return [] if ok else [f"line {e.line}: {e.message}" for e in xsd.error_log][:3]


def reread_errors(seq, data: bytes) -> list[str]:
    """What music21 reads differently from what was written (notes, bars, chord symbols)."""
    from music21 import converter, harmony

    from jazzgen.generation.leadsheet import notate
    score = converter.parseData(data.decode(), format="musicxml")
    bars = notate(seq)
    want = [(Fraction(p.start, 12), p.pitch) for b in bars for p in b.pieces if p.pitch >= 0 and not p.tie_stop]
    part = score.stripTies().parts[0]
    notes = [n for n in part.recurse().notes if not isinstance(n, harmony.ChordSymbol)]
    got = [(Fraction(n.getOffsetInHierarchy(part)).limit_denominator(96), n.pitch.midi) for n in notes]
    out = []
    if got != want:
        bad = next(i for i, (a, b) in enumerate(zip(got + [None] * len(want), want + [None] * len(got))) if a != b)
        out.append(f"note {bad}: music21 reads {got[bad] if bad < len(got) else None}, "
                   f"written {want[bad] if bad < len(want) else None}")
    measures = len(score.parts[0].getElementsByClass("Measure"))
    if measures != len(bars):
        out.append(f"{measures} bars read, {len(bars)} written")
    symbols = len(list(score.recurse().getElementsByClass(harmony.ChordSymbol)))
    words = len(list(score.recurse().getElementsByClass("TextExpression")))
    if symbols + words != len([c for c in seq.chords if c.step < max(seq.end, 1)]):
        out.append(f"{symbols} chord symbols and {words} texts read, {len(seq.chords)} chords written")
    return out


def moved_errors(seq) -> list[str]:
    """Written onsets more than a third of a beat (4 steps: a swung eighth on the last triplet
    written on the off-beat) from the played ones."""
    from jazzgen.generation.leadsheet import notate
    written = [p.start for b in notate(seq) for p in b.pieces if p.pitch >= 0 and not p.tie_stop]
    if len(written) != len(seq):
        return [f"{len(written)} notes written, {len(seq)} played"]
    far = np.abs(np.asarray(written) - seq.start) > 4
    return [f"{int(far.sum())} onsets moved over a third of a beat"] if far.any() else []


def random_take(stepper, rng: np.random.Generator):
    """A take with random settings, as the page makes them."""
    from jazzgen.generation.takes import TakeConfig, make_takes
    from jazzgen.music.chart import build_chart
    from jazzgen.music.chords import FORMS
    bpm = float(rng.integers(60, 301))
    if rng.random() < 0.3:
        meter, chords = CHARTS[rng.integers(len(CHARTS))]
        chart = build_chart(chords=chords, meter=meter, bpm=bpm)
    else:
        chart = build_chart(form=list(FORMS)[rng.integers(len(FORMS))], bpm=bpm)
    cfg = TakeConfig(seconds=float(rng.integers(8, 61)), seed=int(rng.integers(2**31)), band="none")
    return make_takes(stepper, chart, cfg)[0]


def take_errors(xsd, take) -> tuple[list[str], float]:
    """(what fails of the three checks, milliseconds to write the MusicXML) for one take."""
    from jazzgen.generation.leadsheet import musicxml_bytes
    t0 = time.perf_counter()
    data = musicxml_bytes(take.solo, take.config.instrument)
    ms = 1000 * (time.perf_counter() - t0)
    try:
        return schema_errors(xsd, data) + reread_errors(take.solo, data) + moved_errors(take.solo), ms
    except Exception as e:                 # music21 could not read it at all
        return [f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"], ms


def check(stepper, n: int, seed: int, quiet: bool = False, xsd_path: str | Path = MUSICXML_XSD) -> int:
    """Check n random takes, a line printed for each unless quiet; returns how many pass all three."""
    xsd, rng, passed = schema(xsd_path), np.random.default_rng(seed), 0
    for i in range(n):
        take = random_take(stepper, rng)
        errors, ms = take_errors(xsd, take)
        passed += not errors
        if not quiet:
            ts = take.solo.time_signatures[0]
            print(f"{i + 1:3d} {take.name}  {ts.numerator}/{ts.denominator} {take.chart.bpm:5.0f} bpm "
                  f"{take.config.seconds:4.0f} s {len(take.solo):4d} notes  written in {ms:5.1f} ms  "
                  + ("ok" if not errors else "FAIL: " + "; ".join(errors)), flush=True)
    return passed
