"""--distribute under JAX, for real on a CPU: two devices in one process, and two processes on 127.0.0.1.

Each is checked against one device taking the same global batches: the same number of steps,
the same losses and weights within TOLERANCE (the README names it), the same validation
figures; a distributed run resumes; of two processes only process 0 writes a run folder.
The flags and variables that place a process in a run are checked without starting one.
"""
from __future__ import annotations

import json
import socket
import subprocess
import sys

import numpy as np
import pytest

from conftest import run_module, subprocess_env, write_walks
from jazzgen.commands import cli, train as train_cmd
from jazzgen.errors import UsageError
from jazzgen.model import distribute
from jazzgen.model.distribute import Cluster, cluster_from

# Two runs of the same steps agree to float32 round-off: a reduction split over two devices
# adds in another order.  Measured here: weights and Adam slots within 2.4e-7 of each other
# after 30 steps (max abs), losses equal to float32 printing, validation NLL within 1e-8.
TOLERANCE = {"rtol": 1e-4, "atol": 1e-5}
SMALL = ["--units", "16", "--layers", "1", "--seq-len", "16", "--batch-size", "8"]
TWO_DEVICES = {"XLA_FLAGS": "--xla_force_host_platform_device_count=2"}
JAX = {"KERAS_BACKEND": "jax"}
LOSSES = ("train_pitch_loss", "train_dur_loss", "val_pitch_nll", "val_dur_nll", "val_art_nll", "val_vel_nll")


def jax_train(cwd, *flags, **env):
    r = run_module("jazzgen.train", [*SMALL, "--out", "models", *flags], cwd=cwd, timeout=600, **JAX, **env)
    assert r.returncode == 0, (flags, r.stdout[-2000:], r.stderr[-3000:])
    return r


def weights(run_dir) -> list[np.ndarray]:
    """The run's checkpoint's weights and optimizer slots (loaded with this process's backend)."""
    import keras

    import jazzgen.model.network  # noqa: F401  (registers the custom layers)
    checkpoint = json.loads((run_dir / "state.json").read_text())["checkpoint"]     # last-0002.keras
    m = keras.saving.load_model(run_dir / checkpoint, safe_mode=True)
    return m.get_weights() + [np.asarray(v) for v in m.optimizer.variables]


def assert_same_run(a, b) -> None:
    """Run folders a and b took the same steps: counts, every logged loss and all weights, within TOLERANCE."""
    sa, sb = (json.loads((d / "state.json").read_text()) for d in (a, b))
    assert (sa["epoch"], sa["iterations"], sa["lr"]) == (sb["epoch"], sb["iterations"], sb["lr"])
    for k in LOSSES:
        np.testing.assert_allclose([r[k] for r in sb["log"]], [r[k] for r in sa["log"]], **TOLERANCE, err_msg=k)
    wa, wb = weights(a), weights(b)
    assert len(wa) == len(wb)
    for x, y in zip(wa, wb):
        np.testing.assert_allclose(y, x, **TOLERANCE)


@pytest.fixture(scope="module")
def one_device(tmp_path_factory):
    """Six small solos, and the reference: one JAX device, 2 epochs (4 steps each, the last batch padded)."""
    tmp = tmp_path_factory.mktemp("dist")
    write_walks(tmp / "data")
    r = jax_train(tmp, "--data", "data", "--name", "one", "--epochs", "2")
    assert "DataParallel" not in r.stdout
    return tmp


@pytest.mark.slow
def test_two_devices_take_the_steps_of_one_and_resume(one_device):
    """1 epoch over two CPU devices, then --resume to 2: the one-device run's steps and weights."""
    tmp = one_device
    first = jax_train(tmp, "--data", "data", "--name", "two", "--epochs", "1", "--distribute", **TWO_DEVICES)
    assert "keras DataParallel over 2 devices" in first.stdout
    assert json.loads((tmp / "models" / "two" / "state.json").read_text())["config"]["distribute"] is True
    second = jax_train(tmp, "--data", "data", "--name", "two", "--resume", "--epochs", "2", **TWO_DEVICES)
    assert "resuming after epoch 0" in second.stdout and "DataParallel over 2 devices" in second.stdout
    assert_same_run(tmp / "models" / "one", tmp / "models" / "two")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_two_processes_take_the_steps_of_one_and_only_process_0_writes(one_device):
    """Two processes on 127.0.0.1 (gloo collectives), each in its own folder as on two hosts:
    process 0 by flags, process 1 by Keras' variables."""
    tmp, port = one_device, free_port()
    hosts = [tmp / "host0", tmp / "host1"]
    argv = [sys.executable, "-m", "jazzgen.train", *SMALL, "--data", str(tmp / "data"), "--out", "models",
            "--name", "mp", "--epochs", "2", "--distribute"]
    flags = ["--num-processes", "2", "--process-id", "0", "--coordinator", f"127.0.0.1:{port}"]
    env1 = {"KERAS_DISTRIBUTION_JOB_ADDRESSES": f"127.0.0.1:{port}", "KERAS_DISTRIBUTION_NUM_PROCESSES": "2",
            "KERAS_DISTRIBUTION_PROCESS_ID": "1"}
    loopback = {"JAX_COORDINATOR_BIND_ADDRESS": f"127.0.0.1:{port}"}   # JAX's coordinator listens on 127.0.0.1 only
    procs = []
    for host, extra, env in ((hosts[0], flags, loopback), (hosts[1], [], env1)):
        host.mkdir()
        procs.append(subprocess.Popen(argv + extra, cwd=host, env=subprocess_env(**JAX, **env),
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    try:
        out = [p.communicate(timeout=600) for p in procs]
    finally:
        for p in procs:
            p.kill()
    for p, (o, e) in zip(procs, out):
        assert p.returncode == 0, (o[-2000:], e[-3000:])
    assert "DataParallel over 2 devices in 2 processes (this is process 0)" in out[0][0]
    assert "epoch 2/2" in out[0][0] and "epoch 1/2" not in out[1][0]          # process 1 is quiet
    assert list(hosts[1].glob("models*")) == [], "process 1 wrote a run folder"
    assert not list((hosts[0] / "models" / "mp").glob(".*tmp*")), "temporary files left behind"
    assert_same_run(tmp / "models" / "one", hosts[0] / "models" / "mp")


# ---------------------------------------------------------------------------- a process's place, unstarted

KERAS_ENV = {"KERAS_DISTRIBUTION_JOB_ADDRESSES": "10.0.0.1:1234", "KERAS_DISTRIBUTION_NUM_PROCESSES": "4",
             "KERAS_DISTRIBUTION_PROCESS_ID": "3"}


def test_cluster_from_flags_then_keras_variables():
    assert cluster_from(False, environ={}) == Cluster() and not Cluster().multi
    assert cluster_from(True, environ=KERAS_ENV) == Cluster("10.0.0.1:1234", 4, 3)
    assert cluster_from(True, "h0:99", 2, 1, environ=KERAS_ENV) == Cluster("h0:99", 2, 1)   # flags first
    assert cluster_from(True, None, None, 0, environ=KERAS_ENV) == Cluster("10.0.0.1:1234", 4, 0)
    assert cluster_from(True, "h0:1,h1:1", 2, 0, environ={}).coordinator == "h0:1,h1:1"   # Keras' job list
    assert cluster_from(False, None, 1, None, environ={}) == Cluster()                   # one process is no cluster


@pytest.mark.parametrize("args, environ, needle", [
    ((False, "h0:1", 2, 0), {}, "--num-processes 2: several processes train together only with --distribute"),
    ((False,), KERAS_ENV, "KERAS_DISTRIBUTION_NUM_PROCESSES=4: several processes train together only with"),
    ((True, None, 2, 0), {}, "--num-processes 2 needs --coordinator (or KERAS_DISTRIBUTION_JOB_ADDRESSES)"),
    ((True, "h0:1", 2, None), {}, "needs --process-id (or KERAS_DISTRIBUTION_PROCESS_ID)"),
    ((True, "h0:1", 2, 2), {}, "--process-id 2: the process id must be in 0..1"),
    ((True, "h0", 2, 0), {}, "--coordinator h0: the coordinator must be HOST:PORT (process 0's)"),
    ((True, "h0:x", 2, 0), {}, "--coordinator h0:x: the coordinator must be HOST:PORT"),
    ((True, None, 0, 0), {}, "--num-processes 0: at least 1 process"),
    ((True,), {**KERAS_ENV, "KERAS_DISTRIBUTION_PROCESS_ID": "one"}, "KERAS_DISTRIBUTION_PROCESS_ID=one: not an int"),
])
def test_a_wrong_place_names_its_flag_or_variable(args, environ, needle):
    """The library names the field (or Keras' variable); the command line says it as its flag."""
    with pytest.raises(UsageError) as e:
        cluster_from(*args, environ=environ)
    assert needle in e.value.named(cli.flag), e.value.named(cli.flag)
    assert "--" not in str(e.value) and "`" not in str(e.value), str(e.value)


def test_the_command_refuses_several_processes_without_distribute(capsys, monkeypatch):
    for k in KERAS_ENV:
        monkeypatch.delenv(k, raising=False)
    with pytest.raises(SystemExit) as e:
        train_cmd.main(["--num-processes", "2", "--process-id", "0", "--coordinator", "127.0.0.1:1"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and err.count("\n") == 1, err
    assert "several processes train together only with --distribute" in err


def test_several_processes_need_the_jax_backend(monkeypatch):
    import keras
    monkeypatch.setattr(keras.backend, "backend", lambda: "torch")
    with pytest.raises(UsageError, match="under the jax backend only"):
        distribute.join(Cluster("127.0.0.1:1", 2, 0))


def test_each_process_feeds_its_rows_of_the_global_batch():
    batch = np.arange(24).reshape(8, 3)
    parts = [distribute.local_rows(batch, 4, i) for i in range(4)]
    assert [len(p) for p in parts] == [2] * 4
    np.testing.assert_array_equal(np.concatenate(parts), batch)
    par = distribute.Parallel(devices=4, processes=2, index=1)
    x, y = par.shard({"a": batch}, {"b": batch[:, :1]})
    np.testing.assert_array_equal(x["a"], batch[4:])
    np.testing.assert_array_equal(y["b"], batch[4:, :1])
    assert not par.writer and distribute.Parallel().writer


def test_a_padded_batch_has_the_loss_of_the_batch(tmp_path):
    """The last batch's PAD rows change nothing: Keras averages the masked loss over real targets."""
    from jazzgen.data import corpus, dataset, tokens
    from jazzgen.model import loop
    from jazzgen.model.network import ModelConfig, build_model, compile_model, model_inputs, xy
    songs = corpus.load_corpus(write_walks(tmp_path / "d", n=2), None, progress=False).songs
    vocab = tokens.vocab_for(songs)
    w = dataset.make_windows([tokens.encode(s, vocab) for s in songs], 16, stride=16)
    model = build_model(vocab, ModelConfig(layers=1, units=8))
    compile_model(model)
    assert len(w) >= 5
    x, y = xy({k: v[:5] for k, v in w.arrays.items()}, model_inputs(model))
    full = model.test_on_batch(x, y, return_dict=True)
    pad = model.test_on_batch({k: loop.padded(v, 8) for k, v in x.items()},
                              {k: loop.padded(v, 8) for k, v in y.items()}, return_dict=True)
    for k in ("pitch_loss", "dur_loss", "art_loss", "vel_loss"):
        assert pad[k] == pytest.approx(full[k], rel=1e-5), k


def test_a_cluster_without_distribute_is_refused_before_any_work():
    with pytest.raises(UsageError, match="num_processes 2: several processes train together only with distribute"):
        distribute.start_parallel(False, 8, Cluster("127.0.0.1:1", 2, 1))
