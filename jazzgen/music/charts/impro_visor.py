"""Impro-Visor leadsheets (``.ls``): title, meter, tempo and the chord part's bars.

A leadsheet is a list of parenthesized forms, ``(title Giant Steps)``, ``(meter 4 4)``,
``(key -1)``, ``(tempo 160.0)``, ``(style ...)``, ``(part (type chords) ...)``, with the
music written between them: after the chords part's header, its bars

    FM7 Ab7 | DbM7 E7 | AM7 / / C7 | / | | NC |
    (section (style ballad))
    ...

(``|`` ends a bar, ``/`` holds the chord before for one slot, the chords and slashes of
a bar share it equally, an empty bar holds the chord before; sections only change the
band's style), and after the melody part's header its notes (``c8 e-4 r2``), which are
not needed here.  An old leadsheet without part headers writes its chords first; note
words in the chord part are skipped.  Impro-Visor's chord spellings (``C7+``, ``Ch7``,
``Csus24``, ``Bb\\A`` ...) are read by ``music.chords.parse_chord``; a leadsheet has no repeats.
"""
from __future__ import annotations

import re

from jazzgen.errors import ChordError
from jazzgen.music.charts.form import Bar, Tune, check_symbols, equal_slots, key_name, where

_NOTE = re.compile(r"[a-gr][#b]?[+-]*\d[\d.+/]*")   # a melody word: c+8, eb4., r1+1
MAX_DEPTH = 64


def forms_and_words(text: str) -> list:
    """The top level of a leadsheet: nested lists for ``( ... )`` forms, strings for words."""
    out: list = []
    stack = [out]
    for tok in re.findall(r"[()]|[^\s()]+", text):
        if tok == "(":
            if len(stack) > MAX_DEPTH:
                raise ChordError(f"forms nested more than {MAX_DEPTH} deep")
            stack[-1].append([])
            stack.append(stack[-1][-1])
        elif tok == ")":
            if len(stack) > 1:
                stack.pop()
        else:
            stack[-1].append(tok)
    return out


def _head(form: list) -> str:
    return form[0] if form and isinstance(form[0], str) else ""


def _words(form: list) -> str:
    """A form's words after its head, joined: (title Body and Soul) -> 'Body and Soul'."""
    return " ".join(w for w in form[1:] if isinstance(w, str))


def _part_type(form: list) -> str:
    return next((_words(f) for f in form[1:] if isinstance(f, list) and _head(f) == "type"), "")


def chord_words(items: list) -> list[str]:
    """The words of the chord part (or of the top level, in a leadsheet without part headers)."""
    part, words = "chords", []
    for item in items:
        if isinstance(item, list):
            part = _part_type(item) or part if _head(item) == "part" else part
        elif part == "chords" and not _NOTE.fullmatch(item):
            words += [w for w in re.split(r"(\|+)", item) if w]
    return words


def bars_of(words: list[str], meter: tuple[int, int]) -> list[Bar]:
    """The chord words, split into bars at '|' (see the module docstring)."""
    cells: list[list[str]] = [[]]
    for w in words:
        if w.startswith("|"):
            cells.append([])
        else:
            cells[-1].append(w)
    if not cells[-1]:
        cells.pop()
    if cells and not cells[0]:
        cells.pop(0)
    return [Bar(equal_slots([None if w == "/" else w for w in c]) if c else [], meter, number=k + 1)
            for k, c in enumerate(cells)]


def _setting(items: list, name: str) -> str:
    return next((_words(f) for f in items if isinstance(f, list) and _head(f) == name), "")


def _meter(text: str, title: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d{1,2}) (\d{1,2})", text.strip())
    if not text.strip():
        return (4, 4)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) not in (1, 2, 4, 8, 16):
        raise ChordError(f"{where(title)}: (meter {text}) is not a time signature")
    return int(m.group(1)), int(m.group(2))


def read_leadsheet(text: str) -> Tune:
    """A leadsheet's text as a Tune; ChordError naming the tune (and bar) when it cannot be read."""
    items = forms_and_words(text)
    title = _setting(items, "title").strip() or "untitled"
    bars = bars_of(chord_words(items), _meter(_setting(items, "meter"), title))
    if not any(b.chords for b in bars):
        raise ChordError(f"{where(title)}: no chords in the leadsheet's chord part")
    try:
        bpm = float(_setting(items, "tempo") or "nan")
    except ValueError:
        bpm = float("nan")
    tune = Tune(title, bars, bpm=bpm if bpm > 0 else None, key=key_name(_setting(items, "key")),
                composer=_setting(items, "composer"))
    check_symbols(tune)
    return tune


def looks_like_leadsheet(text: str) -> bool:
    """True for a text that opens like a leadsheet (its first form is one of a leadsheet's)."""
    m = re.match(r"\s*\(\s*(title|composer|meter|key|tempo|part|style|section)\b", text)
    return m is not None
