"""Trading fours: the engine (generation/trade.py) and its API on the page (commands/trading.py).

The browser test (test_browser.py) plays a bar in Chromium at 300 bpm; here the parts
are checked one by one: the player's seconds back onto the grid, the answer in its own
bars only and continuing the player's notes, the saved MIDI, the band loop, bad input.
"""
from __future__ import annotations

import io
import wave

import mido
import numpy as np
import pytest
from starlette.testclient import TestClient

from jazzgen.commands import serve
from jazzgen.generation import trade as T
from jazzgen.generation.sample import improvise
from jazzgen.generation.takes import load_stepper
from jazzgen.music.chart import build_chart
from jazzgen.music.notes import GRID, NoteSequence


@pytest.fixture(scope="module")
def stepper(gen_model):
    return load_stepper(gen_model.path)


def session(bpm=160.0, bars=2, **kw) -> T.Trade:
    return T.new_trade(build_chart(form="blues", bpm=bpm), bars, seed=3, **kw)


def eighths(tr: T.Trade, turn: int, pitches, first_id=0) -> list[list]:
    """The player's eighth notes from the downbeat of their turn, as the page sends them."""
    lo = 2 * turn * tr.turn_steps
    steps = lo + np.arange(len(pitches)) * (GRID // 2)
    on, off = tr.seconds(steps), tr.seconds(steps + GRID // 3)
    return [[first_id + i, float(a), float(b), int(p), 90] for i, (a, b, p) in enumerate(zip(on, off, pitches))]


def test_played_seconds_come_back_to_the_grid():
    tr = session(bpm=120.0)                      # auto swing at 120 bpm: off-beats land late
    assert tr.swing > 0.5
    steps = np.arange(0, 96)
    assert np.allclose(tr.steps(tr.seconds(steps)), steps, atol=0.03)        # to the MIDI tick
    T.add_notes(tr, eighths(tr, 0, [60, 62, 64, 65]) + [[9, 0.0, 0.2, 55, 80]])   # a chord on beat 1
    T.add_notes(tr, [[10, float(tr.seconds([30])[0]), None, 70, 90]])           # still held
    line = T.player_line(tr, 0, 48, until=float(tr.seconds([40])[0]))
    assert line.start.tolist() == [0, 6, 12, 18, 30] and line.pitch.tolist() == [60, 62, 64, 65, 70]
    assert int(line.start[-1] + line.duration[-1]) == 40                        # held: to what was heard


def test_the_answer_fills_its_own_bars_and_follows_the_player(stepper):
    tr = session(bars=2)
    T.add_notes(tr, eighths(tr, 0, [72, 74, 76, 77, 79, 77, 76, 74] * 2))
    a = T.answer(stepper, tr, 0)
    lo, hi = tr.turn_steps, 2 * tr.turn_steps
    assert len(a) and lo <= a.start.min() and (a.start + a.duration).max() <= hi
    assert T.answer(stepper, tr, 0).pitch.tolist() == a.pitch.tolist()         # same seed, same answer
    other = session(bars=2)
    T.add_notes(other, eighths(other, 0, [40, 41, 43, 45, 47, 48, 50, 52] * 2))
    assert T.answer(stepper, other, 0).pitch.tolist() != a.pitch.tolist()      # the player's bars count
    later = T.answer(stepper, tr, 5)                                              # a turn with no notes
    assert (later.start >= 11 * tr.turn_steps).all() and (later.start < 12 * tr.turn_steps).all()


def test_improvise_resumes_at_a_bar_line_after_silence(stepper):
    chart = build_chart(form="blues")
    timeline = chart.timeline(4 * chart.bar_steps)
    primer = NoteSequence([60], [0], [6], [90], end=2 * chart.bar_steps)
    solo = improvise(stepper, timeline, primer=primer, seed=1, resume_at=2 * chart.bar_steps)[0]
    assert solo.start[0] == 0 and solo.start[1] >= 2 * chart.bar_steps         # nothing in the rest


def test_the_saved_session_has_both_voices_and_no_hanging_notes(stepper, tmp_path):
    from music21 import converter
    tr = session(bars=1)
    T.add_notes(tr, eighths(tr, 0, [60, 64, 67]) + [[50, float(tr.seconds([60])[0]), None, 72, 90]])
    for turn in range(2):
        T.answer(stepper, tr, turn)
    T.add_notes(tr, eighths(tr, 2, [65, 69], first_id=100))
    path = tmp_path / "s.mid"
    T.session_midi(tr, path)
    names = {}
    for track in mido.MidiFile(path).tracks:
        on = set()
        for m in track:
            if m.type == "note_on" and m.velocity:
                on.add(m.note)
                names[track.name] = names.get(track.name, 0) + 1
            elif m.type in ("note_on", "note_off"):
                on.discard(m.note)
        assert not on, track.name
    assert names["You"] == 6 and sum(names.values()) - 6 == sum(len(a) for a in tr.answers.values())
    assert len(converter.parse(str(path)).parts) == 2


def test_bad_notes_are_one_line_errors():
    tr = session()
    for bad in ([[1, 2]], [[1, -1.0, None, 60, 90]], [[1, 1.0, 0.5, 60, 90]], [[1, 0, 1, 200, 90]],
                [[1, "0", 1, 60, 90]], [[1, 0, 1, True, 90]], "notes"):
        with pytest.raises(T.UsageError) as e:
            T.add_notes(tr, bad)
        assert "\n" not in str(e.value)
    with pytest.raises(T.UsageError, match="bars must be one of 1, 2, 4, 8"):
        session(bars=3)


@pytest.fixture(scope="module")
def client(stepper):
    app = serve.create_app(stepper, "test-model")
    with TestClient(app, base_url="http://127.0.0.1:8000") as c:   # the guard answers its own Host only
        yield c
    assert app.state.internal_errors == 0


def test_a_session_over_the_api(client):
    r = client.post("/api/trade", json={"chords": "Dm7 G7 | Cmaj7 |", "bpm": 200, "bars": 1, "seed": 2})
    assert r.status_code == 200, r.text
    s = r.json()
    assert s["bar_seconds"] == pytest.approx(1.2) and s["bars"] == 1 and s["answer_ms"] > 0
    assert s["loop"] == pytest.approx([4 * 1.2 * 2, 8 * 1.2 * 2])            # 2-bar chorus x4: 8-bar loops
    with wave.open(io.BytesIO(client.get(s["band"]).content)) as w:
        assert w.getnframes() / w.getframerate() == pytest.approx(s["loop"][1], abs=0.01)
    notes = [[k, 0.3 * k, 0.3 * k + 0.2, 60 + k, 90] for k in range(4)]
    a = client.post(f"/api/trade/{s['id']}/answer", json={"turn": 0, "notes": notes, "heard": 1.15}).json()
    assert a["start"] == pytest.approx(1.2) and a["notes"]
    assert all(1.2 - 1e-6 <= on < off <= 2.4 + 1e-6 for on, off, _, _ in a["notes"])
    assert client.post(f"/api/trade/{s['id']}/notes", json={"notes": [[9, 1.3, 1.5, 70, 80]]}).json() == {"notes": 5}
    m = client.get(s["mid"])
    assert m.status_code == 200 and m.headers["content-type"] == "audio/midi"


@pytest.mark.parametrize("path, body, status, words", [
    ("/api/trade", {"form": "blues", "bpm": 400}, 400, "bpm must be in 40..320 for trading"),
    ("/api/trade", {"form": "blues", "bars": 3}, 400, "bars must be one of 1, 2, 4, 8"),
    ("/api/trade", {"form": "blues", "bars": "4"}, 400, "bars must be an integer"),
    ("/api/trade", {"chords": "Dm7 | Xz9 |"}, 400, "bar 2"),
    ("/api/trade", {"form": "blues", "tempo": 3}, 400, "unknown field 'tempo'"),
    ("/api/trade/0123456789abcdef/answer", {"turn": 0}, 404, "no such trading session"),
    ("/api/trade/nothex/answer", {"turn": 0}, 404, "no such trading session"),
])
def test_bad_requests_are_one_line_4xx(client, path, body, status, words):
    r = client.post(path, json=body)
    assert r.status_code == status and words in r.json()["error"] and "\n" not in r.json()["error"]


def test_bad_turns_are_one_line_400s(client):
    sid = client.post("/api/trade", json={"form": "blues", "bars": 1, "seed": 1}).json()["id"]
    for body, words in (({"turn": "1"}, "turn must be an integer"), ({"turn": -1}, "turn must be in"),
                        ({"turn": 0, "heard": "x"}, "heard must be seconds"), ({"turn": 0, "who": 1}, "unknown field"),
                        ({"turn": 0, "notes": {"a": 1}}, "notes must be a list"), ([1, 2], "JSON object")):
        r = client.post(f"/api/trade/{sid}/answer", json=body)
        assert r.status_code == 400 and words in r.json()["error"], (body, r.text)
    r = client.post(f"/api/trade/{sid}/answer", content=b"{" * (serve.MAX_BODY + 1),
                    headers={"content-type": "application/json"})
    assert r.status_code == 413
