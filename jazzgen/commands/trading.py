"""The page's trading API (mounted by ``serve.create_app``): the band, the turns, the save.

- ``POST /api/trade`` with the generate fields (chart, tempo, band, sampling...) and
  ``bars`` (1, 2, 4 or 8 a turn): a session, its ``id``, bar and loop times, band audio URL;
- ``POST /api/trade/{id}/answer`` ``{"turn": k, "notes": [...], "heard": s}``: jazzgen's
  bars after the player's turn k, ``notes`` as ``[on, off, pitch, velocity]`` in seconds;
- ``POST /api/trade/{id}/notes`` ``{"notes": [...]}``: notes played after the last ask;
- ``GET /api/trade/{id}/band``, ``GET /api/trade/{id}/mid``: the band loop (WAV), and
  the session so far as one MIDI file with both voices.

A note is ``[id, on, off, pitch, velocity]``: the page's own id, seconds from the band's
first downbeat, ``off`` null while the key is held.  ``heard`` is the session second up
to which the page has heard the player when it asks (a note still held counts to there).
The answer is generated from the player's bars alone (``generation.trade``) and only for
its N bars, so its latency does not grow with the session; it runs in a thread of this
process (the session's state lives here), one answer per session at a time.
"""
from __future__ import annotations

import json
import re
import secrets
import shutil
import threading
import time
import wave
from collections import OrderedDict
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from starlette.concurrency import run_in_threadpool
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import Route

from jazzgen.errors import UsageError
from jazzgen.generation import trade as T
from jazzgen.generation.sample import Stepper
from jazzgen.util import atomic_write

MAX_SESSIONS = 8              # sessions kept; the oldest one's files go
MIN_BPM, MAX_BPM = 40.0, 320.0   # tempos the trading page offers
SESSION_ID = re.compile(r"[0-9a-f]{16}")


@dataclass
class Session:
    trade: T.Trade
    folder: Path
    loop: tuple[float, float]
    answer_ms: float
    lock: threading.Lock = field(default_factory=threading.Lock)


class Sessions:
    """The last MAX_SESSIONS trading sessions, each with a folder for its band and MIDI."""

    def __init__(self, root: Path):
        self.root = root
        self._all: OrderedDict[str, Session] = OrderedDict()
        self._lock = threading.Lock()

    def add(self, session: Session) -> str:
        sid = session.folder.name
        with self._lock:
            self._all[sid] = session
            old = [self._all.popitem(last=False)[1] for _ in range(len(self._all) - MAX_SESSIONS)]
        for s in old:
            shutil.rmtree(s.folder, ignore_errors=True)
        return sid

    def get(self, sid: str) -> Session | None:
        with self._lock:
            return self._all.get(sid) if SESSION_ID.fullmatch(sid) else None


def _json_object(body: bytes) -> dict:
    try:
        req = json.loads(body)
    except (ValueError, RecursionError):
        raise UsageError("the request body is not a JSON object") from None
    if not isinstance(req, dict):
        raise UsageError("the request body must be a JSON object")
    return req


def _start(stepper: Stepper, root: Path, req: dict, chart, cfg) -> dict:
    """A new session: checks, the band loop rendered, the sampler warmed on an empty turn."""
    bars = req.pop("bars", 4)
    if not MIN_BPM <= chart.bpm <= MAX_BPM:
        raise UsageError(f"bpm must be in {MIN_BPM:g}..{MAX_BPM:g} for trading, not {chart.bpm:g}")
    trade = T.new_trade(chart, bars, cfg.swing, sampling=cfg.sampling, seed=cfg.seed, band=cfg.band,
                        instrument=cfg.instrument,
                        performer=stepper.vocab.find_performer(cfg.like) if cfg.like else None)
    audio, a, b = T.band_loop(trade)
    folder = root / secrets.token_hex(8)
    folder.mkdir(parents=True)
    _write_wav(folder / "band.wav", audio, T.BAND_RATE)
    return Session(trade, folder, (a, b), _warm_up(stepper, trade))


def _warm_up(stepper: Stepper, trade: T.Trade) -> float:
    """Ms of an answer to a turn of eighth notes, on a copy, timed the second time (the first
    call warms NumPy up): the page's first guess of how early to ask."""
    beat = float(trade.seconds([T.GRID])[0])
    eighths = int(trade.bars * trade.chart.meter[0] * 2)
    copy = replace(trade, player={}, answers={})
    T.add_notes(copy, [[k, k * beat / 2, k * beat / 2 + beat / 3, 60 + k % 8, 100] for k in range(eighths)])
    T.answer(stepper, copy, 0)
    t0 = time.perf_counter()
    T.answer(stepper, copy, 0)
    return 1000 * (time.perf_counter() - t0)


def _write_wav(path: Path, audio: np.ndarray, rate: int) -> None:
    peak = float(np.abs(audio).max()) if audio.size else 0.0
    pcm = np.clip(np.round(audio * (0.8 / peak if peak > 0 else 1.0) * 32767), -32768, 32767).astype("<i2")

    def write(f):
        with wave.open(f, "wb") as w:
            w.setnchannels(2)
            w.setsampwidth(2)
            w.setframerate(rate)
            w.writeframes(pcm.tobytes())
    atomic_write(path, write)


def session_json(sid: str, s: Session) -> dict:
    tr = s.trade
    bar = tr.bar_steps
    chords = [[round(float(tr.seconds([c.step])[0]), 4), c.symbol] for c in tr.chart.timeline(tr.chart.chorus).chords]
    return {"id": sid, "bpm": tr.chart.bpm, "meter": list(tr.chart.meter), "bars": tr.bars,
            "bar_seconds": round(float(tr.seconds([bar])[0]), 6), "swing": tr.swing, "seed": tr.seed,
            "chorus_bars": tr.chart.chorus // bar, "chords": chords,
            "loop": [round(s.loop[0], 6), round(s.loop[1], 6)], "band": f"/api/trade/{sid}/band",
            "mid": f"/api/trade/{sid}/mid", "answer_ms": round(s.answer_ms, 2)}


def _notes_field(req: dict) -> list:
    notes = req.get("notes", [])
    if not isinstance(notes, list):
        raise UsageError("notes must be a list of [id, on, off, pitch, velocity]")
    return notes


def _answer(stepper: Stepper, s: Session, req: dict) -> dict:
    unknown = set(req) - {"turn", "notes", "heard"}
    if unknown:
        raise UsageError(f"unknown field {sorted(unknown)[0][:40]!r}; known: turn, notes, heard")
    turn, heard = req.get("turn"), req.get("heard")
    if not isinstance(turn, int) or isinstance(turn, bool):
        raise UsageError("turn must be an integer")
    if heard is not None and (isinstance(heard, bool) or not isinstance(heard, (int, float))
                              or not 0 <= heard < 86400):
        raise UsageError("heard must be seconds in [0, 86400) or null")
    t0 = time.perf_counter()
    with s.lock:
        T.add_notes(s.trade, _notes_field(req))
        out = T.answer(stepper, s.trade, turn, heard)
    on = s.trade.seconds(out.start)
    off = s.trade.seconds(out.start + out.duration)
    start = float(s.trade.seconds([(2 * turn + 1) * s.trade.turn_steps])[0])
    return {"turn": turn, "start": round(start, 6), "ms": round(1000 * (time.perf_counter() - t0), 2),
            "notes": [[round(float(a), 4), round(float(b), 4), int(p), int(v)]
                      for a, b, p, v in zip(on, off, out.pitch.tolist(), out.velocity.tolist())]}


def _midi(s: Session, sid: str) -> Response:
    path = s.folder / "session.mid"
    with s.lock:
        T.session_midi(s.trade, path)
        data = path.read_bytes()
    return Response(data, media_type="audio/midi",
                    headers={"content-disposition": f'attachment; filename="trading-{sid[:6]}.mid"'})


def gone() -> JSONResponse:
    return JSONResponse({"error": f"no such trading session (the last {MAX_SESSIONS} are kept)"}, status_code=404)


def routes(stepper: Stepper, root: Path, read_body, read_request, chart_and_config) -> list[Route]:
    """The trading routes over one loaded model; sessions live in folders under `root`.
    The request helpers are ``serve``'s, so a field means the same in both APIs."""
    sessions = Sessions(root)

    def session_of(request) -> tuple[str, Session | None]:
        sid = request.path_params["sid"]
        return sid, sessions.get(sid)

    async def start(request):
        req = read_request(await read_body(request), extra={"bars": ((int,), "an integer: 1, 2, 4 or 8")})
        chart, cfg = chart_and_config({k: v for k, v in req.items() if k != "bars"})
        s = await run_in_threadpool(_start, stepper, root, req, chart, cfg)
        return JSONResponse(session_json(sessions.add(s), s))

    async def answer(request):
        sid, s = session_of(request)
        if s is None:
            return gone()
        req = _json_object(await read_body(request))
        return JSONResponse(await run_in_threadpool(_answer, stepper, s, req))

    async def notes(request):
        sid, s = session_of(request)
        if s is None:
            return gone()
        req = _json_object(await read_body(request))
        if set(req) - {"notes"}:
            raise UsageError("unknown field; known: notes")
        def keep():
            with s.lock:
                T.add_notes(s.trade, _notes_field(req))
                return len(s.trade.player)
        return JSONResponse({"notes": await run_in_threadpool(keep)})

    async def band(request):
        sid, s = session_of(request)
        if s is None:
            return gone()
        return FileResponse(s.folder / "band.wav", media_type="audio/wav")

    async def midi(request):
        sid, s = session_of(request)
        if s is None:
            return gone()
        return await run_in_threadpool(_midi, s, sid)

    return [Route("/api/trade", start, methods=["POST"]),
            Route("/api/trade/{sid}/answer", answer, methods=["POST"]),
            Route("/api/trade/{sid}/notes", notes, methods=["POST"]),
            Route("/api/trade/{sid}/band", band), Route("/api/trade/{sid}/mid", midi)]
