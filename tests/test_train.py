"""python -m jazzgen.train: artifacts, exact resume, the data source, argument/data/resume errors, --distribute."""
from __future__ import annotations

import csv
import hashlib
import json
import shutil
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, SHIPPED_MODEL, run_module, subprocess_env, write_walks
from jazzgen.commands import train as train_cmd
from jazzgen.model import training
from jazzgen.model.spec import ModelConfig

SMALL = ["--units", "16", "--layers", "1", "--seq-len", "16", "--batch-size", "8"]
ARTIFACTS = ("model.keras", "weights.npz", "vocab.json", "config.json", "metrics.json", "log.csv", "curve.png",
             "MODEL_CARD.md", "state.json", "last-0002.keras", "formulas.npz")

# main() in a child that is interrupted (Ctrl-C) once the first epoch has been saved
INTERRUPT = """
import sys
from jazzgen.model import loop
from jazzgen.commands.train import main
line = loop.EpochLine.on_epoch_end
def interrupted(self, epoch, logs=None):
    line(self, epoch, logs)
    raise KeyboardInterrupt
loop.EpochLine.on_epoch_end = interrupted
sys.exit(main(sys.argv[1:]))
"""


def load(path):
    import keras

    import jazzgen.model.network  # noqa: F401  (registers the custom layers)
    return keras.saving.load_model(path, safe_mode=True)


def iterations(path) -> int:
    return int(load(path).optimizer.iterations.numpy())


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    """In a folder with midi/ and no --data: run `a` straight for 2 epochs; run `b` (same flags)
    interrupted after epoch 1, then `--resume` with no other flag."""
    tmp = tmp_path_factory.mktemp("train")
    write_walks(tmp / "midi", wjazzd=2)
    (tmp / "interrupt.py").write_text(INTERRUPT)
    flags = ["--out", "models", *SMALL, "--epochs", "2"]
    r = {"a1": run_module("jazzgen.train", flags + ["--name", "a"], cwd=tmp)}
    r["b1"] = subprocess.run([sys.executable, "interrupt.py", *flags, "--name", "b"], cwd=tmp, env=subprocess_env(),
                             capture_output=True, text=True, timeout=300)
    b = tmp / "models" / "b"
    if r["b1"].returncode == 130:
        r["after_first"] = {"state": json.loads((b / "state.json").read_text()),
                            "iterations": iterations(b / "last-0001.keras"), "log": (b / "log.csv").read_text()}
    r["b2"] = run_module("jazzgen.train", ["--out", "models", "--name", "b", "--resume"], cwd=tmp)
    r["h1"] = run_module("jazzgen.train", flags + ["--name", "h", "--harmony"], cwd=tmp)
    return {"tmp": tmp, "a": tmp / "models" / "a", "b": b, "h": tmp / "models" / "h", **r}


@pytest.fixture
def ran(runs):
    for k, code in (("a1", 0), ("b1", 130), ("b2", 0), ("h1", 0)):
        assert runs[k].returncode == code, (k, runs[k].stdout[-2000:], runs[k].stderr[-3000:])
    return runs


@pytest.mark.slow
def test_interrupt_saves_the_epoch_and_prints_a_complete_resume_command(ran):
    a = ran["after_first"]
    assert a["state"]["epoch"] == 0 and len(a["state"]["log"]) == 1
    assert a["state"]["config"]["epochs"] == 2            # so that --resume needs no --epochs
    assert a["iterations"] > 0
    assert "epoch 1/2" in ran["b1"].stdout and "ETA" in ran["b1"].stdout
    assert ran["b1"].stderr.strip().splitlines()[-1] == \
        "jazzgen.train: interrupted; continue with: python -m jazzgen.train --out models --name b --resume"
    assert (ran["tmp"] / ".cache" / "corpus").is_dir()       # the cache went under cwd


@pytest.mark.slow
def test_artifacts_of_a_two_epoch_run(ran):
    out = ran["a"]
    for f in ARTIFACTS:
        assert (out / f).is_file() and (out / f).stat().st_size > 0, f
    assert not list(out.glob(".*tmp*")), "temporary files left behind"
    assert sorted(p.name for p in out.glob("*.keras")) == ["last-0002.keras", "model.keras"]   # one checkpoint
    assert (out / "curve.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    from dataclasses import replace

    from jazzgen.data.tokens import Vocab, default_vocab
    vocab = Vocab.from_json((out / "vocab.json").read_text())   # this jazzgen's, with the training solos' performers
    assert replace(vocab, performers=(), performer_solos=()) == default_vocab()
    cfg = json.loads((out / "config.json").read_text())
    assert (cfg["data"], cfg["model"]["units"], cfg["model"]["layers"], cfg["seq_len"], cfg["batch_size"],
            cfg["epochs"]) == ("midi", 16, 1, 16, 8, 2)
    assert set(cfg["model"]) == {"layers", "units", "dropout", "harmony"} and "units" not in cfg   # nested
    assert set(cfg["optimizer"]) == {"lr", "clipnorm", "weight_decay"} and "lr" not in cfg
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["epochs_run"] == 2
    for h in ("pitch", "dur"):
        assert 1 < metrics["best"][f"val_{h}_ppl"] < 200
        assert 0 <= metrics["best"][f"val_{h}_acc"] <= 1
    card = (out / "MODEL_CARD.md").read_text()
    assert "| pitch |" in card and "5 training and 1 validation solos" in card
    assert "ODbL 1.0" in card and "for its 2 WJazzD solos; for the other 4" in card
    # weights.npz is the export of this very model.keras: generation will not need Keras
    with np.load(out / "weights.npz") as z:
        assert str(z["keras_sha256"]) == hashlib.sha256((out / "model.keras").read_bytes()).hexdigest()
        assert z["lstm_0_recurrent"].shape == (16, 64)


@pytest.mark.slow
def test_a_run_with_harmony_reads_the_chord_ahead_and_samples(ran):
    from jazzgen.generation.sample import improvise
    from jazzgen.generation.takes import load_stepper
    from jazzgen.music.notes import GRID, ChordChange, NoteSequence, Tempo, TimeSignature
    h = ran["h"]
    assert json.loads((h / "config.json").read_text())["model"]["harmony"] is True
    assert json.loads((ran["a"] / "config.json").read_text())["model"]["harmony"] is False
    with np.load(h / "weights.npz") as z:
        assert z["emb_next_root"].shape[0] == z["emb_root"].shape[0] and z["pitch_next_w"].shape == (16, 12)
    stepper = load_stepper(h)
    assert stepper.harmony and not load_stepper(ran["a"]).harmony
    like = NoteSequence.empty("chart")
    like.chords = [ChordChange(i * 4 * GRID, s) for i, s in enumerate(["Dm7", "G7", "Cmaj7", "Cmaj7"])]
    like.tempos, like.time_signatures, like.end = [Tempo(0, 160.0)], [TimeSignature(0, 4, 4)], 16 * GRID
    [solo] = improvise(stepper, like, seed=1)
    assert len(solo) > 0 and solo.end == like.end


@pytest.mark.slow
def test_resume_continues_exactly(ran):
    a, b, second = ran["a"], ran["b"], ran["b2"]
    assert "resuming after epoch 0" in second.stdout
    assert "epoch 2/2" in second.stdout and "epoch 1/2" not in second.stdout
    rows = list(csv.DictReader((b / "log.csv").open()))
    assert [int(r["epoch"]) for r in rows] == [0, 1]
    # the first row is the first run's, untouched
    assert (b / "log.csv").read_text().splitlines()[:2] == ran["after_first"]["log"].splitlines()[:2]
    # the optimizer carried on: as many steps again as the first epoch took
    assert iterations(b / "last-0002.keras") == 2 * ran["after_first"]["iterations"]
    # and the interrupted run ends where the straight one does: same keys, order, dropout, counters
    sa, sb = (json.loads((d / "state.json").read_text()) for d in (a, b))
    for k in ("epoch", "lr", "iterations", "bad_epochs", "callbacks"):
        assert sa[k] == sb[k], k
    assert [r["val_nll"] for r in sa["log"]] == [r["val_nll"] for r in sb["log"]]
    ma, mb = load(a / "last-0002.keras"), load(b / "last-0002.keras")
    for wa, wb in zip(ma.get_weights() + [np.asarray(v) for v in ma.optimizer.variables],
                      mb.get_weights() + [np.asarray(v) for v in mb.optimizer.variables]):
        np.testing.assert_array_equal(wa, wb)


def test_lr_halves_on_a_stall_and_early_stopping_counts(tmp_path):
    """The Keras callbacks with the run's settings: one stall halves the step size, `patience` stop."""
    import keras

    from jazzgen.model import loop
    cbs = loop.callbacks(tmp_path, {}, {}, epochs=10, patience=2, seed=0, export=None, progress=False)
    reduce, stop = (next(c for c in cbs if isinstance(c, t))
                    for t in (keras.callbacks.ReduceLROnPlateau, keras.callbacks.EarlyStopping))
    model = keras.Sequential([keras.Input((1,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    for cb in (reduce, stop):
        cb.set_model(model)
        cb.on_train_begin()
    lrs = []
    for epoch, nll in enumerate([5.0, 4.0, 4.0, 3.99995, 4.5]):   # 3.99995: within min_delta, no progress
        for cb in (reduce, stop):
            cb.on_epoch_end(epoch, {"val_nll": nll})
        lrs.append(float(model.optimizer.learning_rate.numpy()))
        if model.stop_training:
            break
    assert lrs == pytest.approx([1e-2, 1e-2, 5e-3, 2.5e-3])
    assert stop.stopped_epoch == 3 and stop.wait == 2


# ---------------------------------------------------------------------------- the data source

def test_keyed_windows_depend_only_on_the_epoch(tmp_path):
    from jazzgen.data import corpus, dataset, tokens
    from jazzgen.model import spec
    from jazzgen.model.loop import KeyedWindows
    songs = [tokens.encode(s) for s in corpus.load_corpus(write_walks(tmp_path / "d", n=3), None, progress=False).songs]
    w = dataset.make_windows(songs, 16, stride=16)
    lo, hi = dataset.pitch_range(songs)
    names = spec.inputs(False)
    ds = KeyedWindows(w, lo, hi, batch_size=8, seed=3, names=names)
    later = KeyedWindows(w, lo, hi, batch_size=8, seed=3, names=names, start_epoch=1)
    assert ds.num_batches is None and ds.steps == -(-len(w) // 8)
    # batch 0 of a run resumed at epoch 1 is batch 0 of epoch 1 of the whole run, whatever was read before
    ds[0], ds[ds.steps + 1]
    for b in range(ds.steps):
        for got, want in zip(later[b], ds[ds.steps + b]):
            for k in want:
                np.testing.assert_array_equal(got[k], want[k])
    # an epoch serves every window once (rests and durations untouched, pitches moved by a key), in
    # batches of one size: the last is padded with all-PAD rows (which the loss ignores)
    assert {len(ds[b][1]["dur"]) for b in range(ds.steps)} == {8} and len(w) % 8
    x = np.concatenate([ds[b][1]["dur"] for b in range(ds.steps)])
    assert (x[len(w):] == tokens.PAD).all()
    assert sorted(map(bytes, x[:len(w)])) == sorted(map(bytes, w.arrays["dur"]))
    e0 = np.concatenate([ds[b][1]["pitch"] for b in range(ds.steps)])
    e1 = np.concatenate([ds[ds.steps + b][1]["pitch"] for b in range(ds.steps)])
    assert not np.array_equal(e0, e1)
    played = e0[e0 >= tokens.PITCH0] - tokens.PITCH0
    assert played.min() >= lo and played.max() <= hi


def test_licence_only_for_wjazzd_solos():
    d = training.Data(None, None, 60, 80, ["x", "y"], ["z"], wjazzd=3)
    cfg = training.TrainConfig(data="midi")
    assert training._licence(cfg, d) == training.DATA_LICENCE
    d.wjazzd = 0
    assert "ODbL" not in training._licence(cfg, d) and "`midi`" in training._licence(cfg, d)


def test_a_model_folder_from_before_harmony_reads_as_without_it(tmp_path):
    """config.json without "harmony" (every model before the flag): the network without the chord ahead."""
    from jazzgen.model.folder import read_config
    golden = ROOT / "tests" / "data" / "golden" / "model"          # written before the field
    assert "harmony" not in (golden / "config.json").read_text() and read_config(golden).model.harmony is False
    d = json.loads((golden / "config.json").read_text())
    (tmp_path / "config.json").write_text(json.dumps({**d, "harmony": True}))
    assert read_config(tmp_path).model.harmony is True
    cfg = train_cmd.parse_args(["--harmony", "--weight-decay", "0.01"])[0]
    assert (cfg.model.harmony, cfg.optimizer.weight_decay) == (True, 0.01)
    assert train_cmd.parse_args(["--no-harmony"])[0].model.harmony is False


# ---------------------------------------------------------------------------- config.json: nested, or flat as before

def nested(flat: dict) -> dict:
    """A flat config.json (every run before the groups) nested by hand, as this jazzgen writes it."""
    groups = {"model": ("layers", "units", "dropout", "harmony"), "optimizer": ("lr", "clipnorm", "weight_decay")}
    out = {k: v for k, v in flat.items() if not any(k in g for g in groups.values())}
    return {**out, **{g: {k: flat[k] for k in names if k in flat} for g, names in groups.items()}}


@pytest.mark.parametrize("model", [SHIPPED_MODEL, ROOT / "tests" / "data" / "golden" / "model"])
def test_a_flat_and_a_nested_config_json_read_the_same(tmp_path, model):
    from jazzgen.model.folder import read_config
    flat = json.loads((model / "config.json").read_text())
    assert "units" in flat and "model" not in flat                     # written before the groups
    (tmp_path / "config.json").write_text(json.dumps(nested(flat)))
    old, new = read_config(model), read_config(tmp_path)
    assert old == new
    assert (old.model.layers, old.model.units, old.optimizer.lr, old.epochs) == \
        (flat["layers"], flat["units"], flat["lr"], flat["epochs"])
    assert old.model.harmony is False and old.optimizer.weight_decay == 0.0     # BEFORE, and the default
    (tmp_path / "config.json").write_text(json.dumps(training.config_json(old)))   # what a run writes now
    assert read_config(tmp_path) == old


@pytest.mark.parametrize("change, needle", [
    ({"model": {"units": -3}}, "config.json: model.units must be at least 1"),
    ({"optimizer": {"lr": 0.0}}, "config.json: optimizer.lr must be in (0, 10]"),
    ({"model": {"units": "many"}}, "config.json: 'model.units' should be an integer, not str"),
    ({"model": {"units": 16}, "units": 16}, "config.json: 'model.units' is given twice, as 'units' and in 'model'"),
    ({"model": [16]}, "config.json: 'model' should be a JSON object, not list"),
])
def test_a_bad_config_json_names_the_field_by_its_path(tmp_path, change, needle):
    from jazzgen.errors import ModelError
    from jazzgen.model.folder import read_config
    d = {**training.config_json(training.TrainConfig()), **change}
    (tmp_path / "config.json").write_text(json.dumps(d))
    with pytest.raises(ModelError) as e:
        read_config(tmp_path)
    assert needle in str(e.value) and "\n" not in str(e.value) and str(tmp_path) in str(e.value), str(e.value)


@pytest.mark.parametrize("cfg, path, flag", [
    (training.TrainConfig(model=ModelConfig(units=-3)), "model.units", "--units must be at least 1"),
    (training.TrainConfig(model=ModelConfig(dropout=1.0)), "model.dropout", "--dropout must be in [0, 1)"),
    (training.TrainConfig(optimizer=training.OptimizerConfig(weight_decay=2.0)), "optimizer.weight_decay",
     "--weight-decay must be in [0, 1)"),
])
def test_a_bad_group_value_names_its_path_and_the_command_line_its_flag(cfg, path, flag):
    from jazzgen.commands import cli
    from jazzgen.errors import FieldError
    with pytest.raises(FieldError) as e:
        training.check_config(cfg)
    assert e.value.field == path and str(e.value).startswith(path + " must ")
    assert e.value.named(cli.flag) == flag


def test_flags_fill_the_groups_and_given_names_fields_by_path():
    cfg, _, given, _, _ = train_cmd.parse_args(["--units", "16", "--lr", "0.01", "--epochs", "2", "--no-augment"])
    assert (cfg.model.units, cfg.optimizer.lr, cfg.epochs, cfg.augment) == (16, 0.01, 2, False)
    assert cfg.model.layers == ModelConfig.layers and cfg.optimizer.clipnorm == training.OptimizerConfig.clipnorm
    assert given == {"model.units", "optimizer.lr", "epochs", "augment"}


def test_a_resume_reads_a_flat_config_json_and_names_the_flag_that_differs(tmp_path, capsys):
    run = tmp_path / "models" / "r"
    run.mkdir(parents=True)
    cfg = training.config_json(training.TrainConfig(data=str(tmp_path), model=ModelConfig(units=16, layers=1)))
    flat = {**{k: v for k, v in cfg.items() if k not in ("model", "optimizer")}, **cfg["model"], **cfg["optimizer"]}
    (run / "config.json").write_text(json.dumps(flat))
    (run / "state.json").write_text(json.dumps(STATE))
    (run / "last.keras").write_bytes(b"PK\x03\x04 not a zip")
    base = ["--data", str(tmp_path), "--out", str(tmp_path / "models"), "--name", "r", "--resume"]
    err = one_line_error(train_cmd.main([*base, "--units", "32"]), capsys)
    assert err.endswith(f"--units 32 differs from the 16 that {run} was trained with: --resume continues a run "
                        "as it was configured"), err
    err = one_line_error(train_cmd.main([*base, "--units", "16", "--layers", "1"]), capsys)   # its own: on to
    assert "last.keras: not a Keras model file" in err, err                                   # the checkpoint


# ---------------------------------------------------------------------------- errors

@pytest.mark.parametrize("flags, needle", [
    (["--epochs", "0"], "--epochs must be at least 1"),
    (["--dropout", "1.5"], "--dropout must be in [0, 1)"),
    (["--no-such-flag"], "unrecognized arguments: --no-such-flag"),
    (["--units", "many"], "invalid int value"),
    (["--epo", "3"], "unrecognized arguments: --epo"),
    (["--weight-decay", "1.5"], "--weight-decay must be in [0, 1)"),
])
def test_bad_flags_exit_2_with_one_line(flags, needle, capsys):
    with pytest.raises(SystemExit) as e:
        train_cmd.main(flags)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("jazzgen.train: error: ") and needle in err, err


def test_bad_flag_from_the_command_line(tmp_path):
    r = run_module("jazzgen.train", ["--epochs", "0"], cwd=tmp_path, timeout=60)
    assert r.returncode == 2
    assert r.stderr.strip().splitlines() == ["jazzgen.train: error: --epochs must be at least 1"]
    assert list(tmp_path.iterdir()) == []


def one_line_error(code, capsys) -> str:
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("jazzgen.train: error: "), err
    return err[0]


@pytest.mark.parametrize("what", ["missing", "empty", "one file"])
def test_unusable_data_folder_is_a_one_line_error(tmp_path, what, capsys):
    data = tmp_path / "data"
    if what != "missing":
        data.mkdir()
    if what == "one file":
        write_walks(data, n=1)
    err = one_line_error(train_cmd.main(["--data", str(data), "--out", str(tmp_path / "models"), "--cache",
                                      str(tmp_path / "cache"), "--epochs", "1", *SMALL]), capsys)
    assert ("no such data folder" if what == "missing" else "need at least 2") in err
    assert str(data) in err
    assert not (tmp_path / "models").exists()


def test_resume_without_a_run_is_an_error(tmp_path, capsys):
    code = train_cmd.main(["--data", str(tmp_path), "--out", str(tmp_path / "models"), "--name", "x", "--resume"])
    assert one_line_error(code, capsys) == \
        f"jazzgen.train: error: nothing to resume in {tmp_path / 'models' / 'x'} (no state.json)"


def test_resume_of_a_finished_model_folder_is_an_error(tmp_path, capsys):
    """A copy of the shipped models/wjazzd has state.json but no last.keras (no optimizer state)."""
    assert (SHIPPED_MODEL / "state.json").is_file()
    shutil.copytree(SHIPPED_MODEL, tmp_path / "models" / "wjazzd")
    err = one_line_error(train_cmd.main(["--out", str(tmp_path / "models"), "--name", "wjazzd", "--resume"]), capsys)
    assert "no last.keras" in err and str(tmp_path / "models" / "wjazzd") in err


ROW = {"epoch": 0, "val_nll": 9.0, "train_pitch_loss": 3.0, "train_dur_loss": 2.0, "val_pitch_ppl": 20.0,
       "val_dur_ppl": 8.0}
STATE = {"epoch": 0, "lr": 0.002, "best": ROW, "log": [ROW], "train_seconds": 1.0,
         "command": "python -m jazzgen.train", "device": "tensorflow cpu"}


@pytest.mark.parametrize("what, needle", [
    ("state.json", "state.json: not JSON"),
    ("state epoch", "state.json: 'epoch' should be an integer, not str"),
    ("state log", "state.json: epoch 3 does not match its log"),
    ("config.json", "config.json: 'model.units' should be an integer, not str"),
    ("config value", "config.json: epochs must be at least 1"),
    ("last.keras", "last.keras: not a Keras model file"),
    ("flag", "--resume continues"),
])
def test_resume_of_a_broken_run_is_a_one_line_error(tmp_path, what, needle, capsys):
    run = tmp_path / "models" / "r"
    run.mkdir(parents=True)
    cfg = training.config_json(training.TrainConfig(data=str(tmp_path), model=ModelConfig(units=16, layers=1)))
    state = dict(STATE, epoch="0" if what == "state epoch" else 3 if what == "state log" else 0)
    (run / "state.json").write_text("{" if what == "state.json" else json.dumps(state))
    (run / "config.json").write_text(json.dumps(dict(cfg, model={**cfg["model"], "units": "many"})
                                                if what == "config.json" else
                                                dict(cfg, epochs=0) if what == "config value" else cfg))
    (run / "last.keras").write_bytes(b"PK\x03\x04 not a zip")
    flags = ["--units", "32"] if what == "flag" else ["--units", "16"]      # repeating a run's own flag is fine
    err = one_line_error(train_cmd.main(["--data", str(tmp_path), "--out", str(tmp_path / "models"), "--name", "r",
                                         "--resume", *flags]), capsys)
    assert needle in err, err


# ---------------------------------------------------------------------------- --distribute

DISTRIBUTE = """
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import sys
from jazzgen.commands.train import main
sys.exit(main(sys.argv[1:]))
"""


@pytest.mark.slow
def test_distribute_over_two_cpu_devices(tmp_path):
    """`main([... "--distribute"])` in a child whose CPU is split into 2 logical devices first."""
    write_walks(tmp_path / "data")
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
    assert state["iterations"] == -(-26 // 8)                # 26 windows of 16 events, batches of 8
    assert np.isfinite(state["best"]["val_nll"])
