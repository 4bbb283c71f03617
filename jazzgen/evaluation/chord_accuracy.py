"""How well chords are inferred from a band (``music.chord_infer``), against changes known
another way: the markers of files jazzgen writes itself (a solo over its trio, the markers
left out), plain triads of a chord track, POP909's labels.  Used by
``scripts/tools/chord_accuracy.py`` and ``scripts/tools/chordless_folder_check.py`` and by the tests.

``params``: the inference's tuning (``chord_infer.Params``; None: its default).
"""
from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import numpy as np

from jazzgen.errors import JazzgenError
from jazzgen.generation.band import band_parts
from jazzgen.music.chords import QUALITY, parse_chord
from jazzgen.music.midi_io import Part, read_midi, write_midi
from jazzgen.music.notes import GRID, NoteSequence
from jazzgen.util import atomic_write

SOLO_NAME, SOLO_PROGRAM = "Sax", 65        # alto sax, on channel 0 (the band uses 1, 2 and 9)


def root_family(symbol: str):
    try:
        ch = parse_chord(symbol)
    except JazzgenError:
        return None
    if ch.root is None:
        return None
    return ch.root, QUALITY[ch.quality].family


TRIADS = {frozenset({0, 4, 7}), frozenset({0, 3, 7})}


def triad_root(pcs: set[int]) -> int | None:
    """The root of a plain major or minor triad (any inversion); None for anything else."""
    for r in pcs:
        if frozenset((p - r) % 12 for p in pcs) in TRIADS:
            return r
    return None


def accompaniment_notes(path: Path, melody) -> list[tuple[float, float, int]]:
    """(start beat, end beat, pitch) of every note of the file (mido) but the melody's
    (a note at the step and pitch of one of `melody`'s, the NoteSequence jazzgen read)."""
    import mido
    mf = mido.MidiFile(path)
    tpq = mf.ticks_per_beat
    sung = set(zip(melody.start.tolist(), melody.pitch.tolist()))
    out = []
    for tr in mf.tracks:
        t, on = 0, {}
        for m in tr:
            t += m.time
            if m.type == "note_on" and m.velocity > 0:
                on[(m.channel, m.note)] = t
            elif m.type in ("note_on", "note_off") and (m.channel, m.note) in on:
                t0 = on.pop((m.channel, m.note))
                if (round(t0 / tpq * GRID), m.note) not in sung:
                    out.append((t0 / tpq, t / tpq, m.note))
    return out


def triad_roots(folder: Path, params=None) -> tuple[int, int]:
    """Real files whose changes are known where they are plain: read each (chords inferred,
    as ingest does), and on every beat where the other tracks sound exactly a major or
    minor triad (mido, mid-beat), compare its root with the inferred chord's.  E.g. the
    Nottingham folk tunes, whose chord track plays the tune's triads.  (beats, hits)."""
    n = hits = 0
    for f in sorted(folder.glob("*.mid")):
        seq, rep = read_midi(f, chord_params=params)
        if rep.chord_source != "inferred":
            continue
        notes = accompaniment_notes(f, seq)
        for b in range(int(seq.end // GRID)):
            root = triad_root({p % 12 for s, e, p in notes if s <= b + 0.5 < e})
            i = int(seq.chord_at(np.array([b * GRID]))[0])
            if root is None or i < 0:
                continue
            got = root_family(seq.chords[i].symbol)
            n += 1
            hits += got is not None and got[0] == root
    return n, hits


# POP909 chord_midi.txt qualities (Harte-style "root:quality[/bass]") -> family; others skipped
POP909_FAMILY = {"maj": "maj", "maj7": "maj", "maj6": "maj", "aug": "maj", "min": "min", "min7": "min",
                 "min6": "min", "minmaj7": "min", "7": "dom", "hdim7": "hdim", "dim": "dim", "dim7": "dim",
                 "sus2": "sus", "sus4": "sus", "sus4(b7)": "sus"}


def pop909_labels(path: Path) -> list[tuple[float, float, int | None, str | None]]:
    """(start s, end s, root pitch class or None for N, family or None) of each chord_midi.txt line."""
    out = []
    for line in path.read_text().splitlines():
        start, end, label = line.split("\t")
        root, _, quality = label.partition(":")
        r = root_family(root) if root != "N" else None
        out.append((float(start), float(end), r[0] if r else None, POP909_FAMILY.get(quality.split("/")[0])))
    return out


def pop909(folder: Path, params=None) -> tuple[int, int, int, int]:
    """POP909 songs (DIR/NNN/NNN.mid + chord_midi.txt, github.com/music-x-lab/POP909-Dataset):
    read each as ingest does (its MELODY track the melody, chords inferred from BRIDGE and
    PIANO) and compare, in the middle of
    every beat, the inferred chord with the dataset's MIDI chord labels (themselves
    extracted from the MIDI by its authors' algorithm, not transcribed by hand).  N beats
    are skipped.  (beats, root hits, beats with a known family, root + family hits)."""
    from jazzgen.music.timing import seconds_of
    n = hits = fam_n = fam_hits = 0
    for d in sorted(p for p in folder.iterdir() if (p / "chord_midi.txt").exists()):
        seq, rep = read_midi(d / f"{d.name}.mid", chord_params=params)
        labels = pop909_labels(d / "chord_midi.txt")
        for b in range(int(seq.end // GRID)):
            mid = b * GRID + GRID // 2
            t = seconds_of(seq, mid)
            want = next((x for x in labels if x[0] <= t < x[1]), None)
            i = int(seq.chord_at(np.array([mid]))[0])
            if want is None or want[2] is None:
                continue
            got = root_family(seq.chords[i].symbol) if i >= 0 else None
            n += 1
            ok = got is not None and got[0] == want[2]
            hits += ok
            if want[3] is not None:
                fam_n += 1
                fam_hits += ok and got[1] == want[3]
    return n, hits, fam_n, fam_hits


def write_arrangement(path: Path, seq: NoteSequence, band: str = "trio", seed: int = 0) -> None:
    """The solo as a track named "Sax" plus jazzgen's band from its markers; no chord symbol.

    write_midi names its first track "Melody" and puts the solo there; here that track
    keeps only the tempo, meter and key maps (renamed "Conductor"), and the solo is a
    part of its own, so nothing in the file says which part is the melody.
    """
    parts = band_parts(seq, band, seed)                  # made from the markers ...
    solo = Part(SOLO_NAME, SOLO_PROGRAM, 0, seq.pitch, seq.start, seq.duration, seq.velocity)
    empty = NoteSequence.empty(seq.name)
    maps = replace(empty, chords=[], tempos=seq.tempos, time_signatures=seq.time_signatures,
                   key_signatures=seq.key_signatures, end=seq.end)   # ... which the file leaves out
    buf = io.BytesIO()
    write_midi(path, maps, [solo] + parts)
    import mido
    mf = mido.MidiFile(path)
    for msg in mf.tracks[0]:
        if msg.type == "track_name":
            msg.name = "Conductor"
    mf.save(file=buf)
    atomic_write(path, lambda f: f.write(buf.getvalue()))


def symbol_events(path: Path) -> list[str]:
    """Every marker, text, lyric or cue event of a file (mido): a chordless file has none."""
    import mido
    kinds = {"marker", "text", "lyrics", "cue_marker"}
    return [f"{m.type} {m.text!r}" for tr in mido.MidiFile(path).tracks for m in tr if m.type in kinds]


def root_accuracy(songs: list[NoteSequence], originals: dict[str, NoteSequence]) -> tuple[int, int]:
    """(beats with a marker chord, beats whose chord read from the file has its root)."""
    n = hits = 0
    for s in songs:
        truth = originals[s.name]
        beats = np.arange(0, truth.end, GRID)
        want, got = truth.roots_at(beats), s.roots_at(beats)
        n += int(np.sum(want >= 0))
        hits += int(np.sum((want >= 0) & (got == want)))
    return n, hits
