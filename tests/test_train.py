"""python -m jazzgen.train: artifacts, resume, argument and data errors, --distribute."""
from __future__ import annotations

import csv
import hashlib
import json
import sys

import numpy as np
import pytest

from conftest import random_walk_solo, run_module, write_solo_midi
from jazzgen import train as jtrain

SMALL = ["--units", "16", "--layers", "1", "--seq-len", "16", "--batch-size", "8"]
ARTIFACTS = ("model.keras", "weights.npz", "vocab.json", "config.json", "metrics.json", "log.csv", "curve.png",
             "MODEL_CARD.md", "state.json", "last.keras")


def make_data(folder, n=6):
    for i in range(n):
        write_solo_midi(folder / f"walk{i}.mid", *random_walk_solo(i))
    return folder


def iterations(path) -> int:
    import keras
    import jazzgen.model  # noqa: F401  (registers the custom layers)
    return int(keras.saving.load_model(path, safe_mode=True).optimizer.iterations.numpy())


@pytest.fixture(scope="module")
def resumed_run(tmp_path_factory):
    """One epoch, then `--epochs 2 --resume`: the two runs' outputs and the model folder."""
    tmp = tmp_path_factory.mktemp("train")
    make_data(tmp / "data")
    base = ["--data", "data", "--out", "models", "--name", "walks", *SMALL]
    first = run_module("jazzgen.train", base + ["--epochs", "1"], cwd=tmp)
    out = tmp / "models" / "walks"
    after_first = {}
    if first.returncode == 0:
        after_first = {"state": json.loads((out / "state.json").read_text()),
                       "iterations": iterations(out / "last.keras"), "log": (out / "log.csv").read_text()}
    second = run_module("jazzgen.train", base + ["--epochs", "2", "--resume"], cwd=tmp)
    return {"tmp": tmp, "out": out, "first": first, "second": second, "after_first": after_first}


@pytest.fixture
def ran(resumed_run):
    for k in ("first", "second"):
        assert resumed_run[k].returncode == 0, resumed_run[k].stderr[-3000:]
    return resumed_run


def test_first_run_writes_state_after_one_epoch(ran):
    a = ran["after_first"]
    assert a["state"]["epoch"] == 0
    assert len(a["state"]["log"]) == 1
    assert a["iterations"] > 0
    assert "epoch 1/1" in ran["first"].stdout
    assert (ran["tmp"] / ".cache" / "corpus").is_dir()       # the cache went under cwd


def test_artifacts_of_a_two_epoch_run(ran):
    out = ran["out"]
    for f in ARTIFACTS:
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    assert not list(out.glob(".*tmp*")), "temporary files left behind"
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from jazzgen.tokens import Vocab, default_vocab
    from dataclasses import replace
    vocab = Vocab.from_json((out / "vocab.json").read_text())   # this jazzgen's, with the training solos' performers
    assert replace(vocab, performers=(), performer_solos=()) == default_vocab()
    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["units"], cfg["layers"], cfg["seq_len"], cfg["batch_size"], cfg["epochs"]) == (16, 1, 16, 8, 2)
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2
    for h in ("pitch", "dur"):
        assert 1 < metrics["best"][f"val_{h}_ppl"] < 200
        assert 0 <= metrics["best"][f"val_{h}_acc"] <= 1
    card = (out / "MODEL_CARD.md").read_text()
    assert "| pitch |" in card and "5 training and 1 validation solos" in card
    # weights.npz is the export of this very model.keras: generation will not need Keras
    with np.load(out / "weights.npz") as z:
        assert str(z["keras_sha256"]) == hashlib.sha256((out / "model.keras").read_bytes()).hexdigest()
        assert z["lstm_0_recurrent"].shape == (16, 64)


def test_resume_continues_from_the_second_epoch(ran):
    out, second = ran["out"], ran["second"]
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 1
    rows = list(csv.DictReader((out / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    assert [int(r["epoch"]) for r in state["log"]] == [0, 1]
    # the first row is the first run's, untouched
    assert (out / "log.csv").read_text().splitlines()[:2] == ran["after_first"]["log"].splitlines()[:2]
    assert "resuming after epoch 0" in second.stdout
    assert "epoch 2/2" in second.stdout and "epoch 1/2" not in second.stdout
    # the optimizer carried on: as many steps again as the first epoch took
    first_iters = ran["after_first"]["iterations"]
    assert iterations(out / "last.keras") == 2 * first_iters


# ---------------------------------------------------------------------------- errors

@pytest.mark.parametrize("flags, needle", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["--units", "many"], "invalid int value"),
])
def test_bad_flags_exit_2_with_one_line(flags, needle, capsys):
    with pytest.raises(SystemExit) as e:
        jtrain.main(flags)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jazzgen.train: error: ") and needle in err, err


def test_bad_flag_from_the_command_line(tmp_path):
    r = run_module("jazzgen.train", ["--epochs", "0"], cwd=tmp_path, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["jazzgen.train: error: --epochs must be at least 1"]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("what", ["missing", "empty", "one file"])
def test_unusable_data_folder_is_a_one_line_error(tmp_path, what, capsys):
    data = tmp_path / "data"
    if what != "missing":
        data.mkdir()
    if what == "one file":
        make_data(data, n=1)
    code = jtrain.main(["--data", str(data), "--out", str(tmp_path / "models"), "--cache", str(tmp_path / "cache"),
                        "--epochs", "1", *SMALL])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("jazzgen.train: error: "), err
    assert ("no such data folder" if what == "missing" else "need at least 2") in err[0]
    assert str(data) in err[0]
    assert not (tmp_path / "models").exists()


def test_resume_without_a_run_is_an_error(tmp_path, capsys):
    code = jtrain.main(["--data", str(tmp_path), "--out", str(tmp_path / "models"), "--name", "x", "--resume"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"jazzgen.train: error: nothing to resume in {tmp_path / 'models' / 'x'} (no state.json)"]


# ---------------------------------------------------------------------------- --distribute

DISTRIBUTE = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import sys
from jazzgen.train import main
sys.exit(main(sys.argv[1:]))
"""


def test_distribute_over_two_cpu_devices(tmp_path):
    """`main([... "--distribute"])` in a child whose CPU is split into 2 logical devices first."""
    import subprocess
    from conftest import subprocess_env
    make_data(tmp_path / "data")
    (tmp_path / "dist.py").write_text(DISTRIBUTE)
    r = subprocess.run([sys.executable, "dist.py", "--data", "data", "--out", "models", "--name", "d", "--epochs", "1",
                        *SMALL, "--distribute"], cwd=tmp_path, env=subprocess_env(KERAS_BACKEND="tensorflow"),
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-3000:]
    assert "MirroredStrategy over 2 devices" in r.stdout
    out = tmp_path / "models" / "d"
    assert (out / "model.keras").is_file() and (out / "weights.npz").is_file()
    state = json.loads((out / "state.json").read_text())
    assert state["epoch"] == 0 and state["config"]["distribute"] is True
    assert np.isfinite(state["best"]["val_nll"])
