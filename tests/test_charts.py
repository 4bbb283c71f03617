"""Chart files musicians keep (iReal Pro, Impro-Visor, MusicXML) read into the one Chart,
their road map played as written, and errors that name the tune and the bar."""
from __future__ import annotations

from fractions import Fraction as F
from pathlib import Path

import pytest

from jazzgen.errors import ChordError, UsageError
from jazzgen.music.chart import build_chart
from jazzgen.music.charts import Bar, chart_format, play_order, read_tunes
from jazzgen.music.charts.form import SLASH, spread
from jazzgen.music.charts.ireal import _unscramble50, links, unscramble
from jazzgen.music.chords import parse_chord
from jazzgen.music.notes import GRID

DATA = Path(__file__).parent / "data" / "charts"
HTML = DATA / "jazzgen-tests.html"


def tune(path, title=None):
    entries = read_tunes(path.read_bytes(), path.name)
    return next(e for e in entries if title is None or e.title == title).read()


def symbols(bar):
    return [(at, s) for at, s in bar.chords]


# ---------------------------------------------------------------------------- iReal Pro

def test_ireal_playlist_titles_formats_and_fields():
    entries = read_tunes(HTML.read_bytes(), HTML.name)
    assert [e.title for e in entries] == ["Jazzgen Test Blues", "Jazzgen Short", "The Test Waltz"]
    assert chart_format(HTML.read_bytes(), HTML.name) == "ireal"
    blues = entries[0].read()
    assert (blues.key, blues.style, blues.bpm, blues.composer) == ("C", "Medium Swing", 140.0, "Jazzgen")


def test_ireal_bars_cells_and_bar_repeats():
    b = tune(HTML, "Jazzgen Test Blues").bars
    assert len(b) == 13 and all(x.meter == (4, 4) for x in b)
    assert [x.section for x in b[:5]] == ["A", "", "", "", "B"]
    assert symbols(b[2]) == [(0, "C7")]                          # 'p' slashes hold the chord
    assert symbols(b[3]) == [(0, "C7")]                          # Kcl / x: the bar before
    assert symbols(b[5]) == [(0, "C7/G"), (F(1, 2), "A7"), (F(3, 4), "D-7")]   # small chords: a beat each
    assert symbols(b[6]) == symbols(b[4]) and symbols(b[7]) == symbols(b[5])   # r: the two bars before
    assert symbols(b[9]) == [(0, "G7sus"), (F(1, 2), "G7sus/F")]               # W/F
    assert symbols(b[10]) == [(0, "C^7")]                        # the alternate (Eb^7) is not played
    assert symbols(b[11]) == [(0, "N.C.")]


def test_ireal_road_map_repeat_endings_segno_coda():
    t = tune(HTML, "Jazzgen Test Blues")
    b = t.bars
    assert b[0].repeat_start and b[8].repeat_end == 2 and b[8].endings == (1,) and b[9].endings == (2,)
    assert b[4].segno and b[5].to_coda and b[10].coda and b[9].jump == "D.S. al Coda"
    played = [x.number for x in t.played()]
    assert played == list(range(1, 10)) + list(range(1, 9)) + [10, 5, 6, 11, 12, 13]


def test_ireal_old_link_meter_changes_and_the_chart(tmp_path):
    waltz = tune(HTML, "The Test Waltz")
    assert [x.meter for x in waltz.bars] == [(3, 4)] * 4 + [(2, 4), (3, 4)]
    assert symbols(waltz.bars[0]) == [(0, "D-7"), (F(2, 3), "G7")]
    chart = build_chart(chart_file=HTML, tune="test waltz", bpm=180)
    assert chart.title == "The Test Waltz" and chart.meter == (3, 4) and chart.bpm == 180
    assert chart.meters == ((3, 4),) * 4 + ((2, 4), (3, 4))
    assert chart.chorus == 5 * 3 * GRID + 2 * GRID
    line = chart.timeline(2 * chart.chorus)
    assert [(t.step, t.numerator) for t in line.time_signatures] == [
        (0, 3), (4 * 3 * GRID, 2), (4 * 3 * GRID + 2 * GRID, 3), (chart.chorus, 3),
        (chart.chorus + 4 * 3 * GRID, 2), (chart.chorus + 4 * 3 * GRID + 2 * GRID, 3)]
    # the link itself as the --chart value, and a forced meter keeps chords at their place in the bar
    link = next(x for x in links(HTML.read_text()) if x.startswith("irealbook"))
    forced = build_chart(chart_file=link, meter="4/4")
    assert forced.meters == () and forced.meter == (4, 4) and forced.changes[1] == (round(F(2, 3) * 4 * GRID), "G7")


def test_ireal_tempo_and_meter_of_the_chart_unless_asked():
    blues = build_chart(chart_file=HTML, tune="Jazzgen Test Blues")
    assert blues.bpm == 140 and blues.meter == (4, 4) and blues.meters == ()
    assert blues.chorus == 23 * 4 * GRID                         # the 23 bars the road map plays
    assert [c.symbol for c in blues.changes[-3:]] == ["C^7", "N.C.", "C6"]
    assert build_chart(chart_file=HTML, tune="short", bpm=200).bpm == 200
    assert build_chart(chart_file=HTML, tune="short").bpm == 160   # iReal's 0: no tempo of its own


def test_unscramble():
    s = "".join(chr(48 + i % 70) for i in range(120))
    assert _unscramble50(_unscramble50(s[:50])) == s[:50] != _unscramble50(s[:50])
    assert unscramble("C7XyQLZF7Kcl") == "C7    |F7| x"
    assert unscramble("x" * 51) == "x" * 51                        # a last block of 50 or 51 stays


# ---------------------------------------------------------------------------- Impro-Visor

def test_leadsheet_bars_slashes_and_settings():
    t = tune(DATA / "CedarsBlues.ls")
    assert (t.title, t.key, t.bpm, len(t.bars)) == ("Cedar's Blues", "Bb", 190.0, 16)
    assert symbols(t.bars[1]) == []                              # '/' alone: the chord goes on
    assert symbols(t.bars[3]) == [(F(3, 4), "Bb7#9")]
    assert symbols(t.bars[15]) == [(0, "NC"), (F(1, 4), "B7#9")]
    assert [x.number for x in t.played()] == list(range(1, 17))
    w = tune(DATA / "Contemplation.ls")
    assert {x.meter for x in w.bars} == {(3, 4)} and symbols(w.bars[9]) == [(0, "G7#5b9"), (F(3, 4), "Ab7#11")]
    chart = build_chart(chart_file=DATA / "Contemplation.ls")
    assert chart.meter == (3, 4) and chart.bpm == 80 and (9 * 3 * GRID + 27, "Ab7#11") in chart.changes


def test_leadsheet_without_part_headers_and_notes_in_the_chord_part():
    t = read_tunes(b"(title Old)\n(meter 2 4)\nF | | F6 F7 |\n\nr4 c+8 a8 g8 eb1\n", "old.ls")[0].read()
    assert [symbols(b) for b in t.bars] == [[(0, "F")], [], [(0, "F6"), (F(1, 2), "F7")]]
    assert t.bars[0].meter == (2, 4)


# ---------------------------------------------------------------------------- MusicXML

def test_musicxml_harmony_places_and_road_map():
    t = tune(DATA / "road-map.musicxml")
    assert (t.title, t.bpm, t.key, len(t.bars)) == ("Road Map Test", 132.0, "C", 8)   # the pickup is left out
    assert [symbols(b) for b in t.bars] == [
        [(0, "Cmaj7")], [(0, "Dm7"), (F(1, 2), "G7addb9")], [(0, "F6/A")], [(0, "G7#5")], [(0, "G7sus4")],
        [(0, "C6")], [(0, "N.C."), (F(2, 3), "Bb7")], [(F(1, 3), "C")]]
    assert [b.meter for b in t.bars] == [(4, 4)] * 5 + [(3, 4)] * 3
    assert [b.number for b in t.played()] == [1, 2, 3, 4, 1, 2, 3, 5, 2, 3, 6, 7, 8]
    chart = build_chart(chart_file=DATA / "road-map.musicxml")
    assert chart.meters == ((4, 4),) * 10 + ((3, 4),) * 3 and chart.bpm == 132
    for sym in ("G7addb9", "F6/A", "G7sus4"):
        parse_chord(sym)


def test_compressed_musicxml_d_s_al_fine():
    t = tune(DATA / "Joshua_Fit_the_Battle_of_Jericho.mxl")
    assert t.title == "Joshua Fit The Battle Of Jericho" and len(t.bars) == 25
    played = [b.number for b in t.played()]
    assert played[:16] == list(range(1, 17)) and played[16:40] == list(range(1, 25))    # :| then ending 1
    assert played[40:] == list(range(9, 24)) + [25]               # D.S. to bar 9, the last ending, Fine


# ---------------------------------------------------------------------------- the road map

def bars(*marks):
    return [Bar([(F(0), "C")], number=k + 1, **m) for k, m in enumerate(marks)]


def test_play_order_repeat_counts_endings_and_jumps():
    assert play_order(bars({}, {"repeat_end": 3}, {})) == [0, 1, 0, 1, 0, 1, 2]
    assert play_order(bars({}, {"repeat_start": True}, {"endings": (1, 2), "repeat_end": 3},
                           {"endings": (3,)}, {})) == [0, 1, 2, 1, 2, 1, 3, 4]
    assert play_order(bars({}, {"fine": True}, {"jump": "D.C. al Fine"})) == [0, 1, 2, 0, 1]
    assert play_order(bars({"segno": True}, {"to_coda": True}, {"jump": "D.S. al Coda"}, {"coda": True},
                           {})) == [0, 1, 2, 0, 1, 3, 4]
    # no repeat is taken after the jump, and each jump once
    assert play_order(bars({"repeat_end": 2}, {"jump": "D.C."})) == [0, 0, 1, 0, 1]


def test_spread_cells_as_ireal_plays_them():
    assert spread(["C7", None, "F7", None], 4) == [(0, "C7"), (F(1, 2), "F7")]
    assert spread(["C7", "F7", "G7"], 4) == [(0, "C7"), (F(1, 2), "F7"), (F(3, 4), "G7")]
    assert spread([None, "C7", None], 4) == [(0, "C7")]
    assert spread(["C7", "F7", "G7"], 4, short={0}) == [(0, "C7"), (F(1, 4), "F7"), (F(3, 4), "G7")]
    assert spread(list("ABCDE"), 4) == [(F(k, 5), c) for k, c in enumerate("ABCDE")]
    assert spread([SLASH, SLASH, "Eb7"], 4) == [(F(1, 2), "Eb7")]                 # the chord before goes on
    assert spread(["F/A", SLASH, "Bb-6", None], 3) == [(0, "F/A"), (F(2, 3), "Bb-6")]   # spaces give way first


# ---------------------------------------------------------------------------- spellings

@pytest.mark.parametrize("symbol, quality, pcs", [
    ("Ch7", "m7b5", (0, 3, 6, 10)), ("Ch", "m7b5", (0, 3, 6, 10)), ("C-b6", "min", (0, 3, 7, 8)),
    ("C7+", "aug7", (0, 4, 8, 10)), ("Cm+", "min", (0, 3, 8)), ("Csus24", "sus4", (0, 2, 5, 7)),
    ("CBass", "maj", (0,)), ("Bb\\A", "maj", (2, 5, 9, 10)), ("Cm7/bb", "min7", (0, 3, 7, 10)),
    ("Fm7/Bb7", "min7", (0, 2, 3, 5, 8, 10)), ("C67", "dom7", (0, 4, 7, 9, 10)), ("Cadd9no3", "maj", (0, 2, 7)),
    ("Cphryg", "7sus4", (0, 1, 5, 7, 10)), ("F13_", "dom7", (0, 2, 3, 5, 7, 9)), ("CMajor", "maj", (0, 4, 7)),
    ("C7susadd3", "7sus4", (0, 4, 5, 7, 10)), ("C-^7", "minmaj7", (0, 3, 7, 11)),
    ("C7b9sus", "7sus4", (0, 1, 5, 7, 10)),
])
def test_spellings_of_real_charts(symbol, quality, pcs):
    c = parse_chord(symbol)
    assert (c.quality, c.pcs) == (quality, pcs)


# ---------------------------------------------------------------------------- errors

def ireal_link(title, music):
    from urllib.parse import quote
    return "irealbook://" + quote(f"{title}=Me=Swing=C=n={music}", safe="=")


@pytest.mark.parametrize("data, name, words", [
    (ireal_link("Bad One", "[T44C^7 |D-7#3 |G7 Z").encode(), "x.html", "tune 'Bad One', bar 2: unknown chord symbol"),
    (ireal_link("Bad Meter", "[T44C |T04D Z").encode(), "", "tune 'Bad Meter', bar 2: no such time signature"),
    (ireal_link("Empty", "[     Z").encode(), "", "tune 'Empty': no chords"),
    (b"(title Broken)\n(meter 4 4)\n(part (type chords))\nC7 | Xyz7 |", "b.ls", "tune 'Broken', bar 2: unknown chord"),
    (b"(title Odd)\n(meter 4 0)\nC7 |", "b.ls", "tune 'Odd': (meter 4 0) is not a time signature"),
    ((DATA / "road-map.musicxml").read_bytes().replace(b"<root-step>F</root-step>", b"<root-step>H</root-step>"),
     "r.musicxml", "tune 'Road Map Test', bar 3: chord root 'H' is not a note name"),
    (b"<score-partwise><part id='P1'><measure number='1'/></part></score-partwise>", "n.xml",
     "tune 'n': no chord symbols"),
    (b"PK\x03\x04 not really a zip", "c.mxl", "not a readable compressed MusicXML file"),
])
def test_broken_charts_are_one_line_errors_naming_tune_and_bar(data, name, words):
    with pytest.raises(ChordError) as e:
        build_chart(chart_data=data) if not name else _file(data, name)
    assert words in str(e.value) and str(e.value).startswith("chart") and "\n" not in str(e.value)


def _file(data, name):
    import tempfile
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / name
        path.write_bytes(data)
        return build_chart(chart_file=path)


@pytest.mark.parametrize("kw, words", [
    (dict(chart_file=HTML), "tune is needed: the chart " + str(HTML) + " holds 3 tunes ('Jazzgen Test Blues'"),
    (dict(chart_file=HTML, tune="jazzgen"), "tune 'jazzgen' matches 2 tunes"),
    (dict(chart_file=HTML, tune="Test Walz"), "tune 'Test Walz': no such tune in the chart"),
    (dict(chords="C7 |", tune="x"), "tune picks a tune of a chart file"),
    (dict(chart_file=DATA / "CedarsBlues.ls", key="F"), "key transposes a form"),
])
def test_picking_a_tune(kw, words):
    with pytest.raises(UsageError) as e:
        build_chart(**kw)
    assert words in str(e.value)


def test_a_text_chart_still_reads_as_before(tmp_path):
    path = tmp_path / "c.txt"
    path.write_text("3/4\nDm7 G7 | Cmaj7 | %\n")
    chart = build_chart(chart_file=path)
    assert chart.meter == (3, 4) and [c.symbol for c in chart.changes] == ["Dm7", "G7", "Cmaj7", "Cmaj7"]
    with pytest.raises(UsageError, match="a text chart holds one chorus"):
        build_chart(chart_file=path, tune="x")


def test_a_third_ending_and_a_coda_without_its_sign():
    three = bars({}, {"endings": (1,), "repeat_end": 2}, {"endings": (2,)}, {"repeat_end": 2, "endings": (2,)},
                 {"endings": (3,)}, {})
    assert play_order(three) == [0, 1, 0, 2, 3, 0, 4, 5]
    assert play_order(bars({"to_coda": True}, {}, {"jump": "D.C. al Coda"}, {}, {})) == [0, 1, 2, 0, 3, 4]
    # an ending not for this time through is skipped to the one that is: "D.C. al 3rd ending"
    al3 = bars({}, {"endings": (1,), "repeat_end": 2}, {"endings": (2,)}, {}, {"jump": "D.C. al ending 3"},
               {"endings": (3,)})
    assert play_order(al3) == [0, 1, 0, 2, 3, 4, 0, 5]


def test_damaged_charts_of_every_kind_are_one_line_chart_errors():
    """Bytes of the test charts cut, spliced and overwritten (zips, XML, links, leadsheets):
    every failure is one of jazzgen's own one-line errors, never another exception."""
    import random
    from urllib.parse import unquote

    from jazzgen.errors import JazzgenError
    seeds = [p.read_bytes() for p in sorted(DATA.iterdir()) if p.suffix in (".html", ".ls", ".musicxml", ".mxl")]
    seeds.append(unquote(HTML.read_text()).encode())
    rng = random.Random(7)
    for _ in range(300):
        b = bytearray(rng.choice(seeds))
        for _ in range(rng.randint(1, 6)):
            i = rng.randrange(len(b))
            if rng.random() < 0.5:
                b[i] = rng.choice(b"|[]{}ZNQSTxrnpW*<>()=/%019 #b-^h") if rng.random() < 0.8 else rng.randrange(256)
            else:
                del b[i:i + rng.randint(1, 40)]
        try:
            build_chart(chart_data=bytes(b), tune=rng.choice([None, "Jazzgen Test Blues"]))
        except JazzgenError as e:
            assert "\n" not in str(e)


def test_ireal_repeat_counts_and_text_after_a_bar_s_last_cell():
    link = ireal_link("Counts", "{T44C7 |F7 <*504x>}[G7 |A7 <D.C. al Fine>|D7 Z").encode()
    t = read_tunes(link)[0].read()
    assert t.bars[1].repeat_end == 4                        # "4x" (placed at height 50) for its :|
    assert t.bars[3].jump == "" and t.bars[4].jump == "D.C. al Fine"   # text after A7 marks the D7 bar


@pytest.mark.parametrize("symbol, quality", [("Cminor", "min"), ("Cminor7", "min7"), ("CMajor", "maj")])
def test_chord_words_spelled_out(symbol, quality):
    assert parse_chord(symbol).quality == quality
