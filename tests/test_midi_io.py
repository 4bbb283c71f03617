"""MIDI reading (bundled WJazzD files and small hand-made ones), bad input, and the writer."""
import csv
import os

import mido
import numpy as np
import pytest
from mido import MetaMessage
from mido.midifiles.meta import _key_signature_encode

from conftest import Track, midi_bytes, wjazzd_file
from jazzgen.music import midi_check, midi_io, midi_write, timing
from jazzgen.music.midi_io import MidiError, Part, read_midi, read_midi_bytes, write_midi
from jazzgen.music.notes import GRID, ChordChange, KeySignature, NoteSequence, Tempo, TimeSignature
from jazzgen.util import atomic_write

FILES = ["ArtPepper_Anthropology_FINAL.mid",         # key signature Bb
         "DavidMurray_BluesForTwo-1_FINAL.mid",      # 4/4 -> 5/4 -> 4/4
         "FreddieHubbard_DolphinDance_FINAL.mid",    # no key signature
         "StanGetz_BodyAndSoul_FINAL.mid"]           # slow ballad, runs finer than the grid


def index_rows() -> dict[str, dict]:
    path = wjazzd_file("index.tsv")
    with open(path, newline="") as f:
        return {r["file"]: r for r in csv.DictReader(f, delimiter="\t")}


# ---------------------------------------------------------------------------- small files

def scale(p0=60, n=4):
    """n rising quarter notes from p0."""
    return [(p0 + i, i, 1) for i in range(n)]


def raw_track(body: bytes) -> bytes:
    return b"MTrk" + len(body).to_bytes(4, "big") + body


def raw_smf(*bodies: bytes, tpq=480, fmt=1, ntracks=None) -> bytes:
    n = len(bodies) if ntracks is None else ntracks
    return (b"MThd" + (6).to_bytes(4, "big") + fmt.to_bytes(2, "big") + n.to_bytes(2, "big")
            + tpq.to_bytes(2, "big") + b"".join(raw_track(b) for b in bodies))


NOTE = b"\x00\x90\x3c\x40\x83\x60\x80\x3c\x00"  # C4 for one beat (delta 480 = 0x83 0x60)
EOT = b"\x00\xff\x2f\x00"


# ---------------------------------------------------------------------------- bundled corpus files

@pytest.mark.parametrize("name", FILES)
def test_corpus_file_matches_index_and_mido(name):
    row = index_rows()[name]
    path = wjazzd_file(name)
    seq, rep = read_midi(path)
    assert len(seq) == int(row["n_notes"]) == rep.notes_in
    assert rep.polyphony_dropped == 0 and rep.overlaps_trimmed == 0
    assert np.all(np.diff(seq.start) > 0) and np.all(seq.start[:-1] + seq.duration[:-1] <= seq.start[1:])

    mf = mido.MidiFile(path)
    (track,) = mf.tracks
    events, tick = [], 0
    for msg in track:
        tick += msg.time
        events.append((tick, msg))
    ons = [m for _, m in events if m.type == "note_on" and m.velocity > 0]
    assert seq.pitch.tolist() == [m.note for m in ons]
    ticks_per_step = 480 // GRID
    markers = [ChordChange(t // ticks_per_step, m.text) for t, m in events if m.type == "marker"]
    assert seq.chords == markers and len(markers) == int(row["n_chord_changes"])
    assert [(t.step, round(6e7 / t.qpm)) for t in seq.tempos] == \
        [(t // ticks_per_step, m.tempo) for t, m in events if m.type == "set_tempo"]
    sigs = [s.split("@") for s in row["time_signatures"].split()]
    assert seq.time_signatures == [TimeSignature(int(t) // ticks_per_step, *map(int, ts.split("/"))) for ts, t in sigs]
    keys = [(t, _key_signature_encode[m.key]) for t, m in events if m.type == "key_signature"]
    assert seq.key_signatures == [KeySignature(t // ticks_per_step, sf, bool(mi)) for t, (sf, mi) in keys]


def test_corpus_file_spread_runs_keep_every_note_near_its_tick():
    """A ballad's fast runs (finer than the grid) keep all notes, in order, centred."""
    seq, rep = read_midi(wjazzd_file("StanGetz_BodyAndSoul_FINAL.mid"))
    assert rep.polyphony_dropped == 0
    err = np.abs(rep.onset_error)
    assert np.median(err) == 0 and err.max() < 1.0


# ---------------------------------------------------------------------------- melody choice

def test_named_melody_track_wins_over_higher_track():
    data = midi_bytes(Track(scale(40), name="Bass"), Track(scale(60), channel=1, name="Melody"),
                      Track(scale(84), channel=2, name="Piano"))
    seq, rep = read_midi_bytes(data)
    assert rep.track == "Melody" and seq.pitch.tolist() == [60, 61, 62, 63]


def test_highest_track_wins_without_names_and_drums_never():
    data = midi_bytes(Track(scale(40)), Track(scale(65), channel=1), Track(scale(90), channel=9, name="Melody"))
    seq, _ = read_midi_bytes(data)
    assert seq.pitch.tolist() == [65, 66, 67, 68]


def test_track_override_by_index_and_name():
    data = midi_bytes(Track(scale(40), name="Bass"), Track(scale(60), channel=1, name="Melody"),
                      Track(scale(50), channel=9, name="Kit"))
    assert read_midi_bytes(data, track=0)[0].pitch[0] == 40
    assert read_midi_bytes(data, track="bass")[0].pitch[0] == 40
    with pytest.raises(MidiError, match="drum track"):
        read_midi_bytes(data, track="Kit")
    with pytest.raises(MidiError, match="no track 'Sax'"):
        read_midi_bytes(data, track="Sax")


# ---------------------------------------------------------------------------- repairs and chords

def test_polyphony_highest_note_wins_and_is_reported():
    data = midi_bytes(Track([(60, 0, 1), (64, 0, 1), (67, 0, 1), (62, 1, 1)]))
    seq, rep = read_midi_bytes(data)
    assert seq.pitch.tolist() == [67, 62] and rep.polyphony_dropped == 2


def test_overlapping_notes_are_trimmed_and_reported():
    data = midi_bytes(Track([(60, 0, 1.875), (62, 1, 1)]))
    seq, rep = read_midi_bytes(data)
    assert seq.start.tolist() == [0, 12] and seq.duration.tolist() == [12, 12]
    assert rep.overlaps_trimmed == 1


def test_velocity_dropouts_are_filled_and_reported():
    # a run of 9s (a failed loudness measurement) between real velocities
    data = midi_bytes(Track([(60, 0, 1, 100), (62, 1, 1, 9), (64, 2, 1, 9), (65, 3, 1, 70), (67, 4, 1, 96)]))
    seq, rep = read_midi_bytes(data)
    assert seq.velocity.tolist() == [100, 90, 80, 70, 96] and rep.velocity_dropouts == 2
    solo = wjazzd_file("BobBerg_YouAndTheNightAndTheMusic_FINAL.mid")
    seq, rep = read_midi(solo)
    assert rep.velocity_dropouts == 363 and seq.velocity.min() > 10


def test_onsets_finer_than_the_grid_are_spread_not_dropped():
    # five notes within one beat (quintuplet-ish, 1/48 apart at the end): all kept, in order
    ticks = [0, 96, 192, 200, 208, 480]
    data = midi_bytes(Track([(60 + i, t / 480, 8 / 480) for i, t in enumerate(ticks)]))
    seq, rep = read_midi_bytes(data)
    assert seq.pitch.tolist() == [60, 61, 62, 63, 64, 65] and rep.polyphony_dropped == 0
    assert np.all(np.diff(seq.start) > 0)
    assert seq.start.tolist()[2:5] == [4, 5, 6]  # 192, 200, 208 ticks ~ step 4.8-5.2: centred on 5


def test_chords_from_text_events_when_no_markers():
    seq, rep = read_midi_bytes(midi_bytes(Track(scale(60), texts=[(0, "Bb7"), (2, "Ebmaj7")])))
    assert seq.chords == [ChordChange(0, "Bb7"), ChordChange(24, "Ebmaj7")] and not rep.ignored_markers


def test_non_chord_markers_are_ignored_and_reported():
    markers = [(0, "Intro"), (0, "C7"), (1, "C7"), (2, "Chorus 2"), (2, "F7")]
    seq, rep = read_midi_bytes(midi_bytes(Track(scale(60), markers=markers)))
    assert seq.chords == [ChordChange(0, "C7"), ChordChange(24, "F7")]
    assert rep.ignored_markers == ["Intro", "Chorus 2"]


def test_tempo_meter_and_key_are_read():
    track = Track(scale(60, 6), tempo=[(0, 150), (3, 100)], meter=(3, 4), key="Ebm")
    seq, _ = read_midi_bytes(midi_bytes(track))
    assert seq.tempos == [Tempo(0, 150.0), Tempo(36, 100.0)]
    assert seq.time_signatures == [TimeSignature(0, 3, 4)]
    assert seq.key_signatures == [KeySignature(0, -6, True)]


# ---------------------------------------------------------------------------- bad input

def real_bytes() -> bytes:
    return wjazzd_file(FILES[0]).read_bytes()


BAD = {
    "not a MIDI": (lambda: b"RIFF\x00\x00\x00\x00WAVEfmt " * 4, "not a MIDI file"),
    "empty": (lambda: b"", "empty file"),
    "header only": (lambda: b"MThd\x00\x00\x00\x06\x00\x01", "truncated MIDI header"),
    "bad header length": (lambda: b"MThd\x00\x00\x00\x05" + bytes(20), "MThd length 5"),
    "truncated": (lambda: real_bytes()[: len(real_bytes()) // 2], "truncated: track 1 of 1 claims"),
    "truncated at a track": (lambda: raw_smf(NOTE + EOT, ntracks=3), "announces 3 tracks, 1 found"),
    "corrupt events": (lambda: raw_smf(b"\x00\x3c\x40" + EOT), "corrupt MIDI data"),
    "no tracks": (lambda: raw_smf(ntracks=0), "no tracks"),
    "MIDI type 2": (lambda: raw_smf(NOTE + EOT, fmt=2), "unsupported MIDI type 2"),
    "no notes": (lambda: midi_bytes(Track(tempo=120)), "no notes"),
    "only drums": (lambda: midi_bytes(Track(scale(38), channel=9)), r"only drum notes \(channel 10\)"),
    "tiny ticks per beat": (lambda: midi_bytes(Track(scale(60)), tpq=4), "absurd ticks per beat: 4"),
    "huge ticks per beat": (lambda: raw_smf(NOTE + EOT, tpq=32000), "absurd ticks per beat: 32000"),
    "SMPTE division": (lambda: raw_smf(NOTE + EOT, tpq=0xE728), "SMPTE"),
    "zero tempo": (lambda: midi_bytes(Track(scale(60), events=[(0, MetaMessage("set_tempo", tempo=0))])),
                   r"absurd tempo \(0 us"),
    "absurd tempo": (lambda: midi_bytes(Track(scale(60), events=[(0, MetaMessage("set_tempo", tempo=2))])),
                     "absurd tempo"),
    "notes never end": (lambda: midi_bytes(Track([(60 + i, i, None) for i in range(5)])),
                        "notes never end: 5 note-ons, 0 note-offs"),
    "absurd length": (lambda: raw_smf((b"\x8f\xff\xff\x7f\xff\x01\x00") * 8 + NOTE + EOT), "absurd length"),
    "bad time signature": (lambda: raw_smf(b"\x00\xff\x58\x04\x04\x09\x18\x08" + NOTE + EOT), "bad time signature 4/"),
    "bad key signature": (lambda: raw_smf(b"\x00\xff\x59\x02\x80\x05" + NOTE + EOT), "bad key signature"),
    "pitch beyond 127": (lambda: raw_smf(b"\x00\x90\xc8\x40\x60\x80\xc8\x00" + EOT), "corrupt MIDI data"),
}


@pytest.mark.parametrize("case", BAD)
def test_bad_input_gives_one_line_reason(case):
    make, pattern = BAD[case]
    with pytest.raises(MidiError, match=pattern) as e:
        read_midi_bytes(make())
    assert "\n" not in str(e.value) and str(e.value)


# symusic's own messages, each provoked by bytes like the fuzz test's, read as plain English
# naming the track (counted from 1, as the truncation messages do).
PLAIN = {
    "velocity": (raw_smf(NOTE + EOT, b"\x00\x90\x3c\x90" + EOT), "in track 2 (a note velocity of 144, above 127)"),
    "pitch": (raw_smf(b"\x00\x90\xc8\x40" + EOT), "in track 1 (a note pitch of 200, above 127)"),
    "program": (raw_smf(NOTE + b"\x00\xc0\x82" + EOT), "(a program number of 130, above 127)"),
    "running status": (raw_smf(b"\x00\x3c\x40" + EOT), "(data bytes with no status byte before them)"),
    "status byte": (raw_smf(NOTE + b"\x00\xf9" + EOT), "(unknown status byte 0xF9)"),
    "meta past the end": (raw_smf(NOTE + b"\x00\xff\x01\x40abc"), "(a meta event runs past the end of the track)"),
}


@pytest.mark.parametrize("case", PLAIN)
def test_parser_errors_are_plain_english(case):
    data, words = PLAIN[case]
    with pytest.raises(MidiError) as e:
        read_midi_bytes(data)
    msg = str(e.value)
    assert msg.startswith("corrupt MIDI data") and msg.endswith(words), msg
    assert "Get " not in msg and "MiniMidi" not in msg and "iostream" not in msg


def test_a_stray_controller_value_is_clipped_and_the_file_read():
    """A controller value of 255 (symusic refuses the file): clipped to 127, notes kept, reported."""
    seq, rep = read_midi_bytes(raw_smf(NOTE + b"\x00\xb0\x07\xff" + NOTE + EOT))
    assert len(seq) == 2 and rep.values_clipped


def test_a_rhythm_game_chart_is_refused_with_its_reason():
    """Rock Band / Clone Hero charts: "PART GUITAR" holds the buttons of each difficulty (96-100)."""
    gems = [(96 + i % 5, i / 2, 0.25) for i in range(64)]
    data = midi_bytes(Track(gems, name="PART GUITAR"), Track(scale(48, 16), name="PART BASS", channel=1))
    with pytest.raises(MidiError, match=r"^a rhythm-game chart \(tracks PART BASS, PART GUITAR\): its notes"):
        read_midi_bytes(data)
    assert read_midi_bytes(midi_bytes(Track(scale(60, 8), name="PARTY GUITAR")))[1].track == "PARTY GUITAR"


def test_a_yamaha_style_file_is_refused_with_its_reason():
    """Arranger-keyboard styles carry their patterns between SFF1 / SInt / Main A markers."""
    data = midi_bytes(Track(scale(60, 16), name="8BeatPop", markers=[(0, "SFF1"), (0, "SInt"), (1, "Main A")]))
    with pytest.raises(MidiError, match=r"^a Yamaha style file \(SFF1: accompaniment patterns"):
        read_midi_bytes(data)


def test_note_limit_is_configurable(monkeypatch):
    data = midi_bytes(Track(scale(60, 8)))
    assert len(read_midi_bytes(data)[0]) == 8
    monkeypatch.setattr(midi_io, "MAX_NOTES", 7)
    with pytest.raises(MidiError, match=r"^too many notes for a solo \(8 in all tracks > 7\)$"):
        read_midi_bytes(data)


def test_size_guard_is_configurable(monkeypatch):
    data = midi_bytes(Track(scale(60)))
    monkeypatch.setattr(midi_check, "MAX_FILE_BYTES", len(data) - 1)
    with pytest.raises(MidiError, match=rf"file too large \({len(data)} bytes > {len(data) - 1} bytes\)"):
        read_midi_bytes(data)


def test_100_mb_file_is_refused_without_reading_it(tmp_path):
    path = tmp_path / "huge.mid"
    with open(path, "wb") as f:   # sparse: 100 MB on paper, a few bytes on disk
        f.write(midi_bytes(Track(scale(60))))
        f.truncate(100 * 2**20)
    with pytest.raises(MidiError, match=r"file too large \(100 MB > 16 MB\)"):
        read_midi(path)


def test_missing_file_is_a_midi_error(tmp_path):
    with pytest.raises(MidiError, match="cannot read file"):
        read_midi(tmp_path / "nope.mid")


# ---------------------------------------------------------------------------- writer

def simple_seq(starts, durs, **kw) -> NoteSequence:
    n = len(starts)
    return NoteSequence(np.arange(60, 60 + n), starts, durs, np.full(n, 90), **kw)


def note_ticks(path) -> list[tuple[int, int]]:
    tick, out = 0, []
    for msg in mido.MidiFile(path).tracks[0]:
        tick += msg.time
        if msg.type == "note_on" and msg.velocity > 0:
            out.append((msg.note, tick))
    return out


def test_swing_moves_offbeat_eighths_later_and_leaves_beats(tmp_path):
    seq = simple_seq([0, 6, 12, 18, 24], [6, 6, 6, 6, 12], tempos=[Tempo(0, 120.0)])
    write_midi(tmp_path / "straight.mid", seq)
    write_midi(tmp_path / "swung.mid", seq, swing=1.0)
    straight, swung = note_ticks(tmp_path / "straight.mid"), note_ticks(tmp_path / "swung.mid")
    assert [t for _, t in straight] == [0, 240, 480, 720, 960]
    assert [t for _, t in swung] == [0, 320, 480, 800, 960]   # triplet feel: 2/3 of the beat


def test_writer_keeps_the_data_set_convention(tmp_path):
    seq = simple_seq([0, 12], [12, 12], chords=[ChordChange(0, "Bb7"), ChordChange(12, "Ebmaj7")],
                     tempos=[Tempo(0, 100.0), Tempo(12, 120.0)], time_signatures=[TimeSignature(0, 3, 4)],
                     key_signatures=[KeySignature(0, -3, True)], end=36)
    bass = Part("Bass", 33, 1, np.array([36]), np.array([0]), np.array([24]), np.array([70]))
    write_midi(tmp_path / "a.mid", seq, parts=[bass], program=66)
    mf = mido.MidiFile(tmp_path / "a.mid")
    assert mf.type == 1 and mf.ticks_per_beat == 480 and len(mf.tracks) == 2
    types = [m.type for m in mf.tracks[0]]
    assert types[:7] == ["track_name", "time_signature", "key_signature", "set_tempo", "marker",
                         "program_change", "note_on"]
    assert types.index("note_off") < types.index("note_on", 7)   # note-off before note-on at one tick
    back, _ = read_midi(tmp_path / "a.mid", track="Melody")
    assert back.chords == seq.chords and back.key_signatures == seq.key_signatures
    assert sum(m.time for m in mf.tracks[0]) == 36 * 40   # end of track at seq.end


def _mido_reference(seq, parts, program, swing) -> bytes:
    """What write_midi wrote when it built mido messages (the tests' mido builder): the fast writer must match it."""
    def beat(step) -> float:
        return int(timing.swing_ticks([step], swing)[0]) / 480

    def notes(p, s, d, v):
        on, off = timing.swing_ticks(s, swing), timing.swing_ticks(np.asarray(s) + np.asarray(d), swing)
        off = np.maximum(off, on + 1)
        return [(a, b / 480, (c - b) / 480, e)
                for a, b, c, e in zip(np.asarray(p).tolist(), on.tolist(), off.tolist(), np.asarray(v).tolist())]

    end = beat(seq.end)
    melody = Track(notes(seq.pitch, seq.start, seq.duration, seq.velocity), name="Melody", program=program,
                   meter=[(beat(t.step), t.numerator, t.denominator) for t in seq.time_signatures],
                   key=[(beat(k.step), midi_write.key_name(k)) for k in seq.key_signatures],
                   tempo=[(beat(t.step), t.qpm) for t in seq.tempos],
                   markers=[(beat(c.step), c.symbol) for c in seq.chords], end=end)
    band = [Track(notes(part.pitch, part.start, part.duration, part.velocity), name=part.name, channel=part.channel,
                  program=None if part.channel == midi_io.DRUM_CHANNEL else part.program, end=end)
            for part in parts]
    return midi_bytes(melody, *band)


@pytest.mark.parametrize("name,swing", [(FILES[0], 0.0), (FILES[1], 0.6), (FILES[2], 1.0)])
def test_writer_output_is_what_mido_wrote(tmp_path, name, swing):
    seq, _ = read_midi(wjazzd_file(name))
    rng = np.random.default_rng(0)
    n = 40
    parts = [Part("Bass", 33, 1, rng.integers(28, 55, n), np.arange(n) * 12, np.full(n, 11), rng.integers(1, 128, n)),
             Part("Drums", 0, 9, rng.integers(35, 60, n), np.arange(n) * 6, np.full(n, 2), rng.integers(1, 128, n))]
    write_midi(tmp_path / "a.mid", seq, parts, program=65, swing=swing)
    assert (tmp_path / "a.mid").read_bytes() == _mido_reference(seq, parts, 65, swing)


def test_atomic_write_leaves_nothing_on_error(tmp_path):
    target = tmp_path / "out.mid"
    target.write_bytes(b"old")

    def boom(f):
        f.write(b"half")
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError, match="disk on fire"):
        atomic_write(target, boom)
    assert target.read_bytes() == b"old" and os.listdir(tmp_path) == ["out.mid"]
    bad = simple_seq([0], [12], key_signatures=[KeySignature(0, 9, False)])  # no such key
    with pytest.raises(ValueError):
        write_midi(tmp_path / "new.mid", bad)
    assert os.listdir(tmp_path) == ["out.mid"]


def test_key_signatures_are_written_as_mido_wrote_them(tmp_path):
    for sharps in range(-7, 8):
        for minor in (False, True):
            seq = simple_seq([0, 12], [12, 6], key_signatures=[KeySignature(0, sharps, minor)], end=24)
            write_midi(tmp_path / "k.mid", seq)
            assert (tmp_path / "k.mid").read_bytes() == _mido_reference(seq, (), None, 0.0), (sharps, minor)


def test_percussion_on_a_pitched_channel_is_no_melody_and_no_harmony():
    """A taiko part (GM 116) on channel 11, busier and higher than the synth lead: the lead is
    the melody, and the taiko's "notes" stay out of the chords inferred from the pad."""
    taiko = [(72 + i % 12, i / 4, 0.25) for i in range(64)]           # wild leaps, sixteenths
    lead = [(60 + i % 5, i, 1) for i in range(16)]
    pad = [(p, 4 * b, 4) for b in range(4) for p in (48, 52, 55)]      # C major
    data = midi_bytes(Track(taiko, channel=10, program=116, name="Taiko"), Track(lead, channel=3, program=81),
                      Track(pad, channel=4, program=89, name="Pad"))
    seq, rep = read_midi_bytes(data)
    assert rep.track == "track 2" and rep.track_reason == "highest monophonic part" and len(seq) == 16
    assert rep.chord_source == "inferred" and {c.symbol for c in seq.chords} == {"C"}


def _one_track_file(notes_by_channel, name="Violini I", program_change_at=None, programs=(48,)) -> bytes:
    """A type-1 file whose one named track plays (channel, pitches) in turn, a beat each
    (mido), with a program change on channel 0 at beat `program_change_at`; `programs`: the
    program set on channels 0, 1, ... at the start."""
    import io
    tpq = 480
    mf = mido.MidiFile(type=1, ticks_per_beat=tpq)
    tr = mido.MidiTrack([MetaMessage("track_name", name=name)]
                        + [mido.Message("program_change", program=p, channel=c) for c, p in enumerate(programs)])
    beat = 0
    for ch, pitches in notes_by_channel:
        for p in pitches:
            if beat == program_change_at:
                tr.append(mido.Message("program_change", program=45, channel=0))
            tr += [mido.Message("note_on", note=p, velocity=90, channel=ch),
                   mido.Message("note_off", note=p, velocity=0, channel=ch, time=tpq)]
            beat += 1
    mf.tracks.append(tr)
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def test_a_track_that_changes_program_midway_is_one_part():
    """Arco, then pizzicato: symusic splits the track by program; it is read whole."""
    data = _one_track_file([(0, [60 + i % 7 for i in range(32)])], program_change_at=16)
    seq, rep = read_midi_bytes(data)
    assert rep.track == "Violini I" and len(seq) == 32
    assert read_midi_bytes(data, track="violini")[0].pitch.tolist() == seq.pitch.tolist()


def test_one_track_on_two_channels_names_a_part_per_channel():
    data = _one_track_file([(0, [72 + i % 5 for i in range(16)]), (1, [60 + i % 5 for i in range(16)])])
    seq, rep = read_midi_bytes(data)
    assert rep.track == "Violini I (channel 1)" and len(seq) == 16 and seq.pitch.min() >= 72
    low, _ = read_midi_bytes(data, track="violini i (channel 2)")
    assert low.pitch.max() < 72 and len(low) == 16


def test_one_instrument_on_two_channels_is_one_part():
    """Guitar Pro writes a guitar's bent notes on a channel of their own, same program: the
    track is one part (it was two, and its 4-note bend channel could become the melody)."""
    line = [(0, [64 + i % 5 for i in range(12)]), (1, [69, 71, 69, 71]), (0, [64 + i % 5 for i in range(12)])]
    data = _one_track_file(line, name="Guitar", programs=(29, 29))
    seq, rep = read_midi_bytes(data)
    assert rep.track == "Guitar" and len(seq) == 28


def test_tracks_of_one_name_and_instrument_stay_apart():
    """Impro-Visor writes comping and melody as separate tracks all named "Rhodes" (program 4):
    each stays a part (per channel), and the melody is not mixed with the chords."""
    comp = [(p, 2 * b, 2) for b in range(16) for p in (53, 57, 60, 64)]
    melody = [(74 + i % 5, i, 1) for i in range(32)]
    data = midi_bytes(Track(comp, name="Rhodes", channel=2, program=4),
                      Track(melody, name="Rhodes", channel=7, program=4))
    seq, rep = read_midi_bytes(data)
    assert rep.track == "Rhodes (channel 8)" and len(seq) == 32 and seq.pitch.min() >= 74


def test_a_stray_note_on_a_track_of_its_own_is_no_melody():
    """A two-hand piano part and one note on another channel (a type-0 file's leftover): the
    piano's top voice is the melody; the "monophonic" one-note part is a fragment, tried last."""
    piano = [(p, b / 2, 0.5) for b in range(64) for p in ((72 + b % 5, 60, 55) if b % 4 == 0 else (72 + b % 5,))]
    seq, rep = read_midi_bytes(midi_bytes(Track(piano, name="Piano"), Track([(84, 3, 1)], name="Clav", channel=1)))
    assert rep.track == "Piano" and len(seq) == 64


def test_a_choir_pad_named_voice_oohs_is_no_vocal():
    """General MIDI's "Voice Oohs" is a pad's sound, not a singer: the trumpet line wins."""
    pad = [(60 + b % 3, 2 * b, 2) for b in range(24)]        # a backing "ooh" line in half notes
    trumpet = [(70 + i % 7, i / 2, 0.5) for i in range(96)]
    data = midi_bytes(Track(pad, name="Voice Oohs", program=53), Track(trumpet, name="Trumpet", channel=1, program=56))
    assert read_midi_bytes(data)[1].track == "Trumpet"


def test_a_vocal_track_is_the_melody_before_a_lead_guitar():
    """Named parts go by how surely the name says "melody": "Vocals" before "Rhythm and
    Lead Guitar", whatever the track order (a Guitar Pro export of a rock song)."""
    guitar = [(76 + i % 7, i / 2, 0.5) for i in range(64)]
    voice = [(64 + (i * 3) % 7, 2 * i, 1.5) for i in range(16)]
    data = midi_bytes(Track(name="Rhythm and Lead Guitar", notes=guitar, program=29),
                      Track(name="Vocals - Eric", notes=voice, channel=1, program=54))
    seq, rep = read_midi_bytes(data)
    assert rep.track == "Vocals - Eric" and rep.track_reason == "named 'Vocals - Eric'" and len(seq) == 16


def test_a_track_named_drums_is_drums_on_any_channel():
    """A kit on channel 2 (not 10) lends no "notes" to the harmony: C major comping under
    a melody, and kick/snare/hat numbers that would read as other chords."""
    melody = [(72 + i % 5, i, 1) for i in range(16)]
    comp = [(p, 4 * b, 4) for b in range(4) for p in (48, 52, 55)]
    kit = [(p, i / 2, 0.25) for i in range(32) for p in ((37, 42) if i % 2 else (35, 46))]
    data = midi_bytes(Track(melody, name="Melody"), Track(comp, name="Piano", channel=1),
                      Track(kit, name="Drums", channel=2))
    seq, rep = read_midi_bytes(data)
    assert rep.chord_source == "inferred" and {c.symbol for c in seq.chords} == {"C"}


def test_a_bass_line_is_never_a_band_files_melody():
    """Block-chord guitar and a bass guitar (General MIDI 34): no melody, and the reason names both."""
    chords = [(p, b, 1) for b in range(16) for p in (52, 55, 59)]
    bass = [(40 + b % 5, b, 1) for b in range(16)]
    data = midi_bytes(Track(chords, name="Rhythm Gtr", program=29),
                      Track(bass, name="Bass", channel=1, program=33))
    with pytest.raises(MidiError, match=r"no melodic part .*block chords.*Bass: a bass line \(General MIDI program 34"):
        read_midi_bytes(data)


def test_a_piano_right_hand_is_the_melody_not_its_monophonic_left_hand():
    """MuseScore's "R.H." (chords under the tune) and "L.H." (a single line, above the bass register)."""
    rh = [(p, b, 1) for b in range(16) for p in ((72 + b % 5, 64) if b % 2 else (74 + b % 5,))]
    lh = [(55 + b % 3, b, 1) for b in range(16)]
    seq, rep = read_midi_bytes(midi_bytes(Track(rh, name="R.H."), Track(lh, name="L.H.", channel=1)))
    assert rep.track == "R.H." and seq.pitch.min() >= 72


@pytest.mark.parametrize("lyric_type", ["lyrics", "text"])
def test_a_karaoke_file_sings_its_melody(lyric_type):
    """The syllables fall on the voice's notes: it is the melody, not the higher, busier
    "Lead Guitar" (named like a melody) nor the chords struck on every beat.  .kar files
    carry their syllables as text events after '@' headers; others as lyric events."""
    guitar = [(76 + i % 7, i / 2, 0.5) for i in range(64)]
    voice = [(64 + (i * 3) % 7, 2 * i, 1.5) for i in range(16)]
    chords = [(p, b, 1) for b in range(32) for p in (48, 52, 55)]
    words = [(0, MetaMessage("text", text="@KMIDI KARAOKE FILE"))] + [
        (2 * i, MetaMessage(lyric_type, text=f"la{i} ")) for i in range(16)]
    data = midi_bytes(Track(guitar, name="Lead Guitar", channel=1), Track(chords, name="Chords", channel=2),
                      Track(voice, name="Voice", channel=3), Track(name="Words", events=words))
    seq, rep = read_midi_bytes(data)
    assert rep.track == "Voice" and rep.track_reason.startswith("sings the lyrics") and len(seq) == 16


def test_a_busy_line_beats_a_higher_sparse_part_and_bass_lines_come_last():
    stabs = [(84, 4 * i, 0.5) for i in range(3)]              # three horn stabs, high
    line = [(60 + i % 7, i / 2, 0.5) for i in range(32)]      # the tune, eighths
    walk = [(36 + i % 5, i, 1) for i in range(16)]            # walking bass
    data = midi_bytes(Track(walk, name="Bass"), Track(stabs, channel=1, name="Horns"),
                      Track(line, channel=2, name="Gtr"))
    seq, rep = read_midi_bytes(data)
    assert rep.track == "Gtr" and rep.track_reason == "highest monophonic part" and len(seq) == 32
