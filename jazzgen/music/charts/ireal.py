"""iReal Pro charts: ``irealb://`` and ``irealbook://`` links, playlists and HTML exports.

An iReal Pro export is a link (alone, or in the ``href`` of an HTML page) whose
percent-encoded body holds one tune, or several separated by ``===`` with the
playlist's name last.  A tune is ``=``-separated fields: ``irealb://`` has title,
composer, style, key, the music string behind the ``1r34LbKcu7`` sentinel (scrambled
in blocks of 50 characters) and the tempo two fields after it; ``irealbook://`` (the
older form) has title, composer, style, key, an unused field and the plain music string.

The music string, read left to right (iReal Pro's chart protocol):

    | [ ] { } Z       bar lines: single, double, repeat start / end, final
    *A *B *i *v       section marks (A, B ..., intro, verse)
    T44 T34 T68 T12   time signature (T12 is 12/8)
    N1 N2 N3          numbered endings;  S segno;  Q coda (the first Q of a chart is
                      "to coda", the last one starts the coda);  U end;  f fermata
    <D.C. al Coda>    staff text: D.C. / D.S. (al coda, al fine), Fine, "3x" repeat counts
    C^7 D-7 Eh7 G7b9/B  chords (iReal's spellings, read by ``music.chords.parse_chord``), a
                      slash bass, an alternate chord in parentheses (not played), a
                      quality written as text between stars (``Eb*sus2*``)
    W/B               the chord before, over a new bass (the bass note alone if none)
    x  r              repeat the bar before (x), the two bars before (r: it spans two bars);
                      with nothing before them (a drum intro), no chord
    n  p              no chord (N.C.); a pause slash (the chord goes on)
    s  l              small / large chords (a small one keeps its single beat)
    space , Y         an empty cell (the chord goes on), a separator, a spacer row

Each chord lasts a beat plus one per slash and empty cell after it, as iReal Pro plays them
(``form.spread``).  Staff text and signs (``<...>``, S, Q, U) mark the cell written after
them, so text after a bar's last cell belongs to the next bar, where iReal Pro shows it.
The road map (repeats, endings, coda ...) is followed by ``form``.
"""
from __future__ import annotations

import html
import re
from fractions import Fraction
from urllib.parse import unquote

from jazzgen.errors import ChordError
from jazzgen.music.charts.form import SLASH, Bar, Tune, check_symbols, jump_of, spread, where

SENTINEL = "1r34LbKcu7"
LINK = re.compile(r'irealb(?:ook)?://[^\s"<>]+')
_TOKEN = re.compile(r"""
    (?P<section>\*[A-Za-z]) | (?P<time>T\d\d) | (?P<ending>N\d) | (?P<text><[^>]*>)
  | (?P<chord>[A-GW][b#]?(?:maj|min|dim|aug|sus|alt|add|[-+^hob#\dmM])*(?:\*[^*<>|]*\*)?(?:/[A-G][b#]?)?)
  | (?P<alt>\((?:[^()]|\([^()]*\))*\)) | (?P<bar>[|\[\]{}Z]) | (?P<mark>[SQUfslYxrnp ,.])
""", re.X)
_SECTIONS = {"i": "Intro", "I": "Intro", "v": "Verse", "V": "Verse"}
_TIMES = {"12": (12, 8)}
_COUNT = re.compile(r"(?:^|\s)(?:(\d{1,2})\s*[xX]|[xX]\s*(\d{1,2}))(?:\s|$)")


def links(text: str) -> list[str]:
    """The iReal Pro links in a text: a link alone, a list of them (one a line: spaces in a
    typed link are its own), or the links of an HTML export."""
    if "<" not in text:
        found = (line.strip() for line in text.splitlines() if LINK.match(line.strip()))
    else:
        found = (html.unescape(m.group()) for m in LINK.finditer(text))
    return [link for link in found if "=" in unquote(link)]       # not a mere mention of the scheme


def unscramble(music: str) -> str:
    """The plain music string of an ``irealb://`` tune (what follows the sentinel)."""
    out = []
    while len(music) > 51:
        block, music = music[:50], music[50:]
        out.append(_unscramble50(block))
    out.append(music)
    return "".join(out).replace("Kcl", "| x").replace("LZ", " |").replace("XyQ", "   ")


def _unscramble50(s: str) -> str:
    """Undo the swap of the block's first and last 5 characters and of 10..23 with 26..39."""
    t = list(s)
    for i in list(range(5)) + list(range(10, 24)):
        t[i], t[49 - i] = s[49 - i], s[i]
    return "".join(t)


def songs(link: str) -> list[tuple[str, str]]:
    """(title, the tune's fields) of each tune of a link, unread (a playlist's name, after
    the last ``===``, is dropped; the two forms are told apart by the sentinel)."""
    parts = unquote(link.partition("://")[2]).split("===")
    if len(parts) > 1:
        parts = parts[:-1]
    return [(_title(p.split("=")[0]) or "untitled", p) for p in parts if p.strip()]


def _title(text: str) -> str:
    """iReal's 'Gentle Rain, The' as 'The Gentle Rain'."""
    text = " ".join(text.split())
    m = re.fullmatch(r"(.*), (The|A|An)", text)
    return f"{m.group(2)} {m.group(1)}" if m else text


def read_song(text: str) -> Tune:
    """One tune's fields (see the module docstring) as a Tune; ChordError naming it else."""
    fields = text.split("=")
    title = _title(fields[0]) or "untitled"
    music = next((k for k, f in enumerate(fields) if f.startswith(SENTINEL)), None)
    if music is not None:
        body = unscramble(fields[music][len(SENTINEL):])
        bpm = _number(fields[music + 2] if music + 2 < len(fields) else "")
    elif len(fields) >= 6:
        music, body, bpm = 5, fields[5], None
    else:
        raise ChordError(f"{where(title)}: not an iReal Pro tune (no music string in its {len(fields)} fields)")
    if not body.strip():
        raise ChordError(f"{where(title)}: the chart is empty")
    before = fields[max(0, music - 3):music - 1]          # style and key, before a transpose field or 'n'
    style, key = ([""] * 2 + before)[-2:]
    tune = Tune(title, read_music(body, title), bpm=bpm, key=key, style=style,
                composer=fields[1] if len(fields) > 1 else "")
    check_symbols(tune)
    return tune


def _number(text: str) -> float | None:
    try:
        bpm = float(text)
    except ValueError:
        return None
    return bpm if bpm > 0 else None


class _Reader:
    """The music string's tokens into bars (one pass; see ``read_music``)."""

    def __init__(self, title: str):
        self.title = title
        self.bars: list[Bar] = []
        self.meter = (4, 4)
        self.cells: list[str | None] = []
        self.short: set[int] = set()
        self.small = False
        self.open = False                          # inside a bar (empty cells count)
        self.bar = Bar(number=1)
        self.codas: list[tuple[Bar, bool]] = []    # (bar, before any chord in it)
        self.counts: dict[int, int] = {}           # bar number -> "3x" written there
        self.last = ""                             # the chord before, for W
        self.pending: list[str] = []               # staff text and signs, for the next cell's bar

    def close(self) -> None:
        """End the current bar (kept if anything was written in it) and start the next."""
        b, self.open = self.bar, False
        if not self.cells:
            if self.bars and (b.jump or b.fine):   # a D.C. after the last bar line is that bar's
                self.bars[-1].jump, self.bars[-1].fine = b.jump or self.bars[-1].jump, b.fine or self.bars[-1].fine
                b.jump, b.fine = "", False
            return
        b.meter = self.meter
        b.chords = spread(self.cells, self.meter[0], self.short)
        self.bars.append(b)
        self.bar = Bar(number=len(self.bars) + 1)
        self.cells, self.short = [], set()

    def cell(self, sym: str | None) -> None:
        if sym is None and not self.open:
            return                                 # layout between a closing bar line and the next
        self.open = True
        self.flush()
        if sym not in (None, SLASH) and self.small:
            self.short.add(len(self.cells))
        self.cells.append(sym)

    def chord(self, sym: str) -> None:
        sym = re.sub(r"\*([^*]*)\*", r"\1", sym)       # a quality written as free text: C*sus2*
        if sym.startswith("W"):                     # the chord before over a new bass (or the bass alone)
            under = sym.partition("/")[2]
            sym = self.last.split("/")[0] + sym[1:] if self.last else (under + "Bass" if under else "")
            if not sym:
                return
        self.last = sym
        self.cell(sym)

    def flush(self) -> None:
        """Staff text and signs mark the cell written after them: its bar gets them (text
        after a bar's last cell belongs to the next bar, as iReal Pro shows it)."""
        for tok in self.pending:
            if tok.startswith("<"):
                _staff_text(self, _text(tok))
            else:
                _sign(self, tok)
        self.pending = []

    def bar_line(self, c: str) -> None:
        if c == "}":
            target = self.bar if self.cells else (self.bars[-1] if self.bars else None)
            if target is None:
                raise ChordError(f"{where(self.title, 1)}: a repeat sign ends before any bar")
            target.repeat_end = 2
        self.close()
        if c in "[{|":
            self.open = True
            self.bar.repeat_start = self.bar.repeat_start or c == "{"


def read_music(body: str, title: str) -> list[Bar]:
    """The written bars of an unscrambled music string."""
    r = _Reader(title)
    pos = 0
    while pos < len(body):
        m = _TOKEN.match(body, pos)
        if not m:
            raise ChordError(f"{where(title, r.bar.number)}: cannot read {body[pos:pos + 12]!r}")
        pos = m.end()
        _token(r, m.lastgroup, m.group())
    r.flush()
    r.close()
    _resolve(r)
    if not any(b.chords for b in r.bars):
        raise ChordError(f"{where(title)}: no chords in the chart")
    return r.bars


def _token(r: _Reader, kind: str, tok: str) -> None:
    """Apply one token to the reader."""
    b = r.bar
    if kind == "section":
        b.section = _SECTIONS.get(tok[1], tok[1])
    elif kind == "time":
        r.meter = _TIMES.get(tok[1:], (int(tok[1]), int(tok[2])))
        if r.meter[0] < 1 or r.meter[1] not in (1, 2, 4, 8, 16):
            raise ChordError(f"{where(r.title, b.number)}: no such time signature {tok!r}")
    elif kind == "ending":
        b.endings = (int(tok[1]),) if tok[1] != "0" else ()
    elif kind == "text" or tok in ("S", "Q", "U"):
        r.pending.append(tok)
        m = _COUNT.search(_text(tok)) if kind == "text" else None
        if m:                      # "3x": for the repeat it is written in, wherever in the bar
            r.counts[b.number] = int(m.group(1) or m.group(2))
    elif kind == "chord":
        r.chord(tok)
    elif kind == "bar":
        r.bar_line(tok)
    elif kind == "mark":
        _mark(r, tok)


def _sign(r: _Reader, c: str) -> None:
    """Segno, coda (or "to coda": see ``_resolve``), end."""
    if c == "S":
        r.bar.segno = True
    elif c == "Q":
        r.codas.append((r.bar, all(x in (None, SLASH) for x in r.cells)))
    elif c == "U":
        r.bar.fine = True


def _mark(r: _Reader, c: str) -> None:
    if c in "sl":
        r.small = c == "s"
    elif c == " ":
        r.cell(None)
    elif c == "p":
        r.cell(SLASH)
    elif c == "n":
        r.cell("N.C.")
        r.last = ""
    elif c in "xr":
        r.cell("%" + c)      # resolved after the pass, from the bars before


def _text(tok: str) -> str:
    """A staff text token's words (``<*74D.S. al Coda>``: '*74' places it on the page)."""
    return re.sub(r"^\*\d\d", "", tok[1:-1]).strip()


def _staff_text(r: _Reader, text: str) -> None:
    """D.C. / D.S. (al coda / al fine, al 2nd ending) and Fine in a bar's staff text."""
    r.bar.jump = jump_of(text) or r.bar.jump
    if re.fullmatch(r"fine\.?", text.lower().replace(" ", "")):
        r.bar.fine = True


def _resolve(r: _Reader) -> None:
    """After the pass: bar repeats (x, r), repeat counts, to-coda and coda marks."""
    bars = r.bars
    for k, b in enumerate(bars):
        marks = [c for _, c in b.chords if c.startswith("%")]
        if marks and len(marks) < len(b.chords):     # a stray x beside a chord: the chord is the bar
            b.chords = [(at, c) for at, c in b.chords if not c.startswith("%")]
        elif marks:
            back = 2 if marks[0] == "%r" else 1
            b.chords = list(bars[k - back].chords) if k >= back else [(Fraction(0), "N.C.")]
            if back == 2 and k + 1 < len(bars) and not bars[k + 1].chords:
                bars[k + 1].chords = list(bars[k - 1].chords)
    _ending_spans(bars)
    count = 0
    for b in bars:                 # a "3x" over a repeated passage: how often its :| is taken
        count = r.counts.get(b.number, count)
        if b.repeat_end and count:
            b.repeat_end, count = count, 0
    if r.codas:
        coda, before = r.codas[-1]
        coda.coda = True
        if len(r.codas) > 1:
            to, before = r.codas[0]
            k = next((k for k, b in enumerate(bars) if b is to), len(bars))
            (bars[k - 1] if before and k > 0 else bars[min(k, len(bars) - 1)]).to_coda = True


def _ending_spans(bars: list[Bar]) -> None:
    """An ending (N1) runs from its mark to the repeat sign that closes it (through section
    marks: a second ending may be a whole section); one that no repeat sign closes before
    the next ending or ``{`` (the last ending) is the bar it is written in."""
    for k, b in enumerate(bars):
        if not b.endings:
            continue
        for j in range(k, len(bars)):
            if j > k and (bars[j].endings or bars[j].repeat_start):
                break
            if bars[j].repeat_end:
                for x in bars[k + 1:j + 1]:
                    x.endings = b.endings
                break


def all_songs(text: str) -> list[tuple[str, str]]:
    """``songs`` of every link in a text: a tune is only read when it is played (``read_song``),
    so one broken tune does not keep a playlist's others from being played."""
    found = [s for link in links(text) for s in songs(link)]
    if not found:
        raise ChordError("no irealb:// or irealbook:// link in it")
    return found

