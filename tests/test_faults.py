"""Faults a user meets (issue 24): inputs that are no regular file, operating-system errors,
names that are not UTF-8, and takes an hour long.

Each is one line naming the path and the cause, or works; nothing half-written stays.  A full
disk is made real with RLIMIT_FSIZE (a write past the limit fails with EFBIG, as one past a full
disk fails with ENOSPC) where a small tmpfs cannot be mounted.
"""
from __future__ import annotations

import errno
import io
import os
import subprocess
import sys
import wave

import numpy as np
import pytest

from conftest import SHIPPED_MODEL, blues_chart, run_module, subprocess_env, write_walks
from jazzgen.commands import cli
from jazzgen.data import corpus, dataset, shards
from jazzgen.errors import MidiError, UsageError
from jazzgen.generation import render
from jazzgen.generation.band import band_parts
from jazzgen.util import atomic_write, read_regular

LONG_NAME = "x" * 300        # over the 255 bytes a file name may have


# ---------------------------------------------------------------------------- inputs that are no regular file

@pytest.fixture
def fifo(tmp_path):
    path = tmp_path / "pipe"
    os.mkfifo(path)
    return path


def test_a_fifo_or_a_device_is_refused_unread(fifo):
    for path in (fifo, "/dev/zero"):
        with pytest.raises(UsageError, match="not a regular file"):
            corpus.read_track_map(path)                      # it blocked, or filled 7 GB in 8 s
        with pytest.raises(MidiError, match="not a regular file"):
            read_regular(path, MidiError, "primer", 100)


def test_a_file_over_its_limit_is_refused_unread(tmp_path):
    (tmp_path / "big").write_bytes(b"x" * 1000)
    with pytest.raises(UsageError, match="1000 bytes, more than the 999 it may have"):
        read_regular(tmp_path / "big", UsageError, "--track-map", 999)


def test_a_fifo_named_like_an_index_is_skipped(tmp_path):
    write_walks(tmp_path, n=2)
    os.mkfifo(tmp_path / "index.tsv")
    songs = corpus.load_corpus(tmp_path, None, progress=False).songs
    assert [s.performer for s in songs] == ["unknown", "unknown"]


def test_primer_and_track_map_from_the_command_line(tmp_path, fifo):
    for argv in (["--primer", str(fifo)], ["--primer", "/dev/zero"]):
        r = run_module("jazzgen.generate", ["--model", SHIPPED_MODEL, "--seconds", "2", "--out", tmp_path / "o",
                                            *argv], cwd=tmp_path, timeout=120)
        assert r.returncode == 2 and r.stderr.count("\n") == 1 and "not a regular file" in r.stderr, r.stderr
    r = run_module("jazzgen.ingest", ["--data", write_walks(tmp_path / "d", n=1), "--out", tmp_path / "c",
                                      "--track-map", "/dev/zero"], cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and "--track-map /dev/zero: not a regular file" in r.stderr, r.stderr


# ---------------------------------------------------------------------------- operating-system errors

def test_a_failed_write_leaves_nothing_and_names_the_file(tmp_path):
    def full(f):
        f.write(b"half")
        raise OSError(errno.ENOSPC, "No space left on device")    # what a full disk says: no path
    with pytest.raises(OSError) as e:
        atomic_write(tmp_path / "take.wav", full)
    assert cli.os_error(e.value) == f"{tmp_path / 'take.wav'}: cannot write it (No space left on device)"
    assert list(tmp_path.iterdir()) == []


def test_an_os_error_is_one_line_exit_1(capsys):
    def too_long(argv):
        raise OSError(errno.ENAMETOOLONG, "File name too long", "out/" + "y" * 5000)
    assert cli.run("jazzgen.generate", too_long, []) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jazzgen.generate: error: out/yyy") and \
        err.rstrip().endswith(": File name too long") and len(err) < 300


def test_a_take_that_cannot_be_written_leaves_no_file(tmp_path, monkeypatch):
    from jazzgen.generation import takes
    from jazzgen.music.chart import build_chart
    stepper = takes.load_stepper(SHIPPED_MODEL)
    take = takes.make_takes(stepper, build_chart(form="blues"), takes.TakeConfig(seconds=3, seed=1))[0]

    def full(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")
    monkeypatch.setattr(render, "render_pianoroll", full)
    with pytest.raises(UsageError) as e:
        takes.write_take(take, tmp_path, ("mid", "wav", "png"))
    assert str(e.value) == f"cannot write {tmp_path / take.name}.png: No space left on device"
    assert list(tmp_path.iterdir()) == []


FULL_DISK = """
import resource, signal, sys
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)        # a write past the limit fails (EFBIG) instead of killing
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
from jazzgen.commands.generate import main
sys.exit(main(sys.argv[2:]))
"""


@pytest.mark.parametrize("limit", [0, 30_000, 400_000])
def test_a_full_disk_while_writing_a_take(tmp_path, limit):
    r = subprocess.run([sys.executable, "-c", FULL_DISK, str(limit), "--model", str(SHIPPED_MODEL), "--seconds",
                        "8", "--seed", "1", "--wav", "--out", str(tmp_path / "out")], cwd=tmp_path,
                       env=subprocess_env(), capture_output=True, text=True, timeout=120)
    assert r.returncode == 2, r.stderr
    assert r.stderr.count("\n") == 1 and "File too large" in r.stderr and str(tmp_path / "out") in r.stderr
    assert list((tmp_path / "out").iterdir()) == []                     # no half file, no temporary one


@pytest.mark.parametrize("command, argv", [
    ("generate", ["--model", SHIPPED_MODEL, "--seconds", "2", "--out", LONG_NAME]),
    ("ingest", ["--data", "d", "--out", "c", "--report", LONG_NAME + ".json"]),
])
def test_a_name_longer_than_the_file_system_allows(tmp_path, command, argv):
    write_walks(tmp_path / "d", n=1)
    r = run_module(f"jazzgen.{command}", argv, cwd=tmp_path, timeout=120)
    assert r.returncode in (1, 2) and r.stderr.count("\n") == 1, r.stderr
    assert "File name too long" in r.stderr and "xxxxx" in r.stderr and "Traceback" not in r.stderr


# ---------------------------------------------------------------------------- names that are not UTF-8

def test_a_file_name_that_is_not_utf8_splits_and_prints(tmp_path):
    name = os.fsdecode(b"solo\xff\xfe")
    assert dataset.split_by_file([name, "a", "b", "c"], 0.25, 0) == dataset.split_by_file([name, "a", "b", "c"],
                                                                                            0.25, 0)
    out = io.TextIOWrapper(io.BytesIO(), encoding="utf-8")
    out.reconfigure(errors="backslashreplace")       # what cli.run does to stdout
    print(name, file=out)


# ---------------------------------------------------------------------------- an hour's take

def test_audio_in_blocks_is_the_whole_audio(tmp_path):
    seq = blues_chart()
    parts = band_parts(seq, "trio", seed=0)
    keep, blocks = render.audio_blocks(seq, parts)
    blocks = list(blocks)
    assert max(len(b) for b in blocks) <= render.BLOCK and len(blocks) > 1
    whole = render.synthesize(seq, parts)
    np.testing.assert_array_equal(np.concatenate(blocks)[:len(whole)], whole)
    render.render_wav(tmp_path / "x.wav", seq, parts)
    peak = np.abs(whole).max()
    want = np.clip(np.round(whole * np.float32(10 ** (render.PEAK_DBFS / 20) / peak) * 32767), -32768, 32767)
    with wave.open(str(tmp_path / "x.wav")) as w:
        got = np.frombuffer(w.readframes(w.getnframes()), "<i2").reshape(-1, 2)
    np.testing.assert_array_equal(got, want.astype("<i2"))                       # the WAV it always was
    assert sorted(p.name for p in tmp_path.iterdir()) == ["x.wav"]              # its temporary file is gone


def test_a_long_roll_numbers_every_few_bars():
    assert render._label_every(20, 1800) == 1               # a chorus or two: every bar, chords on top
    assert render._label_every(133, 4000) == 1
    assert render._label_every(800, 4000) == 8              # an hour at 160 bpm: every 8th bar
    assert render._label_every(2400, 4000) == 32


# ---------------------------------------------------------------------------- cache shards

def corrupt(path, **changes):
    """Rewrite the shard at `path` with some arrays replaced (a function of the old array, or a value)."""
    with np.load(path) as z:
        a = {k: z[k] for k in z.files}
    for k, f in changes.items():
        a[k] = f(a[k]) if callable(f) else f
    np.savez(path, **a)


def with_first(value):
    def change(x):
        x = x.copy()
        x.reshape(-1)[0] = value
        return x
    return change


@pytest.mark.parametrize("changes, needle", [
    ({"pitch": with_first(200)}, "a pitch of 200, outside 0..127"),
    ({"duration": with_first(-3)}, "a duration of -3"),
    ({"velocity": with_first(0)}, "a velocity of 0"),
    ({"tempo_qpm": with_first(np.nan)}, "a tempo_qpm of nan"),
    ({"chord_sym": with_first(10**6)}, "a chord_sym of 1e+06"),
    ({"n_notes": with_first(10**9)}, "pitch does not hold"),
    ({"start": lambda x: x[::-1].copy()}, "out of order"),
    ({"index": np.array('{"version": %d, "symbols": [], "names": [], "reports": [{"evil": 1}]}' % shards.FORMAT)},
     "fields this jazzgen does not know"),
    ({"index": np.array('{"version": 11, "symbols": [], "names": [], "reports": []}')}, "shard format 11, not"),
    ({"events": with_first(999)}, "an event id of 999 in column 0"),
    ({"events": lambda x: x[1:].copy()}, "events are int16"),
    ({"hi": with_first(300)}, "hi is not a MIDI pitch"),
    ({"index": np.array("[" * 100_000 + "]" * 100_000)}, "not JSON"),
    ({"keys": np.array([None, 1], dtype=object)}, "unreadable"),
])
def test_a_corrupt_shard_is_dropped_and_its_files_read_again(tmp_path, changes, needle):
    data, cache = write_walks(tmp_path / "d", n=3), tmp_path / "cache"
    fresh = corpus.load_corpus(data, cache, progress=False)
    [pack] = cache.glob("shard-*.npz")
    corrupt(pack, **changes)
    again = corpus.load_corpus(data, cache, progress=False)
    assert again.cached == 0 and len(again.cache_dropped) == 1, again.cache_dropped
    assert needle in again.cache_dropped[0] and "dropped; its files are read again" in again.cache_dropped[0]
    for a, b in zip(fresh.songs, again.songs):
        np.testing.assert_array_equal(a.pitch, b.pitch)
    third = corpus.load_corpus(data, cache, progress=False)                # rewritten whole
    assert third.cached == 3 and third.cache_dropped == []


def test_a_fifo_named_like_a_shard_is_skipped_and_left(tmp_path):
    data, cache = write_walks(tmp_path / "d", n=2), tmp_path / "cache"
    cache.mkdir()
    os.mkfifo(cache / "shard-000000000000000000000000.npz")
    got = corpus.load_corpus(data, cache, progress=False)                  # it would block ingest and train
    assert len(got.songs) == 2 and "not a regular file" in got.cache_dropped[0]
    assert (cache / "shard-000000000000000000000000.npz").exists()


def test_ingest_reports_a_dropped_shard(tmp_path):
    data, cache = write_walks(tmp_path / "d", n=2), tmp_path / "cache"
    corpus.load_corpus(data, cache, progress=False)
    corrupt(next(cache.glob("shard-*.npz")), pitch=with_first(200))
    r = run_module("jazzgen.ingest", ["--data", data, "--out", cache, "--quiet"], cwd=tmp_path, timeout=120)
    assert r.returncode == 0 and "cache    cache shard " in r.stdout and "a pitch of 200" in r.stdout, r.stdout
