"""The corpus on disk: shards read back equal to what was read, resumed after a kill, served as windows."""
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, subprocess_env
from jazzgen.data import corpus as C, dataset as D, shards, tokens as T
from jazzgen.paths import WJAZZD

N_SOLOS = 14


@pytest.fixture
def folder(tmp_path) -> Path:
    """14 WJazzD solos (with their index.tsv lines) and two bad files, in tmp_path/midi."""
    d = tmp_path / "midi"
    d.mkdir()
    files = sorted(WJAZZD.glob("*.mid"))[::29][:N_SOLOS]
    for f in files:
        shutil.copy(f, d / f.name)
    lines = (WJAZZD / "index.tsv").read_text().splitlines()
    (d / "index.tsv").write_text("\n".join([lines[0]] + [x for x in lines[1:] if x.split("\t")[0] in
                                                         {f.name for f in files}]) + "\n")
    (d / "broken.mid").write_bytes(b"MThd\x00\x00\x00\x06garbage")
    (d / "empty.mid").write_bytes(b"")
    return d


@pytest.fixture
def small_shards(monkeypatch):
    monkeypatch.setattr(C, "SHARD_FILES", 3)      # several groups of a few files


def direct(folder: Path):
    """Every file read straight from disk, no cache: (sequence or None, report) by path."""
    out = {}
    for f in C.find_midi(folder):
        data = f.read_bytes()
        out[str(f)] = C.read_file(str(f), data, C.ReadSettings())[:2]
    return out


def test_shards_read_back_equal_to_the_files_read_in_memory(folder, tmp_path, small_shards):
    reports = []
    got = C.ingest(folder, tmp_path / "cache", progress=False, each=reports.append)
    assert len(list((tmp_path / "cache").glob("shard-*.npz"))) >= 3
    assert not list((tmp_path / "cache").glob(".*.tmp"))                 # nothing half-written left
    want = direct(folder)
    assert [r.path for r in reports] == list(want)                          # every file, in folder order
    assert [vars(r) for r in reports] == [vars(r) for _, r in want.values()]
    assert {Path(r.path).name for r in reports if not r.kept} == {"broken.mid", "empty.mid"}
    assert got.totals == C.summarize([r for _, r in want.values()]) and got.dropped == 2
    songs = got.songs
    assert len(songs) == N_SOLOS and songs.performers[0] != T.UNKNOWN_PERFORMER
    reader = songs.reader()
    for i, seq in enumerate(songs.sequences()):
        ref = want[songs.paths[i]][0]
        assert seq.name == ref.name and seq.performer == songs.performers[i]
        for col in ("pitch", "start", "duration", "velocity"):
            np.testing.assert_array_equal(getattr(seq, col), getattr(ref, col))
        assert (seq.chords, seq.tempos, seq.time_signatures, seq.end) == (ref.chords, ref.tempos,
                                                                          ref.time_signatures, ref.end)
        tok = T.encode(ref)
        rows = reader.rows(int(songs.shard[i]), int(songs.first[i]), int(songs.first[i] + songs.n_events[i]))
        np.testing.assert_array_equal(rows, np.stack([getattr(tok, f) for f in shards.EVENT_FIELDS], 1))
        assert (songs.lo[i], songs.hi[i]) == (ref.pitch.min(), ref.pitch.max())
    same = C.load_corpus(folder, tmp_path / "cache", progress=False)
    assert same.cached == N_SOLOS + 2 and [s.name for s in same.songs] == songs.names   # bad files too


def test_parallel_ingest_writes_the_same_shards(folder, tmp_path, small_shards):
    one = C.ingest(folder, tmp_path / "a", workers=1, progress=False)
    two = C.ingest(folder, tmp_path / "b", workers=2, progress=False)
    assert sorted(p.name for p in (tmp_path / "a").glob("shard-*")) == \
        sorted(p.name for p in (tmp_path / "b").glob("shard-*"))
    assert one.totals == two.totals and one.songs.names == two.songs.names
    for x, y in zip(one.songs.shard_paths, two.songs.shard_paths):
        assert shards.keys(x) == shards.keys(y)


KILLER = """
import os, signal, sys
from jazzgen.data import corpus as C, shards
C.SHARD_FILES = 3
real, n = shards.save, [0]
def save(*a):
    real(*a)
    n[0] += 1
    if n[0] == 3:
        os.kill(os.getpid(), signal.SIGKILL)      # as kill -9 would, mid-ingest
shards.save = save
C.ingest(sys.argv[1], sys.argv[2], workers=1, progress=False)
"""


def test_ingest_resumes_after_kill_9_without_redoing_finished_shards(folder, tmp_path, small_shards, monkeypatch):
    cache = tmp_path / "cache"
    run = subprocess.run([sys.executable, "-c", KILLER, str(folder), str(cache)], cwd=ROOT, env=subprocess_env(),
                         capture_output=True, text=True, timeout=300)
    assert run.returncode == -signal.SIGKILL, run.stderr
    done = {p: p.stat().st_mtime_ns for p in cache.glob("shard-*.npz")}
    assert len(done) == 3 and not list(cache.glob("corpus-*.json"))      # killed before its listing
    read = []
    real = C.read_file
    monkeypatch.setattr(C, "read_file", lambda *a: read.append(Path(a[0]).name) or real(*a))
    got = C.ingest(folder, cache, workers=1, progress=False)
    assert {p: p.stat().st_mtime_ns for p in done} == done                 # the finished shards untouched
    in_done = {Path(r["path"]).name for p in done for r in shards.meta(p).reports}
    assert read and not set(read) & in_done                                # only the other files were read
    assert got.cached == len(in_done) and len(got.songs) == N_SOLOS
    assert got.totals == C.summarize([r for _, r in direct(folder).values()])


def test_a_changed_file_rereads_only_that_file(folder, tmp_path, small_shards, monkeypatch):
    cache = tmp_path / "cache"
    C.ingest(folder, cache, progress=False)
    victim = sorted(folder.glob("*_FINAL.mid"))[5]
    victim.write_bytes(sorted(WJAZZD.glob("*.mid"))[1].read_bytes())
    read = []
    real = C.read_file
    monkeypatch.setattr(C, "read_file", lambda *a: read.append(Path(a[0]).name) or real(*a))
    got = C.ingest(folder, cache, progress=False)
    assert read == [victim.name] and got.cached == N_SOLOS + 2 - 1


def test_old_shards_are_pruned_with_their_listings(tmp_path, monkeypatch):
    from conftest import random_walk_solo, write_solo_midi
    monkeypatch.setattr(C, "MAX_LISTINGS", 2)
    cache = tmp_path / "cache"
    (cache).mkdir()
    (cache / "corpus-0123.npz").write_bytes(b"an old single-file pack")
    for i in range(3):                                # three folders, a solo of its own in each
        write_solo_midi(tmp_path / f"d{i}" / "solo.mid", *random_walk_solo(i))
        C.ingest(tmp_path / f"d{i}", cache, progress=False)
        for p in cache.iterdir():                     # make every file older than the next run's
            os.utime(p, (p.stat().st_mtime - 10, p.stat().st_mtime - 10))
    assert len(list(cache.glob("corpus-*.json"))) == 2 and not list(cache.glob("corpus-*.npz"))
    assert C.ingest(tmp_path / "d2", cache, progress=False).cached == 1
    assert C.ingest(tmp_path / "d0", cache, progress=False).cached == 0   # its shard was pruned


# ---------------------------------------------------------------------------- windows from shards

def test_shard_windows_are_the_windows_made_in_memory(folder, tmp_path, small_shards):
    songs = C.ingest(folder, tmp_path / "cache", progress=False).songs
    seqs = songs.sequences()
    vocab = T.vocab_for(seqs)
    toks = [T.encode(s, vocab) for s in seqs]
    for length, stride in ((96, 96), (50, 17)):
        want = D.make_windows(toks, length, stride)
        src = D.ShardWindows(songs, length, stride, vocab)
        assert len(src) == len(want)
        ids = np.random.default_rng(0).permutation(len(src))[:40]
        for k, v in src.read(ids).items():
            np.testing.assert_array_equal(v, want.arrays[k][ids], err_msg=k)
        for a, b in zip(src.pitch_bounds(), want.pitch_bounds()):
            np.testing.assert_array_equal(a, b)
    whole = D.make_windows(toks[:5], max(map(len, toks[:5])))
    for k, v in D.ShardWindows(songs, 1, 1, vocab).whole_songs(range(5)).items():
        np.testing.assert_array_equal(v, whole.arrays[k], err_msg=k)


def test_training_batches_from_shards_are_the_batches_from_memory(folder, tmp_path):
    from jazzgen.model import spec
    from jazzgen.model.loop import KeyedWindows
    songs = C.ingest(folder, tmp_path / "cache", progress=False).songs
    vocab = T.vocab_for(songs.sequences())
    mem = D.make_windows([T.encode(s, vocab) for s in songs.sequences()], 32, 32)
    lo, hi = D.pitch_range([T.encode(s) for s in songs.sequences()])
    names = spec.inputs(True)                                           # the chord ahead too
    a = KeyedWindows(mem, lo, hi, batch_size=16, seed=5, names=names)
    b = KeyedWindows(D.ShardWindows(songs, 32, 32, vocab), lo, hi, batch_size=16, seed=5, names=names)
    for i in (0, 3, a.steps + 2):
        for x, y in zip(a[i], b[i]):
            for k in x:
                np.testing.assert_array_equal(x[k], y[k], err_msg=k)
    old = mem.transposed(np.random.default_rng([5, 0]), lo, hi)            # what an epoch was before
    order = np.random.default_rng([5, 0])
    order.integers(-5, 7, len(mem))
    first = order.permutation(len(mem))[:16]
    np.testing.assert_array_equal(a[0][1]["pitch"], old.arrays["pitch"][first])


def test_a_cache_that_cannot_be_written_is_one_line(folder, tmp_path):
    (tmp_path / "file").write_text("a file where the cache folder should be")
    with pytest.raises(C.DataError, match=r"^cannot write the corpus cache .*file") as e:
        C.ingest(folder, tmp_path / "file", progress=False)
    assert "\n" not in str(e.value)


def test_a_damaged_shard_is_written_anew(folder, tmp_path, small_shards):
    cache = tmp_path / "cache"
    first = C.ingest(folder, cache, progress=False)
    victim = sorted(cache.glob("shard-*.npz"))[0]
    with np.load(victim) as z:
        arrays = {k: z[k] for k in z.files}
    arrays["index"] = np.array("{not json")                     # its keys still read, the rest does not
    np.savez(victim, **arrays)
    held = len(shards.keys(victim))
    again = C.ingest(folder, cache, progress=False)
    assert again.totals == first.totals and again.cached == N_SOLOS + 2 - held      # only its files read again
    assert shards.meta(victim).keys == shards.keys(victim)


def test_a_file_name_that_is_not_utf8_is_grouped_read_and_trained_on(folder, tmp_path):
    from jazzgen.model import training
    first = sorted(folder.glob("*.mid"))[0]
    first.rename(folder / os.fsdecode(b"so\xff\xfelo.mid"))          # bytes no UTF-8 decoder takes
    got = C.ingest(folder, tmp_path / "cache", workers=1, progress=False)
    assert os.fsdecode(b"so\xff\xfelo") in got.songs.names
    data = training.load_data(training.TrainConfig(data=str(folder), cache=str(tmp_path / "cache"), seq_len=32))
    assert len(data.train_files) + len(data.val_files) == len(got.songs)
