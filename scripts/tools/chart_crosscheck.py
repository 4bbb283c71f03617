"""The same tunes read from two chart formats: do they play the same bars and chords?

    python scripts/tools/chart_crosscheck.py PLAYLIST FOLDER [--show N]

PLAYLIST holds iReal Pro links (e.g. Jazz 1460); FOLDER holds MusicXML files of the same
tunes (e.g. a notation program's import of that playlist), matched by title (the file name
less a leading number).  For each pair the road maps are expanded (``Tune.played``) and
compared: the number of played bars, then the chords as (bar, place in the bar, root,
quality).  Prints the counts, and for the tunes whose bar counts differ which written marks
differ (forward repeats, repeat counts, endings, jumps, coda signs), with a few examples.
"""
from __future__ import annotations

import argparse
import re
from collections import Counter
from pathlib import Path

from jazzgen.errors import JazzgenError
from jazzgen.music.charts import read_tunes
from jazzgen.music.chords import parse_chord

MARKS = {   # what a chart writes that routes the band, as counted per tune
    "forward repeats": lambda bars: sum(b.repeat_start for b in bars),
    "repeat counts": lambda bars: sorted(b.repeat_end for b in bars if b.repeat_end),
    "endings": lambda bars: [(b.number, b.endings) for b in bars if b.endings],
    "jumps": lambda bars: [b.jump.split()[0] for b in bars if b.jump],
    "coda signs": lambda bars: [(b.coda, b.to_coda) for b in bars if b.coda or b.to_coda],
}


def plain(title: str) -> str:
    return re.sub(r"[^a-z0-9]", "", title.lower())


def chords(tune) -> list:
    out = []
    for k, bar in enumerate(tune.played()):
        for at, sym in bar.chords:
            c = parse_chord(sym)
            out.append((k, at, c.root, c.quality))
    return out


def why(a, b) -> str:
    """The first kind of written mark in which two readings of a tune differ."""
    if len(a.bars) != len(b.bars):
        return "written bar count"
    for name, count in MARKS.items():
        if count(a.bars) != count(b.bars):
            return name
    return "same marks"


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("playlist")
    p.add_argument("folder")
    p.add_argument("--show", type=int, default=5, help="examples shown per kind of difference")
    a = p.parse_args(argv)
    ireal = {plain(e.title): e for e in read_tunes(Path(a.playlist).read_bytes(), a.playlist)}
    counts, reasons, examples = Counter(), Counter(), {}
    for path in sorted(Path(a.folder).glob("*.*")):
        entry = ireal.get(plain(re.sub(r"^\d+_", "", path.stem).replace("_", " ")))
        if entry is None or path.suffix.lower() not in (".mxl", ".musicxml", ".xml"):
            counts["unmatched"] += 1
            continue
        try:
            one, two = entry.read(), read_tunes(path.read_bytes(), path.name)[0].read()
            bars = len(one.played()), len(two.played())
            same_chords = chords(one) == chords(two)
        except JazzgenError:
            counts["not read"] += 1
            continue
        kind = "same bars and chords" if bars[0] == bars[1] and same_chords else (
            "same bars, other chords" if bars[0] == bars[1] else "other played bar count")
        counts[kind] += 1
        if kind == "other played bar count":
            reasons[why(one, two)] += 1
            examples.setdefault(why(one, two), []).append(f"{one.title} ({bars[0]} / {bars[1]} bars)")
    print(", ".join(f"{k}: {v}" for k, v in counts.most_common()))
    for reason, n in reasons.most_common():
        print(f"  {n:4d}  {reason} differ: {', '.join(examples[reason][:a.show])}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
