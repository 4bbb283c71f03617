"""MusicXML lead sheets (``.musicxml``, ``.xml``, compressed ``.mxl``): the chord symbols.

The changes are the ``<harmony>`` elements of the first part that has any: each one's
root, ``kind`` and ``degree``s (added, altered, left out) and ``bass`` make a symbol that
``music.chords.parse_chord`` reads (``kind`` major-seventh with an added flat 9 is ``Cmaj7addb9``),
placed where it stands in its measure (the notes, ``<backup>`` and ``<forward>`` before it,
plus its ``<offset>``).  Each measure is a bar in the time signature in force; a pickup
measure without chords is left out.  The road map: ``<repeat>`` barlines (``times``),
``<ending>`` numbers, segno and coda signs, "To Coda", "D.C." / "D.S." (al coda / al fine)
and "Fine" as ``<sound>`` attributes or as staff words; the tempo is the first
``<sound tempo>``.  Only partwise scores are read (what every notation program writes).
"""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET
import zipfile
import zlib
from fractions import Fraction

from jazzgen.errors import ChordError
from jazzgen.music.charts.form import Bar, Tune, check_symbols, jump_of, key_name, where

MAX_UNZIPPED = 32 * 2**20        # bytes a compressed score may unpack to
_KIND = {   # MusicXML's harmony kinds as the suffix of a symbol parse_chord reads
    "major": "", "minor": "m", "augmented": "+", "diminished": "dim", "dominant": "7",
    "major-seventh": "maj7", "minor-seventh": "m7", "diminished-seventh": "dim7",
    "augmented-seventh": "+7", "half-diminished": "m7b5", "major-minor": "m(maj7)",
    "major-sixth": "6", "minor-sixth": "m6", "dominant-ninth": "9", "major-ninth": "maj9",
    "minor-ninth": "m9", "dominant-11th": "11", "major-11th": "maj11", "minor-11th": "m11",
    "dominant-13th": "13", "major-13th": "maj13", "minor-13th": "m13", "suspended-second": "sus2",
    "suspended-fourth": "sus4", "power": "5", "pedal": "Bass", "neapolitan": "", "italian": "7",
    "french": "7b5", "german": "7", "tristan": "m7b5", "augmented-ninth": "+9", "maj69": "69",
    "minor-69": "m69", "6/9": "69", "augmented-major-seventh": "maj7#5",
}
_ACC = {-2: "bb", -1: "b", 0: "", 1: "#", 2: "##"}


def unzip(data: bytes) -> bytes:
    """The score inside a compressed MusicXML file (its container names it)."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        names = [i.filename for i in z.infolist()]
        if sum(i.file_size for i in z.infolist()) > MAX_UNZIPPED:
            raise ChordError(f"the compressed score unpacks to more than {MAX_UNZIPPED >> 20} MiB")
        root = _container_root(z) if "META-INF/container.xml" in names else None
        root = root if root in names else next(
            (n for n in names if not n.startswith("META-INF") and n.endswith((".xml", ".musicxml"))), None)
        if root is None:
            raise ChordError("no MusicXML score in the compressed file")
        return z.read(root)
    except ChordError:
        raise
    except (zipfile.BadZipFile, zlib.error, ET.ParseError, OSError, EOFError, ValueError, RuntimeError,
            NotImplementedError) as e:                 # what a damaged or encrypted zip raises
        raise ChordError(f"not a readable compressed MusicXML file ({e})") from None


def _container_root(z: zipfile.ZipFile) -> str | None:
    """The score the container names (None when it is broken: some writers do not escape a quote)."""
    try:
        rf = ET.fromstring(z.read("META-INF/container.xml")).find(".//rootfile")
    except ET.ParseError:
        return None
    return rf.get("full-path") if rf is not None else None


def read_musicxml(data: bytes, name: str = "") -> Tune:
    """A MusicXML score's (bytes) chord symbols and road map as a Tune."""
    if data[:2] == b"PK":
        data = unzip(data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as e:
        raise ChordError(f"not a MusicXML file: {e}") from None
    title = _title(root) or name or "untitled"
    if root.tag != "score-partwise":
        raise ChordError(f"{where(title)}: a <{root.tag}> is not a partwise MusicXML score")
    parts = root.findall("part")
    part = next((p for p in parts if p.find("measure/harmony") is not None), None)
    if part is None:
        raise ChordError(f"{where(title)}: no chord symbols (<harmony>) in the score")
    bars = _Reader(title).read(part)
    _codas(bars)
    tempo = next((s.get("tempo") for s in root.iter("sound") if s.get("tempo")), None)
    key = part.find("measure/attributes/key")
    tune = Tune(title, bars, bpm=_positive(tempo), composer=root.findtext("identification/creator") or "",
                key="" if key is None else key_name(key.findtext("fifths"), key.findtext("mode") == "minor"))
    check_symbols(tune)
    return tune


def _title(root) -> str:
    for path in ("work/work-title", "movement-title", "credit/credit-words"):
        text = " ".join((root.findtext(path) or "").split())
        if text:
            return text
    return ""


def _positive(text) -> float | None:
    try:
        v = float(text)
    except (TypeError, ValueError):
        return None
    return v if v > 0 else None


def symbol(h, title: str, bar: int) -> str:
    """The chord symbol of a <harmony> element."""
    kind_el = h.find("kind")
    kind = (kind_el.text or "").strip() if kind_el is not None else ""
    if kind == "none":
        return "N.C."
    root = h.find("root")
    if root is None:
        raise ChordError(f"{where(title, bar)}: a chord symbol without a <root> (numerals are not read)")
    name = _note(root, "root", title, bar)
    text = (kind_el.get("text") or "") if kind_el is not None else ""
    if kind == "dominant" and "alt" in text:                    # 7alt, spelled out as b5 b9 ...
        suffix = "7alt"
    elif kind in _KIND:
        degrees = [_degree(d) for d in h.findall("degree")]
        base = _KIND[kind]
        if base.startswith("sus") and "7" in degrees:          # a sus chord with its 7th: 7sus4
            base = "7" + base
            degrees.remove("7")
        for tone, sus in (("add4", "sus4"), ("add2", "sus2")):  # no 3rd and an added 4th: a sus chord
            if "no3" in degrees and tone in degrees:
                base += sus
                degrees = [d for d in degrees if d not in ("no3", tone)]
        suffix = base + "".join(degrees)
    else:
        suffix = text
    bass = h.find("bass")
    return name + suffix + ("/" + _note(bass, "bass", title, bar) if bass is not None else "")


def _note(el, what: str, title: str, bar: int) -> str:
    step = (el.findtext(f"{what}-step") or "").strip()
    if step not in list("ABCDEFG"):
        raise ChordError(f"{where(title, bar)}: chord {what} {step!r} is not a note name")
    try:
        return step + _ACC[round(float(el.findtext(f"{what}-alter") or 0))]
    except (KeyError, ValueError):
        raise ChordError(f"{where(title, bar)}: chord {what} alteration is not -2..2") from None


def _degree(d) -> str:
    """An added, altered or left-out degree as the symbol writes it: add9, b5, addb9, no3."""
    value = (d.findtext("degree-value") or "").strip()
    kind = (d.findtext("degree-type") or "add").strip()
    try:
        acc = _ACC[round(float(d.findtext("degree-alter") or 0))]
    except (KeyError, ValueError):
        acc = ""
    if kind == "subtract":
        return f"no{value}" if value in ("3", "5") else ""
    if kind == "alter" or value == "5":                          # an added #5 is an altered 5th
        return acc + value if acc else ""
    if value == "7":
        return {"": "7", "#": "maj7", "b": ""}.get(acc, "")
    return f"add{acc}{value}"


class _Reader:
    """A part's measures into bars, one pass."""

    def __init__(self, title: str):
        self.title = title
        self.divisions, self.meter = 1, (4, 4)
        self.ending: tuple[int, ...] = ()

    def read(self, part) -> list[Bar]:
        bars = []
        for k, m in enumerate(part.findall("measure")):
            number = m.get("number", "")
            bar, length = self.measure(m, int(number) if number.isdigit() else len(bars) + 1)
            nominal = self.divisions * Fraction(4 * self.meter[0], self.meter[1])
            if k == 0 and 0 < length < nominal and not bar.chords:
                continue                               # a pickup without chords
            if k == 0 and 0 < length < nominal:
                bar.chords = [(at + (nominal - length), s) for at, s in bar.chords]
            bar.chords = [(min(Fraction(at) / nominal, Fraction(nominal - 1, nominal)), s)
                          for at, s in bar.chords]
            bars.append(bar)
        if not bars:
            raise ChordError(f"{where(self.title)}: the part has no measures")
        return bars

    def measure(self, m, number: int) -> tuple[Bar, int]:
        """(the bar, with chords at positions in divisions; how far its notes reach)."""
        bar, pos, reach = Bar(number=number), 0, 0
        bar.endings = self.ending
        for el in m:
            if el.tag == "attributes":
                self.attributes(el)
            elif el.tag in ("note", "forward", "backup"):
                pos += self.advance(el)
                reach = max(reach, pos)
            elif el.tag == "harmony":
                bar.chords.append((max(0, pos + self.offset(el)), symbol(el, self.title, number)))
            elif el.tag == "barline":
                self.barline(el, bar)
            elif el.tag in ("direction", "sound"):
                _direction(el, bar)
        bar.meter = self.meter
        bar.chords.sort(key=lambda c: c[0])
        return bar, reach

    def attributes(self, el) -> None:
        d = el.findtext("divisions")
        if d is not None:
            self.divisions = self.whole(d, "divisions")
        t = el.find("time")
        if t is not None and t.findtext("beats"):
            beats = [self.whole(b, "time signature") for b in re.split(r"\+", t.findtext("beats"))]
            self.meter = (sum(beats), self.whole(t.findtext("beat-type") or "4", "time signature"))
            if self.meter[1] not in (1, 2, 4, 8, 16):
                raise ChordError(f"{where(self.title)}: no such time signature {self.meter}")

    def whole(self, text: str, what: str) -> int:
        try:
            v = int(str(text).strip())
        except ValueError:
            v = 0
        if v < 1:
            raise ChordError(f"{where(self.title)}: {what} {text!r} is not a positive whole number")
        return v

    def advance(self, el) -> int:
        if el.tag == "note" and (el.find("chord") is not None or el.find("grace") is not None):
            return 0
        try:
            d = round(float(el.findtext("duration") or 0))
        except ValueError:
            d = 0
        return -d if el.tag == "backup" else d

    def offset(self, el) -> int:
        try:
            return round(float(el.findtext("offset") or 0))
        except ValueError:
            return 0

    def barline(self, el, bar: Bar) -> None:
        rep = el.find("repeat")
        if rep is not None and rep.get("direction") == "forward":
            bar.repeat_start = True
        elif rep is not None and rep.get("direction") == "backward":
            bar.repeat_end = max(2, int(_positive(rep.get("times")) or 2))
        end = el.find("ending")
        if end is not None and end.get("type") == "start":
            self.ending = tuple(int(n) for n in re.findall(r"\d+", end.get("number") or ""))
            bar.endings = self.ending
        elif end is not None:
            self.ending = ()
        _sound(el.find("sound"), bar)


def _direction(el, bar: Bar) -> None:
    """Segno, coda, to coda, D.C./D.S., Fine: as signs, staff words or <sound> attributes."""
    for dt in el.iter("direction-type"):
        for sign in dt:
            if sign.tag == "segno":
                bar.segno = True
            elif sign.tag == "coda":
                bar.coda = True
            elif sign.tag == "words" and sign.text:
                _words(sign.text, bar)
    _sound(el if el.tag == "sound" else el.find("sound"), bar)


def _words(text: str, bar: Bar) -> None:
    low = text.lower().replace(" ", "")
    if "tocoda" in low:
        bar.to_coda = True
    elif jump_of(text):
        bar.jump = jump_of(text)
    elif re.fullmatch(r"\(?fine\.?\)?", low):
        bar.fine = True


def _sound(s, bar: Bar) -> None:
    if s is None:
        return
    bar.segno = bar.segno or s.get("segno") is not None
    bar.coda = bar.coda or s.get("coda") is not None
    bar.to_coda = bar.to_coda or s.get("tocoda") is not None
    bar.fine = bar.fine or s.get("fine") is not None
    if s.get("dacapo") == "yes" or s.get("dalsegno") is not None:
        bar.jump = bar.jump or ("D.C." if s.get("dacapo") == "yes" else "D.S.")


def _codas(bars: list[Bar]) -> None:
    """A "To Coda" bar that also carries the sign is no coda; without any "To Coda", the
    first of two coda signs is where the band jumps from and the last where it lands."""
    for b in bars:
        if b.to_coda:
            b.coda = False
    signs = [b for b in bars if b.coda]
    if len(signs) > 1 and not any(b.to_coda for b in bars):
        signs[0].coda, signs[0].to_coda = False, True
    for b in signs[1:-1] if len(signs) > 2 else []:
        b.coda = False
