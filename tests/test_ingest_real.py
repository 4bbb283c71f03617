"""Reading MIDI as people have it: band files without chord symbols, rehearsal marks, solo
piano, pads, type-0 files, --track / --track-map, and the --dump of what is learned.

Every file here is made by hand (mido), small enough to know the right answer.
"""
import argparse
import io
import json
from pathlib import Path

import mido
import numpy as np
import pytest

from conftest import ROOT, Track, midi_bytes, run_module
from jazzgen.commands import ingest
from jazzgen.data.corpus import ReadSettings, load_corpus, read_settings
from jazzgen.errors import UsageError
from jazzgen.music.chords import parse_chord
from jazzgen.music.midi_io import MidiError, read_midi, read_midi_bytes
from jazzgen.music.notes import GRID

BAR = 4                                  # beats in a bar of 4/4
# ii-V-I in C, twice: (root pitch class, rootless piano voicing, bass root)
CHANGES = [("Dm7", 2, (53, 57, 60, 64), 38), ("G7", 7, (53, 57, 59, 64), 43),
           ("Cmaj7", 0, (52, 55, 59, 62), 36), ("Cmaj7", 0, (52, 55, 59, 62), 36)] * 2


def melody_notes(bars: int | None = None):
    """A sax line: eighths up and down the chord tones, an octave above the comping."""
    return [(60 + root + step, b * BAR + i / 2, 0.5)
            for b, (_, root, _, _) in enumerate(CHANGES[:bars]) for i, step in enumerate([0, 4, 7, 11, 12, 11, 7, 4])]


def comping():
    """Piano: the voicing on beats 1 and 3 of every bar, half notes."""
    return [(p, b * BAR + beat, 2) for b, (_, _, voicing, _) in enumerate(CHANGES) for beat in (0, 2) for p in voicing]


def bass():
    """Root, fifth, root, fifth, in quarters."""
    return [(r + (7 if k % 2 else 0), b * BAR + k, 1) for b, (_, _, _, r) in enumerate(CHANGES) for k in range(4)]


def band_file(markers=(), melody_name="Tenor Sax") -> bytes:
    return midi_bytes(Track(tempo=120, meter=(4, 4), markers=markers),
                      Track(comping(), channel=1, name="Piano", program=0),
                      Track(melody_notes(), channel=2, name=melody_name, program=66),
                      Track(bass(), channel=3, name="Bass", program=32),
                      Track([(42, k, 0.125) for k in range(32)], channel=9, name="Drums"))


def roots_per_bar(seq) -> list[int | None]:
    idx = seq.chord_at(np.arange(len(CHANGES)) * 4 * GRID + GRID)   # beat 2 of every bar
    return [parse_chord(seq.chords[i].symbol).root for i in idx]


# ---------------------------------------------------------------------------- chords

def test_band_file_without_symbols_gets_chords_inferred_from_the_comping():
    seq, rep = read_midi_bytes(band_file())
    assert rep.track == "Tenor Sax" and rep.track_reason == "highest monophonic part"
    assert rep.chord_source == "inferred"
    assert roots_per_bar(seq) == [root for _, root, _, _ in CHANGES]
    assert len(seq) == len(melody_notes())


def test_rehearsal_marks_are_no_chords_and_chords_are_inferred_instead():
    marks = [(0, "A"), (4 * BAR, "B"), (6 * BAR, "A")]
    seq, rep = read_midi_bytes(band_file(markers=marks))
    assert rep.chord_source == "inferred" and rep.ignored_markers == ["A", "B", "A"]
    assert roots_per_bar(seq) == [root for _, root, _, _ in CHANGES]


def test_chord_markers_win_over_inference_and_marks_among_them_are_ignored():
    marks = [(0, "Intro"), (0, "Dm9"), (BAR, "G13"), (2 * BAR, "Cmaj9")]
    seq, rep = read_midi_bytes(band_file(markers=marks))
    assert rep.chord_source == "markers" and rep.ignored_markers == ["Intro"]
    assert [c.symbol for c in seq.chords] == ["Dm9", "G13", "Cmaj9"]


def test_text_events_count_only_when_they_read_as_chords():
    scale = [(60 + i, i, 1) for i in range(4)]
    lyrics = list(enumerate(["Fly", "me", "to", "the"]))
    seq, rep = read_midi_bytes(midi_bytes(Track(scale, texts=lyrics)))
    assert rep.chord_source == "none" and seq.chords == [] and rep.ignored_markers == ["Fly", "me", "to", "the"]
    seq, rep = read_midi_bytes(midi_bytes(Track(scale, texts=[(0, "Bb7"), (2, "Eb7")])))
    assert rep.chord_source == "text" and [c.symbol for c in seq.chords] == ["Bb7", "Eb7"]


# ---------------------------------------------------------------------------- melodies

def two_hands() -> tuple[bytes, list[int]]:
    """One piano track: a right-hand tune held over left-hand chords that often sound above the
    tune's rests (where the highest note per onset would jump into the left hand)."""
    run = (72, 74, 76, 77, 79, 77, 76, 74)
    tune = []
    for bar in range(7):
        if bar % 2 == 0:        # eighths
            tune += [(p, bar * BAR + i / 2, 0.5) for i, p in enumerate(run)]
        else:                   # a half note, then the tune rests over the left hand's chord
            tune.append((76 + bar % 4 - 1, bar * BAR, 2))
    notes = list(tune)
    chords = [(48, 52, 55, 59), (50, 53, 57, 60), (48, 52, 55, 59), (47, 50, 53, 57)] * 2
    for bar, voicing in enumerate(chords[:7]):
        for beat in (0, 2):
            notes += [(p, bar * BAR + beat, 1) for p in voicing]
    return midi_bytes(Track(notes, name="Piano")), [p for p, _, _ in tune]


def test_two_hand_piano_part_gives_its_top_voice_and_chords_from_the_left_hand():
    data, tune = two_hands()
    seq, rep = read_midi_bytes(data)
    assert rep.top_voice and rep.track_reason == "only non-drum track"
    assert seq.pitch.tolist() == tune
    assert rep.chord_source == "inferred"
    assert parse_chord(seq.chords[seq.chord_at([GRID])[0]].symbol).root == 0     # C under bar 1


def test_highest_note_per_onset_would_have_zigzagged():
    from jazzgen.music.melody import skyline
    data, tune = two_hands()
    score_notes = mido.MidiFile(file=io.BytesIO(data)).tracks[0]
    on, pitch, t = [], [], 0
    for m in score_notes:
        t += m.time
        if m.type == "note_on" and m.velocity:
            on.append(t)
            pitch.append(m.note)
    sky = np.array(pitch)[skyline(pitch, on)]
    assert len(sky) > len(tune)                      # the left hand's chords in the tune's rests


def pad(name="Strings", channel=4):
    return Track([(p, b * 2 * BAR, 2 * BAR) for b in range(4) for p in (60, 67)],
                 channel=channel, name=name, program=48)


def test_a_pad_is_skipped_with_its_reason_and_the_next_part_taken():
    data = midi_bytes(pad(name="Melody"), Track(melody_notes(), channel=2, name="Flute"))
    seq, rep = read_midi_bytes(data)
    assert rep.track == "Flute" and rep.skipped == [rep.skipped[0]]
    assert rep.skipped[0].startswith("Melody: sustained pad")


def test_a_file_of_pads_only_is_dropped_with_one_line():
    data = midi_bytes(pad(), pad(name="Choir", channel=5))
    want = r"^no melodic part \(Strings: sustained pad: median note 8.0 beats, 0.5 onsets per bar; Choir: "
    with pytest.raises(MidiError, match=want) as e:
        read_midi_bytes(data)
    assert "\n" not in str(e.value)


def type0_band() -> bytes:
    return midi_bytes(Track(name="My Song"), Track(bass(), channel=0, program=32),
                      Track(comping(), channel=1, program=0), Track(melody_notes(), channel=2, program=65), fmt=0)


def test_type0_channels_are_parts_named_by_channel_and_program():
    seq, rep = read_midi_bytes(type0_band())
    assert rep.track == "channel 3 (Reed)" and rep.track_reason == "highest monophonic part"
    assert len(seq) == len(melody_notes()) and rep.chord_source == "inferred"
    assert roots_per_bar(seq) == [root for _, root, _, _ in CHANGES]
    assert read_midi_bytes(type0_band(), track="channel 1")[1].track == "channel 1 (Bass)"
    assert read_midi_bytes(type0_band(), track="piano")[1].track == "channel 2 (Piano)"
    assert read_midi_bytes(type0_band(), track=0)[1].track == "channel 1 (Bass)"


def test_track_by_exact_name_then_substring_with_nuls_and_spaces_stripped():
    data = midi_bytes(Track([(60, 0, 1)], name="Sax 2"), Track([(62, 0, 1)], channel=1, name=" sax\x00\x00"),
                      Track([(40, 0, 1)], channel=2, name="Tenor Saxophone"))
    assert read_midi_bytes(data, track="SAX")[0].pitch.tolist() == [62]          # exact beats substring
    assert read_midi_bytes(data, track="tenor")[0].pitch.tolist() == [40]        # substring
    seq, rep = read_midi_bytes(data, track=2)
    assert seq.pitch.tolist() == [40] and rep.track_reason == "--track"
    with pytest.raises(MidiError, match=r"no track 'Trumpet' \(tracks: 'Sax 2', 'sax', 'Tenor Saxophone'\)"):
        read_midi_bytes(data, track="Trumpet")


# ---------------------------------------------------------------------------- settings, --track-map

def test_read_options_build_settings_for_any_parser(tmp_path):
    tsv = tmp_path / "map.tsv"
    tsv.write_text("# file\ttrack\nsolo*.mid\tPiano\nband.mid\t2\n")
    p = ingest.add_read_options(argparse.ArgumentParser())
    s = read_settings(p.parse_args(["--track", "Sax", "--track-map", str(tsv)]))
    assert s == ReadSettings(track="Sax", track_map=(("solo*.mid", "Piano"), ("band.mid", 2)))
    assert s.track_for("x/solo1.mid") == "Piano" and s.track_for("band.mid") == 2 and s.track_for("b.mid") == "Sax"
    tsv.write_text("band.mid 2\n")
    with pytest.raises(UsageError, match=r"map.tsv:1: expected"):
        read_settings(p.parse_args(["--track-map", str(tsv)]))


def test_track_map_picks_per_file_and_is_part_of_the_cache_key(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "band.mid").write_bytes(band_file())
    (data / "other.mid").write_bytes(band_file())
    cache = tmp_path / "cache"
    plain = load_corpus(data, cache, progress=False)
    mapped = load_corpus(data, cache, ReadSettings(track_map=(("band*", "piano"),)), progress=False)
    assert [r.track for r in plain.reports] == ["Tenor Sax", "Tenor Sax"]
    assert [r.track for r in mapped.reports] == ["Piano", "Tenor Sax"] and mapped.cached == 0
    assert mapped.reports[0].top_voice and mapped.reports[0].track_reason == "--track"


# ---------------------------------------------------------------------------- the command

def test_ingest_reports_what_was_read_and_dumps_it(tmp_path):
    data = tmp_path / "data"
    (data / "band").mkdir(parents=True)
    (data / "band" / "ii-V-I.mid").write_bytes(band_file())
    (data / "piano.mid").write_bytes(two_hands()[0])
    (data / "pads.mid").write_bytes(midi_bytes(pad()))
    report, dump = tmp_path / "r.json", tmp_path / "dump"
    r = run_module("jazzgen.ingest", ["--data", data, "--out", tmp_path / "c", "--report", report, "--dump", dump],
                   ROOT, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "melody 'Tenor Sax' (highest monophonic part), chords inferred" in r.stdout
    assert "melody 'Piano' (only non-drum track, top voice), chords inferred" in r.stdout
    assert "dropped  " in r.stdout and "pads.mid: no melodic part (Strings: " in r.stdout
    doc = json.loads(report.read_text())
    files = {Path(f["path"]).name: f for f in doc["files"]}
    assert files["ii-V-I.mid"]["track"] == "Tenor Sax" and files["ii-V-I.mid"]["chord_source"] == "inferred"
    assert files["ii-V-I.mid"]["chord_coverage"] == 1.0
    assert doc["totals"]["chord_sources"] == {"inferred": 2}
    assert sorted(p.relative_to(dump).as_posix() for p in dump.rglob("*.mid")) == ["band/ii-V-I.mid", "piano.mid"]


def test_dump_rereads_to_the_same_notes_and_chords_at_the_source_timing(tmp_path):
    from jazzgen.music.dump import dump_file, source_timing
    src = tmp_path / "band.mid"
    # a tempo change off the grid (beat 2.4, tick 1152 = step 28.8): the dump keeps it at its tick
    conductor = Track(tempo=[(0, 100), (2.4, 6e7 / 450000)])
    src.write_bytes(midi_bytes(conductor, Track(comping(), channel=1, name="Piano"),
                               Track(melody_notes(), channel=2, name="Sax")))
    seq, _ = read_midi(src)
    dest = dump_file(src, seq, tmp_path / "out" / "band.mid")
    back, rep = read_midi(dest)
    assert rep.chord_source == "markers"
    for a in ("pitch", "start", "duration", "velocity"):
        assert getattr(back, a).tolist() == getattr(seq, a).tolist()
    assert back.chords == seq.chords and back.tempos == seq.tempos and back.time_signatures == seq.time_signatures
    assert source_timing(dest.read_bytes()) == source_timing(src.read_bytes())


def test_dump_keeps_a_coarse_source_resolution(tmp_path):
    from jazzgen.music.dump import dump_file
    src = tmp_path / "coarse.mid"
    tpq = 96
    notes = [(60 + i % 5, i / 2, 0.5) for i in range(16)]
    src.write_bytes(midi_bytes(Track(notes, markers=[(0, "F7")]), tpq=tpq))
    seq, _ = read_midi(src)
    dest = dump_file(src, seq, tmp_path / "d.mid")
    assert mido.MidiFile(dest).ticks_per_beat == 96
    back, _ = read_midi(dest)
    assert back.start.tolist() == seq.start.tolist() and back.chords == seq.chords
