"""No traceback, no surprise: every bad input a user can give is one line naming it, exit 2.

Model folders broken every way (load_weights, evaluate's load_model / read_config),
a primer's tempo, meter and length, evaluate's and ingest's arguments checked before
any work, FIFOs and broken links where files are expected, and the internal-error
rule (one line plus a traceback file, exit 3) at every command.
"""
import json
import os
import shutil

import numpy as np
import pytest

from conftest import SHIPPED_MODEL, write_solo_midi, write_walks
from jazzgen import paths
from jazzgen.commands import evaluate as evaluate_cmd, generate as jgen, ingest
from jazzgen.errors import ModelError, UsageError
from jazzgen.evaluation import likelihood as L
from jazzgen.model.folder import CONFIG_NEEDS, load_model, load_weights, read_config
from jazzgen.music import chart as C
from jazzgen.music.midi_io import read_midi, write_midi
from jazzgen.music.notes import NoteSequence, Tempo, TimeSignature


def one_line(capsys, prog: str) -> str:
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith(f"jazzgen.{prog}: error: "), err
    return err.strip()


def call(main, argv) -> int:
    try:
        return main([str(a) for a in argv])
    except SystemExit as e:
        return e.code


# ---------------------------------------------------------------------------- model folders

@pytest.fixture(scope="module")
def shipped_weights():
    assert (SHIPPED_MODEL / "weights.npz").is_file(), "the shipped model is part of the checkout"
    with np.load(SHIPPED_MODEL / "weights.npz", allow_pickle=False) as z:
        return {k: z[k] for k in z.files}


def model_copy(tmp_path, weights=None, npz_bytes=None):
    """A model folder: the shipped model.keras (linked) with these weights.npz contents."""
    d = tmp_path / "m"
    d.mkdir()
    (d / "model.keras").symlink_to(SHIPPED_MODEL / "model.keras")
    for f in ("config.json", "vocab.json"):
        shutil.copy(SHIPPED_MODEL / f, d / f)
    if weights is not None:
        np.savez(d / "weights.npz", **weights)
    elif npz_bytes is not None:
        (d / "weights.npz").write_bytes(npz_bytes)
    return d


def model_error(path) -> str:
    with pytest.raises(ModelError) as e:
        load_weights(path)
    msg = str(e.value)
    assert "\n" not in msg and len(msg) < 300, msg
    return msg


def test_missing_model_folder(tmp_path):
    assert model_error(tmp_path / "nowhere").startswith(f"no model folder {tmp_path / 'nowhere'}")


def test_folder_without_model_keras(tmp_path):
    (tmp_path / "m").mkdir()
    assert "no model.keras in it" in model_error(tmp_path / "m")


@pytest.mark.parametrize("cut", [0, 100, 2_000_000])
def test_truncated_model_keras_is_not_file_not_found(tmp_path, cut):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.keras").write_bytes((SHIPPED_MODEL / "model.keras").read_bytes()[:cut])
    msg = model_error(tmp_path / "m")
    assert "model.keras: not a Keras model file" in msg and "truncated" in msg and "not found" not in msg


def test_model_keras_that_is_no_zip(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.keras").write_text("hello")
    assert "not a Keras model file" in model_error(tmp_path / "m")


def test_model_keras_is_a_folder(tmp_path):
    (tmp_path / "m" / "model.keras").mkdir(parents=True)
    assert model_error(tmp_path / "m").endswith("model.keras: a folder, not a file")


def test_model_keras_is_a_fifo(tmp_path):
    (tmp_path / "m").mkdir()
    os.mkfifo(tmp_path / "m" / "model.keras")
    assert "not a regular file (a FIFO" in model_error(tmp_path / "m")


def test_model_keras_is_a_broken_link(tmp_path):
    (tmp_path / "m").mkdir()
    (tmp_path / "m" / "model.keras").symlink_to(tmp_path / "gone.keras")
    assert "model.keras: a broken symbolic link" in model_error(tmp_path / "m")


def test_truncated_weights_npz(tmp_path):
    d = model_copy(tmp_path, npz_bytes=(SHIPPED_MODEL / "weights.npz").read_bytes()[:3000])
    msg = model_error(d)
    assert msg.startswith(f"weights {d / 'weights.npz'}: not a zip archive (not a whole zip archive")


def test_weights_npz_is_a_fifo(tmp_path):
    d = model_copy(tmp_path)
    os.mkfifo(d / "weights.npz")
    assert "weights.npz: not a regular file" in model_error(d)


def test_weights_missing_a_key(tmp_path, shipped_weights):
    w = dict(shipped_weights)
    del w["dur_w"]
    assert model_error(model_copy(tmp_path, w)).endswith("weights.npz: missing dur_w")


def test_weights_holding_nan(tmp_path, shipped_weights):
    w = dict(shipped_weights)
    w["lstm_1_bias"] = w["lstm_1_bias"].copy()
    w["lstm_1_bias"][3] = np.nan
    assert model_error(model_copy(tmp_path, w)).endswith("lstm_1_bias holds NaN or infinite values")


@pytest.mark.parametrize("key, change", [("dur_w", lambda a: a[:, :-1]), ("pitch_abs_w", lambda a: a.T),
                                         ("lstm_0_kernel", lambda a: a[:-1]), ("emb_root", lambda a: a[:5])])
def test_weights_whose_shapes_do_not_fit(tmp_path, shipped_weights, key, change):
    w = dict(shipped_weights)
    w[key] = change(w[key])
    msg = model_error(model_copy(tmp_path, w))
    assert f"{key} has shape" in msg and "do not fit together" in msg


def test_weights_of_the_wrong_dtype(tmp_path, shipped_weights):
    w = dict(shipped_weights)
    w["dur_b"] = w["dur_b"].astype(np.int32)
    assert "dur_b holds int32, not floating-point numbers" in model_error(model_copy(tmp_path, w))


def test_generate_names_the_broken_model_in_one_line(tmp_path, shipped_weights, capsys):
    w = dict(shipped_weights)
    del w["dur_w"]
    d = model_copy(tmp_path, w)
    assert call(jgen.main, ["--model", d, "--out", tmp_path / "out", "--seconds", "2"]) == 2
    assert one_line(capsys, "generate").endswith("weights.npz: missing dur_w")
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())


# ---------------------------------------------------------------------------- evaluate's model

def config_error(tmp_path, text) -> str:
    d = tmp_path / "m"
    d.mkdir(exist_ok=True)
    (d / "config.json").write_text(text) if isinstance(text, str) else None
    with pytest.raises(ModelError) as e:
        read_config(d, CONFIG_NEEDS)
    assert "\n" not in str(e.value)
    return str(e.value)


def good_config() -> dict:
    return json.loads((SHIPPED_MODEL / "config.json").read_text())


def test_config_not_json(tmp_path):
    assert "config.json: not JSON" in config_error(tmp_path, "{not json")


def test_config_not_an_object(tmp_path):
    assert config_error(tmp_path, "[1, 2]").endswith("config.json: not a JSON object")


@pytest.mark.parametrize("key, value", [("seed", "0"), ("val_fraction", None), ("max_songs", 1.5),
                                        ("data", 3), ("augment", 1), ("units", True)])
def test_config_wrong_types(tmp_path, key, value):
    msg = config_error(tmp_path, json.dumps({**good_config(), key: value}))
    assert f"config.json: {key!r} should be " in msg and msg.endswith(f"not {type(value).__name__}"), msg


def test_config_missing_keys(tmp_path):
    c = good_config()
    del c["seed"], c["val_fraction"]
    assert config_error(tmp_path, json.dumps(c)).endswith("config.json: missing val_fraction, seed")


def test_config_out_of_range(tmp_path):
    bad = json.dumps({**good_config(), "val_fraction": 2.0})
    assert "config.json: val_fraction must be in (0, 1)" in config_error(tmp_path, bad)


def test_config_is_a_folder_or_fifo(tmp_path):
    (tmp_path / "m" / "config.json").mkdir(parents=True)
    assert config_error(tmp_path, None).endswith("config.json: a folder, not a file")
    os.mkfifo(tmp_path / "fifo_m_config")
    (tmp_path / "m2").mkdir()
    os.replace(tmp_path / "fifo_m_config", tmp_path / "m2" / "config.json")
    with pytest.raises(ModelError, match="not a regular file"):
        read_config(tmp_path / "m2", CONFIG_NEEDS)


def test_evaluate_load_model_errors(tmp_path):
    with pytest.raises(ModelError, match="no model.keras in it"):
        load_model(tmp_path)
    (tmp_path / "model.keras").write_bytes((SHIPPED_MODEL / "model.keras").read_bytes()[:5000])
    with pytest.raises(ModelError, match="not a Keras model file"):
        load_model(tmp_path)
    (tmp_path / "vocab.json").write_text("{")
    with pytest.raises(ModelError, match="vocab.json: not JSON"):
        load_model(tmp_path)


def test_evaluate_bad_config_is_one_line_exit_2(tmp_path, capsys):
    d = tmp_path / "m"
    d.mkdir()
    (d / "config.json").write_text("{")
    data = tmp_path / "data"
    write_walks(data, n=1)
    assert evaluate_cmd.main(["--model", str(d), "--data", str(data), "--out", str(tmp_path / "o")]) == 2
    assert "config.json: not JSON" in one_line(capsys, "evaluate")


def test_evaluate_default_model_is_the_shipped_one(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)      # not relative to the current folder
    a = evaluate_cmd.parse_args(["--data", "x"])
    assert a.model == str(paths.SHIPPED_MODEL) and os.path.isabs(a.model)


def test_evaluate_reports_a_one_note_file(tmp_path, capsys):
    data = tmp_path / "data"
    write_solo_midi(data / "one.mid", [(60, 0, 1)], [(0, "C7")])
    write_walks(data, n=2)
    assert evaluate_cmd.main(["--model", "none", "--data", str(data), "--out", str(tmp_path / "o"),
                   "--cache", str(tmp_path / "c")]) == 0
    err = capsys.readouterr().err
    assert f"dropped  {data / 'one.mid'}: only 1 note (scoring needs 2 or more)" in err


def test_evaluate_out_that_is_a_file_is_refused_first(tmp_path, capsys):
    (tmp_path / "f").write_text("x")
    assert evaluate_cmd.main(["--model", "none", "--data", str(tmp_path), "--out", str(tmp_path / "f" / "sub"),
                   "--cache", str(tmp_path / "c")]) == 2
    assert "is a file, not a folder" in one_line(capsys, "evaluate")
    assert not (tmp_path / "c").exists()


def test_evaluate_bad_flag_is_one_line_exit_2(capsys):
    assert call(evaluate_cmd.main, ["--data", "x", "--ngram-max", "abc"]) == 2
    assert "--ngram-max" in one_line(capsys, "evaluate")


def test_evaluate_from_python_names_its_fields_and_the_command_its_flags(tmp_path, capsys):
    from jazzgen.evaluation.report import evaluate
    with pytest.raises(UsageError) as e:
        evaluate(str(tmp_path), model=None, ngram_max=9, out=str(tmp_path / "o"))
    assert str(e.value) == "ngram_max must be in 1..5, not 9" and e.value.field == "ngram_max"
    with pytest.raises(ModelError, match=r"^model \S*nowhere: no such model folder \(give one, or none"):
        evaluate(str(tmp_path), model=str(tmp_path / "nowhere"), out=str(tmp_path / "o"))
    assert call(evaluate_cmd.main, ["--data", str(tmp_path), "--model", str(tmp_path / "nowhere")]) == 2
    assert one_line(capsys, "evaluate").startswith(f"jazzgen.evaluate: error: --model {tmp_path / 'nowhere'}: no such")


# ---------------------------------------------------------------------------- primer limits

def primer(tmp_path, qpm=120.0, meter=(4, 4), last_beat=8.0) -> str:
    n = 8
    start = np.linspace(0, last_beat * 12, n).astype(int)
    seq = NoteSequence(np.full(n, 64), start, np.full(n, 6), np.full(n, 90), tempos=[Tempo(0, qpm)],
                       time_signatures=[TimeSignature(0, *meter)], end=int(start[-1]) + 12)
    path = tmp_path / "primer.mid"
    write_midi(path, seq)
    return str(path)


def test_primer_at_3000_us_per_beat_is_refused_naming_it(tmp_path, gen_model, capsys):
    p = primer(tmp_path, qpm=6e7 / 3000)      # 20,000 bpm: what midi_io still reads
    assert read_midi(p)[0].tempos[0].qpm == pytest.approx(20000)
    out = tmp_path / "out"
    assert call(jgen.main, ["--model", gen_model.path, "--primer", p, "--out", out, "--seconds", "2"]) == 2
    msg = one_line(capsys, "generate")
    assert f"primer {p}: its tempo 20000 bpm is outside [20, 400]; give --bpm" in msg
    assert not out.exists() or not any(out.iterdir())


def test_primer_tempo_is_fine_with_bpm_given(tmp_path):
    seq, _ = read_midi(primer(tmp_path, qpm=6e7 / 3000))
    assert C.build_chart(primer=seq, bpm=120).bpm == 120


def test_primer_meter_and_length_limits(tmp_path):
    seq, _ = read_midi(primer(tmp_path, meter=(100, 4)))
    with pytest.raises(UsageError, match="its meter 100/4"):
        C.build_chart(primer=seq)
    seq, _ = read_midi(primer(tmp_path, last_beat=9000.0))       # 9000 beats at 120 bpm: 75 minutes
    with pytest.raises(UsageError, match=r"\d+ s long, more than the 3600 s"):
        C.build_chart(primer=seq)


def test_primer_that_is_a_fifo(tmp_path, gen_model, capsys):
    os.mkfifo(tmp_path / "p.mid")
    assert call(jgen.main, ["--model", gen_model.path, "--primer", tmp_path / "p.mid", "--out", tmp_path / "o"]) == 2
    assert one_line(capsys, "generate").endswith("p.mid: not a regular file (a FIFO, socket or device)")


# ---------------------------------------------------------------------------- charts

def test_chart_that_is_a_fifo_or_huge(tmp_path):
    os.mkfifo(tmp_path / "fifo.txt")
    with pytest.raises(UsageError, match="chart .*fifo.txt: not a regular file"):
        C.build_chart(chart_file=tmp_path / "fifo.txt")
    from jazzgen.music.charts.files import MAX_CHART_BYTES
    (tmp_path / "huge.txt").write_text("C7 | " * (MAX_CHART_BYTES // 5 + 1))
    with pytest.raises(UsageError, match=rf"huge.txt: \d+ bytes, more than the {MAX_CHART_BYTES}"):
        C.build_chart(chart_file=tmp_path / "huge.txt")


def test_too_many_bars_or_chords_in_a_bar():
    from jazzgen.music.chords import ChordError, parse_changes
    with pytest.raises(ChordError, match="more than 1024 bars"):
        parse_changes("C7 | " * 1025)
    with pytest.raises(ChordError, match="bar 1: 17 chords, at most 16"):
        parse_changes("C7 " * 17)


# ---------------------------------------------------------------------------- ingest

@pytest.fixture
def data(tmp_path):
    return write_walks(tmp_path / "data", n=2)


def test_ingest_report_that_is_a_folder_is_refused_before_any_work(tmp_path, data, capsys):
    (tmp_path / "r").mkdir()
    assert ingest.main(["--data", str(data), "--out", str(tmp_path / "cache"), "--report", str(tmp_path / "r")]) == 2
    assert one_line(capsys, "ingest").endswith(f"--report {tmp_path / 'r'}: a folder, not a file")
    assert not (tmp_path / "cache").exists()


def test_ingest_report_under_a_file_is_refused(tmp_path, data, capsys):
    (tmp_path / "f").write_text("x")
    assert ingest.main(["--data", str(data), "--out", str(tmp_path / "c"), "--report", str(tmp_path / "f/r.json")]) == 2
    assert "is a file, not a folder" in one_line(capsys, "ingest")


@pytest.mark.parametrize("argv, needle", [(["--workers", "0"], "--workers must be in 1..256"),
                                          (["--workers", "x"], "--workers: invalid int value"),
                                          (["--bogus"], "unrecognized arguments: --bogus"),
                                          (["--track", " "], "--track is empty")])
def test_ingest_bad_flags(tmp_path, data, capsys, argv, needle):
    assert call(ingest.main, ["--data", data, "--out", tmp_path / "c", *argv]) == 2
    assert needle in one_line(capsys, "ingest")


def test_ingest_missing_path(tmp_path, capsys):
    assert ingest.main(["--data", str(tmp_path / "nowhere")]) == 2
    assert one_line(capsys, "ingest").endswith(f"no such file or folder: {tmp_path / 'nowhere'}")


def test_broken_link_and_fifo_in_a_data_folder_get_a_report_line(tmp_path, data, capsys):
    (data / "gone.mid").symlink_to(tmp_path / "nowhere.mid")
    os.mkfifo(data / "pipe.mid")
    assert ingest.main(["--data", str(data), "--out", str(tmp_path / "c")]) == 0
    out = capsys.readouterr().out
    assert f"dropped  {data / 'gone.mid'}: a broken symbolic link" in out
    assert f"dropped  {data / 'pipe.mid'}: not a regular file (a FIFO, socket or device)" in out
    assert "2 kept, 2 dropped (of 4)" in out


# ---------------------------------------------------------------------------- internal errors

@pytest.mark.parametrize("module, argv", [(ingest, ["--data", "{data}", "--out", "{tmp}/c"]),
                                          (evaluate_cmd, ["--model", "none", "--data", "{data}", "--out", "{tmp}/o",
                                               "--cache", "{tmp}/c"])])
def test_internal_error_is_one_line_with_a_traceback_file(tmp_path, data, capsys, monkeypatch, module, argv):
    from jazzgen.data import corpus

    def boom(*a, **k):
        raise RuntimeError("a bug")
    monkeypatch.setattr(corpus, "ingest", boom)          # what the ingest command calls
    monkeypatch.setattr(L, "load_corpus", boom)
    monkeypatch.setattr("tempfile.tempdir", str(tmp_path))
    assert module.main([a.format(data=data, tmp=tmp_path) for a in argv]) == 3
    msg = one_line(capsys, module.PROG.split(".")[1])
    assert "internal error RuntimeError: a bug (traceback in " in msg
    tb = msg.split("(traceback in ")[1].rstrip(")")
    assert "RuntimeError: a bug" in open(tb).read()
