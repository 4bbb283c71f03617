"""Lead-sheet chord symbols: parse, classify, transpose; chord charts and built-in forms.

A small hand parser, not music21 (which reads ``Bb7`` as a B chord). A symbol is

    ROOT [SUFFIX] [/BASS]        ROOT, BASS = A-G plus any number of b / # (also ♭ ♯)

Roots must be upper case: a lower-case ``b`` is a flat, so ``bb7`` is never guessed at;
flats after the root belong to it (``Cb5`` is a Cb power chord: write ``C(b5)``).
``6/9`` is a quality, not a slash chord (``Dbm6/9/Ab`` = Dbm6/9 over Ab). No chord is
``N.C.`` (also ``NC``, ``n.c.``). The suffix is read left to right as tokens; spaces,
parentheses and commas only separate them (``C7(#9,b13)`` = ``C7#9b13``):

    m min mi -        minor            (first token only; later ``-9`` means b9)
    o ° dim           diminished triad (``dim7`` / ``o7``: bb7)
    ø                 half-diminished  (= m7b5; ``ø7`` too)
    + aug             augmented triad  (first token only; later ``+5`` means #5)
    maj ma M Δ ^ j    the 7th is major (``Δ ^ j`` alone = maj7; ``maj M`` alone = triad)
    6 7 9 11 13       first number: 6th/7th and the ninths below it (11 = 9+11, 13 = 9+13);
                      later numbers are tensions (``7913``, ``69``);  5 alone = power chord,
                      2 alone = add9
    b5 #5 b9 #9 #11 b13 13 ...  alterations (an altered 9 drops the implied natural 9)
    sus sus4 sus2     replaces the 3rd;  add9 add11 add13 ...: added tension
    alt               7alt, voiced as 7#5#9 (the data set's own check): root 3 #5 b7 #9

Look-alikes read as the character above: ``♭ ♯``, ``△ ∆ ▵`` (= Δ), ``º ˚`` (= °), ``Ø ⌀``
(= ø), the dashes ``− – — ‐`` (= -), superscripts (``C⁷``), full-width ASCII (``Ｃｍ７``);
BOMs and zero-width characters are dropped (``clean``).  The symbol is kept as written.

Every chord maps to one of ``QUALITIES`` (from 3rd, 5th, 6th/7th; tensions never matter):

    none     N.C.                       min      minor triad (also m add9, m#5)
    maj      major triad, add9, C5, Cb5 min7     m7 m9 m11 m13 m7b9
    maj7     maj7 maj9 maj9#11 maj7#9   min6     m6 m6/9
    6        6 6/9 6/9#11               minmaj7  m(maj7) m(maj9)#11 m(maj13)
    dom7     7 9 11 13 7b9 7#9 9#11     m7b5     m7b5 ø
             13b9 7b9b13 7b5            dim, dim7  dim triad / dim7 (= m6b5)
    aug      aug triad, maj7#5 (the #5 is the sound; not maj7)
    aug7     7#5 aug7 aug9 aug7#9 aug7b9 (any dominant with a #5, however spelled)
    sus4     sus4 sus2 (no 7th)         7sus4    7sus4 9sus4 13sus4 (any sus with a 7th)
    alt      only the explicit ``alt`` (same notes as aug7#9, but it asks for the altered scale)
"""
from __future__ import annotations

import functools
import re
from dataclasses import dataclass, field

from jazzgen.errors import ChordError

QUALITIES = ("none", "maj", "maj7", "6", "dom7", "min", "min7", "min6", "minmaj7", "m7b5",
             "dim", "dim7", "aug", "aug7", "sus4", "7sus4", "alt")   # the ids' order: QUALITY has the rest
_QUALITY_INDEX = {q: i for i, q in enumerate(QUALITIES)}
NAMES = ("C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B")  # transposed spelling
_LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}
_ROOT = re.compile(r"[A-G][b#♭♯]*")
_BASS = re.compile(r"\s*[/\\]\s*([A-Ga-g][b#♭♯]*)(\S*)\s*$")   # slash bass, or a polychord's lower chord
_NC = re.compile(r"n\.?\s*c\.?", re.I)
# Every musician's spelling, one character for one (so positions in the symbol as written
# still hold): Unicode accidentals, the triangles and deltas of maj7, the rings of dim and
# the slashed o of half-dim, dashes for minor, superscript numbers, full-width ASCII.
_UNICODE = str.maketrans({
    "♭": "b", "♯": "#",
    "−": "-", "–": "-", "—": "-", "‐": "-", "‑": "-", "‒": "-", "﹣": "-",
    "△": "Δ", "∆": "Δ", "▵": "Δ", "▲": "Δ",
    "º": "°", "˚": "°", "⁰": "°", "Ø": "ø", "⌀": "ø", "∅": "ø",
    "⁺": "+", "⁻": "-", "⁽": "(", "⁾": ")", "\u00a0": " ", "\u2009": " ", "\u202f": " ",
    **{c: str(i) for i, c in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹") if i},
    **{chr(c): chr(c - 0xFEE0) for c in range(0xFF01, 0xFF5F)},   # full-width ASCII
})
_INVISIBLE = "\ufeff\u200b\u200c\u200d\u2060"   # BOM, zero-width spaces and joiners: dropped
_TENSION = {"9": 2, "b9": 1, "#9": 3, "11": 5, "#11": 6, "13": 9, "b13": 8,
            "2": 2, "b2": 1, "3": 4, "4": 5, "#4": 6, "6": 9, "b6": 8}
_IMPLIED = {9: {2}, 11: {2, 5}, 13: {2, 9}}   # what an extension number brings along
_TOKENS = [(kind, re.compile(p)) for kind, p in [   # tried in this order at each position
    ("add", r"add([b#]?)(13|11|9|6|4|3|2)"),
    ("alt", r"alt"),
    ("aug", r"aug|\+"),
    ("dim", r"dim|o|°"),
    ("half", r"ø|h"),
    ("sus", r"sus(24|42|2|4)?"),
    ("phryg", r"phryg"),
    ("omit", r"no([35])"),
    ("bass", r"Bass|Note"),
    ("maj", r"[Mm]ajor|maj|Maj|MAJ|ma(?!dd)|Ma|M|Δ|\^|j"),
    ("variant", r"_"),
    ("min", r"minor|min|mi|m|-"),
    ("alter", r"([b#+-])(13|11|9|6|5|4)"),
    ("num", r"13|11|9|7|6|5|2"),
    ("sharp5", r"\+"),
]]
_FIRST_ONLY = {"aug", "dim", "half", "min"}   # triad words must follow the root directly




@dataclass(frozen=True)
class Quality:
    """What every stage knows about one chord quality, in one row of ``QUALITY``."""
    name: str
    tones: tuple[int, ...]       # chord tones above the root (chord_infer's templates)
    tensions: tuple[int, ...]    # what players add without renaming the chord (chord_infer)
    suffix: str                  # how an inferred chord of it is written ("7", "m7b5")
    prior: float                 # chord_infer's log prior: common jazz qualities first
    scale: tuple[int, ...]       # the scale a bassist walks through on it (band)
    voicing: tuple[int, ...]     # a rootless piano voicing: 3rd, 7th, two colours (band)
    family: str                  # maj / min / dom / hdim / dim / sus, for scoring inference
    kind: str                    # MusicXML's <kind> (the lead sheet)


_MAJ_SCALE, _DOM_SCALE, _MIN_SCALE = (0, 2, 4, 5, 7, 9, 11), (0, 2, 4, 5, 7, 9, 10), (0, 2, 3, 5, 7, 9, 10)
_SUS_SCALE, _DIM_SCALE, _WHOLE = (0, 2, 5, 7, 9, 10), (0, 2, 3, 5, 6, 8, 9, 11), (0, 2, 4, 6, 8, 10)
QUALITY = {q.name: q for q in (
    Quality("none", (), (), "N.C.", 0.0, (), (), "", "other"),
    Quality("maj", (0, 4, 7), (2,), "", -0.4, _MAJ_SCALE, (4, 9, 2, 7), "maj", "major"),
    Quality("maj7", (0, 4, 7, 11), (2, 9, 6), "maj7", -0.1, _MAJ_SCALE, (4, 11, 2, 7), "maj", "major-seventh"),
    Quality("6", (0, 4, 7, 9), (2,), "6", -0.3, _MAJ_SCALE, (4, 9, 2, 7), "maj", "major-sixth"),
    Quality("dom7", (0, 4, 7, 10), (2, 9, 1, 3, 6, 8), "7", 0.0, _DOM_SCALE, (4, 10, 2, 9), "dom", "dominant"),
    Quality("min", (0, 3, 7), (2, 5), "m", -0.4, _MIN_SCALE, (3, 10, 2, 7), "min", "minor"),
    Quality("min7", (0, 3, 7, 10), (2, 5), "m7", 0.0, _MIN_SCALE, (3, 10, 2, 7), "min", "minor-seventh"),
    Quality("min6", (0, 3, 7, 9), (2, 5), "m6", -0.5, _MIN_SCALE, (3, 9, 2, 7), "min", "minor-sixth"),
    Quality("minmaj7", (0, 3, 7, 11), (2, 5), "m(maj7)", -1.0, (0, 2, 3, 5, 7, 9, 11), (3, 11, 2, 7), "min",
            "major-minor"),
    Quality("m7b5", (0, 3, 6, 10), (5, 8, 2), "m7b5", -0.3, (0, 1, 3, 5, 6, 8, 10), (3, 10, 5, 6), "hdim",
            "half-diminished"),
    Quality("dim", (0, 3, 6), (), "dim", -1.5, _DIM_SCALE, (3, 9, 6, 2), "dim", "diminished"),
    Quality("dim7", (0, 3, 6, 9), (2, 5, 8, 11), "dim7", -0.5, _DIM_SCALE, (3, 9, 6, 2), "dim", "diminished-seventh"),
    Quality("aug", (0, 4, 8), (11,), "+", -1.5, _WHOLE, (4, 10, 8, 2), "maj", "augmented"),
    Quality("aug7", (0, 4, 8, 10), (2, 3, 1), "7#5", -0.9, _WHOLE, (4, 10, 8, 2), "dom", "augmented-seventh"),
    Quality("sus4", (0, 5, 7), (2,), "sus4", -1.2, _SUS_SCALE, (5, 10, 2, 7), "sus", "suspended-fourth"),
    Quality("7sus4", (0, 5, 7, 10), (2, 9), "7sus4", -0.7, _SUS_SCALE, (5, 10, 2, 9), "sus", "suspended-fourth"),
    Quality("alt", (0, 4, 8, 10), (1, 3, 6), "7alt", -2.0, (0, 1, 3, 4, 6, 8, 10), (4, 10, 3, 8), "dom", "dominant"),
)}


@dataclass(frozen=True)
class Chord:
    symbol: str                  # as given (stripped)
    root: int | None             # pitch class 0..11 (C=0); None for N.C.
    bass: int | None             # slash bass pitch class, else == root
    quality: str                 # one of QUALITIES
    pcs: tuple[int, ...]         # sorted pitch classes: chord tones + tensions + bass
    tones: tuple[int, ...] = ()  # guide tones: root, 3rd (4th if sus), 5th, 7th/6th

    @property
    def quality_index(self) -> int:
        return _QUALITY_INDEX[self.quality]

    def transpose(self, semitones: int) -> "Chord":
        """Same chord ``semitones`` higher, root and bass respelled from ``NAMES``."""
        return parse_chord(transpose_symbol(self.symbol, semitones))


def _pc(name: str) -> int:
    return (_LETTER[name[0]] + name.count("#") + name.count("♯")
            - name.count("b") - name.count("♭")) % 12


def _strip_parens(s: str) -> str:
    """Parentheses are only grouping; check they pair up, then drop them with spaces/commas."""
    depth = 0
    for ch in s:
        depth += (ch == "(") - (ch == ")")
        if depth not in (0, 1):
            raise ValueError("unbalanced parentheses")
    if depth or "()" in s.replace(" ", ""):
        raise ValueError("unbalanced or empty parentheses")
    return re.sub(r"[\s(),]", "", s)


@dataclass
class _Suffix:
    """What a suffix says so far, token by token (``_read_suffix``)."""
    third: int | None = 4
    fifth: int | None = 7
    top: int | None = None            # the 6th or 7th
    alt: bool = False
    maj: str = ""                     # the major-seventh word as written ('' if none)
    implied: set[int] = field(default_factory=set)
    added: set[int] = field(default_factory=set)
    kinds: list[str] = field(default_factory=list)


def _sus(st: _Suffix, g) -> None:
    st.third = 2 if g[0] == "2" else 5
    if g[0] in ("24", "42"):                       # sus24: the 4th, with the 2nd added
        st.added.add(2)


def _alt(st: _Suffix, g) -> None:
    st.alt, st.fifth, st.top = True, 8, st.top or 10
    st.added.add(3)


def _add(st: _Suffix, g) -> None:
    if g[0] + g[1] not in _TENSION:
        raise ValueError(f"no such added tone {'add' + g[0] + g[1]!r}")
    st.added.add(_TENSION[g[0] + g[1]])


def _alter(st: _Suffix, g) -> None:
    acc, n = {"+": "#", "-": "b"}.get(g[0], g[0]), g[1]
    if n == "5":
        st.fifth = 6 if acc == "b" else 8
    elif acc + n in _TENSION:
        st.added.add(_TENSION[acc + n])
    else:
        raise ValueError(f"no such alteration {g[0] + g[1]!r}")


def _first_number(st: _Suffix, n: int) -> None:
    """The extension: 6 or 7 (and the ninths below 9, 11, 13); 5 power chord, 2 add9."""
    if n == 5:
        if st.kinds not in ([], ["aug"]):
            raise ValueError("5 only as a power chord (C5) or C+5")
        st.third = None if not st.kinds else st.third
    elif n == 2:
        if st.kinds:
            raise ValueError("2 only right after the root (C2 = Cadd9)")
        st.added.add(2)
    elif n == 6:
        st.top = 9
    else:
        st.top = 11 if st.maj else 9 if "dim" in st.kinds else 10
        st.implied |= _IMPLIED.get(n, set())


def _later_number(st: _Suffix, n: int) -> None:
    """A number after the extension: a tension, or the 7th of a 6 (C67 = C13) or a maj (Co7M7)."""
    if n in (9, 11, 13):
        st.added.add(_TENSION[str(n)])
    elif n == 7 and st.kinds[-1] == "maj":
        st.top = 11
    elif n == 7 and st.top == 9:
        st.top = 10
        st.added.add(9)
    else:
        raise ValueError(f"unexpected {n} after the extension")


def _number(st: _Suffix, text: str) -> None:
    (_later_number if "num" in st.kinds else _first_number)(st, int(text))


_ON_TOKEN = {
    "min": lambda st, g: setattr(st, "third", 3),
    "dim": lambda st, g: (setattr(st, "third", 3), setattr(st, "fifth", 6)),
    "half": lambda st, g: (setattr(st, "third", 3), setattr(st, "fifth", 6), setattr(st, "top", 10)),
    "aug": lambda st, g: setattr(st, "fifth", 8),
    "sharp5": lambda st, g: setattr(st, "fifth", 8),
    "phryg": lambda st, g: (setattr(st, "third", 5), setattr(st, "top", 10), st.added.add(1)),
    "omit": lambda st, g: setattr(st, "third" if g[0] == "3" else "fifth", None),
    "bass": lambda st, g: (setattr(st, "third", None), setattr(st, "fifth", None)),
    "variant": lambda st, g: None,        # Impro-Visor's C7_: the same chord, voiced another way
    "sus": _sus, "alt": _alt, "add": _add, "alter": _alter,
}


def _read_suffix(s: str) -> tuple[int | None, int | None, int | None, set[int], bool]:
    """Suffix -> (3rd, 5th, 6th/7th, tension intervals, alt); raises ValueError(why)."""
    s = _strip_parens(s)
    st, pos = _Suffix(), 0
    while pos < len(s):
        for kind, rx in _TOKENS:
            m = None if (kind in _FIRST_ONLY and st.kinds) else rx.match(s, pos)
            if m:
                break
        else:
            raise ValueError(f"cannot read {s[pos:]!r}")
        pos = m.end()
        if kind == "maj":
            st.maj = m.group()
        elif kind == "num":
            _number(st, m.group())
        else:
            _ON_TOKEN[kind](st, m.groups())
        st.kinds.append(kind)
    if st.maj and st.top is None and st.maj in "Δ^j":
        st.top = 11
    if st.added & {1, 3}:
        st.implied.discard(2)
    return st.third, st.fifth, st.top, st.implied | st.added, st.alt


def _quality(third: int | None, fifth: int | None, top: int | None, alt: bool) -> str:
    """The class from 3rd, 5th and 6th/7th (see the module docstring's table)."""
    if alt:
        return "alt"
    if third in (2, 5):
        return "7sus4" if top in (10, 11) else "sus4"
    if third == 3:
        if fifth == 6:
            return {9: "dim7", 10: "m7b5"}.get(top, "dim")
        return {11: "minmaj7", 10: "min7", 9: "min6"}.get(top, "min")
    if fifth == 8:
        return "aug7" if top == 10 else "aug"
    return {11: "maj7", 10: "dom7", 9: "6"}.get(top, "maj")


def clean(text: str) -> str:
    """Text as typed, less what cannot be seen: outer spaces, BOMs, zero-width characters."""
    return "".join(ch for ch in str(text) if ch not in _INVISIBLE).strip()


@functools.lru_cache(maxsize=8192)
def parse_chord(symbol: str) -> Chord:
    """Read one lead-sheet symbol; raises ChordError naming it and why."""
    def bad(why: str) -> ChordError:
        return ChordError(f"unknown chord symbol {symbol!r}: {why}")

    if not isinstance(symbol, str):
        raise bad("not a string")
    s = clean(symbol)
    if not s:
        raise bad("empty")
    t = s.translate(_UNICODE)
    if _NC.fullmatch(t):
        return Chord(s, None, None, "none", ())
    head, *rest = re.split(r"[/\\]", t.replace("6/9", "69"))
    m = _ROOT.match(head)
    if not m:
        raise bad("the root must be an upper-case letter A-G, then any b / #")
    if len(rest) > 1:
        raise bad("more than one '/'")
    root = bass = _pc(m.group())
    try:
        bass, under = _slash_part(rest[0].strip()) if rest else (root, set())
        third, fifth, top, tensions, alt = _read_suffix(head[m.end():])
    except ValueError as e:
        raise bad(str(e)) from None
    tones = tuple((root + i) % 12 for i in (0, third, fifth, top) if i is not None)
    pcs = tuple(sorted(set(tones) | {(root + i) % 12 for i in tensions} | {bass} | under))
    return Chord(s, root, bass, _quality(third, fifth, top, alt), pcs, tones)


def _slash_part(text: str) -> tuple[int, set[int]]:
    """(bass pitch class, pitch classes of a lower chord) of what follows '/' (or Impro-Visor's
    '\\'): a bass note, in either case (``Cm7/bb``), or the chord under a polychord
    (``Bb\\A7``, ``Fm7/Bb7``: its root is the bass, its notes join the chord's)."""
    m = _ROOT.match(text[:1].upper() + text[1:])
    if not m:
        raise ValueError(f"slash bass {text!r} is not a note name")
    if m.end() == len(text):
        return _pc(m.group()), set()
    if text[0].islower():
        raise ValueError(f"slash bass {text!r} is not a note name")
    try:
        lower = parse_chord(text)
    except ChordError:
        raise ValueError(f"slash bass {text!r} is neither a note name nor a chord") from None
    return lower.root, set(lower.pcs)


def transpose_symbol(symbol: str, semitones: int) -> str:
    """Move root and slash bass by ``semitones``, respelled from ``NAMES``; the suffix is kept
    as written. By a multiple of 12 (and for N.C.) the symbol comes back unchanged."""
    chord = parse_chord(symbol)
    s = chord.symbol
    if chord.root is None or semitones % 12 == 0:
        return s
    t = s.translate(_UNICODE)   # one character for one: positions in t are positions in s
    head_end = len(s)
    b = _BASS.search(t)
    if b:
        head_end = b.start()
    out = NAMES[(chord.root + semitones) % 12] + s[_ROOT.match(t).end():head_end]
    if not b:
        return out
    lower = b.group(1).capitalize() + b.group(2)
    sep = "\\" if "\\" in t[head_end:b.start(1)] else "/"
    return out + sep + (transpose_symbol(lower, semitones) if b.group(2) else NAMES[(chord.bass + semitones) % 12])


def chord_tones(chord: Chord) -> tuple[int, ...]:
    """Root, 3rd (4th/2nd if sus), 5th, 7th (6th) as pitch classes, in that order; () for N.C.
    These are what a chord-tone rate counts and what a comping voicing is built from."""
    if chord.root is not None and not chord.tones:  # a Chord built by hand
        return parse_chord(chord.symbol).tones
    return chord.tones


MAX_BARS = 1024          # one chorus; the longest standard forms are 64 bars
MAX_BAR_CHORDS = 16      # more chords than that in one bar is noise, not harmony


def parse_changes(text: str) -> list[list[str]]:
    """Chart text -> bars of symbols. Bars are split by '|' and by line ends; empty cells
    (leading/trailing '|', '||') are ignored; the chords in a bar share it; a bar that is
    just '%' repeats the previous bar. Every symbol is checked; errors name the bar (1-based)."""
    bars: list[list[str]] = []
    for line in clean(text).replace("｜", "|").replace("％", "%").splitlines():
        for cell in line.split("|"):
            syms = re.findall(r"[^\s(]*\([^)]*\)\S*|\S+", cell)  # keep 'C7(#9, b13)' whole
            if not syms:
                continue
            n = len(bars) + 1
            if n > MAX_BARS:
                raise ChordError(f"more than {MAX_BARS} bars of changes: a chart is one chorus, not a song book")
            if len(syms) > MAX_BAR_CHORDS:
                raise ChordError(f"bar {n}: {len(syms)} chords, at most {MAX_BAR_CHORDS} to a bar")
            if syms == ["%"]:
                if not bars:
                    raise ChordError(f"bar {n}: '%' repeats the previous bar, but there is none")
                bars.append(list(bars[-1]))
                continue
            for sym in syms:
                try:
                    parse_chord(sym)
                except ChordError as e:
                    raise ChordError(f"bar {n}: {e}") from None
            bars.append(syms)
    if not bars:
        raise ChordError(f"empty chord changes: no chords in {text!r}")
    return bars


def _vamp(sym: str, bars: int) -> str:
    return " | ".join([sym] + ["%"] * (bars - 1))


_A1 = "C6 A7 | Dm7 G7 | C6 A7 | Dm7 G7 | C6 C7 | F6 F#dim7 | C6/G A7 | Dm7 G7"
_A2 = "C6 A7 | Dm7 G7 | C6 A7 | Dm7 G7 | C6 C7 | F6 F#dim7 | Dm7 G7 | C6"
FORMS = {  # all in C (minor forms in C minor); form_changes() moves them to any key
    "blues": "C7 | F7 | C7 | Gm7 C7 | F7 | F#dim7 | C7 | A7 | Dm7 | G7 | C7 A7 | Dm7 G7",
    "minor-blues": "Cm7 | Fm7 | Cm7 | % | Fm7 | % | Cm7 | % | Ab7 | G7alt | Cm7 | Dm7b5 G7alt",
    "rhythm-changes": "\n".join([_A1, _A2, "E7 | % | A7 | % | D7 | % | G7 | %", _A2]),  # AABA
    "ii-v-i": "Dm7 | G7 | Cmaj7 | % | Dm7b5 | G7alt | Cm6 | %",  # major, then parallel minor
    "modal": "\n".join([_vamp("Cm7", 16), _vamp("Dbm7", 8), _vamp("Cm7", 8)]),  # So What
    # a 16-bar jazz waltz, ii-Vs with raised-fifth dominants (Someday My Prince's kind of
    # changes); two chords in a bar of three: the first gets beats 1-2, the second beat 3
    "waltz": "\n".join(["Cmaj7 | E7#5 | Fmaj7 | A7#5 | Dm7 | A7 | D7 | G7",
                        "Em7 | A7 | Dm7 | G7 | Em7 A7 | Dm7 G7 | Cmaj7 | Dm7 G7"]),
}
_MINOR_FORMS = {"minor-blues", "modal"}
FORM_METERS = {"waltz": (3, 4)}   # a form's own meter (numerator, denominator); the rest are 4/4


def form_meter(name: str) -> tuple[int, int]:
    """The meter a built-in form is played in (4/4 unless FORM_METERS says otherwise)."""
    if name not in FORMS:
        raise ChordError(f"unknown form {name!r}; known forms: {', '.join(FORMS)}")
    return FORM_METERS.get(name, (4, 4))


def form_changes(name: str, key: str | None = None) -> list[list[str]]:
    """Bars of a built-in form, moved from C to ``key`` ('F', 'Bb', 'F#'; 'Cm' / 'C-' also for
    the minor forms; a lower-case first letter is fine). ``key=None``: the chart as written in C."""
    name = clean(name)
    if name not in FORMS:
        raise ChordError(f"unknown form {name!r}; known forms: {', '.join(FORMS)}")
    bars = parse_changes(FORMS[name])
    if key is None:
        return bars
    m = re.fullmatch(r"([A-Ga-g][b#♭♯]*)\s*(m|min|-)?", clean(key).translate(_UNICODE))
    if not m:
        raise ChordError(f"unknown key {key!r}: expected a root name like 'F', 'Bb', 'F#'")
    if m.group(2) and name not in _MINOR_FORMS:
        raise ChordError(f"unknown key {key!r} for form {name!r}: that form is major")
    k = _pc(m.group(1)[0].upper() + m.group(1)[1:])
    return [[transpose_symbol(s, k) for s in bar] for bar in bars]


# ---------------------------------------------------------------------------- markers

_SECTION_WORDS = ("intro", "verse", "chorus", "bridge", "coda", "outro", "ending", "end",
                  "solo", "solos", "head", "interlude", "tag", "vamp", "fine", "segno",
                  "letter", "section", "part", "refrain", "break", "fill", "theme", "out",
                  "in", "pre", "post", "repeat", "ad", "lib", "fade", "tutti", "guit", "guitar",
                  "piano", "sax", "bass", "drums", "trumpet", "tpt", "horns", "melody", "lead",
                  "pno", "gtr", "organ", "keys", "strings")
_LETTER_MARK = re.compile(r"\[?\s*([A-H])\s*(\d{0,2}|'{1,2}|′)\s*\]?")
_CHORD_NUMBERS = {"5", "6", "7", "9", "11", "13"}   # A7, C6, D13 are chords; A2 is a mark
_BRACKETED = re.compile(r"\[[^\]]*\]|\([A-H]\d?\)")


def is_rehearsal_mark(text: str) -> bool:
    """True for what is certainly a section / rehearsal mark, never a chord: a word such as
    "Intro", "Chorus", "Guit. solo", "Letter A", a bracketed "[A]", or a letter with a
    number or prime ("A2", "B'").  A lone "A".."G" is *not* decided here: alone it is a
    chord; ``marker_is_chord`` decides it from the other markers of the file."""
    s = str(text).strip()
    if not s:
        return False
    if _BRACKETED.fullmatch(s):
        return True
    m = _LETTER_MARK.fullmatch(s)
    if m and m.group(2) and m.group(2) not in _CHORD_NUMBERS:
        return True                    # "A2", "B'", "A3"; "A2" is far likelier than Aadd9
    words = re.findall(r"[A-Za-z]+", s)
    if any(len(w) >= 3 and w.lower() in _SECTION_WORDS for w in words):
        return True
    return bool(words) and words[0].lower() in _SECTION_WORDS and len(words) > 1


def chord_or_none(symbol: str) -> Chord | None:
    """The chord a symbol names, or None for N.C. and for a symbol that does not parse.

    The one fallback for every stage that must not stop on an odd symbol (a hand-built or
    edited sequence: the reader itself drops unparsable markers): it reads as no chord.
    """
    try:
        ch = parse_chord(str(symbol))
    except ChordError:
        return None
    return ch if ch.root is not None else None


def chord_roots(symbols) -> list[int]:
    """The root pitch class of each symbol; -1 for N.C. and for one that does not parse."""
    return [-1 if (c := chord_or_none(s)) is None else c.root for s in symbols]


def is_chord_symbol(text: str) -> bool:
    """True if ``text`` reads as a chord symbol (N.C. included) and is no rehearsal mark."""
    if is_rehearsal_mark(text):
        return False
    try:
        parse_chord(str(text))
    except ChordError:
        return False
    return True


def marker_is_chord(texts) -> list[bool]:
    """For all marker texts of one file, in time order: which are chord symbols.

    Context decides the single letters: if every marker that reads as a chord is a bare
    letter A-H (rehearsal letters run past G, and chords other than major triads have a
    suffix), the first one is "A" and the distinct letters are the first letters of the
    alphabet (A, B, C ... with none skipped, as in A A B A), they are rehearsal marks;
    otherwise ("A D E A", "C F G") they are chords.
    """
    texts = [str(t).strip() for t in texts]
    ok = [is_chord_symbol(t) for t in texts]
    bare = [t for t, k in zip(texts, ok) if k and len(t) == 1]
    chords = [t for t, k in zip(texts, ok) if k]
    if chords and len(bare) == len(chords) and chords[0] == "A":
        letters = sorted(set(bare))
        if letters == list("ABCDEFGH"[:len(letters)]):
            return [False if (k and len(t) == 1) else k for t, k in zip(texts, ok)]
    return ok
