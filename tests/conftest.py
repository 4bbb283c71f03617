"""What every test file shares: the paths (from jazzgen.paths), the subprocess environment,
the one MIDI builder (Track + midi_bytes / save_midi: every test that writes a MIDI file with
mido writes it here), random-walk solos, a model to generate with.

The generate tests use the shipped model (models/wjazzd/model.keras) when it exists,
and otherwise a tiny model trained once per session on 12 WJazzD files (a few
seconds).  JAZZGEN_TEST_TINY_MODEL=1 forces the tiny one; JAZZGEN_TEST_MODEL=DIR
tests another fully trained model folder as if it were the shipped one.
"""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from jazzgen.paths import SHIPPED_MODEL, WJAZZD

ROOT = Path(__file__).resolve().parents[1]

TPQ = 480

# ii-V-I in C, one chord a bar (4/4), then the tonic again
II_V_I = ["Dm7", "G7", "Cmaj7", "Cmaj7"]
C_MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])


def subprocess_env(**extra) -> dict:
    """The environment for `python -m jazzgen.*` children (the installed package): TF quiet."""
    env = dict(os.environ)
    env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    env.setdefault("OMP_NUM_THREADS", "1")   # tiny models: torch's thread pool costs more than it gives
    env["PYTHONHASHSEED"] = "0"
    env.update({k: str(v) for k, v in extra.items()})
    return env


def run_module(module: str, args, cwd, timeout: float = 300, **env) -> subprocess.CompletedProcess:
    """`python -m module args...` in `cwd`, text output captured."""
    return subprocess.run([sys.executable, "-m", module, *map(str, args)], cwd=str(cwd), env=subprocess_env(**env),
                          capture_output=True, text=True, timeout=timeout)


# ---------------------------------------------------------------------------- the one MIDI builder

@dataclass
class Track:
    """One MIDI track to build, times in beats (floats fine).

    notes: (pitch, start, length[, velocity]); a length of None writes the note-on only (a note
    that never ends).  tempo (qpm), meter ((num, den)) and key (mido's name, "Eb", "F#m") take
    one value for beat 0 or a list of (beat, value...) changes; markers and texts are
    (beat, text) marker / text meta events; events is (beat, mido message) for anything else
    (an absurd tempo, a stray controller); end puts the end of the track at that beat.
    """
    notes: Sequence = ()
    name: str | None = None
    channel: int = 0
    program: int | None = None
    velocity: int = 90
    tempo: float | Sequence | None = None
    meter: tuple | list | None = None
    key: str | Sequence | None = None
    markers: Sequence = ()
    texts: Sequence = ()
    events: Sequence = ()
    end: float | None = None


def _changes(value, single) -> list[tuple]:
    """A single value (at beat 0) or a list of (beat, value...) changes, as (beat, value...) tuples."""
    if value is None:
        return []
    if single(value):
        return [(0, *value)] if isinstance(value, tuple) else [(0, value)]
    return [tuple(v) for v in value]


def _track_events(track: Track) -> list[tuple[float, int, object]]:
    """(beat, order, message): at one tick the data set's order, meta first, note-offs before note-ons."""
    from mido import Message, MetaMessage
    ev = [(0, 0, MetaMessage("track_name", name=track.name))] if track.name is not None else []
    ev += [(b, 1, MetaMessage("time_signature", numerator=n, denominator=d))
           for b, n, d in _changes(track.meter, lambda v: isinstance(v, tuple) and isinstance(v[0], int))]
    ev += [(b, 2, MetaMessage("key_signature", key=k)) for b, k in _changes(track.key, lambda v: isinstance(v, str))]
    ev += [(b, 3, MetaMessage("set_tempo", tempo=int(round(6e7 / q))))
           for b, q in _changes(track.tempo, lambda v: isinstance(v, (int, float)))]
    ev += [(b, 4, MetaMessage("marker", text=s)) for b, s in track.markers]
    ev += [(b, 4, MetaMessage("text", text=s)) for b, s in track.texts]
    if track.program is not None:
        ev.append((0, 5, Message("program_change", channel=track.channel, program=track.program)))
    ev += [(b, 5, m) for b, m in track.events]
    for p, s, d, *v in track.notes:
        vel = int(v[0]) if v else track.velocity
        ev.append((s, 7, Message("note_on", channel=track.channel, note=int(p), velocity=vel)))
        if d is not None:
            ev.append((s + d, 6, Message("note_off", channel=track.channel, note=int(p), velocity=0)))
    return ev


def midi_bytes(*tracks: Track, tpq: int = TPQ, fmt: int = 1) -> bytes:
    """A standard MIDI file (type fmt, tpq ticks per beat) of the tracks, built with mido.

    Type 0 (fmt=0) merges the tracks into the one track such a file has, their channels kept.
    """
    import mido
    mf = mido.MidiFile(type=fmt, ticks_per_beat=tpq)
    for group in ([tracks] if fmt == 0 else [[t] for t in tracks]):
        tr, now = mido.MidiTrack(), 0
        ticked = [(int(round(b * tpq)), o, m) for track in group for b, o, m in _track_events(track)]
        for t, _, msg in sorted(ticked, key=lambda e: (e[0], e[1])):
            tr.append(msg.copy(time=t - now))
            now = t
        end = max([now] + [int(round(t.end * tpq)) for t in group if t.end is not None])
        tr.append(mido.MetaMessage("end_of_track", time=end - now))
        mf.tracks.append(tr)
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def save_midi(path, *tracks: Track, tpq: int = TPQ, fmt: int = 1) -> Path:
    """midi_bytes written to path (its folder made)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(midi_bytes(*tracks, tpq=tpq, fmt=fmt))
    return path


def write_solo_midi(path, notes, chords, qpm: float = 120.0, melody_name: str = "Melody") -> Path:
    """A type-1 file like the WJazzD ones: one melody track in 4/4 with chord markers.

    notes: (pitch, start beat, length in beats); chords: (beat, symbol).
    """
    return save_midi(path, Track(notes, name=melody_name, meter=(4, 4), tempo=qpm, markers=chords))


def random_walk_solo(seed: int, bars: int = 16):
    """(notes, chords) of a random walk on the C major scale over a looped ii-V-I."""
    rng = np.random.default_rng(seed)
    chords = [(4 * i, II_V_I[i % len(II_V_I)]) for i in range(bars)]
    notes, t, deg = [], 0.0, 7 + int(rng.integers(0, 7))   # scale degree index, octave 5ish
    while t < 4 * bars:
        d = float(rng.choice([0.5, 0.5, 0.5, 1.0, 1.5]))
        d = min(d, 4 * bars - t)
        if rng.random() < 0.12:          # a rest
            t += d
            continue
        deg = int(np.clip(deg + rng.choice([-2, -1, 1, 1, 2]), 3, 17))
        notes.append((48 + 12 * (deg // 7) + C_MAJOR[deg % 7], t, d))
        t += d
    return notes, chords


def write_walks(folder, n: int = 6, wjazzd: int = 0) -> Path:
    """n random-walk solos walk0..walk{n-1}.mid in folder; the last `wjazzd` of them in a wjazzd/
    subfolder (where the licence of the bundled corpus applies)."""
    folder = Path(folder)
    for i in range(n):
        write_solo_midi(folder / ("wjazzd" if i >= n - wjazzd else "") / f"walk{i}.mid", *random_walk_solo(i))
    return folder


@pytest.fixture
def solo_folder(tmp_path):
    """Six small ii-V-I random-walk solos as MIDI files in tmp_path/data."""
    return write_walks(tmp_path / "data")


# ---------------------------------------------------------------------------- a model to generate with

@dataclass
class GenModel:
    path: Path        # the model folder to pass as --model
    shipped: bool     # True: models/wjazzd; False: the tiny session model


def _tiny_model(base: Path) -> Path:
    from jazzgen.model.spec import ModelConfig
    from jazzgen.model.training import OptimizerConfig, TrainConfig, train
    files = sorted(WJAZZD.glob("*.mid"))
    assert len(files) >= 12, f"WJazzD MIDI files not found under {WJAZZD}"
    data = base / "wjazzd12"
    data.mkdir()
    for f in files[:: max(1, len(files) // 12)][:12]:      # spread over the players
        shutil.copy(f, data / f.name)
    cfg = TrainConfig(data=str(data), out=str(base / "models"), name="tiny", cache=str(base / "cache"),
                      epochs=3, model=ModelConfig(layers=1, units=32, dropout=0.1), seq_len=64, batch_size=32,
                      optimizer=OptimizerConfig(lr=1e-2), patience=10)
    train(cfg, progress=False)
    return cfg.model_dir


def _usable(model_dir: Path) -> bool:
    """False for a shipped model this jazzgen cannot run (one from before dynamics, awaiting its retrain)."""
    from jazzgen.errors import ModelError
    from jazzgen.model.folder import load_vocab
    try:
        return load_vocab(model_dir) is not None
    except ModelError:
        return False


@pytest.fixture(scope="session")
def gen_model(tmp_path_factory) -> GenModel:
    """The shipped model if present and current, else a tiny one trained once per session."""
    if os.environ.get("JAZZGEN_TEST_MODEL"):
        return GenModel(Path(os.environ["JAZZGEN_TEST_MODEL"]), True)
    if (SHIPPED_MODEL / "model.keras").is_file() and os.environ.get("JAZZGEN_TEST_TINY_MODEL") != "1" \
            and _usable(SHIPPED_MODEL):
        return GenModel(SHIPPED_MODEL, True)
    return GenModel(_tiny_model(tmp_path_factory.mktemp("genmodel")), False)


# A 12-bar Bb blues with altered and slash chords: the chart the band and render tests share.
BLUES = ["Bb7", "Eb7", "Bb7", "Fm7/Bb", "Eb7", "Edim7", "Bb7", "G7alt", "Cm7", "F7", "Bb7", "F7"]


def blues_chart(qpm: float = 160.0, symbols=BLUES, end: int | None = None):
    """A chord a bar in 4/4 and a few solo notes, as a NoteSequence."""
    from jazzgen.music.notes import GRID, ChordChange, NoteSequence, Tempo, TimeSignature
    bar = 4 * GRID
    chords = [ChordChange(i * bar, s) for i, s in enumerate(symbols)]
    start = np.array([0, 12, 18, 30, 48, 96, 150, 200, 300, 420, 500])
    dur = np.array([12, 6, 12, 18, 24, 30, 20, 40, 60, 36, 30])
    pitch = np.array([70, 72, 74, 77, 75, 70, 68, 67, 72, 74, 70])
    return NoteSequence(pitch, start, dur, np.full(len(start), 90), chords=chords,
                        tempos=[Tempo(0, qpm)], time_signatures=[TimeSignature(0, 4, 4)],
                        end=end or len(symbols) * bar, name="blues")


def wjazzd_file(name: str) -> Path:
    """A file of the bundled corpus (midi/wjazzd), which the tests read and never write."""
    path = WJAZZD / name
    assert path.is_file(), f"bundled corpus file missing: {path}"
    return path


@pytest.fixture
def served(gen_model):
    """`python -m jazzgen.serve --port 0` on the test model, as a user starts it; yields its URL."""
    import re
    p = subprocess.Popen([sys.executable, "-m", "jazzgen.serve", "--port", "0", "--model", str(gen_model.path)],
                         cwd=ROOT, env=subprocess_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        line = p.stdout.readline()
        url = re.search(r"http://127\.0\.0\.1:\d+/", line)
        assert url, f"the server printed no URL: {line!r} {p.stderr.read() if p.poll() is not None else ''}"
        yield url.group(0)
    finally:
        p.terminate()
        p.wait(timeout=30)


# ---------------------------------------------------------------------------- the page's app
LOCAL = "http://127.0.0.1:8000"     # the address the app answers (guard.py refuses other Host names)


@pytest.fixture(scope="module")
def stepper(gen_model):
    """The generation test model's stepper (a module may define its own)."""
    from jazzgen.generation.takes import load_stepper
    return load_stepper(gen_model.path)


@pytest.fixture(scope="module")
def client(stepper):
    """The page's app over that stepper, as a test client at the address it answers; no request
    may have ended in an internal error."""
    from starlette.testclient import TestClient

    from jazzgen.commands import serve
    app = serve.create_app(stepper, "test-model")
    with TestClient(app, base_url=LOCAL) as c:
        yield c
    assert app.state.internal_errors == 0
