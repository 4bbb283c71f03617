import re

import pytest

from conftest import wjazzd_file
from jazzgen.music.chords import (
    FORMS,
    QUALITIES,
    Chord,
    ChordError,
    chord_tones,
    form_changes,
    parse_changes,
    parse_chord,
    transpose_symbol,
)

LETTER = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


def pc(name):
    return (LETTER[name[0]] + name.count("#") - name.count("b")) % 12


def readme_labels():
    """(Jazzomat label, our symbol) rows of the README's big table; fails if the data is gone."""
    rows = re.findall(r"^\| `([^`]+)` \| `([^`]+)` \| \d+ \|$", wjazzd_file("README.md").read_text(), re.M)
    assert len(rows) == 419, len(rows)
    return rows


def jazzomat_pcs(label):
    """Independent reading of a Jazzomat label: root + triad + 6th/7th + listed tensions + bass
    (the README's own definition; 7alt checked as 7#5#9)."""
    m = re.fullmatch(r"([A-G][b#]?)(m7b5|-|\+|o|sus)?(j)?(7alt|[0-9b#]*)(?:/([A-G][b#]?))?", label)
    assert m, label
    root, qual, j, nums, bass = m.groups()
    iv = {"m7b5": [0, 3, 6, 10], "-": [0, 3, 7], "+": [0, 4, 8], "o": [0, 3, 6],
          "sus": [0, 5, 7], None: [0, 4, 7]}[qual]
    if nums == "7alt":
        iv = [0, 4, 8, 10, 3]
    for n, acc in re.findall(r"(13|11|9|7|6)([b#]?)", nums):
        if n == "7":
            iv.append(11 if j else 9 if qual == "o" else 10)
        else:
            iv.append({"6": 9, "9": 2, "11": 5, "13": 9}[n] + {"b": -1, "#": 1, "": 0}[acc])
    out = {(pc(root) + i) % 12 for i in iv}
    return out | ({pc(bass)} if bass else set())


def test_every_readme_symbol_parses_like_its_jazzomat_label():
    for label, ours in readme_labels():
        c = parse_chord(ours)
        assert c.quality in QUALITIES and QUALITIES.index(c.quality) == c.quality_index
        if label == "NC":
            assert (c.root, c.bass, c.quality, c.pcs) == (None, None, "none", ())
            continue
        assert c.root == pc(re.match(r"[A-G][b#]*", ours).group()), ours
        assert c.quality != "none"
        assert set(c.pcs) == jazzomat_pcs(label), (label, ours, c.pcs)
        bass = ours.rsplit("/", 1)[1] if re.search(r"/[A-G]", ours) else None
        assert c.bass == (pc(bass) if bass else c.root), ours


@pytest.mark.parametrize("symbol,root,bass,quality,pcs", [
    ("Bb7", 10, 10, "dom7", {10, 2, 5, 8}),
    ("Cm7b5", 0, 0, "m7b5", {0, 3, 6, 10}),
    ("Bb6/9", 10, 10, "6", {10, 2, 5, 7, 0}),
    ("Ebm(maj7)", 3, 3, "minmaj7", {3, 6, 10, 2}),
    ("G13", 7, 7, "dom7", {7, 11, 2, 5, 9, 4}),
    ("C7sus4", 0, 0, "7sus4", {0, 5, 7, 10}),
    ("Bbdim7", 10, 10, "dim7", {10, 1, 4, 7}),
    ("F7alt", 5, 5, "alt", {5, 9, 1, 3, 8}),          # 7#5#9
    ("Cm7/Bb", 0, 10, "min7", {0, 3, 7, 10}),
    ("Dbm6/9/Ab", 1, 8, "min6", {1, 4, 8, 10, 3}),   # 6/9 is the quality, Ab the bass
    ("Cmaj7#5", 0, 0, "aug", {0, 4, 8, 11}),
    ("Caug7#9", 0, 0, "aug7", {0, 4, 8, 10, 3}),
    ("F13b9", 5, 5, "dom7", {5, 9, 0, 3, 6, 2}),      # b9 replaces the implied 9
    ("Cm(maj9)#11", 0, 0, "minmaj7", {0, 3, 7, 11, 2, 6}),
    ("Gsus4/A", 7, 9, "sus4", {7, 0, 2, 9}),
    ("C5", 0, 0, "maj", {0, 7}),
    ("Cb7", 11, 11, "dom7", {11, 3, 6, 9}),
    ("Fbm7", 4, 4, "min7", {4, 7, 11, 2}),
    ("B♭7", 10, 10, "dom7", {10, 2, 5, 8}),
])
def test_specific_chords(symbol, root, bass, quality, pcs):
    c = parse_chord(symbol)
    assert (c.symbol, c.root, c.bass, c.quality, set(c.pcs)) == (symbol, root, bass, quality, pcs)
    assert list(c.pcs) == sorted(set(c.pcs))


@pytest.mark.parametrize("typed,canonical", [
    ("C-7", "Cm7"), ("Cmin7", "Cm7"), ("Cmi7", "Cm7"), ("C-", "Cm"), ("Cmin", "Cm"),
    ("CΔ7", "Cmaj7"), ("CΔ", "Cmaj7"), ("CM7", "Cmaj7"), ("Cma7", "Cmaj7"), ("C^7", "Cmaj7"),
    ("Cø", "Cm7b5"), ("Cø7", "Cm7b5"), ("Co7", "Cdim7"), ("C°7", "Cdim7"), ("Co", "Cdim"),
    ("C+", "Caug"), ("C7+5", "C7#5"), ("C7#5", "Caug7"), ("C7(b9)", "C7b9"),
    ("C7(#9,b13)", "C7#9b13"), ("C7(#9, b13)", "C7#9b13"), ("Cm(maj7)", "CmM7"),
    ("C-Δ7", "Cm(maj7)"), ("C sus", "Csus4"), ("Csus", "Csus4"), ("C2", "Cadd9"),
    ("C7-9", "C7b9"), ("C69", "C6/9"), ("Cmaj", "C"), ("CM", "C"), ("C♯m7", "C#m7"),
])
def test_musician_spellings_equal_canonical(typed, canonical):
    a, b = parse_chord(typed), parse_chord(canonical)
    assert [(c.root, c.bass, c.quality, c.pcs, c.tones) for c in (a, b)] == \
           [(b.root, b.bass, b.quality, b.pcs, b.tones)] * 2


def test_other_spellings():
    assert parse_chord("C7b9").pcs == (0, 1, 4, 7, 10)
    assert parse_chord("C7#11").pcs == (0, 4, 6, 7, 10)        # #11 keeps the natural 5th
    assert parse_chord("C7b5").pcs == (0, 4, 6, 10) and parse_chord("C7b5").quality == "dom7"
    assert parse_chord("Csus2").pcs == (0, 2, 7) and parse_chord("Csus2").quality == "sus4"
    assert parse_chord("Cadd9").quality == "maj" and parse_chord("Cadd9").pcs == (0, 2, 4, 7)
    assert parse_chord("Cmadd9").quality == "min"                # m + add9, not 'ma'
    assert parse_chord("C9sus4").quality == "7sus4"
    for nc in ("NC", "N.C.", "n.c.", " N.C. "):
        c = parse_chord(nc)
        got = (c.root, c.quality, c.quality_index, c.pcs, chord_tones(c))
        assert got == (None, "none", 0, (), ())


def test_chord_tones_are_guide_tones():
    assert chord_tones(parse_chord("G13")) == (7, 11, 2, 5)          # tensions left out
    assert chord_tones(parse_chord("Bb6/9")) == (10, 2, 5, 7)        # 6th for 6 chords
    assert chord_tones(parse_chord("C7sus4")) == (0, 5, 7, 10)       # 4th for sus
    assert chord_tones(parse_chord("Cm7/Bb")) == (0, 3, 7, 10)       # bass left out
    assert chord_tones(parse_chord("Cdim7")) == (0, 3, 6, 9)
    assert chord_tones(Chord("F7", 5, 5, "dom7", (0, 3, 5, 9))) == (5, 9, 0, 3)  # built by hand


@pytest.mark.parametrize("bad", ["H7", "Cxyz", "C7#", "", "   ", "C//G", "c7", "C7(b9",
                                 "C()", "C77", "Cm7m", "C4", "C7/9", "C/H", "7", "N.C.7"])
def test_garbage_raises_naming_the_symbol(bad):
    with pytest.raises(ChordError, match=re.escape(f"unknown chord symbol {bad!r}")):
        parse_chord(bad)


def test_transpose():
    assert transpose_symbol("Bb7", 2) == "C7"
    assert transpose_symbol("Dbm6/9/Ab", 1) == "Dm6/9/A"
    assert transpose_symbol("Cm7/Bb", -1) == "Bm7/A"
    assert transpose_symbol("F#dim7", 12) == "F#dim7"              # octave: spelling kept
    assert transpose_symbol("N.C.", 5) == "N.C."
    assert parse_chord("A7").transpose(1) == parse_chord("Bb7")
    for _, ours in readme_labels():
        c = parse_chord(ours)
        for k in (1, 5, -7, 11):
            up = c.transpose(k)
            assert up.quality == c.quality and up.tones == tuple((t + k) % 12 for t in c.tones)
            back = up.transpose(-k)
            assert (back.root, back.bass, back.pcs) == (c.root, c.bass, c.pcs), (ours, k)


def test_parse_changes():
    assert parse_changes("Dm7 G7 | Cmaj7 | %") == [["Dm7", "G7"], ["Cmaj7"], ["Cmaj7"]]
    text = "\n| Dm7 G7 | Cmaj7 |\n| % | C7(#9, b13) ||\n"
    assert parse_changes(text) == [["Dm7", "G7"], ["Cmaj7"], ["Cmaj7"], ["C7(#9, b13)"]]
    with pytest.raises(ChordError, match=r"bar 3: unknown chord symbol 'H7'"):
        parse_changes("C7 | F7 | C7 H7 | G7")
    with pytest.raises(ChordError, match="bar 1"):
        parse_changes("% | C7")
    for empty in ("", "  \n ", "| |"):
        with pytest.raises(ChordError, match="empty"):
            parse_changes(empty)


def test_forms():
    want = {"blues": 12, "minor-blues": 12, "rhythm-changes": 32}
    assert {"blues", "minor-blues", "rhythm-changes", "ii-v-i", "modal"} <= set(FORMS)
    for name in FORMS:
        assert name == name.lower() and " " not in name
        bars = form_changes(name)
        assert len(bars) == want.get(name, len(bars)) and all(bars)
        assert parse_chord(bars[-1][-1]).root in (0, 7)   # written in C: ends on I or V
        for key in ("F", "Bb", "F#", "Db"):
            moved = form_changes(name, key)
            assert [len(b) for b in moved] == [len(b) for b in bars]
            assert parse_chord(moved[0][0]).root == (parse_chord(bars[0][0]).root + pc(key)) % 12
            assert [parse_chord(s).quality for b in moved for s in b] == \
                   [parse_chord(s).quality for b in bars for s in b]
    assert form_changes("blues", "F")[0] == ["F7"]
    assert parse_chord(form_changes("blues", "F")[0][0]).root == 5
    assert form_changes("minor-blues", "Cm") == form_changes("minor-blues", "C")
    assert form_changes("blues", "C") == form_changes("blues")


def test_form_errors():
    with pytest.raises(ChordError, match="blues.*rhythm-changes"):
        form_changes("bossa")
    for key in ("H", "X#", "", "F7"):
        with pytest.raises(ChordError, match="unknown key"):
            form_changes("blues", key)
    with pytest.raises(ChordError, match="unknown key"):
        form_changes("blues", "Fm")                      # a major form in a minor key


# ---------------------------------------------------------------------------- markers

from jazzgen.music.chords import is_chord_symbol, is_rehearsal_mark, marker_is_chord  # noqa: E402


@pytest.mark.parametrize("text", ["A2", "B'", "Intro", "Verse", "Chorus", "Coda", "Guit. solo",
                                  "Letter A", "[A]", "Sax solo", "Fine", "Intro A", "(B)"])
def test_rehearsal_marks_are_no_chords(text):
    assert is_rehearsal_mark(text)
    assert not is_chord_symbol(text)


@pytest.mark.parametrize("text", ["A", "E", "Bb7", "Cm7b5", "A7", "E13", "C6", "Dm7/G", "N.C.", "G7alt"])
def test_chord_symbols_are_chords(text):
    assert is_chord_symbol(text)
    assert not is_rehearsal_mark(text)


def test_single_letters_are_decided_by_the_file():
    assert marker_is_chord(["A", "A", "B", "A"]) == [False] * 4          # AABA form
    assert marker_is_chord(["Intro", "A", "B", "C", "A"]) == [False] * 5
    assert marker_is_chord(["A", "D", "E", "A"]) == [True] * 4           # I IV V in A
    assert marker_is_chord(["A", "A", "C"]) == [True] * 3                # B skipped: chords
    assert marker_is_chord(["A", "Bm7", "E7", "A"]) == [True] * 4
    assert marker_is_chord(["C", "F", "G7", "C"]) == [True] * 4
