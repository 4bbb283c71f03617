"""A tune as its chart is written, and the bars the band plays through it.

Every chart reader (iReal Pro, Impro-Visor, MusicXML) gives a ``Tune``: its bars in
written order, each holding its chords at their place in the bar, its meter, and the
marks that route a band through the form: repeat signs (played twice, or as often as
the chart says), numbered endings, segno, coda and "to coda", D.C. / D.S. (al coda,
al fine) and Fine.  ``play_order`` follows those marks as a band reads them, once
through the form; ``music.chart.from_tune`` turns the played bars into the one
``Chart`` every command improvises over.

The road map, as musicians read it:

- ``:|`` goes back to the last ``|:`` (or the start, or the bar after the previous
  ``:|``); a passage with endings is played once per ending (a ``:|`` that closes an
  ending goes back until the last ending is reached), each time skipping the endings not
  numbered for that time through (going on at the ending that is).
- After a D.C. (back to bar 1) or D.S. (back to the segno) repeats are not taken again
  and the last ending is played (or the one the jump names: "D.C. al 3rd ending"); the
  band jumps from the "to coda" bar to the coda and stops at Fine (a jump "al Coda"
  heeds only the coda, one "al Fine" only the Fine; a "To Coda" without a coda sign goes
  to the bar after the D.C./D.S.).  Each jump is taken once.
- A bar without chords holds the chord before it.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from fractions import Fraction

from jazzgen.errors import ChordError
from jazzgen.music.chords import parse_chord
from jazzgen.music.notes import TimeSignature

MAX_PLAYED_BARS = 1024   # a chorus longer than that is a broken road map, not a tune


@dataclass
class Bar:
    """One written bar: chords at fractions of the bar (0 <= at < 1) and its road marks."""
    chords: list[tuple[Fraction, str]] = field(default_factory=list)
    meter: tuple[int, int] = (4, 4)
    number: int = 0               # the written bar number (1-based) errors name
    section: str = ""             # rehearsal mark starting here: "A", "B", "Intro" ...
    repeat_start: bool = False    # |:
    repeat_end: int = 0           # :| here: the passage is played this many times in all (0: no repeat)
    endings: tuple[int, ...] = ()  # the times through a repeat this bar is played in (an ending)
    segno: bool = False
    coda: bool = False            # the coda starts here
    to_coda: bool = False         # after a D.C./D.S., jump to the coda after this bar
    fine: bool = False            # after a D.C./D.S., stop after this bar
    jump: str = ""                # after this bar: "D.C." or "D.S.", maybe " al Coda", " al Fine", " al ending 2"


@dataclass
class Tune:
    """A chart read from a file: its title, bars as written, and what it says of tempo and key."""
    title: str
    bars: list[Bar]
    bpm: float | None = None
    key: str = ""
    composer: str = ""
    style: str = ""

    def played(self) -> list[Bar]:
        """The bars the band plays, once through the form (see the module docstring)."""
        return [self.bars[i] for i in play_order(self.bars, self.title)]


_MAJOR = ("Cb", "Gb", "Db", "Ab", "Eb", "Bb", "F", "C", "G", "D", "A", "E", "B", "F#", "C#")
_MINOR = ("Ab-", "Eb-", "Bb-", "F-", "C-", "G-", "D-", "A-", "E-", "B-", "F#-", "C#-", "G#-", "D#-", "A#-")


def key_name(fifths, minor: bool = False) -> str:
    """A key signature's sharps (+) or flats (-) as iReal Pro names the key ('Bb', 'G-'), or ''."""
    try:
        k = int(str(fifths).strip())
    except ValueError:
        return ""
    return (_MINOR if minor else _MAJOR)[k + 7] if -7 <= k <= 7 else ""


def where(title: str, bar: int | None = None) -> str:
    """The place an error names: the tune, and the bar when known."""
    return f"tune {title!r}" + (f", bar {bar}" if bar else "")


def jump_of(text: str) -> str:
    """The jump a staff text asks for ("D.S. al Coda", "D.C. al Fine", "D.C." ...), or ''."""
    low = text.lower()
    m = re.search(r"(?<![a-z])d\.?\s?([cs])\.?(?![a-z])|da\s?(capo)|dal\s?(segno)", low)
    if not m:
        return ""
    jump = "D.C." if (m.group(1) == "c" or m.group(2)) else "D.S."
    end = re.search(r"(coda|fine)|(\d)\s*(?:st|nd|rd|th)?\.?\s*end", low[m.end():])
    if end and end.group(2):
        return f"{jump} al ending {end.group(2)}"
    return jump + (f" al {end.group(1).capitalize()}" if end else "")


def check_symbols(tune: Tune) -> None:
    """Every chord symbol through the one chord parser; the error names the tune and the bar."""
    for b in tune.bars:
        for _, sym in b.chords:
            try:
                parse_chord(sym)
            except ChordError as e:
                raise ChordError(f"{where(tune.title, b.number)}: {e}") from None


def _last_endings(bars: list[Bar]) -> list[int]:
    """For each bar in an ending: the highest ending number of the endings between the same
    two forward repeat signs (a third ending may come a section later); 0 elsewhere."""
    last, group = [0] * len(bars), []
    for i, b in enumerate(bars + [Bar(repeat_start=True)]):
        if b.repeat_start:
            top = max((n for j in group for n in bars[j].endings), default=0)
            for j in group:
                last[j] = top
            group = []
        if b.endings:
            group.append(i)
    return last


def _coda(bars: list[Bar]) -> int | None:
    """Where the coda starts: its sign, else (a "To Coda" without a coda sign) the bar after
    the D.C./D.S., where a coda is written."""
    marked = next((i for i, b in enumerate(bars) if b.coda), None)
    if marked is not None or not any(b.to_coda for b in bars):
        return marked
    return next((i + 1 for i, b in enumerate(bars) if b.jump and i + 1 < len(bars)), None)


def _after_jump(jump: str, last: int) -> int:
    """The ending played after a jump: the one it names ("D.C. al 2nd ending"), else the last."""
    m = re.search(r"ending (\d)", jump)
    return int(m.group(1)) if m else last


def play_order(bars: list[Bar], title: str = "") -> list[int]:
    """Indices of `bars` in the order they are played (see the module docstring)."""
    last = _last_endings(bars)
    segno = next((i for i, b in enumerate(bars) if b.segno), 0)
    coda = _coda(bars)
    order: list[int] = []
    i, start, time_through, jumped, taken = 0, 0, 1, "", {}
    while i < len(bars):
        b = bars[i]
        if len(order) >= MAX_PLAYED_BARS:
            raise ChordError(f"{where(title, b.number)}: the form plays more than {MAX_PLAYED_BARS} bars")
        if b.repeat_start and taken.get(i) != "back":
            start, time_through = i, 1
        taken.pop(i, None)
        wanted = _after_jump(jumped, last[i]) if jumped else time_through
        if b.endings and wanted not in b.endings:
            i = next((j for j in range(i + 1, len(bars)) if wanted in bars[j].endings), i + 1)
            continue
        order.append(i)
        if jumped and b.fine and "Coda" not in jumped:
            break
        if jumped and b.to_coda and "Fine" not in jumped and coda is not None and coda > i:
            i = coda
            continue
        if b.repeat_end and not jumped and (time_through < b.repeat_end or b.endings and time_through < last[i]):
            time_through += 1
            taken[start] = "back"
            i = start
            continue
        if b.repeat_end or (b.endings and time_through > 1 and i + 1 < len(bars) and not bars[i + 1].endings):
            start, time_through = i + 1, 1
        if b.jump and not jumped:
            jumped = b.jump
            i = segno if b.jump.startswith("D.S.") else 0
            continue
        i += 1
    return order


def changes_of(played: list[Bar]) -> tuple[list[tuple[int, str]], list[tuple[int, int]], int]:
    """(chord changes as (step, symbol), each bar's meter, chorus length in steps) of the
    played bars.  A form whose first bar has no chord on its downbeat starts on the last
    chord of the form, as it is heard when the form comes round."""
    changes, bars, at = [], [], 0
    for b in played:
        steps = TimeSignature(0, *b.meter).bar_steps
        bars.append(b.meter)
        for frac, sym in b.chords:
            step = at + min(steps - 1, round(frac * steps))
            if changes and changes[-1][0] == step:
                changes[-1] = (step, sym)          # two chords on one step: the later one is heard
            else:
                changes.append((step, sym))
        at += steps
    if changes and changes[0][0] != 0:
        changes.insert(0, (0, changes[-1][1]))
    return changes, bars, at


SLASH = "/"   # a pause slash in a bar's cells: one more beat of the chord before


def spread(cells: list[str | None], beats: int, short: set[int] = frozenset()) -> list[tuple[Fraction, str]]:
    """Chords of a bar written in cells (a symbol, None for an empty cell, SLASH for a pause
    slash) placed on the bar's `beats`, as iReal Pro plays them.

    Each chord lasts a beat, plus one per slash and per empty cell after it; slashes before
    the bar's first chord are beats of the chord before (it goes on), empty cells there are
    only layout.  Past the bar's beats, empty cells give way first, then slashes, in turn
    from the first chord; short of them, the spare beats go to the chords in turn from the
    first, not to the `short` ones (cell indices of chords written small).  More chords
    than beats share the bar equally.
    """
    items = [(k, c) for k, c in enumerate(cells) if c not in (None, SLASH)]
    if not items:
        return []
    if len(items) > beats:
        return [(Fraction(j, len(items)), c) for j, (_, c) in enumerate(items)]
    first = next(k for k, c in enumerate(cells) if c is not None)
    if cells[first] == SLASH:
        items.insert(0, (first - 1, None))                 # the chord before goes on
    ends = [k for k, _ in items[1:]] + [len(cells)]
    fixed = [int(c is not None) + cells[k + 1:end].count(SLASH) for (k, c), end in zip(items, ends)]
    loose = [cells[k + 1:end].count(None) for (k, _), end in zip(items, ends)]
    _shrink(loose, fixed, beats)
    length = [a + b for a, b in zip(fixed, loose)]
    growable = [j for j, (k, c) in enumerate(items) if c is not None and k not in short] or [
        j for j, (_, c) in enumerate(items) if c is not None]
    for j in range(beats - sum(length)):
        length[growable[j % len(growable)]] += 1
    onsets = [sum(length[:j]) for j in range(len(items))]
    return [(Fraction(on, beats), c) for on, (_, c) in zip(onsets, items) if c is not None]


def _shrink(loose: list[int], fixed: list[int], beats: int) -> None:
    """Take beats back, empty cells first, then slashes (a chord keeps its own beat)."""
    for counts, least in ((loose, 0), (fixed, 1)):
        j = 0
        while sum(loose) + sum(fixed) > beats and any(n > least for n in counts):
            if counts[j] > least:
                counts[j] -= 1
            j = (j + 1) % len(counts)


def equal_slots(slots: list[str | None]) -> list[tuple[Fraction, str]]:
    """Chords of a bar written as equal slots (a symbol, or None: the slot holds the chord
    before it), as Impro-Visor and plain text charts share a bar."""
    return [(Fraction(k, len(slots)), c) for k, c in enumerate(slots) if c is not None]
