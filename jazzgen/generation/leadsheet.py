"""The solo as a lead sheet a musician reads: MusicXML written in one pass.

A performed line is not notation.  A note two steps after the off-beat is a swung
eighth, not a sixteenth-triplet syncopation, and a note that sounds two thirds of its
eighth is an eighth, not an eighth less a 32nd-triplet rest.  So, in four steps:

1. ``written_line``: a note runs to the next onset when the silence before it is
   articulation (at most ``tokens.CLOSE_GAPS`` steps, as the tokens read it); longer
   silences are rests.
2. ``beat_grids``: each beat (a quarter; an eighth in x/8 and x/16) gets the simplest
   grid that keeps its onsets and ends apart: eighths, swung eighths (a long-short pair
   on 0 and 7-10 of the 12 steps, *written* as even eighths), sixteenths, eighth
   triplets, sixteenth triplets, or the raw steps (32nd triplets); each time moves to
   the nearest point of its beat's grid.
3. ``notate``: each written note or rest is cut at bar lines (tied) and, inside a bar,
   at beats, except where a reader expects one value: a note from a beat over whole
   beats that stays inside its half bar (or starts it), a dotted quarter from a beat,
   an off-beat quarter inside a half bar (eighth-quarter-eighth).  Lengths become note
   values (dots; triplets as 3:2 time modifications with a bracket per beat), beamed
   beat by beat; a silent bar is one whole-bar rest.
4. ``musicxml_bytes``: a score-partwise MusicXML 4.0 document that validates against
   the W3C schema (a test checks it, with the schema in tests/data/musicxml/): chord
   symbols as ``<harmony>`` (root, kind, bass, and the symbol's own text), meter, key,
   tempo, one division per grid step.

Every stage is one pass over the notes and bars, so the time to write a take grows
linearly with its length.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from xml.etree import ElementTree as ET

import numpy as np

from jazzgen.data.tokens import CLOSE_GAPS
from jazzgen.errors import ChordError
from jazzgen.music.chords import QUALITY, parse_chord
from jazzgen.music.notes import GRID, NO_CHORD, NoteSequence
from jazzgen.util import atomic_write

DIVISIONS = GRID                      # one division per grid step
# (name, snap points in a beat, where each point is written, how much simpler it reads)
QUARTER_GRIDS = (
    ("eighths", (0, 6, 12), (0, 6, 12), 0.0),
    ("swing", (0, 8, 12), (0, 6, 12), 0.25),
    ("sixteenths", (0, 3, 6, 9, 12), (0, 3, 6, 9, 12), 1.5),
    ("triplets", (0, 4, 8, 12), (0, 4, 8, 12), 1.75),
    ("sextuplets", tuple(range(0, 13, 2)), tuple(range(0, 13, 2)), 4.0),
    ("steps", tuple(range(13)), tuple(range(13)), 8.0),
)
EIGHTH_GRIDS = (                      # an x/8 beat: an eighth, 6 steps
    ("eighths", (0, 6), (0, 6), 0.0),
    ("sixteenths", (0, 3, 6), (0, 3, 6), 1.5),
    ("sextuplets", (0, 2, 4, 6), (0, 2, 4, 6), 3.0),
    ("steps", tuple(range(7)), tuple(range(7)), 8.0),
)
TUPLET_GRIDS = {"triplets", "sextuplets", "steps"}
# a length in steps -> (type, dots): plain values, and values inside a 3:2 tuplet
PLAIN = {48: ("whole", 0), 36: ("half", 1), 24: ("half", 0), 18: ("quarter", 1), 12: ("quarter", 0),
         9: ("eighth", 1), 6: ("eighth", 0), 3: ("16th", 0)}
TRIPLET = {8: ("quarter", 0), 6: ("eighth", 1), 4: ("eighth", 0), 3: ("16th", 1), 2: ("16th", 0),
           1: ("32nd", 0)}
BEAM_LEVELS = {"eighth": 1, "16th": 2, "32nd": 3}
SHARPS = (("C", 0), ("C", 1), ("D", 0), ("D", 1), ("E", 0), ("F", 0), ("F", 1), ("G", 0), ("G", 1),
          ("A", 0), ("A", 1), ("B", 0))
FLATS = (("C", 0), ("D", -1), ("D", 0), ("E", -1), ("E", 0), ("F", 0), ("G", -1), ("G", 0), ("A", -1),
         ("A", 0), ("B", -1), ("B", 0))
DOCTYPE = ('<!DOCTYPE score-partwise PUBLIC "-//Recordare//DTD MusicXML 4.0 Partwise//EN" '
           '"http://www.musicxml.org/dtds/partwise.dtd">')


@dataclass
class Beat:
    """One notation beat (a quarter, or an eighth in x/8), and whether it is written in 3:2."""
    start: int
    length: int
    tuplet: bool = False


@dataclass
class Piece:
    """One notehead or rest of the score: a written value inside one bar."""
    start: int
    length: int
    pitch: int                 # -1: a rest
    kind: str                  # note type ("quarter", "eighth" ...); "" for a whole-bar rest
    dots: int = 0
    tuplet: bool = False
    tie_stop: bool = False
    tie_start: bool = False
    beams: tuple = ()          # (level, "begin" | "continue" | "end" | "forward hook" | "backward hook")
    brackets: tuple = ()       # "start" and/or "stop" of a tuplet bracket


@dataclass
class Bar:
    """One bar of the score: its beats and its pieces, in time order."""
    start: int
    length: int
    beats: list
    pieces: list


# ---------------------------------------------------------------------------- 1. the line

def written_line(seq: NoteSequence) -> list[tuple[int, int, int]]:
    """(onset, end, pitch) of every note, ends carried to the next onset over articulation gaps."""
    start = seq.start.astype(np.int64)
    end = start + seq.duration.astype(np.int64)
    last = max(int(seq.end), int(end[-1]) if len(end) else 0)
    nxt = np.append(start[1:], last)
    end = np.where(nxt - end <= CLOSE_GAPS, nxt, end)
    return list(zip(start.tolist(), end.tolist(), seq.pitch.tolist()))


# ---------------------------------------------------------------------------- 2. the grids

def bar_beats(seq: NoteSequence, total: int) -> list[tuple[int, int, list[Beat]]]:
    """(start, length, beats) of every bar: quarter beats, or eighths in x/8 and x/16."""
    out = []
    for bar, length in seq.bars(total):
        unit = GRID if seq.time_signature_at(bar).denominator <= 4 else GRID // 2
        out.append((bar, length, [Beat(s, min(unit, bar + length - s)) for s in range(bar, bar + length, unit)]))
    return out


def _grids(length: int):
    if length == GRID:
        return QUARTER_GRIDS
    if length == GRID // 2:
        return EIGHTH_GRIDS
    return (("steps", tuple(range(length + 1)), tuple(range(length + 1)), 0.0),)


def _fit(pos: list[int], grid, zero_taken: bool, end_taken: bool, length: int):
    """(cost, written positions) of one grid for a beat's times, or None if two would merge."""
    _, points, written, penalty = grid
    pts = np.asarray(points)
    idx = np.abs(pts[None, :] - np.asarray(pos)[:, None]).argmin(1)
    out = [written[i] for i in idx]
    if len(set(out)) < len(out) or (zero_taken and 0 in out) or (end_taken and length in out):
        return None
    return penalty + float(np.abs(pts[idx] - np.asarray(pos)).sum()), out


def beat_grids(times: list[int], beats: list[Beat]) -> dict[int, int]:
    """Each time (an onset or an end) -> where it is written; marks the beats written as tuplets.

    Beats are taken in order, each on the cheapest grid (distance moved plus how hard it
    reads) under which no two of its times, nor one of them and a neighbouring beat's,
    fall together; the raw steps always qualify.
    """
    times = sorted(set(times))
    have = set(times)
    out: dict[int, int] = {}
    i, zero_taken = 0, False
    for beat in beats:
        pos = []
        while i < len(times) and times[i] < beat.start + beat.length:
            pos.append(times[i] - beat.start)
            i += 1
        if not pos:
            zero_taken = False
            continue
        end_taken = beat.start + beat.length in have
        fits = [(f, g[0]) for g in _grids(beat.length)
                if (f := _fit(pos, g, zero_taken, end_taken, beat.length)) is not None]
        (cost, written), name = min(fits, key=lambda x: x[0][0])
        beat.tuplet = name in TUPLET_GRIDS
        out.update((beat.start + p, beat.start + w) for p, w in zip(pos, written))
        zero_taken = written[-1] == beat.length
    out.update((t, t) for t in times[i:])          # the very end
    return out


# ---------------------------------------------------------------------------- 3. the pieces

def strong_points(seq: NoteSequence, bar: int, length: int) -> set[int]:
    """Where a reader wants to see a new value begin: the bar's halves (its felt groups, and
    the middle of a group of four), and every felt beat of a compound meter."""
    ts = seq.time_signature_at(bar)
    out, at = {bar}, bar
    for group in ts.groups:
        out.add(at)
        if len(group) == 4:
            out.add(at + group[0] + group[1])
        if ts.compound:
            out.update(at + int(s) for s in np.cumsum((0,) + group[:-1]))
        at += sum(group)
    return {p for p in out if p < bar + length}


def _one_value(a: int, b: int, beats: dict[int, Beat], strong: set[int], bar_start: int) -> int:
    """Where the value that starts at `a` (inside a bar, before `b`) ends."""
    beat = beats[max(s for s in beats if s <= a)]
    end = min(b, beat.start + beat.length)
    if beat.tuplet:
        return end
    def fits(c: int) -> bool:          # plain beats all the way, and no strong point crossed
        covered = [x for s, x in beats.items() if a <= s < c]
        return all(not x.tuplet for x in covered) and (a in strong or not any(a < s < c for s in strong))
    if a == beat.start:
        for length in (48, 36, 24, 18, 12):
            if a + length <= b and fits(a + length) and (length != 48 or a == bar_start) \
                    and (a + length) - beat.start in _beat_sums(beats, a):
                return a + length
        return end
    if beat.length == GRID and a - beat.start == GRID // 2 and a + GRID <= b and fits(a + GRID):
        return a + GRID                 # the off-beat quarter: eighth-quarter-eighth
    return end


def _beat_sums(beats: dict[int, Beat], a: int) -> set[int]:
    """Lengths from `a` that end on a beat or halfway into a quarter beat (for the dotted quarter)."""
    out = set()
    for s, x in beats.items():
        if s >= a:
            out.add(s + x.length - a)
            if x.length == GRID:
                out.add(s + GRID // 2 - a)
    return out


def _values(length: int, tuplet: bool) -> list[tuple[int, str, int]]:
    """(steps, type, dots) of the tied values that write `length` steps, longest first."""
    table = TRIPLET if tuplet else PLAIN
    out = []
    while length > 0:
        step = max((v for v in table if v <= length), default=None)
        if step is None:               # a plain beat never holds fewer than 3 steps
            raise ValueError(f"cannot write {length} steps as a {'tuplet' if tuplet else 'plain'} value")
        out.append((step, *table[step]))
        length -= step
    return out


def _pieces_of(a: int, b: int, pitch: int, bar: Bar, strong: set[int], beats: dict[int, Beat]) -> list[Piece]:
    """The tied pieces of one written note or rest [a, b) inside one bar."""
    if pitch < 0 and a == bar.start and b == bar.start + bar.length:
        return [Piece(a, b - a, -1, "")]
    out = []
    while a < b:
        c = _one_value(a, b, beats, strong, bar.start)
        tuplet = beats[max(s for s in beats if s <= a)].tuplet
        for length, kind, dots in _values(c - a, tuplet):
            out.append(Piece(a, length, pitch, kind, dots, tuplet))
            a += length
    if pitch >= 0:
        for p, q in zip(out, out[1:]):
            p.tie_start = q.tie_stop = True
    return out


def _beam(pieces: list[Piece], group_of) -> None:
    """Beams within each felt beat: runs of eighths and shorter, a hook for a lone short one."""
    runs, run = [], []
    for p in pieces + [None]:
        ok = p is not None and p.pitch >= 0 and p.kind in BEAM_LEVELS
        if run and (not ok or group_of(p.start) != group_of(run[0].start)):
            runs.append(run)
            run = []
        if ok:
            run.append(p)
    for run in runs:
        if len(run) < 2:
            continue
        for level in (1, 2, 3):
            deep = [BEAM_LEVELS[p.kind] >= level for p in run]
            for i, p in enumerate(run):
                if not deep[i]:
                    continue
                before, after = i > 0 and deep[i - 1], i + 1 < len(run) and deep[i + 1]
                what = ("continue" if before and after else "end" if before else "begin" if after
                        else "forward hook" if i == 0 else "backward hook")
                p.beams += ((level, what),)


def _bracket(pieces: list[Piece], beats: list[Beat]) -> None:
    """A 3:2 bracket over each beat written in triplets."""
    for beat in beats:
        inside = [p for p in pieces if p.tuplet and beat.start <= p.start < beat.start + beat.length]
        if inside:
            inside[0].brackets += ("start",)
            inside[-1].brackets += ("stop",)


def notate(seq: NoteSequence) -> list[Bar]:
    """The solo as bars of written pieces (see the module docstring)."""
    line = written_line(seq)
    bars = bar_beats(seq, max(int(seq.end), line[-1][1] if line else 0, 1))
    total = bars[-1][0] + bars[-1][1]           # whole bars: the last one filled with rest
    beats = [b for _, _, bb in bars for b in bb]
    where = beat_grids([t for on, off, _ in line for t in (on, off)], beats)
    events, cursor = [], 0
    for on, off, pitch in line:
        a, b = where[on], where[off]
        if a > cursor:
            events.append((cursor, a, -1))
        if b > a:
            events.append((a, b, pitch))
            cursor = b
    if cursor < total:
        events.append((cursor, total, -1))
    out, first = [], 0
    for start, length, bb in bars:
        while events[first][1] <= start:          # events end after this bar starts
            first += 1
        out.append(_bar(seq, start, length, bb, events, first))
    return out


def _bar(seq: NoteSequence, start: int, length: int, beats: list[Beat], events, first: int) -> Bar:
    bar = Bar(start, length, beats, [])
    strong = strong_points(seq, start, length)
    by_start = {b.start: b for b in beats}
    for a, b, pitch in events[first:]:
        if a >= start + length:
            break
        pieces = _pieces_of(max(a, start), min(b, start + length), pitch, bar, strong, by_start)
        if pitch >= 0:
            pieces[0].tie_stop = a < start
            pieces[-1].tie_start = b > start + length
        bar.pieces += pieces
    ts = seq.time_signature_at(start)
    felt = np.cumsum([start] + [s for g in ts.groups for s in g])
    _beam(bar.pieces, lambda t: int(np.searchsorted(felt, t, side="right")))
    _bracket(bar.pieces, beats)
    return bar


# ---------------------------------------------------------------------------- 4. MusicXML

def _sub(parent, tag: str, content=None, **attrs):
    el = ET.SubElement(parent, tag, {k.replace("_", "-"): str(v) for k, v in attrs.items()})
    if content is not None:
        el.text = str(content)
    return el


def _spell(pitch: int, sharps: bool) -> tuple[str, int, int]:
    step, alter = (SHARPS if sharps else FLATS)[pitch % 12]
    return step, alter, pitch // 12 - 1 + (step == "B" and alter > 0) - (step == "C" and alter < 0)


def _root_of(text: str) -> tuple[str, int]:
    """(step, alter) of a note name as written: 'Bb' -> ('B', -1), 'F#' -> ('F', 1)."""
    alter = sum(1 if c in "#♯" else -1 for c in text[1:] if c in "#♯b♭")
    return text[0], alter


def _harmony(measure, symbol: str, offset: int) -> None:
    """A <harmony>: root, kind and bass as MusicXML has them, the symbol's own text shown;
    a symbol nobody can read is written as words over the staff."""
    try:
        ch = parse_chord(symbol)
    except ChordError:
        ch = None
    if ch is None:
        d = _sub(measure, "direction", placement="above")
        _sub(_sub(d, "direction-type"), "words", symbol)
        if offset:
            _sub(d, "offset", offset)
        return
    h = _sub(measure, "harmony")
    s = ch.symbol
    if ch.root is None:
        root = _sub(h, "root")
        _sub(root, "root-step", "C")
        _sub(h, "kind", "none", text=NO_CHORD)
    else:
        head, _, bass = s.partition("/") if "/" in s[1:] else (s, "", "")
        n = 1 + sum(1 for c in head[1:3] if c in "#♯b♭")
        step, alter = _root_of(head[:n])
        root = _sub(h, "root")
        _sub(root, "root-step", step)
        if alter:
            _sub(root, "root-alter", alter)
        _sub(h, "kind", QUALITY[ch.quality].kind if ch.quality in QUALITY else "other", text=head[n:])
        if bass.strip() and bass.strip()[0] in "ABCDEFG":
            bstep, balter = _root_of(bass.strip())
            b = _sub(h, "bass")
            _sub(b, "bass-step", bstep)
            if balter:
                _sub(b, "bass-alter", balter)
    if offset:
        _sub(h, "offset", offset)


def _note(measure, p: Piece, sharps: bool) -> None:
    n = _sub(measure, "note")
    if p.pitch < 0:
        _sub(n, "rest", **({"measure": "yes"} if not p.kind else {}))
    else:
        step, alter, octave = _spell(p.pitch, sharps)
        pitch = _sub(n, "pitch")
        _sub(pitch, "step", step)
        if alter:
            _sub(pitch, "alter", alter)
        _sub(pitch, "octave", octave)
    _sub(n, "duration", p.length)
    for t in ("stop",) * p.tie_stop + ("start",) * p.tie_start:
        _sub(n, "tie", type=t)
    _sub(n, "voice", 1)
    if p.kind:
        _sub(n, "type", p.kind)
    for _ in range(p.dots):
        _sub(n, "dot")
    if p.tuplet:
        tm = _sub(n, "time-modification")
        _sub(tm, "actual-notes", 3)
        _sub(tm, "normal-notes", 2)
    for level, what in p.beams:
        _sub(n, "beam", what, number=level)
    if p.tie_stop or p.tie_start or p.brackets:
        notations = _sub(n, "notations")
        for t in ("stop",) * p.tie_stop + ("start",) * p.tie_start:
            _sub(notations, "tied", type=t)
        for b in p.brackets:
            _sub(notations, "tuplet", type=b, bracket="yes", number=1)


def _attributes(measure, seq: NoteSequence, bar: Bar, first: bool, clef: tuple[str, int]) -> None:
    """Divisions, key, meter and clef where they are first needed or change."""
    ts, prev_ts = seq.time_signature_at(bar.start), seq.time_signature_at(bar.start - 1)
    keys = [k for k in seq.key_signatures if k.step <= bar.start]
    key_now = keys[-1] if keys else None
    key_new = first or any(bar.start - 1 < k.step <= bar.start for k in seq.key_signatures)
    if not (first or key_new or ts != prev_ts):
        return
    att = _sub(measure, "attributes")
    if first:
        _sub(att, "divisions", DIVISIONS)
    if key_new:
        key = _sub(att, "key")
        _sub(key, "fifths", key_now.sharps if key_now else 0)
        _sub(key, "mode", "minor" if key_now and key_now.minor else "major")
    if first or ts != prev_ts:
        t = _sub(att, "time")
        _sub(t, "beats", ts.numerator)
        _sub(t, "beat-type", ts.denominator)
    if first:
        c = _sub(att, "clef")
        _sub(c, "sign", clef[0])
        _sub(c, "line", clef[1])


def _tempo(measure, qpm: float, offset: int) -> None:
    d = _sub(measure, "direction", placement="above")
    m = _sub(_sub(d, "direction-type"), "metronome")
    _sub(m, "beat-unit", "quarter")
    _sub(m, "per-minute", round(qpm))
    if offset:
        _sub(d, "offset", offset)
    _sub(d, "sound", tempo=round(float(qpm), 2))


def _measure(part, seq: NoteSequence, bar: Bar, number: int, clef, chords, at: int, tempos, spelled) -> int:
    """One <measure>: attributes, tempo marks, and the pieces with the chord symbols over
    them, from chords[at] on; returns the index of the first chord after the bar.
    Accidentals are sharps in a sharp key or under a chord whose root is sharp, else flats;
    spelled[0] carries the choice of the last note over the bar line."""
    m = _sub(part, "measure", number=number)
    _attributes(m, seq, bar, number == 1, clef)
    end = bar.start + bar.length
    for t in tempos:
        _tempo(m, t.qpm, t.step)
    keys = [k for k in seq.key_signatures if k.step <= bar.start]
    sharp_key = bool(keys) and keys[-1].sharps > 0
    for p in bar.pieces:
        while at < len(chords) and chords[at].step < min(p.start + p.length, end):
            _harmony(m, chords[at].symbol, max(0, chords[at].step - p.start))
            at += 1
        if not p.tie_stop:                  # a tied note keeps the spelling it began with
            spelled[0] = sharp_key or (at > 0 and "#" in chords[at - 1].symbol[1:3])
        _note(m, p, spelled[0])
    return at


def _tempo_marks(seq: NoteSequence) -> dict[int, list]:
    """Bar index -> the tempo marks in it: the first tempo, then each change of a whole bpm
    (a performed tempo map of one event per beat reads as a few marks, not hundreds)."""
    out, shown = {}, None
    tempos = sorted(seq.tempos, key=lambda t: t.step)
    if not tempos:
        return out
    bars = np.array([b for b, _ in seq.bars(max(seq.end, 1))])
    for t in tempos:
        if shown is not None and abs(round(t.qpm) - shown) < 1 or t.step >= max(seq.end, 1):
            continue
        shown = round(t.qpm)
        k = int(np.searchsorted(bars, t.step, side="right") - 1)
        out.setdefault(k, []).append(t._replace(step=t.step - int(bars[k])))
    return out


def _clef(seq: NoteSequence) -> tuple[str, int]:
    """Bass clef for a line that lives below middle C, else treble."""
    return ("F", 4) if len(seq) and float(np.median(seq.pitch)) < 57 else ("G", 2)


def musicxml_bytes(seq: NoteSequence, program: int | None = None, title: str | None = None) -> bytes:
    """The solo as a MusicXML 4.0 lead sheet (same solo, same bytes)."""
    root = ET.Element("score-partwise", version="4.0")
    _sub(_sub(root, "work"), "work-title", title or seq.name or "jazzgen solo")
    _sub(_sub(_sub(root, "identification"), "encoding"), "software", "jazzgen")
    sp = _sub(_sub(root, "part-list"), "score-part", id="P1")
    _sub(sp, "part-name", "Solo")
    if program is not None:
        _sub(_sub(sp, "score-instrument", id="P1-I1"), "instrument-name", "Solo")
        mi = _sub(sp, "midi-instrument", id="P1-I1")
        _sub(mi, "midi-channel", 1)
        _sub(mi, "midi-program", int(program) + 1)
    part = _sub(root, "part", id="P1")
    clef = _clef(seq)
    chords = sorted(seq.chords, key=lambda c: c.step)
    marks = _tempo_marks(seq)
    at, spelled = 0, [False]
    for i, bar in enumerate(notate(seq)):
        at = _measure(part, seq, bar, i + 1, clef, chords, at, marks.get(i, []), spelled)
    body = ET.tostring(root, encoding="unicode")
    return ('<?xml version="1.0" encoding="UTF-8" standalone="no"?>\n' + DOCTYPE + "\n" + body + "\n").encode()


def write_musicxml(path: str | os.PathLike, seq: NoteSequence, program: int | None = None) -> None:
    """``musicxml_bytes`` into a file, written whole or not at all."""
    data = musicxml_bytes(seq, program)
    atomic_write(path, lambda f: f.write(data))


# ---------------------------------------------------------------------------- 5. engraved

VEROVIO = {"pageWidth": 1500, "pageHeight": 60000, "adjustPageHeight": True, "scale": 40,
           "breaks": "auto", "mnumInterval": 1, "header": "none", "footer": "none",
           "svgViewBox": True, "svgHtml5": True, "xmlIdSeed": 1}


def leadsheet_svg(musicxml: bytes) -> str:
    """The lead sheet engraved as one SVG page by Verovio (offline; from PyPI), its bars as
    ``<g class="measure">`` in order and each note with ``data-pname``/``data-oct``
    (``svgHtml5``), so the page can follow the bar being played and a test read the notes."""
    import verovio
    verovio.enableLog(verovio.LOG_OFF)
    tk = verovio.toolkit(False)
    tk.setResourcePath(verovio.__path__[0] + "/data")
    tk.setOptions(VEROVIO)
    if not tk.loadData(musicxml.decode()):
        raise ValueError("Verovio could not read the lead sheet")
    return tk.renderToSVG(1)
