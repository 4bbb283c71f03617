"""The Keras backend is chosen once, by flag or KERAS_BACKEND, and said plainly."""
from __future__ import annotations

import pytest

from conftest import run_module
from jazzgen.errors import UsageError
from jazzgen.model import backend


def test_an_unknown_backend_is_a_usage_error():
    with pytest.raises(UsageError, match="^backend must be one of tensorflow, jax, torch") as e:
        backend.choose("theano")
    assert e.value.field == "backend"


def test_the_running_backend_cannot_be_switched():
    running = backend.in_use()
    other = next(b for b in backend.BACKENDS if b != running)
    with pytest.raises(UsageError, match=f"already running on {running}"):
        backend.choose(other)


def test_device_and_cpu_fallback_are_announced(capsys):
    backend.choose(None)
    what, gpu = backend.device()
    line = backend.announce()
    out = capsys.readouterr().out
    assert line == what and out.startswith(f"backend {what}")
    assert gpu or "no GPU found, training on the CPU" in out


@pytest.mark.parametrize("module", ["jazzgen.train", "jazzgen.evaluate"])
def test_backend_flag_is_checked_by_both_commands(module, tmp_path):
    r = run_module(module, ["--backend", "theano", "--data", tmp_path], cwd=tmp_path, timeout=120)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "--backend" in r.stderr


def test_train_under_torch_says_so(tmp_path):
    """The torch backend trains too (the model is keras.ops only) and the device line names it."""
    import shutil

    from conftest import WJAZZD
    data = tmp_path / "d"
    data.mkdir()
    for f in sorted(WJAZZD.glob("*.mid"))[:4]:
        shutil.copy(f, data / f.name)
    r = run_module("jazzgen.train", ["--backend", "torch", "--data", data, "--out", tmp_path / "m", "--epochs", "1",
                                     "--units", "16", "--layers", "1", "--seq-len", "16", "--batch-size", "8"],
                   cwd=tmp_path, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "backend torch cpu - no GPU found" in r.stdout
    assert (tmp_path / "m" / "d" / "weights.npz").is_file()
