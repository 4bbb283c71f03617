"""Evaluation: errors are one line, style runs without Keras, baselines score the model's targets."""
import json
import math
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT, SHIPPED_MODEL, WJAZZD, Track, run_module, save_midi, subprocess_env
from jazzgen.commands import evaluate as evaluate_cmd
from jazzgen.data import dataset, tokens as T
from jazzgen.evaluation import likelihood as L, report as R
from jazzgen.model import folder
from jazzgen.music.notes import ChordChange, NoteSequence, TimeSignature

CHANGES = ["Cm7", "F7", "Bbmaj7", "Eb7", "Am7b5", "D7", "Gm7", "N.C."]


def run_cli(*args, cwd=ROOT):
    return run_module("jazzgen.evaluate", args, cwd, timeout=120)


def write_solo(path: Path, seed: int, bars: int = 6) -> None:
    """A small beat-aligned solo (eighths to quarters, 150 qpm) with a chord marker a bar."""
    rng = np.random.default_rng(seed)
    markers = [(4 * b, CHANGES[(b + seed) % len(CHANGES)]) for b in range(bars)]
    notes, t = [], 0
    while t < bars * 1920 - 240:                      # in ticks at 480 a beat
        d = int(rng.choice([120, 240, 240, 480]))
        if rng.random() < 0.85:
            notes.append((int(rng.integers(58, 80)), t / 480, d / 480))
        t += d
    save_midi(path, Track(notes, name="Melody", meter=(4, 4), tempo=150, markers=markers))


def song(name: str, pitches, durs, chords=(("C7", 0), ("F7", 48))) -> NoteSequence:
    start = np.concatenate([[6], 6 + np.cumsum(durs)[:-1]])  # a lead-in rest
    return NoteSequence(pitches, start, durs, [90] * len(pitches), name=name,
                        chords=[ChordChange(s, c) for c, s in chords], time_signatures=[TimeSignature(0, 4, 4)])


# ---------------------------------------------------------------------------- command line

def test_cli_errors_are_one_line_exit_2(tmp_path):
    data = tmp_path / "midi"
    data.mkdir()
    write_solo(data / "a.mid", 0)
    cases = [("--model", tmp_path / "no_model", "--data", data),                     # missing model
             ("--model", "none", "--data", tmp_path / "no_data", "--cache", tmp_path / "c"),  # missing data
             ("--model", "none", "--data", data, "--bogus")]                        # wrong flag
    for args in cases:
        r = run_cli(*args, "--out", tmp_path / "out")
        lines = r.stderr.strip().splitlines()
        assert r.returncode == 2, (args, r.stderr)
        assert len(lines) == 1 and lines[0].startswith("jazzgen.evaluate: error: "), r.stderr
    assert not (tmp_path / "out").exists()


def test_more_errors_in_process(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    assert evaluate_cmd.main(["--model", "none", "--data", str(tmp_path / "empty"), "--out", str(tmp_path / "o")]) == 2
    (tmp_path / "m").mkdir()  # a folder without config.json
    assert evaluate_cmd.main(["--model", str(tmp_path / "m"), "--data", str(tmp_path / "empty")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert [e.startswith("jazzgen.evaluate: error: ") for e in err] == [True, True]
    with pytest.raises(SystemExit) as e:
        evaluate_cmd.parse_args(["--data", "x", "--ngram-max", "9"])
    assert e.value.code == 2


@pytest.mark.slow
def test_style_only_on_three_corpus_files_without_keras(tmp_path):
    data = tmp_path / "three"
    data.mkdir()
    for f in sorted(WJAZZD.glob("*.mid"))[:3]:
        shutil.copy(f, data / f.name)
    out = tmp_path / "out"
    code = ("import sys; from jazzgen.evaluate import main; "
            f"rc = main(['--model', 'none', '--data', {str(data)!r}, '--train-data', {str(data)!r}, "
            f"'--compare', {str(data)!r}, '--out', {str(out)!r}, '--cache', {str(tmp_path / 'c')!r}]); "
            "assert 'keras' not in sys.modules and 'tensorflow' not in sys.modules; sys.exit(rc)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120,
                       env=subprocess_env())
    assert r.returncode == 0, r.stderr
    rep = json.loads((out / "report.json").read_text())
    assert rep["n_files"] == 3 and "likelihood" not in rep
    for k in ("H1", "H4", "GS", "chord_tone_rate", "mean_abs_interval", "copied_share", "velocity_mean",
              "velocity_sd", "detached_share", "rest_share"):
        assert k in rep["style"]["summary"] and k in rep["style"]["compare"]
    assert rep["style"]["compare"]["H1"]["overlap"] == pytest.approx(1.0, abs=1e-6)
    md = (out / "report.md").read_text()
    assert "## Style metrics" in md and "| H1 |" in md and md.strip() in r.stdout
    assert (out / "histograms.png").stat().st_size > 1000


# ---------------------------------------------------------------------------- baselines

def test_baselines_score_exactly_the_model_targets():
    rng = np.random.default_rng(0)
    songs = [song(f"s{i}", rng.integers(55, 80, n), rng.choice([3, 6, 12, 120], n))
             for i, n in enumerate((5, 17, 30))]
    toks = [T.encode(s) for s in songs]
    w = dataset.make_windows(toks, length=max(len(t) for t in toks))
    for h in L.HEADS:
        seqs, _ = L.streams(toks, h, augment=False)
        mask = w.arrays[h] != T.PAD                                      # art, vel: notes only
        assert np.array_equal(np.concatenate(seqs), w.arrays[h][mask])  # same targets, same order
    scored = L.score_baselines(L.fit_baselines(toks, ngram_max=3), toks)
    for h in L.HEADS:
        assert set(scored[h]) == {"unigram", "unigram+ctx", "kn2", "kn2+ctx", "kn3", "kn3+ctx"}
        n = (w.arrays[h] != T.PAD).sum()
        assert all(r["events"] == n and r["ppl"] > 1 for r in scored[h].values())
    assert (w.arrays["art"] != T.PAD).sum() < (w.arrays["pitch"] != T.PAD).sum()   # the rests are not scored
    # pitch counts cover 12 keys; durations are key-free, counted once
    assert len(L.streams(toks, "pitch")[0]) == 12 * len(toks) and len(L.streams(toks, "dur")[0]) == len(toks)


def test_duration_context_tells_rest_tie_and_note_apart():
    t = T.encode(song("x", [60, 62], [6, 120]))  # rest, note, note, tie
    c = L.context("dur", t.pitch, t.root, t.qual, t.sub)
    kinds = c // T.default_vocab().sizes["sub"]
    assert kinds.tolist() == [0, 2, 2, 1]
    assert np.array_equal(c % T.default_vocab().sizes["sub"], t.sub)


def test_pitch_context_knows_the_rest_a_released_note_announces():
    """The model sees the last note's articulation, so the pitch baselines get its phrase-end bit too."""
    # a lead-in rest, a note released into a rest, the rest, a long note (tied) released into one, ...
    seq = NoteSequence([60, 62, 64], [6, 24, 2 * T.MAX_DUR], [6, T.MAX_DUR + 2, 6], [90] * 3,
                       chords=[ChordChange(0, "C7")], time_signatures=[TimeSignature(0, 4, 4)])
    t = T.encode(seq)
    assert t.pitch.tolist() == [T.REST, T.PITCH0 + 60, T.REST, T.PITCH0 + 62, T.TIE, T.REST, T.PITCH0 + 64]
    released = T.follows_release(t.pitch, t.art, T.default_vocab())
    assert released.tolist() == [False, False, True, False, True, True, False]    # the tie: rest or tie next
    c = L.context("pitch", t.pitch, t.root, t.qual, t.sub, art=t.art)
    assert np.array_equal(c % 2, released) and len(set((c // 2).tolist())) == 1       # one chord throughout
    assert not (L.context("pitch", t.pitch, t.root, t.qual, t.sub) % 2).any()        # without art: no bit
    old = T.encode(seq, replace(T.default_vocab(), art_rest=False))                 # a model from before the class
    assert not T.follows_release(old.pitch, old.art, T.default_vocab()).any()


# ---------------------------------------------------------------------------- the likelihood path

def test_likelihood_on_a_tiny_untrained_model(tmp_path, capsys):
    from jazzgen.model.network import ModelConfig, build_model, score
    from jazzgen.model.training import TrainConfig, config_json
    data = tmp_path / "midi"
    data.mkdir()
    for i in range(4):
        write_solo(data / f"solo_{i}.mid", i)
    mdir = tmp_path / "model"
    mdir.mkdir()
    net = build_model(T.default_vocab(), ModelConfig(layers=1, units=8))
    net.save(mdir / "model.keras")
    (mdir / "vocab.json").write_text(T.default_vocab().to_json())
    (mdir / "config.json").write_text(json.dumps(config_json(TrainConfig(data=str(data), val_fraction=0.25))))
    out = tmp_path / "out"
    argv = ["--model", str(mdir), "--data", str(data), "--out", str(out), "--cache", str(tmp_path / "c"),
            "--ngram-max", "3"]
    assert evaluate_cmd.main(argv) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["split"] == "val" and rep["n_files"] == 1 and rep["n_train_files"] == 3 and rep["warnings"]
    lik = rep["likelihood"]
    for h in L.HEADS:
        assert 1 < lik["model"][h]["ppl"] < math.inf and 0 <= lik["model"][h]["acc"] <= 1
        n = lik["notes"] if h in L.EXPRESSION else lik["events"]
        assert lik["model"][h]["targets"] == n
        assert all(1 < b["ppl"] < math.inf and b["events"] == n for b in lik["baselines"][h].values())
        assert h in lik["gain_pct"]
    # the length-batched scoring equals one model.score over all songs in one window each
    _, val = L.model_split(folder.read_config(mdir), cache=str(tmp_path / "c"))
    assert [s.name for s in val] == rep["files"]
    toks = [T.encode(s) for s in val]
    ref = score(folder.load_model(mdir), dataset.make_windows(toks, max(map(len, toks))).arrays)
    assert lik["events"] == ref["notes"]
    assert lik["model"]["pitch"]["nll"] == pytest.approx(ref["pitch_nll"], rel=1e-5)
    md = (out / "report.md").read_text()
    assert "| **jazzgen model** |" in md and "| KN-3 + context |" in md and "best baseline" in md
    assert md.strip() in capsys.readouterr().out
    # --split all over training files: scored, with a warning that they were trained on
    assert evaluate_cmd.main(argv + ["--split", "all", "--no-baselines"]) == 0
    rep = json.loads((out / "report.json").read_text())
    assert rep["n_files"] == 4 and "baselines" not in rep["likelihood"]
    assert any("training files" in w for w in rep["warnings"])


def test_a_model_with_its_own_velocity_levels_is_scored_in_them(tmp_path):
    """The golden model predates the 11 velocity levels: its 8 are used, for it and its baselines."""
    golden = ROOT / "tests" / "data" / "golden" / "model"
    vocab = folder.model_vocab(golden)
    assert len(vocab.vel_values) == 8 != len(T.default_vocab().vel_values)
    data = tmp_path / "midi"
    data.mkdir()
    for i in range(4):
        write_solo(data / f"s{i}.mid", i)
    toks = [T.encode(s, vocab) for s in L.usable_songs(data, tmp_path / "c")]
    lik = L.likelihood(toks[2:], folder.load_model(golden), toks[:2], ngram_max=2, vocab=vocab)
    assert L.fit_baselines(toks[:2], 2, vocab=vocab)["vel"]["unigram"][0].dist().shape == (9,)   # pad + 8
    assert 1 < lik["model"]["vel"]["ppl"] < 50 and math.isfinite(lik["gain_pct"]["vel"])


def test_shipped_model_scores_a_folder_without_its_training_data(tmp_path, capsys):
    model = SHIPPED_MODEL
    if not (model / "model.keras").is_file():
        pytest.fail("the shipped model is missing")
    mdir = tmp_path / "model"      # the shipped model, its training folder nowhere to be found
    mdir.mkdir()
    for f in ("model.keras", "vocab.json"):
        shutil.copy(model / f, mdir / f)
    cfg = json.loads((model / "config.json").read_text())
    cfg["data"] = str(tmp_path / "gone" / "wjazzd")
    (mdir / "config.json").write_text(json.dumps(cfg))
    data = tmp_path / "midi"
    data.mkdir()
    for i in range(3):
        write_solo(data / f"s{i}.mid", i)
    base = ["--model", str(mdir), "--data", str(data), "--cache", str(tmp_path / "c"), "--out", str(tmp_path / "o")]
    assert evaluate_cmd.main(base + ["--no-baselines"]) == 0
    rep = json.loads((tmp_path / "o" / "report.json").read_text())
    assert rep["n_files"] == 3 and rep["split"] == "all" and rep["train_data"] is None
    assert 1 < rep["likelihood"]["model"]["pitch"]["ppl"] < 200 and "baselines" not in rep["likelihood"]
    assert len(rep["warnings"]) == 1 and "gone" in rep["warnings"][0] and "baselines" not in rep["warnings"][0]
    capsys.readouterr()
    assert evaluate_cmd.main(base) == 0                          # baselines asked for: one line says they need it
    err = [line for line in capsys.readouterr().err.splitlines() if "warning" in line]
    assert len(err) == 1 and "baselines need it (give --train-data)" in err[0] and "`" not in err[0]
    assert evaluate_cmd.main(base + ["--split", "val"]) == 2     # the split lives with the training folder
    assert "--split val needs the model's training folder" in capsys.readouterr().err


def test_two_sample_section_has_the_real_vs_real_floor():
    from jazzgen.music.midi_io import read_midi
    real = [read_midi(f)[0] for f in sorted(L.find_midi(WJAZZD))[:20]]
    flat = [NoteSequence(s.pitch, s.start, s.duration, np.full(len(s), 90), chords=s.chords, end=s.end,
                         name=s.name + "-flat") for s in real[10:]]     # the same notes, no dynamics
    ts = R.two_sample(flat, real[:10], [], [])
    assert ts["generated_vs_real"]["accuracy"] > 0.9               # constant velocity gives them away
    assert 0.0 <= ts["real_vs_real"]["accuracy"] < ts["generated_vs_real"]["accuracy"]
    assert "real vs real (floor)" in R.two_sample_markdown(ts)
    m = R.metrics.expression_stats(NoteSequence([60, 62, 64], [0, 6, 30], [4, 6, 6], [80, 100, 120]))
    assert m["velocity_mean"] == 100 and m["detached_share"] == 1.0 and m["rest_share"] == pytest.approx(18 / 36)


def test_report_scores_the_solos_as_by_an_unknown_player_against_the_same_baselines():
    lik = {"best_baseline": {"pitch": "kn3+ctx", "art": "kn2"},
           "baselines": {"pitch": {"kn3+ctx": {"ppl": 10.0}}, "art": {"kn2": {"ppl": 3.0}}},
           "unknown_performer": {"pitch": {"ppl": 8.0}, "art": {"ppl": 3.3}}}
    line = R.unknown_line(lik)
    assert "pitch 8.00 (20.0% below" in line and "art 3.30 (-10.0% below" in line
