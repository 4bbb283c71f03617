"""python -m jazzgen.generate end to end: files, length, determinism, changes, primer, errors."""
from __future__ import annotations

import re
import wave
from pathlib import Path

import mido
import numpy as np
import pytest

from conftest import TPQ, run_module, write_solo_midi
from jazzgen.commands import generate as jgen
from jazzgen.music.chords import parse_chord


def gen(model, out, *args, timeout=180):
    r = run_module("jazzgen.generate", ["--model", model.path, "--out", out, *args], cwd=Path(out).parent,
                   timeout=timeout)
    assert r.returncode == 0, r.stderr[-3000:]
    files = [Path(line) for line in r.stdout.split()]
    assert files and all(f.is_file() for f in files), r.stdout
    return files


def solo_track(path):
    """(notes [(tick, pitch)], markers [(tick, text)]) of the solo (first) track."""
    mf = mido.MidiFile(str(path))
    t, notes, markers = 0, [], []
    for msg in mf.tracks[0]:
        t += msg.time
        if msg.type == "marker":
            markers.append((t, msg.text))
        elif msg.type == "note_on" and msg.velocity > 0:
            notes.append((t, msg.note))
    return notes, markers


def check_notes_paired(path):
    """Every note_on has a later note_off on the same channel and key; no zero-length notes."""
    mf = mido.MidiFile(str(path))
    total = 0
    for track in mf.tracks:
        t, sounding = 0, {}
        for msg in track:
            t += msg.time
            if msg.type == "note_on" and msg.velocity > 0:
                key = (msg.channel, msg.note)
                assert key not in sounding, f"{path.name}: note {key} struck again while sounding at tick {t}"
                sounding[key] = t
                total += 1
            elif msg.type in ("note_off", "note_on"):
                key = (msg.channel, msg.note)
                assert key in sounding, f"{path.name}: note_off {key} at tick {t} without a note_on"
                assert t > sounding.pop(key), f"{path.name}: zero-length note {key} at tick {t}"
        assert not sounding, f"{path.name}: notes never released: {sorted(sounding)}"
    return total


def chord_tone_rate(paths) -> tuple[float, float, int]:
    """(share of solo notes in the chord in force, chance for those onsets, notes counted)."""
    hits, chance, n = 0, 0.0, 0
    for p in paths:
        notes, markers = solo_track(p)
        ticks = np.array([t for t, _ in markers])
        for t, pitch in notes:
            i = int(np.searchsorted(ticks, t, side="right")) - 1
            if i < 0:
                continue
            pcs = parse_chord(markers[i][1]).pcs
            if not pcs:
                continue
            hits += pitch % 12 in pcs
            chance += len(pcs) / 12
            n += 1
    return hits / n, chance / n, n


# ---------------------------------------------------------------------------- 30 s at 120 bpm

@pytest.fixture(scope="module")
def twin_runs(gen_model, tmp_path_factory):
    """The same command (seed 3, WAV, PNG and MusicXML too) run twice into two folders."""
    base = tmp_path_factory.mktemp("gen")
    args = ["--seconds", "30", "--bpm", "120", "--seed", "3", "--wav", "--png", "--musicxml"]
    return [gen(gen_model, base / f"out{i}", *args) for i in (1, 2)]


def by_suffix(files, suffix):
    [f] = [f for f in files if f.suffix == suffix]
    return f


def test_thirty_seconds_at_120_bpm(twin_runs):
    files = twin_runs[0]
    assert sorted(f.suffix for f in files) == [".mid", ".musicxml", ".png", ".wav"]
    assert all(f.name.startswith("solo-3") for f in files)
    midi = by_suffix(files, ".mid")
    mf = mido.MidiFile(str(midi))
    assert abs(mf.length - 30.0) <= 0.5                       # one beat at 120 bpm
    assert len(mf.tracks) == 4                                # solo + piano, bass, drums
    assert check_notes_paired(midi) > 100
    notes, markers = solo_track(midi)
    assert len(notes) >= 10
    assert markers[0] == (0, "F7")                            # default form: blues in F
    assert max(t for t, _ in notes) < 60 * TPQ


def test_files_reparse_with_music21(twin_runs):
    from music21 import converter
    files = twin_runs[0]
    midi_score = converter.parse(str(by_suffix(files, ".mid")))
    assert len(midi_score.parts) >= 3
    assert 59 <= float(midi_score.highestTime) <= 61
    xml = converter.parse(str(by_suffix(files, ".musicxml")))
    assert float(xml.highestTime) == 60.0                     # 60 quarter notes: exactly 30 s at 120 bpm
    notes, markers = solo_track(by_suffix(files, ".mid"))
    flat = xml.flatten()
    n_xml = sum(1 for n in flat.getElementsByClass("Note") if n.tie is None or n.tie.type == "start")
    assert n_xml == len(notes)                                  # notes split at barlines are tied
    assert len(flat.getElementsByClass("ChordSymbol")) + len(flat.getElementsByClass("TextExpression")) \
        == len(markers)


def test_same_seed_gives_byte_identical_files(twin_runs):
    a, b = twin_runs
    for suffix in (".mid", ".wav", ".png", ".musicxml"):
        fa, fb = by_suffix(a, suffix), by_suffix(b, suffix)
        assert fa.name == fb.name
        assert fa.read_bytes() == fb.read_bytes(), suffix


def test_wav_is_audible_and_not_clipped(twin_runs):
    with wave.open(str(by_suffix(twin_runs[0], ".wav"))) as w:
        assert (w.getnchannels(), w.getsampwidth()) == (2, 2)
        rate = w.getframerate()
        x = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2).astype(np.float64) / 32768
    assert 30 <= len(x) / rate <= 36
    rms = np.sqrt(np.mean(x ** 2))
    assert rms > 0.02, rms
    assert np.abs(x).max() < 0.999                           # peak-normalised below full scale
    first, last = x[: rate * 5], x[-rate * 8: -rate * 3]      # sound all the way through
    assert np.sqrt(np.mean(first ** 2)) > 0.01 and np.sqrt(np.mean(last ** 2)) > 0.01


# ---------------------------------------------------------------------------- more runs

def test_no_seed_two_runs_differ(gen_model, tmp_path):
    a = gen(gen_model, tmp_path / "a", "--seconds", "10")
    b = gen(gen_model, tmp_path / "b", "--seconds", "10")
    assert solo_track(a[0])[0] != solo_track(b[0])[0]


@pytest.fixture(scope="module")
def four_solos(gen_model, tmp_path_factory):
    return gen(gen_model, tmp_path_factory.mktemp("num") / "out", "--num", "4", "--seed", "1", "--seconds", "60")


def test_num_writes_different_solos(four_solos):
    assert [re.sub(r"-[0-9a-f]{6}-", "-", f.name) for f in four_solos] == [f"solo-1-{k}.mid" for k in (1, 2, 3, 4)]
    solos = [solo_track(f)[0] for f in four_solos]
    assert all(len(s) > 10 for s in solos)
    assert len({tuple(s) for s in solos}) == 4
    for f in four_solos:
        check_notes_paired(f)
        assert abs(mido.MidiFile(str(f)).length - 60.0) < 0.4


def test_solo_follows_the_changes(gen_model, four_solos):
    rate, chance, n = chord_tone_rate(four_solos)
    assert n > 100
    margin = 0.1 if gen_model.shipped else 0.0
    assert rate > chance + margin, (rate, chance, n)


def test_chords_are_looped_as_markers(gen_model, tmp_path):
    [midi] = gen(gen_model, tmp_path / "out", "--chords", "Dm7 G7 | Cmaj7 |", "--seed", "2")
    _, markers = solo_track(midi)
    bar = 4 * TPQ
    # 30 s at the default 160 bpm = 20 bars = 10 times round the two-bar chart
    expected = [(k * 2 * bar + off, s) for k in range(10) for off, s in ((0, "Dm7"), (bar // 2, "G7"), (bar, "Cmaj7"))]
    assert markers == expected


def test_form_and_key(gen_model, tmp_path):
    [midi] = gen(gen_model, tmp_path / "out", "--form", "blues", "--key", "Bb", "--seed", "2", "--seconds", "12")
    _, markers = solo_track(midi)
    assert [s for _, s in markers[:3]] == ["Bb7", "Eb7", "Bb7"]


def test_primer_opens_the_solo(gen_model, tmp_path):
    primer = [(67, 0, 1), (69, 1, 1), (71, 2, 1), (74, 3, 0.5), (72, 4, 1)]
    path = write_solo_midi(tmp_path / "primer.mid", primer, [(0, "G7")], qpm=140)
    [midi] = gen(gen_model, tmp_path / "out", "--primer", path, "--seed", "4", "--seconds", "20")
    notes, markers = solo_track(midi)
    assert notes[:5] == [(int(s * TPQ), p) for p, s, _ in primer]
    assert markers[0] == (0, "G7")                                      # the primer's own changes, looped
    tempo = [m.tempo for m in mido.MidiFile(str(midi)).tracks[0] if m.type == "set_tempo"]
    assert tempo == [int(round(6e7 / 140))]                             # and its tempo


def bar_lines(midi):
    """(time signatures [(tick, num, den)], ticks of every bar line) of a written take."""
    mf = mido.MidiFile(str(midi))
    t, sigs = 0, []
    for m in mf.tracks[0]:
        t += m.time
        if m.type == "time_signature":
            sigs.append((t, m.numerator, m.denominator))
    end = max(sum(m.time for m in tr) for tr in mf.tracks)
    lines, tick = [], 0
    while tick < end:
        lines.append(tick)
        _, n, d = [s for s in sigs if s[0] <= tick][-1]
        tick += n * TPQ * 4 // d
    return sigs, set(lines)


def track(midi, name):
    mf = mido.MidiFile(str(midi))
    tr = next(tr for tr in mf.tracks if tr.name == name)
    t, out = 0, []
    for m in tr:
        t += m.time
        if m.type == "note_on" and m.velocity > 0:
            out.append((t, m.note))
    return out


def test_a_jazz_waltz_is_written_in_three(gen_model, tmp_path):
    [midi] = gen(gen_model, tmp_path / "out", "--meter", "3/4", "--form", "waltz", "--seed", "3", "--seconds", "16",
                 "--bpm", "180")
    sigs, lines = bar_lines(midi)
    assert sigs == [(0, 3, 4)]
    _, markers = solo_track(midi)
    assert markers[0] == (0, "Cmaj7") and [t for t, _ in markers[:12]] == [i * 1440 for i in range(12)]
    assert {t % 1440 for t, _ in markers} == {0, 960}          # two chords in a bar: beats 1-2, then 3
    assert sorted(lines)[:4] == [0, 1440, 2880, 4320]
    bass = track(midi, "Bass")
    assert [t for t, _ in bass] == [i * TPQ for i in range(len(bass))] and len(bass) == 48   # 16 bars of three
    ride = {t % 1440 for t, p in track(midi, "Drums") if p == 51}
    assert {0, 480, 960} <= ride and len(ride) == 4          # 1, 2, 2 & (swung), 3


def test_six_eight_chart_file_and_a_primer_in_its_own_meter(gen_model, tmp_path):
    chart = tmp_path / "c.txt"
    chart.write_text("meter: 6/8\nDm7 | G7 | Cmaj7 | %\n")
    [midi] = gen(gen_model, tmp_path / "out", "--chart", chart, "--seed", "1", "--seconds", "8", "--swing", "0.6")
    sigs, lines = bar_lines(midi)
    assert sigs == [(0, 6, 8)]
    _, markers = solo_track(midi)
    assert [t for t, _ in markers[:4]] == [0, 1440, 2880, 4320]
    assert {t % 720 for t, _ in track(midi, "Bass")} == {0}      # in two dotted quarters, unswung
    # a long primer without chords: its first 4 bars open the solo, the blues (in its 4/4) under it
    primer = write_solo_midi(tmp_path / "p.mid", [(60 + i % 7, i, 1) for i in range(40)], [], qpm=120)
    r = run_module("jazzgen.generate", ["--model", gen_model.path, "--out", tmp_path / "o2", "--primer", primer,
                                        "--seconds", "20", "--seed", "5"], cwd=tmp_path, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "first 4 bars (--primer-bars N to choose)" in r.stderr and "no chord markers" in r.stderr
    assert "blues in F" in r.stderr
    notes, markers = solo_track(Path(r.stdout.split()[0]))
    assert notes[:16] == [(i * TPQ, 60 + i % 7) for i in range(16)] and notes[16][0] >= 16 * TPQ
    assert markers[0] == (0, "F7")
    # its changes start in bar 3: the bars kept have none, but the primer's changes are the chart
    primer = write_solo_midi(tmp_path / "p2.mid", [(60 + i % 7, i, 1) for i in range(40)],
                             [(8 + 4 * k, ("Dm7", "G7")[k % 2]) for k in range(8)], qpm=120)
    args = ["--primer", primer, "--primer-bars", "2", "--seconds", "16", "--seed", "5"]
    r = run_module("jazzgen.generate", ["--model", gen_model.path, "--out", tmp_path / "o3", *args],
                   cwd=tmp_path, timeout=180)
    assert r.returncode == 0, r.stderr
    assert "no chord markers" not in r.stderr
    _, markers = solo_track(Path(r.stdout.split()[0]))
    assert markers[:2] == [(8 * TPQ, "Dm7"), (12 * TPQ, "G7")]


# ---------------------------------------------------------------------------- errors

@pytest.mark.parametrize("args, needle", [
    (["--seconds", "0"], "--seconds"),
    (["--seconds", "-5"], "--seconds"),
    (["--seconds", "1e9"], "--seconds"),
    (["--bpm", "0"], "--bpm"),
    (["--bpm", "10000"], "--bpm"),
    (["--chords", "Dm7 H7"], "H7"),
    (["--form", "bossa-nova-xyz"], "bossa-nova-xyz"),
    (["--model", "/nonexistent"], "/nonexistent"),
    (["--primer", "{junk}"], "not a MIDI file"),
    (["--out", "{file}/sub"], "is a file, not a folder"),
    (["--soundfont", "/nonexistent", "--wav"], "/nonexistent"),
    (["--primer", "/nonexistent.mid"], "/nonexistent.mid"),
    (["--meter", "3/5"], "--meter"),
    (["--meter", "three"], "--meter"),
    (["--primer-bars", "2"], "--primer"),
    (["--primer", "{long}", "--primer-bars", "8"], "--seconds 4: the primer (its first 8 bars) lasts 16.0 s"),
    (["--primer", "{long}", "--primer-bars", "0"], "--primer-bars"),
    (["--calibration", "-1"], "--calibration must be"),
])
def test_errors_exit_2_with_one_line_and_no_files(gen_model, tmp_path, args, needle, capsys):
    junk = tmp_path / "junk.mid"
    junk.write_bytes(np.random.default_rng(0).bytes(300))
    a_file = tmp_path / "a_file"
    a_file.write_text("x")
    long = write_solo_midi(tmp_path / "long.mid", [(60 + i % 7, i, 1) for i in range(40)], [(0, "C7")])
    args = [s.format(junk=junk, file=a_file, long=long) for s in args]
    out = tmp_path / "out"
    # later options win in argparse: the case's own --model / --out / --seconds override these
    argv = ["--model", str(gen_model.path), "--out", str(out), "--seconds", "4", "--seed", "1"] + args
    try:
        code = jgen.main(argv)
    except SystemExit as e:
        code = e.code
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jazzgen.generate: error: "), err
    assert needle in err, err
    assert not out.exists() or list(out.iterdir()) == []
    assert a_file.read_text() == "x"


def test_error_from_the_command_line(gen_model, tmp_path):
    r = run_module("jazzgen.generate", ["--model", gen_model.path, "--out", tmp_path / "out", "--chords", "Dm7 H7"],
                   cwd=tmp_path, timeout=60)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "H7" in lines[0] and lines[0].startswith("jazzgen.generate: error: ")
    assert not (tmp_path / "out").exists()


CHARTS = Path(__file__).parent / "data" / "charts"


def test_chart_files_of_every_kind_end_to_end(gen_model, tmp_path):
    """--chart with an iReal Pro playlist and --tune: the road map's bars at the chart's own tempo;
    an Impro-Visor leadsheet in 3/4; errors name the flag, the tune and the bar."""
    [midi] = gen(gen_model, tmp_path / "out", "--chart", CHARTS / "jazzgen-tests.html", "--tune", "test blues",
                 "--seconds", "12", "--seed", "1")
    mf = mido.MidiFile(str(midi))
    tempo = next(m.tempo for t in mf.tracks for m in t if m.type == "set_tempo")
    assert round(mido.tempo2bpm(tempo)) == 140                     # the chart's tempo
    _, markers = solo_track(midi)
    bar = 4 * mf.ticks_per_beat
    assert [(t // bar, s) for t, s in markers][:10] == [
        (0, "C7"), (1, "F7"), (2, "C7"), (3, "C7"), (4, "F7"), (4, "F#o7"), (5, "C7/G"), (5, "A7"), (5, "D-7"),
        (6, "F7")]                                                  # p, x, small chords, r (bars 7-8 = 5-6)
    [ls] = gen(gen_model, tmp_path / "out", "--chart", CHARTS / "Contemplation.ls", "--seconds", "5", "--seed", "1")
    sigs = {(m.numerator, m.denominator) for t in mido.MidiFile(str(ls)).tracks for m in t
            if m.type == "time_signature"}
    assert sigs == {(3, 4)}
    r = run_module("jazzgen.generate", ["--model", gen_model.path, "--out", tmp_path / "bad", "--chart",
                                        CHARTS / "jazzgen-tests.html"], cwd=tmp_path, timeout=60)
    lines = r.stderr.strip().splitlines()
    assert r.returncode == 2 and len(lines) == 1 and "holds 3 tunes" in lines[0] and "--tune is needed" in lines[0]
    bad = tmp_path / "bad.ls"
    bad.write_text("(title Broken)\n(meter 4 4)\n(part (type chords))\nC7 | F7 | Xyz7 |\n")
    r = run_module("jazzgen.generate", ["--model", gen_model.path, "--out", tmp_path / "bad", "--chart", bad],
                   cwd=tmp_path, timeout=60)
    assert r.returncode == 2 and r.stderr.strip().startswith(
        f"jazzgen.generate: error: --chart {bad}: tune 'Broken', bar 3: unknown chord symbol 'Xyz7'")
    assert not (tmp_path / "bad").exists()
