"""The corpus: bad files skipped with reasons, the limits, the ingest CLI, the cache, the readers."""
import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, Track, midi_bytes, run_module, subprocess_env, wjazzd_file
from jazzgen.data import corpus as C
from jazzgen.data.corpus import ReadSettings, load_corpus
from jazzgen.errors import DataError
from jazzgen.music import midi_check, midi_io

ARTPEPPER = "ArtPepper_Anthropology_FINAL.mid"


def smf(*notes, channel=0, markers=()) -> bytes:
    """One track: chord markers (beat, symbol), then (pitch, start beat, beats) notes (beats None: never ended)."""
    return midi_bytes(Track(notes, channel=channel, markers=markers))


GOOD = smf(*[(60 + i, i / 2, 5 / 12) for i in range(16)], markers=[(0, "Cmaj7"), (4, "N.C.")])
BAD = {"noise.mid": (b"\x00garbage" * 10, "not a MIDI file"),
       "empty.mid": (b"", "empty file"),
       "drums.mid": (smf((36, 0, 0.2), (38, 1, 0.2), channel=9), "only drum notes"),
       "cut.mid": (GOOD[:40], "truncated"),
       "endless.mid": (smf((60, 0, None), (62, 1, None)), "notes never end")}


@pytest.fixture
def folder(tmp_path) -> Path:
    d = tmp_path / "midi"
    (d / "sub").mkdir(parents=True)
    (d / "good.mid").write_bytes(GOOD)
    shutil.copy(wjazzd_file(ARTPEPPER), d / "sub" / ARTPEPPER)
    for name, (data, _) in BAD.items():
        (d / name).write_bytes(data)
    (d / "notes.txt").write_text("not MIDI, not looked at")
    return d


def test_bad_files_are_skipped_with_a_reason(folder, tmp_path):
    corpus = load_corpus(folder, tmp_path / "cache", progress=False)
    assert sorted(s.name for s in corpus.songs) == ["ArtPepper_Anthropology_FINAL", "good"]
    reasons = {Path(r.path).name: r.reason for r in corpus.dropped}
    assert set(reasons) == set(BAD)
    for name, (_, why) in BAD.items():
        assert why in reasons[name] and "\n" not in reasons[name], (name, reasons[name])
    kept = {Path(r.path).name: r for r in corpus.reports if r.kept}
    assert kept["good.mid"].notes == 16 and kept["good.mid"].chord_coverage == 0.5
    assert kept["good.mid"].events == 16 and kept["good.mid"].bars == 2
    assert all(r.line().startswith(("kept", "dropped")) for r in corpus.reports)


def test_huge_file_is_dropped_unread(tmp_path, monkeypatch):
    (tmp_path / "good.mid").write_bytes(GOOD)
    with open(tmp_path / "huge.mid", "wb") as f:
        f.write(GOOD)
        f.truncate(100 * 2**20)                                # sparse: nothing written
    corpus = load_corpus(tmp_path, None, progress=False)
    assert [s.name for s in corpus.songs] == ["good"]
    assert corpus.dropped[0].reason == "file too large (100 MB > 16 MB)"
    monkeypatch.setattr(midi_check, "MAX_FILE_BYTES", len(GOOD) - 1)
    assert load_corpus(tmp_path, None, progress=False).songs == []


def test_summary_aggregates_reports():
    reps = [C.FileReport("a", True, notes=10, bars=2, events=12, chord_coverage=1.0,
                               onset_err_hist=[8, 0, 2], onset_err_max=2 / 480, offset_err_hist=[10]),
            C.FileReport("b", True, notes=30, bars=5, events=40, chord_coverage=0.5,
                               onset_err_hist=[30], offset_err_hist=[20, 10]),
            C.FileReport("c", False, "no notes")]
    s = C.summarize(reps)
    assert (s["files"], s["kept"], s["dropped"], s["notes"], s["bars"], s["events"]) == (3, 2, 1, 40, 7, 52)
    assert s["chord_coverage"] == pytest.approx(25 / 40)
    assert s["onset_error"]["p50"] == 0 and s["onset_error"]["p99"] == 2 / 480
    assert s["onset_error"]["mean"] == pytest.approx(4 / 480 / 40) and s["onset_error"]["max"] == 2 / 480
    assert s["offset_error"]["p90"] == 1 / 480


# ---------------------------------------------------------------------------- the CLI

def ingest(*args, cwd=ROOT):
    return run_module("jazzgen.ingest", args, cwd, timeout=120)


def test_cli_exit_codes(folder, tmp_path):
    report = tmp_path / "r" / "report.json"
    ok = ingest("--data", folder, "--out", tmp_path / "cache", "--report", report)
    assert ok.returncode == 0, ok.stderr
    assert "kept     " in ok.stdout and "dropped  " in ok.stdout and "files    2 kept, 5 dropped (of 7)" in ok.stdout
    doc = json.loads(report.read_text())
    assert doc["totals"]["kept"] == 2 and len(doc["files"]) == 7

    (tmp_path / "bad").mkdir()
    for name, (data, _) in BAD.items():
        (tmp_path / "bad" / name).write_bytes(data)
    none = ingest("--data", tmp_path / "bad", "--out", tmp_path / "cache", "--quiet")
    assert none.returncode == 1 and "no usable file" in none.stderr and "files    0 kept" in none.stdout

    (tmp_path / "empty").mkdir()
    empty = ingest("--data", tmp_path / "empty", "--out", tmp_path / "cache")
    assert empty.returncode == 1 and empty.stderr.count("\n") == 1 and "no MIDI files" in empty.stderr

    missing = ingest("--data", tmp_path / "nowhere", "--out", tmp_path / "cache")
    assert missing.returncode == 2
    assert missing.stderr == f"jazzgen.ingest: error: no such file or folder: {tmp_path / 'nowhere'}\n"

    wrong = ingest("--frobnicate")
    assert wrong.returncode == 2 and "unrecognized arguments: --frobnicate" in wrong.stderr


def test_cli_defaults_to_midi_folder_and_cache_in_cwd(tmp_path):
    (tmp_path / "midi").mkdir()
    (tmp_path / "midi" / "good.mid").write_bytes(GOOD)
    run = ingest("--quiet", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert list((tmp_path / ".cache" / "corpus").glob("shard-*.npz"))


# ---------------------------------------------------------------------------- the cache

def same_songs(a, b):
    assert [s.name for s in a.songs] == [s.name for s in b.songs]
    for x, y in zip(a.songs, b.songs):
        assert np.array_equal(x.pitch, y.pitch) and np.array_equal(x.start, y.start)
        assert np.array_equal(x.duration, y.duration) and np.array_equal(x.velocity, y.velocity)
        assert (x.chords, x.tempos, x.time_signatures, x.key_signatures, x.end) == \
            (y.chords, y.tempos, y.time_signatures, y.key_signatures, y.end)
    assert [vars(r) for r in a.reports] == [vars(r) for r in b.reports]


def test_cache_serves_everything_then_rereads_only_a_changed_file(folder, tmp_path):
    cache = tmp_path / "cache"
    first = load_corpus(folder, cache, progress=False)
    assert first.cached == 0
    second = load_corpus(folder, cache, progress=False)
    assert second.cached == len(second.reports) == 7
    same_songs(first, second)
    assert load_corpus(folder, None, progress=False).cached == 0

    (folder / "good.mid").write_bytes(smf((70, 0, 1)))
    third = load_corpus(folder, cache, progress=False)
    assert third.cached == 6
    assert next(s for s in third.songs if s.name == "good").pitch.tolist() == [70]
    (folder / "good.mid").write_bytes(GOOD)                    # back as it was: a cache hit again
    assert load_corpus(folder, cache, progress=False).cached == 7
    other = load_corpus(folder, cache, ReadSettings(track=0), progress=False)
    assert other.cached == 0                                   # the settings are part of the key


def test_cache_survives_a_corrupt_pack(folder, tmp_path):
    cache = tmp_path / "cache"
    load_corpus(folder, cache, progress=False)
    for p in cache.glob("shard-*.npz"):
        p.write_bytes(b"torn")
    again = load_corpus(folder, cache, progress=False)
    assert again.cached == 0 and len(again.songs) == 2


def test_parallel_read_matches_serial(tmp_path, monkeypatch):
    monkeypatch.setattr(C, "SHARD_FILES", 8)                  # several shards: work for two processes
    files = [tmp_path / f"s{i:02d}.mid" for i in range(70)]
    for i, f in enumerate(files):
        f.write_bytes(smf(*[(50 + (i + k) % 30, k / 2, 1 / 4) for k in range(8)], markers=[(0, "F7")])
                      if i % 9 else b"junk")
    serial = load_corpus(files, None, workers=1, progress=False)
    parallel = load_corpus(files, None, workers=2, progress=False)
    same_songs(serial, parallel)


# ---------------------------------------------------------------------------- memory limits

def test_file_over_the_note_limit_is_skipped_with_a_reason(tmp_path, monkeypatch):
    (tmp_path / "good.mid").write_bytes(GOOD)                                  # 16 notes
    (tmp_path / "long.mid").write_bytes(smf(*[(60 + i % 12, i / 2, 5 / 12) for i in range(17)]))
    monkeypatch.setattr(midi_io, "MAX_NOTES", 16)
    corpus = load_corpus(tmp_path, tmp_path / "cache", progress=False)
    assert [s.name for s in corpus.songs] == ["good"]
    assert [r.line() for r in corpus.dropped] == \
        [f"dropped  {tmp_path / 'long.mid'}: too many notes for a solo (17 in all tracks > 16)"]
    monkeypatch.setattr(midi_io, "MAX_NOTES", 17)                             # the limit is part of the cache key
    assert len(load_corpus(tmp_path, tmp_path / "cache", progress=False).songs) == 2


@pytest.mark.parametrize("workers", [1, 2])
def test_corpus_over_the_total_stops_with_one_line(tmp_path, monkeypatch, workers):
    monkeypatch.setattr(C, "SHARD_FILES", 8)
    for i in range(70):                                                        # 70 files: enough for the pool
        (tmp_path / f"s{i:02d}.mid").write_bytes(GOOD)
    monkeypatch.setattr(C, "MAX_CORPUS_NOTES", 16 * 70)
    assert len(load_corpus(tmp_path, tmp_path / "cache", workers=workers, progress=False).songs) == 70
    monkeypatch.setattr(C, "MAX_CORPUS_NOTES", 16 * 70 - 1)
    for cache in (None, tmp_path / "cache"):                                   # read, or served by the cache
        want = f"corpus too large: more than 1,119 notes in 70 MIDI files under {tmp_path} ("
        with pytest.raises(DataError, match=re.escape(want)) as e:
            load_corpus(tmp_path, cache, workers=workers, progress=False)
        assert "\n" not in str(e.value)


def test_reading_stops_as_soon_as_the_total_is_passed(tmp_path, monkeypatch):
    for i in range(10):
        (tmp_path / f"s{i}.mid").write_bytes(GOOD)
    seen = []
    real = C.read_file
    monkeypatch.setattr(C, "read_file", lambda *a: seen.append(a[0]) or real(*a))
    monkeypatch.setattr(C, "MAX_CORPUS_NOTES", 16 * 3)
    with pytest.raises(DataError):
        load_corpus(tmp_path, None, progress=False)
    assert len(seen) == 4                                                      # the fourth file passed it


def test_ingest_streams_past_the_in_memory_limit_and_evaluate_reports_it_in_one_line(tmp_path):
    (tmp_path / "a.mid").write_bytes(GOOD)
    code = ("import sys; from jazzgen.data import corpus; corpus.MAX_CORPUS_NOTES = 10; from jazzgen.commands.cli "
            "import run; from jazzgen.commands.{0} import PROG, main; sys.exit(run(PROG, main))")
    run = lambda cmd, *args: subprocess.run([sys.executable, "-c", code.format(cmd), *map(str, args)], cwd=ROOT,
                                            capture_output=True, text=True, timeout=120, env=subprocess_env())
    r = run("ingest", "--data", tmp_path, "--out", tmp_path / "c", "--quiet")      # ingest streams: no limit
    assert r.returncode == 0 and "1 kept" in r.stdout, r.stderr
    r = run("evaluate", "--data", tmp_path, "--cache", tmp_path / "c", "--model", "none", "--out", tmp_path / "e")
    assert r.returncode == 2
    assert r.stderr == ("jazzgen.evaluate: error: corpus too large: more than 10 notes in 1 MIDI file under "
                        f"{tmp_path} (the limit is jazzgen.data.corpus.MAX_CORPUS_NOTES); read fewer files\n")


def test_reports_say_which_part_is_the_melody_and_where_the_chords_came_from(solo_folder, tmp_path):
    corpus = load_corpus(solo_folder, tmp_path / "cache", progress=False)
    r = corpus.reports[0]
    assert (r.track, r.track_reason, r.chord_source, r.top_voice) == ("Melody", "only non-drum track", "markers", False)
    assert r.line().endswith("; melody 'Melody' (only non-drum track), chords markers")
    s = C.summarize(corpus.reports)
    assert s["chord_sources"] == {"markers": 6} and s["melody_reasons"] == {"only non-drum track": 6}
    again = load_corpus(solo_folder, tmp_path / "cache", progress=False)     # the new fields survive the pack
    assert again.cached == 6 and vars(again.reports[0]) == vars(r)
