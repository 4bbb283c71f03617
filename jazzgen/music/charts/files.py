"""Chart files of every kind: which format a file is in, and which of its tunes to play.

``--chart`` (and the page's ``chart`` field) takes any of:

    text       jazzgen's own chart: bars split by '|', '%' repeats a bar, the meter on the
               first line (``music.chords.parse_changes``, ``music.chart.split_meter``)
    ireal      iReal Pro: an ``irealb://`` / ``irealbook://`` link, a playlist of many tunes,
               or the HTML page iReal Pro exports (``ireal``); a link may be given as the
               flag's value itself
    leadsheet  an Impro-Visor leadsheet, ``.ls`` (``impro_visor``)
    musicxml   a MusicXML lead sheet, ``.musicxml`` / ``.xml`` / compressed ``.mxl`` (``musicxml``)

The format is told from the content (a zip, an XML score, a leadsheet's first form, an
iReal link), the file's extension breaking ties.  A playlist's tune is picked by title
(``--tune``): exactly, ignoring case, spacing and a leading or trailing "The"/"A", else
by a unique part of it.
"""
from __future__ import annotations

import difflib
import re
from functools import partial
from pathlib import Path
from typing import Callable, NamedTuple

from jazzgen.errors import FieldError, UsageError
from jazzgen.music.charts.form import Tune
from jazzgen.music.charts.impro_visor import looks_like_leadsheet, read_leadsheet
from jazzgen.music.charts.ireal import LINK, all_songs, read_song
from jazzgen.music.charts.musicxml import read_musicxml

MAX_CHART_BYTES = 4 * 2**20    # a playlist of 1,500 tunes is 0.7 MB; a lead sheet with lyrics a few
FORMATS = ("text", "ireal", "leadsheet", "musicxml")
_XML_START = re.compile(r"\s*(<\?xml|<!DOCTYPE\s+score|<score-(partwise|timewise))")


def read_chart_file(path: str | Path) -> bytes:
    """The bytes of a chart file (or of an iReal Pro link given in its place); errors name it."""
    from jazzgen.util import read_regular
    if LINK.match(str(path)):
        return str(path).encode("utf-8", "surrogatepass")     # bytes that are not UTF-8: said as such
    return read_regular(path, UsageError, "chart", MAX_CHART_BYTES)   # a FIFO or device is never read


def text_of(data: bytes) -> str:
    """A chart's text (UTF-8, a BOM allowed)."""
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise UsageError("not a text file (not UTF-8)") from None


def chart_format(data: bytes, name: str = "") -> str:
    """One of FORMATS: what the bytes hold (see the module docstring)."""
    ext = Path(name).suffix.lower() if name and not LINK.match(name) else ""
    if data[:2] == b"PK" or ext == ".mxl":
        return "musicxml"
    head = data[:2048].decode("utf-8", "replace").lstrip("\ufeff")
    if _XML_START.match(head) or ext in (".musicxml", ".xml"):
        return "musicxml"
    if looks_like_leadsheet(head) or ext == ".ls":
        return "leadsheet"
    if LINK.search(data.decode("utf-8", "replace")):
        return "ireal"
    return "text"


class Entry(NamedTuple):
    """One tune of a chart file: its title, and how to read it (a playlist's tunes are read
    only when played, so a broken one does not keep the others from being played)."""
    title: str
    read: Callable[[], Tune]


def read_tunes(data: bytes, name: str = "") -> list[Entry] | str:
    """The tunes a chart file holds, or (for jazzgen's own text charts) its text."""
    fmt = chart_format(data, name)
    if fmt == "musicxml":
        tune = read_musicxml(data, Path(name).stem if name and not LINK.match(name) else "")
    elif fmt == "leadsheet":
        tune = read_leadsheet(text_of(data))
    elif fmt == "ireal":
        return [Entry(title, partial(read_song, song)) for title, song in all_songs(text_of(data))]
    else:
        return text_of(data)
    return [Entry(tune.title, lambda: tune)]


def _plain(title: str) -> str:
    t = " ".join(re.sub(r"[^\w\s']", " ", title.lower()).split())
    return re.sub(r"^(the|a|an) |, (the|a|an)$| (the|a|an)$", "", t)


def pick_tune(tunes: list[Entry], title: str | None, where: str = "the chart") -> Entry:
    """The tune called `title` (see the module docstring); the only tune when `title` is None."""
    names = [t.title for t in tunes]
    if title is None:
        if len(tunes) == 1:
            return tunes[0]
        shown = ", ".join(repr(n) for n in names[:3]) + (", ..." if len(names) > 3 else "")
        raise FieldError("tune", f"is needed: {where} holds {len(tunes)} tunes ({shown})")
    want = _plain(title)
    exact = [t for t in tunes if _plain(t.title) == want]
    part = [t for t in tunes if want and want in _plain(t.title)]
    found = exact or part
    if len(found) == 1 or (found and exact):
        return found[0]
    if found:
        shown = ", ".join(repr(t.title) for t in found[:5])
        raise FieldError("tune", f"{title!r} matches {len(found)} tunes in {where}: {shown}")
    near = difflib.get_close_matches(title, names, n=3, cutoff=0.6)
    hint = f"; did you mean {', '.join(repr(n) for n in near)}?" if near else (
        f" (it holds {names[0]!r})" if len(names) == 1 else "")
    raise FieldError("tune", f"{title!r}: no such tune in {where}{hint}")
