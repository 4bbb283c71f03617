"""A run or model folder is data, never directions (issue 24): its paths steer nothing, its name is one
folder, one training writes it at a time, a kill at any moment resumes exactly, its JSON is checked
against bounds before use, a zip bomb is refused unopened, and a resume over changed data goes on.
"""
from __future__ import annotations

import fcntl
import json
import os
import shutil
import signal
import subprocess
import sys
import zipfile

import numpy as np
import pytest

from conftest import SHIPPED_MODEL, run_module, subprocess_env, write_walks
from jazzgen.commands import train as train_cmd
from jazzgen.errors import ModelError
from jazzgen.model.folder import load_vocab, load_weights
from jazzgen.util import check_zip

SMALL = ["--units", "16", "--layers", "1", "--seq-len", "16", "--batch-size", "8"]


def main(argv) -> int:
    """train's main(argv), its exit code whether returned or raised (argparse exits)."""
    try:
        return train_cmd.main(argv)
    except SystemExit as e:
        return e.code


def one_line(code, capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("jazzgen."), err
    return err[0]


# ---------------------------------------------------------------------------- flags and files, no training

@pytest.mark.parametrize("name", ["..", ".", "a/b", "../x", "/tmp/x", "x/../../y"])
def test_name_is_a_single_folder_name(tmp_path, name, capsys):
    code = main(["--data", str(tmp_path), "--out", str(tmp_path / "models"), "--name", name, *SMALL])
    assert "--name must be a single folder name" in one_line(code, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


def test_a_name_longer_than_the_file_system_allows_is_refused_before_anything_runs(tmp_path, capsys):
    code = main(["--data", str(tmp_path), "--out", str(tmp_path / "models"), "--name", "é" * 128, *SMALL])
    assert "--name is 256 bytes long: a folder name may have at most 255" in one_line(code, capsys)
    assert sorted(p.name for p in tmp_path.iterdir()) == []


@pytest.mark.parametrize("flags, needle", [
    (["--units", "100000"], "--units must be at most 8192"),
    (["--layers", "100000"], "--layers must be at most 16"),
    (["--layers", "16", "--units", "4096"], "LSTM weights, more than the 40M"),
    (["--clipnorm", "nan"], "--clipnorm must be positive"),
])
def test_sizes_are_bounded_before_anything_is_built(tmp_path, flags, needle, capsys):
    code = main(["--data", str(tmp_path), "--out", str(tmp_path / "m"), *flags])
    assert needle in one_line(code, capsys)


def test_two_trainings_into_one_folder_the_second_is_refused(tmp_path, capsys):
    run = tmp_path / "models" / "r"
    run.mkdir(parents=True)
    fd = os.open(run, os.O_RDONLY)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)       # what a running training holds
        write_walks(tmp_path / "d", n=2)
        code = main(["--data", str(tmp_path / "d"), "--out", str(tmp_path / "models"), "--name", "r",
                               "--epochs", "1", *SMALL])
        assert "another training is writing into this folder" in one_line(code, capsys)
    finally:
        os.close(fd)
    assert list(run.iterdir()) == []


def model_copy(tmp_path, **files) -> "os.PathLike":
    d = tmp_path / "m"
    d.mkdir()
    for f in ("model.keras", "weights.npz", "vocab.json", "config.json"):
        (d / f).symlink_to(SHIPPED_MODEL / f)
    for name, data in files.items():
        (d / name.replace("_", ".")).unlink()
        (d / name.replace("_", ".")).write_bytes(data)
    return d


def vocab_with(**changes) -> bytes:
    return json.dumps({**json.loads((SHIPPED_MODEL / "vocab.json").read_text()), **changes}).encode()


@pytest.mark.parametrize("data, needle", [
    (b"[" * 100_000 + b"]" * 100_000, "nested too deeply"),
    (vocab_with(max_dur="96"), "'max_dur' should be an integer, not str"),
    (vocab_with(max_beat=10**9), "'max_beat' should be in [1, 64]"),
    (vocab_with(performers=[[[["x"]]]]), "'performers' item 0 should be a string, not list"),
    (vocab_with(performers=["p"] * 200_000), "200000 items, more than 100000"),
    (vocab_with(vel_values=[90]), "1 vel_values for 10 vel_edges"),
    (b"{" + b" " * (5 * 2**20) + b"}", "5242882 bytes, more than the 4194304"),
])
def test_a_hostile_vocabulary_is_one_line(tmp_path, data, needle):
    with pytest.raises(ModelError) as e:
        load_vocab(model_copy(tmp_path, vocab_json=data))
    assert needle in str(e.value) and "\n" not in str(e.value)


def test_a_vocabulary_that_is_a_device_is_refused_unread(tmp_path):
    d = model_copy(tmp_path)
    (d / "vocab.json").unlink()
    (d / "vocab.json").symlink_to("/dev/zero")
    with pytest.raises(ModelError, match="not a regular file"):
        load_vocab(d)


def bomb(path, megabytes: int, name: str = "model.weights.h5") -> None:
    """A zip whose one member unpacks to `megabytes` of zeros (deflated to a thousandth of that)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as z, z.open(name, "w", force_zip64=True) as f:
        for _ in range(megabytes):
            f.write(bytes(2**20))


def test_zip_bombs_are_refused_from_their_directory(tmp_path):
    bomb(tmp_path / "b.zip", 40)
    with pytest.raises(ModelError, match="unpacks 1.*-fold"):
        check_zip(tmp_path / "b.zip", ModelError, "model")
    nibbles = np.random.default_rng(0).integers(0, 16, 3 * 2**20, dtype=np.uint8).tobytes()
    with zipfile.ZipFile(tmp_path / "big.zip", "w", zipfile.ZIP_DEFLATED) as z:   # packs 2:1: only too large
        z.writestr("w.h5", nibbles)
    assert (tmp_path / "big.zip").stat().st_size < 2 * 2**20
    with pytest.raises(ModelError, match="unpacks to 1 files, 3 MB, over the 2 MB"):
        check_zip(tmp_path / "big.zip", ModelError, "model", limit=2 * 2**20)


def test_a_zip_bomb_model_is_refused_before_loading_and_nothing_is_written(tmp_path):
    d = tmp_path / "m"
    d.mkdir()
    bomb(d / "model.keras", 64)
    (d / "vocab.json").write_bytes((SHIPPED_MODEL / "vocab.json").read_bytes())
    r = run_module("jazzgen.generate", ["--model", d, "--seconds", "2", "--out", tmp_path / "out"], cwd=tmp_path)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "(a zip bomb?)" in r.stderr, r.stderr
    assert sorted(p.name for p in d.iterdir()) == ["model.keras", "vocab.json"]
    with pytest.raises(ModelError, match="zip bomb"):
        load_weights(d)


def test_a_zip_bomb_weights_npz_is_refused(tmp_path):
    d = model_copy(tmp_path)
    (d / "weights.npz").unlink()
    bomb(d / "weights.npz", 40, "emb_prev_pitch.npy")
    with pytest.raises(ModelError, match="weights .*zip bomb"):
        load_weights(d)


# ---------------------------------------------------------------------------- runs (tiny trainings)

KILL_IN_THE_WINDOW = """
import os, signal, sys
from jazzgen.model import loop
write = loop.atomic_json
def killed(path, obj):
    if path.name == "state.json" and obj["epoch"] == 1:   # epoch 2's checkpoint is saved, its state is not
        os.kill(os.getpid(), signal.SIGKILL)
    write(path, obj)
loop.atomic_json = killed
from jazzgen.commands.train import main
sys.exit(main(sys.argv[1:]))
"""


def train(cwd, *flags, script=None, timeout=300):
    args = [sys.executable, *(["-c", script] if script else ["-m", "jazzgen.train"]), "--out", "models", *SMALL,
            *map(str, flags)]
    return subprocess.run(args, cwd=cwd, env=subprocess_env(), capture_output=True, text=True, timeout=timeout)


@pytest.fixture(scope="module")
def base(tmp_path_factory):
    """A finished 1-epoch run models/r of midi/ (6 walks), and a straight 2-epoch run models/straight."""
    tmp = tmp_path_factory.mktemp("runs")
    write_walks(tmp / "midi")
    for name, epochs in (("r", 1), ("straight", 2)):
        r = train(tmp, "--name", name, "--epochs", epochs)
        assert r.returncode == 0, r.stderr[-3000:]
    return tmp


def copy_run(base, tmp_path):
    shutil.copytree(base / "midi", tmp_path / "midi")
    shutil.copytree(base / "models" / "r", tmp_path / "models" / "r")
    return tmp_path / "models" / "r"


def listing(folder) -> dict:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.mark.slow
def test_a_copied_run_folder_s_paths_steer_nothing(base, tmp_path):
    run = copy_run(base, tmp_path)
    victim = tmp_path / "elsewhere"
    victim.mkdir()
    for i in range(9):
        (victim / f"shard-{i:024x}.npz").write_bytes(os.urandom(100))
        (victim / f"corpus-{i:024x}.json").write_bytes(os.urandom(100))
    before = listing(victim)
    cfg = json.loads((run / "config.json").read_text())
    (run / "config.json").write_text(json.dumps({**cfg, "cache": str(victim), "data": "/", "out": str(victim),
                                                 "name": "../../x", "track_map": "/dev/zero",
                                                 "init": str(victim), "replay": str(victim)}))
    r = train(tmp_path, "--name", "r", "--resume", "--epochs", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "note: the run began with --data /; this resume has midi" in r.stderr
    assert f"note: the run began with --init {victim}; this resume has " in r.stderr
    assert listing(victim) == before                                 # nothing read into, written or deleted
    assert (tmp_path / ".cache" / "corpus").is_dir()                 # the command's own cache
    assert json.loads((run / "config.json").read_text())["cache"] == ".cache/corpus"
    assert sorted(p.name for p in tmp_path.iterdir()) == [".cache", "elsewhere", "midi", "models"]


@pytest.mark.slow
def test_a_run_whose_config_json_is_flat_resumes(base, tmp_path):
    """A run folder written before the groups (layers, units, lr flat beside epochs) goes on; the
    resume writes its config.json nested, with the same values."""
    run = copy_run(base, tmp_path)
    cfg = json.loads((run / "config.json").read_text())
    assert cfg["model"]["units"] == 16 and "units" not in cfg
    flat = {**{k: v for k, v in cfg.items() if k not in ("model", "optimizer")}, **cfg["model"], **cfg["optimizer"]}
    (run / "config.json").write_text(json.dumps(flat))
    r = train(tmp_path, "--name", "r", "--resume", "--epochs", "2")       # --units 16 --layers 1: the run's own
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming after epoch 0" in r.stdout
    assert json.loads((run / "state.json").read_text())["epoch"] == 1
    assert json.loads((run / "config.json").read_text()) == {**cfg, "epochs": 2}
    bad = train(tmp_path, "--name", "r", "--resume", "--epochs", "3", "--dropout", "0.5")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines()[-1].endswith(
        f"--dropout 0.5 differs from the {cfg['model']['dropout']} that models/r was trained with: --resume "
        "continues a run as it was configured"), bad.stderr


@pytest.mark.slow
def test_a_kill_after_the_checkpoint_before_the_state_resumes_exactly(base, tmp_path):
    write_walks(tmp_path / "midi")
    killed = train(tmp_path, "--name", "k", "--epochs", "2", script=KILL_IN_THE_WINDOW)
    assert killed.returncode == -signal.SIGKILL
    run = tmp_path / "models" / "k"
    assert (run / "last-0002.keras").is_file() and json.loads((run / "state.json").read_text())["epoch"] == 0
    r = train(tmp_path, "--name", "k", "--resume")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "resuming after epoch 0" in r.stdout
    straight = base / "models" / "straight"
    sa, sb = (json.loads((d / "state.json").read_text()) for d in (straight, run))
    assert [x["val_nll"] for x in sa["log"]] == [x["val_nll"] for x in sb["log"]]
    assert sa["iterations"] == sb["iterations"] and sb["checkpoint"] == "last-0002.keras"
    assert sorted(p.name for p in run.glob("*.keras")) == ["last-0002.keras", "model.keras"]
    with np.load(straight / "weights.npz") as a, np.load(run / "weights.npz") as b:
        for k in a.files:
            if k != "keras_sha256":
                np.testing.assert_array_equal(a[k], b[k])


@pytest.mark.slow
def test_resume_after_files_by_new_performers_were_added(base, tmp_path):
    run = copy_run(base, tmp_path)
    vocab = (run / "vocab.json").read_bytes()
    new = tmp_path / "midi" / "new"
    for i, f in enumerate(sorted(write_walks(tmp_path / "more", n=9).glob("*.mid"))[6:]):
        new.mkdir(exist_ok=True)
        f.rename(new / f"new{i}.mid")
    (new / "index.tsv").write_text("file\tperformer\n" + "".join(f"new{i}.mid\tNewPlayer{i}\n" for i in range(3)))
    r = train(tmp_path, "--name", "r", "--resume", "--epochs", "2")
    assert r.returncode == 0, r.stderr[-3000:]
    assert "by 3 performers this run does not know (NewPlayer0, NewPlayer1, NewPlayer2) train as the unknown" \
        in r.stderr
    assert (run / "vocab.json").read_bytes() == vocab                 # the model's tables keep their size
    state = json.loads((run / "state.json").read_text())
    assert state["epoch"] == 1 and state["val_files"] == json.loads(
        (base / "models" / "r" / "state.json").read_text())["val_files"]


@pytest.mark.slow
def test_resume_when_its_validation_files_are_gone_says_so(base, tmp_path):
    run = copy_run(base, tmp_path)
    for name in json.loads((run / "state.json").read_text())["val_files"]:
        (tmp_path / "midi" / f"{name}.mid").unlink()
    r = train(tmp_path, "--name", "r", "--resume", "--epochs", "2")
    assert r.returncode == 2 and "none of the run's 1 validation files is there any more" in r.stderr, r.stderr
    assert r.stderr.strip().splitlines()[-1].startswith("jazzgen.train: error: ")


def test_resume_without_data_where_the_default_is_missing_says_which_to_give(tmp_path, monkeypatch, capsys):
    from test_train import STATE
    run = tmp_path / "models" / "r"
    run.mkdir(parents=True)
    (run / "state.json").write_text(json.dumps(STATE))
    (run / "config.json").write_text(json.dumps({"data": "/elsewhere/solos", "units": 16, "layers": 1}))
    (run / "last.keras").write_bytes(b"")
    monkeypatch.chdir(tmp_path)                                  # no midi/ here
    err = one_line(main(["--out", "models", "--name", "r", "--resume"]), capsys)
    assert "--resume reads --data midi, which is not here; the run began with --data /elsewhere/solos" in err
