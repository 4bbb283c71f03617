"""Fine-tuning (--init): the model's weights and vocabulary kept, a new player added, bad starts refused."""
import json
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import run_module, write_walks
from jazzgen.commands import cli
from jazzgen.data import tokens as T
from jazzgen.errors import JazzgenError, ModelError
from jazzgen.model import finetune
from jazzgen.model.spec import ModelConfig
from jazzgen.model.training import TrainConfig, train


def with_players(folder: Path, players: list[str]) -> Path:
    """index.tsv naming the performer of each walk solo in `folder` (walk{i}.mid by players[i])."""
    lines = ["file\tperformer"] + [f"walk{i}.mid\t{p}" for i, p in enumerate(players)]
    (folder / "index.tsv").write_text("\n".join(lines) + "\n")
    return folder


@pytest.fixture(scope="module")
def base(tmp_path_factory) -> Path:
    """A tiny model trained on solos by Ann and Bob."""
    tmp = tmp_path_factory.mktemp("base")
    data = with_players(write_walks(tmp / "data", n=6), ["Ann", "Bob", "Ann", "Bob", "Ann", "Bob"])
    cfg = TrainConfig(data=str(data), out=str(tmp), name="base", cache=str(tmp / "cache"), epochs=1,
                      model=ModelConfig(layers=1, units=16), seq_len=32, batch_size=8)
    train(cfg, progress=False)
    return cfg.model_dir


def test_init_keeps_known_performers_rows_and_adds_new_ones(base):
    import keras
    ann, bob = T.Vocab.from_json((base / "vocab.json").read_text()).performer_solos
    vocab = finetune.init_vocab(base, ["Bob", "Cleo", "Cleo"])
    assert vocab.performers == ("Ann", "Bob", "Cleo") and vocab.performer_solos == (ann, bob + 1, 2)
    cfg = TrainConfig(init=str(base), model=ModelConfig(layers=1, units=16))
    model = finetune.init_model(cfg, vocab)
    old = keras.saving.load_model(base / "model.keras", compile=False)
    before, after = old.get_layer("emb_performer").get_weights()[0], model.get_layer("emb_performer").get_weights()[0]
    assert after.shape == (T.PERFORMER0 + 3, before.shape[1])
    np.testing.assert_array_equal(after[:len(before)], before)              # pad, unknown, Ann, Bob: their rows
    np.testing.assert_allclose(after[-1], before[T.PERFORMER0:].mean(0), rtol=1e-6)   # Cleo: the average player
    for layer in model.layers:
        if layer.weights and layer.name != "emb_performer":
            for a, b in zip(layer.get_weights(), old.get_layer(layer.name).get_weights()):
                np.testing.assert_array_equal(a, b)


def test_a_finetuned_model_offers_the_new_player(base, tmp_path):
    data = with_players(write_walks(tmp_path / "mine", n=4), ["Cleo", "Cleo", "Cleo", "Bob"])
    (tmp_path / "midi").symlink_to(base.parent / "data")     # train's default data: replayed by default
    args = ["--data", data, "--out", tmp_path, "--name", "cleo", "--cache", tmp_path / "cache", "--init", base,
            "--seq-len", "32"]
    run = run_module("jazzgen.train", args + ["--epochs", "1"], cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    cfg = json.loads((tmp_path / "cleo" / "config.json").read_text())
    assert (cfg["optimizer"]["lr"], cfg["patience"], cfg["model"]["units"], cfg["init"]) == (finetune.FINETUNE_LR,
                                                                       finetune.FINETUNE_PATIENCE, 16, str(base))
    assert cfg["replay"] == "midi" and "fine-tuning: replaying midi" in run.stdout
    again = run_module("jazzgen.train", args + ["--resume", "--epochs", "2"], cwd=tmp_path)   # --init again
    assert again.returncode == 0 and "resuming after epoch 0" in again.stdout, again.stderr
    assert json.loads((tmp_path / "cleo" / "state.json").read_text())["epoch"] == 1
    listed = run_module("jazzgen.generate", ["--model", tmp_path / "cleo", "--like", "list"], cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert [line.split("\t")[0] for line in listed.stdout.splitlines()] == ["Ann", "Bob", "Cleo"]
    solo = run_module("jazzgen.generate", ["--model", tmp_path / "cleo", "--like", "cleo", "--seconds", "5",
                                           "--band", "none", "--seed", "1", "--out", tmp_path / "out"], cwd=tmp_path)
    assert solo.returncode == 0 and list((tmp_path / "out").glob("*.mid")), solo.stderr
    assert "Fine-tuned from" in (tmp_path / "cleo" / "MODEL_CARD.md").read_text()
    from jazzgen.generation.formulas import FILE, Formulas
    start, now = Formulas.load(base / FILE), Formulas.load(tmp_path / "cleo" / FILE)
    assert len(now.interval) > len(start.interval)                 # the start's solos remembered, then Cleo's
    np.testing.assert_array_equal(now.interval[:len(start.interval)], start.interval)
    np.testing.assert_array_equal(now.weights, start.weights)


def test_bad_starts_are_one_line_errors(base, tmp_path):
    data = with_players(write_walks(tmp_path / "mine", n=3), ["Cleo"] * 3)
    other = tmp_path / "other"
    shutil.copytree(base, other)
    vocab = json.loads((other / "vocab.json").read_text())
    vocab["vel_edges"][0] += 1
    (other / "vocab.json").write_text(json.dumps(vocab))
    with pytest.raises(ModelError, match=r"its vocabulary differs from this jazzgen's \(vel_edges\)"):
        finetune.init_vocab(other, [])
    for init, units, needle in [(other, None, "its vocabulary differs from this jazzgen's (vel_edges)"),
                                (base, 32, f"init {base}: the model has model.units 16, not 32"),
                                (tmp_path / "nowhere", None, "no such model folder"),
                                (data, None, "no config.json (not a model folder written by jazzgen.train)")]:
        cfg = TrainConfig(data=str(data), out=str(tmp_path), name="x", cache=str(tmp_path / "cache"),
                          init=str(init), model=ModelConfig(units=units or 256))
        with pytest.raises(JazzgenError) as e:
            train(cfg, progress=False, given={"model.units"} if units else set())
        assert needle in str(e.value) and "\n" not in str(e.value)
        assert not (tmp_path / "x").exists()
        if units:      # the command line says the same in its flags
            assert e.value.named(cli.flag) == f"--init {base}: the model has --units 16, not 32"


def test_the_model_started_from_is_only_read(base, tmp_path):
    data = with_players(write_walks(tmp_path / "mine", n=3), ["Cleo"] * 3)
    shutil.copytree(base, tmp_path / "x")
    before = {f.name: f.read_bytes() for f in (tmp_path / "x").iterdir() if f.is_file()}
    cfg = TrainConfig(data=str(data), out=str(tmp_path), name="x", cache=str(tmp_path / "cache"),
                      init=str(tmp_path / "x"))
    with pytest.raises(JazzgenError, match="that is this run's own folder"):
        train(cfg, progress=False)
    assert {f.name: f.read_bytes() for f in (tmp_path / "x").iterdir() if f.is_file()} == before


def test_replay_mixes_the_corpus_into_every_epoch(base, tmp_path):
    from jazzgen.data import dataset
    from jazzgen.model import training
    mine = with_players(write_walks(tmp_path / "mine", n=3), ["Cleo"] * 3)
    corpus = base.parent / "data"                       # the base's own solos: walk0..walk5
    cfg = finetune.init_config(TrainConfig(data=str(mine), cache=str(tmp_path / "cache"), init=str(base),
                                           replay=str(corpus), seq_len=16, batch_size=4), {"replay"})
    data = training.load_data(cfg)
    assert data.own == 2 and data.train_files[:2] == sorted(set(data.train_files[:2]))
    assert set(data.train_files[2:]) == {"walk3", "walk4", "walk5"}      # not the names --data holds
    songs = data.train.songs
    own = len(dataset.ShardWindows(songs.take([0, 1]), 16, 16, data.vocab))
    theirs = len(dataset.ShardWindows(songs.take([2, 3, 4]), 16, 16, data.vocab))
    r = max(1, round(theirs / own))
    assert len(data.train) == r * own + theirs and data.steps == -(-2 * own // 4)
    with pytest.raises(JazzgenError, match="replay mixes a corpus into a fine-tuning run"):
        training.check_config(TrainConfig(replay=str(corpus)))
    plain = finetune.init_config(TrainConfig(data=str(mine), init=str(base), replay="none"), {"replay"})
    assert plain.replay == "" and training.load_data(replace(plain, cache=str(tmp_path / "cache"))).steps == 0
