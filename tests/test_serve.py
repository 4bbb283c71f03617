"""The web API of python -m jazzgen.serve, through Starlette's test client.

Every bad input must come back as a 4xx with a one-line JSON error and never reach
the catch-all handler (the client re-raises any exception that does, and the app
counts them); files are reached by take id only; the store stays bounded.
"""
from __future__ import annotations

import asyncio
import base64
import json
import re
import threading
import wave
from io import BytesIO

import pytest
from starlette.testclient import TestClient

from conftest import LOCAL, ROOT, run_module
from jazzgen.commands import serve

CHART = "Dm7 G7 | Cmaj7 |"


@pytest.fixture(scope="module")
def take(client):
    r = client.post("/api/generate", json={"chords": CHART, "seconds": 8, "seed": 7, "bpm": 120})
    assert r.status_code == 200, r.text
    return r.json()


def test_generate_returns_a_take_to_draw(take):
    assert re.fullmatch(r"[0-9a-f]{16}", take["id"])
    assert take["seed"] == 7 and take["seconds"] == 8 and take["bpm"] == 120
    roll = take["roll"]
    assert roll["length"] == pytest.approx(8.0, abs=0.01)          # 16 beats at 120 bpm
    assert roll["bars"] == pytest.approx([0, 2, 4, 6])
    assert [c[1] for c in roll["chords"]] == ["Dm7", "G7", "Cmaj7"] * 2   # the chart, looped
    names = {t["name"]: t["notes"] for t in roll["tracks"]}
    assert set(names) == {"solo", "piano", "bass"}
    for notes in names.values():
        assert notes and all(0 <= on < off <= roll["length"] + 1e-6 and 0 <= p <= 127 for on, off, p in notes)


def test_files_are_the_ones_the_command_writes(client, take, gen_model, tmp_path):
    """Same chart, config and seed through the page and through generate: the same MIDI bytes."""
    mid = client.get(take["files"]["mid"])
    assert mid.status_code == 200 and mid.headers["content-type"] == "audio/midi"
    run_module("jazzgen.generate", ["--model", str(gen_model.path), "--chords", CHART, "--seconds", "8",
                                    "--seed", "7", "--bpm", "120", "--out", str(tmp_path)], cwd=ROOT)
    assert (tmp_path / f"{take['name']}.mid").read_bytes() == mid.content


def test_notation_is_the_lead_sheet_engraved(client, take):
    xml = client.get(take["files"]["musicxml"]).text
    svg = client.get(take["files"]["svg"])
    assert svg.status_code == 200 and svg.headers["content-type"].startswith("image/svg+xml")
    assert len(re.findall(r'data-class="measure"', svg.text)) == len(take["roll"]["bars"])
    assert len(re.findall(r'data-class="note"', svg.text)) == xml.count("<pitch>") > 0
    assert len(re.findall(r'data-class="harm"', svg.text)) == len(take["roll"]["chords"])


def test_wav_and_musicxml_downloads(client, take):
    wav = client.get(take["files"]["wav"])
    assert wav.status_code == 200 and wav.headers["content-type"] == "audio/wav"
    with wave.open(BytesIO(wav.content)) as w:
        assert w.getnchannels() == 2 and w.getnframes() / w.getframerate() >= 8.0
    part = client.get(take["files"]["wav"], headers={"Range": "bytes=0-99"})   # the audio element seeks so
    assert part.status_code == 206 and len(part.content) == 100
    xml = client.get(take["files"]["musicxml"])
    assert xml.status_code == 200 and b"<score-partwise" in xml.content
    assert f'filename="{take["name"]}.musicxml"' in xml.headers["content-disposition"]


def test_forms_models_and_the_session_list(client, take):
    forms = client.get("/api/forms").json()
    assert "blues" in forms["forms"] and forms["bands"] == ["none", "bass", "trio"]
    [model] = client.get("/api/models").json()["models"]
    assert model["name"] == "test-model" and model["loaded"] and len(model["performers"]) > 10
    second = client.post("/api/generate", json={"form": "minor-blues", "key": "Dm", "seconds": 2}).json()
    listed = client.get("/api/takes").json()["takes"]
    assert [t["id"] for t in listed[:2]] == [second["id"], take["id"]]      # newest first
    assert listed[0]["chart"] == "minor-blues in Dm" and second["roll"]["chords"][0][1] == "Dm7"
    again = client.get(f"/api/takes/{take['id']}").json()
    assert again["roll"] == take["roll"] and again["files"] == take["files"]


def test_a_chart_file_pasted_or_uploaded(client):
    """The `chart` field: a playlist's text with a `tune`, or a file as a data: URL (.mxl too),
    at the chart's own tempo unless `bpm` is given; the take list names the tune."""
    charts = ROOT / "tests" / "data" / "charts"
    r = client.post("/api/generate", json={"chart": (charts / "jazzgen-tests.html").read_text(),
                                           "tune": "test blues", "seconds": 4, "seed": 1})
    assert r.status_code == 200, r.text
    take = r.json()
    assert take["bpm"] == 140 and take["chart"] == "Jazzgen Test Blues"
    assert [c[1] for c in take["roll"]["chords"][:3]] == ["C7", "F7", "C7"]
    mxl = base64.b64encode((charts / "Joshua_Fit_the_Battle_of_Jericho.mxl").read_bytes()).decode()
    r = client.post("/api/generate", json={"chart": "data:application/octet-stream;base64," + mxl, "seconds": 3,
                                           "bpm": 100})
    assert r.status_code == 200 and r.json()["bpm"] == 100 and r.json()["roll"]["chords"][0][1] == "Dm", r.text
    waltz = client.post("/api/generate", json={"chart": (charts / "Contemplation.ls").read_text(), "seconds": 6})
    assert waltz.status_code == 200 and waltz.json()["roll"]["bars"][:3] == pytest.approx([0, 2.25, 4.5])


def test_the_page_and_its_files_are_served(client):
    page = client.get("/")
    assert page.status_code == 200 and "<canvas" in page.text
    for src in re.findall(r'(?:src|href)="(/static/[^"]+)"', page.text):
        assert client.get(src).status_code == 200, src
    assert not re.search(r'(?:src|href)="(?:https?:)?//', page.text)           # nothing from a CDN


BAD = [
    (b"{", 400, "not JSON"),
    (b"", 400, "not JSON"),
    (b"\xff\xfe", 400, "not JSON"),
    (b"[1, 2]", 400, "JSON object"),
    (b"[" * 5000 + b"]" * 5000, 400, "not JSON"),
    (b'{"seconds": 1' + b"0" * 5000 + b"}", 400, "not JSON"),
    (b'{"seconds": 1e400}', 400, "finite"),
    (b'{"seconds": NaN}', 400, "finite"),
    (b'{"seed": 99999999999999999999999}', 400, "2^63"),
    (b'{"charts": "C7"}', 400, "unknown field"),
    (b'{"chart": 7}', 400, "chart must be a chart file's text"),
    (b'{"chart": "C7", "chords": "C7"}', 400, "give one of chords, chart or form"),
    (b'{"chart": "data:;base64,%%%"}', 400, "chart: the data: URL's base64 does not decode"),
    (b'{"chart": "irealbook://Bad=Me=Swing=C=n=[T44C |D-7#3 Z"}', 400, "chart: tune 'Bad', bar 2: unknown chord"),
    (b'{"chart": "(title X)(meter 4 4)(part (type chords)) C7 | Xyz"}', 400, "chart: tune 'X', bar 2"),
    (b'{"chart": "<score-partwise/>"}', 400, "chart: tune 'untitled': no chord symbols"),
    (b'{"chart": "irealbook://A=M=S=C=n=C7 |===B=M=S=C=n=F7 |===two"}', 400, "holds 2 tunes ('A', 'B')"),
    (b'{"chart": "irealbook://A=M=S=C=n=C7 |", "tune": "Zz"}', 400, "tune 'Zz': no such tune in the chart"),
    (b'{"tune": "A"}', 400, "tune picks a tune of a chart file"),
    (b'{"seconds": "30"}', 400, "seconds must be a number"),
    (b'{"chords": 7}', 400, "chords must be a string"),
    (b'{"seed": 1.5}', 400, "seed must be an integer"),
    (b'{"instrument": true}', 400, "instrument must be an integer"),
    (b'{"seconds": 121}', 400, "seconds must be in (0, 120]"),
    (b'{"seconds": 0}', 400, "seconds must be in"),
    (b'{"chords": "Dm7 G7 | Cmaj7 | Xq7 |"}', 400, "bar 3"),
    (b'{"chords": "   "}', 400, "empty chord changes"),
    (b'{"chords": "C7", "form": "blues"}', 400, "not both"),
    (b'{"chords": "C7", "key": "F"}', 400, "transposes a form"),
    (b'{"form": "bossa"}', 400, "unknown form"),
    (b'{"form": "blues", "key": "H"}', 400, "unknown key"),
    (b'{"bpm": 1000}', 400, "bpm must be in"),
    (b'{"swing": 2}', 400, "swing must be"),
    (b'{"temperature": 0}', 400, "temperature must be"),
    (b'{"top_p": 0}', 400, "top_p must be in (0, 1]"),
    (b'{"top_k": -1}', 400, "top_k must be"),
    (b'{"min_p": 1}', 400, "min_p must be in [0, 1)"),
    (b'{"band": "quartet"}', 400, "band"),
    (b'{"instrument": 200}', 400, "instrument"),
    (b'{"seed": -1}', 400, "seed must be in 0..2^63-1"),
    (b'{"meter": "3/5"}', 400, "denominator"),
    (b'{"meter": 3}', 400, "meter must be a string"),
    (b'{"chords": "' + b"C7 | " * (serve.MAX_BODY // 5) + b'"}', 413, f"over {serve.MAX_BODY} bytes"),
]


@pytest.mark.parametrize("body, status, needle", BAD, ids=[b[:30].decode("latin1") for b, _, _ in BAD])
def test_bad_input_is_a_one_line_4xx(client, body, status, needle):
    before = client.get("/api/takes").json()["takes"]
    r = client.post("/api/generate", content=body, headers={"Content-Type": "application/json"})
    assert r.status_code == status, r.text
    msg = r.json()["error"]
    assert needle in msg and "\n" not in msg and "Traceback" not in msg
    assert not re.search(r"--[a-z]", msg), msg                                  # fields, not the command's flags
    assert client.get("/api/takes").json()["takes"] == before                  # nothing else changed
    assert client.app.state.internal_errors == 0


def test_a_bad_chord_names_its_bar_and_kind(client):
    r = client.post("/api/generate", json={"chords": "Dm7 G7 | Cmaj7 Qb9 |"})
    assert r.status_code == 400 and r.json()["kind"] == "ChordError"
    assert r.json()["error"].startswith("bar 2: ") and "Qb9" in r.json()["error"]


def test_a_file_error_names_no_server_path(client):
    """'CΔ7' reads as a chord but cannot be written as a latin-1 MIDI marker (yet): a 400 without paths."""
    r = client.post("/api/generate", json={"chords": "CΔ7 | Dm7 |", "seconds": 2})
    assert r.status_code in (200, 400)
    assert str(client.app.state.store.root) not in r.text


def test_a_lying_content_length_is_refused(client):
    r = client.post("/api/generate", content=b"{}", headers={"Content-Length": "999999999",
                                                             "Content-Type": "application/json"})
    assert r.status_code == 413


@pytest.mark.parametrize("path", [
    "/api/takes/..%2F..%2Fetc%2Fpasswd/wav", "/api/takes/../../etc/passwd", "/api/takes/0123456789abcdef/wav",
    "/api/takes/0123456789ABCDEF", "/api/takes/%00/mid", "/api/takes/" + "a" * 5000 + "/wav", "/nowhere",
])
def test_unknown_takes_and_paths_are_404(client, path):
    r = client.get(path)
    assert r.status_code == 404 and "\n" not in r.json()["error"]


def test_only_the_three_formats_of_a_known_take(client, take):
    for fmt in ("png", "py", "mid.bak", "%2e%2e%2fetc", "..%2f..%2fserve.py"):
        assert client.get(f"/api/takes/{take['id']}/{fmt}").status_code == 404
    assert client.post(f"/api/takes/{take['id']}/wav", json={}).status_code == 405
    assert client.get("/api/generate").status_code == 405


def test_the_store_keeps_the_last_takes_only(stepper, tmp_path):
    store = serve.TakeStore(capacity=3, root=tmp_path)
    with TestClient(serve.create_app(stepper, store=store), base_url=LOCAL) as c:
        ids = [c.post("/api/generate", json={"chords": "C7", "seconds": 1}).json()["id"] for _ in range(5)]
        assert [t["id"] for t in c.get("/api/takes").json()["takes"]] == ids[:1:-1]
        assert c.get(f"/api/takes/{ids[0]}/mid").status_code == 404
        assert c.get(f"/api/takes/{ids[-1]}/mid").status_code == 200
        assert sorted(p.name for p in store.root.iterdir()) == sorted(ids[2:])
    assert not store.root.exists()                                           # gone when the server stops


def test_a_download_in_flight_keeps_its_files_past_eviction(stepper, tmp_path):
    store = serve.TakeStore(capacity=1, root=tmp_path)
    with TestClient(serve.create_app(stepper, store=store), base_url=LOCAL) as c:
        first = c.post("/api/generate", json={"chords": "C7", "seconds": 1}).json()["id"]
        entry, path = store.checkout(first, "wav")                         # as a response being sent
        c.post("/api/generate", json={"chords": "F7", "seconds": 1})
        assert c.get(f"/api/takes/{first}").status_code == 404 and path.exists()
        store.release(entry)
        assert not entry.folder.exists()


def test_generation_runs_off_the_event_loop(stepper, monkeypatch):
    """A take being made must not hold up the server: another request is answered meanwhile."""
    answered, seen = threading.Event(), {}
    real = serve.make_takes

    def slow(*a, **k):
        try:
            asyncio.get_running_loop()
            seen["on_loop"] = True
        except RuntimeError:
            seen["on_loop"] = False
        seen["other_answered"] = answered.wait(timeout=30)   # only a guard against hanging the test
        return real(*a, **k)

    monkeypatch.setattr(serve, "make_takes", slow)
    with TestClient(serve.create_app(stepper), base_url=LOCAL) as c:
        result = {}
        t = threading.Thread(target=lambda: result.update(r=c.post("/api/generate", json={"seconds": 1})))
        t.start()
        assert c.get("/api/forms").status_code == 200
        answered.set()
        t.join()
    assert result["r"].status_code == 200 and seen == {"on_loop": False, "other_answered": True}


def test_a_real_bug_is_a_generic_500_logged_on_the_server(stepper, monkeypatch, caplog):
    def broken(*a, **k):
        raise RuntimeError("a bug\nwith two lines")

    monkeypatch.setattr(serve, "make_takes", broken)
    app = serve.create_app(stepper)
    with TestClient(app, raise_server_exceptions=False, base_url=LOCAL) as c:
        r = c.post("/api/generate", json={"chords": CHART})
    assert r.status_code == 500
    assert r.json() == {"error": "internal error; the traceback is in the server's log"}
    assert app.state.internal_errors == 1
    assert "RuntimeError: a bug" in caplog.text and "Traceback" in caplog.text


def test_the_command_serves_on_loopback_and_prints_the_url(served):
    import urllib.request
    with urllib.request.urlopen(served + "api/forms", timeout=30) as r:
        assert "blues" in json.load(r)["forms"]


def test_command_line_errors_are_one_line(tmp_path):
    r = run_module("jazzgen.serve", ["--model", str(tmp_path / "none")], cwd=ROOT)
    assert r.returncode == 2 and r.stderr.count("\n") == 1 and "no model folder" in r.stderr


def test_a_take_in_three_four(client):
    r = client.post("/api/generate", json={"form": "waltz", "meter": "3/4", "seconds": 6, "seed": 2})
    assert r.status_code == 200, r.text
    import mido
    mid = client.get(r.json()["files"]["mid"])
    sigs = [m for t in mido.MidiFile(file=BytesIO(mid.content)).tracks for m in t if m.type == "time_signature"]
    assert [(m.numerator, m.denominator) for m in sigs] == [(3, 4)]


def test_play_like_a_performer_and_auto_swing(client):
    performers = client.get("/api/models").json()["models"][0]["performers"]
    assert "ChetBaker" in performers
    r = client.post("/api/generate", json={"form": "blues", "seconds": 4, "seed": 3, "like": "chet baker",
                                           "swing": None, "bpm": 120})
    assert r.status_code == 200, r.text
    from jazzgen.music.timing import swing_at_tempo
    assert r.json()["swing"] == pytest.approx(swing_at_tempo(120)) and r.json()["like"] == "ChetBaker"
    bad = client.post("/api/generate", json={"form": "blues", "seconds": 4, "like": "Nobody"})
    assert bad.status_code == 400 and "Nobody" in bad.json()["error"]


def test_takes_made_in_worker_processes_are_the_same_files(stepper, tmp_path):
    """The command makes takes in forked workers (the synthesizer holds the GIL): same bytes."""
    body = {"chords": CHART, "seconds": 4, "seed": 9, "swing": 0.5}
    got = {}
    for workers in (0, 2):
        with TestClient(serve.create_app(stepper, workers=workers), base_url=LOCAL) as c:
            r = c.post("/api/generate", json=body)
            assert r.status_code == 200, r.text
            got[workers] = c.get(r.json()["files"]["mid"]).content, c.get(r.json()["files"]["wav"]).content
            bad = c.post("/api/generate", json={**body, "like": "Nobody"})   # an error raised in the worker
            assert bad.status_code == 400 and "Nobody" in bad.json()["error"]
            assert len(c.get("/api/takes").json()["takes"]) == 1             # the failed one left nothing
    assert got[0] == got[2]
