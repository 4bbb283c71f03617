"""python -m jazzgen.serve: a page to play with the generator, on this machine only.

    python -m jazzgen.serve [--host 127.0.0.1] [--port 8000] [--model DIR]

Serves one page (``jazzgen/commands/static/``, no CDN: it works offline) and a small JSON API
behind it.  A take is made by the same code as ``python -m jazzgen.generate``:
``build_chart`` -> ``TakeConfig`` -> ``make_takes`` -> ``write_take``; a
``JazzgenError`` from them becomes a 400 ``{"error": "<one line>"}``.

Framework: Starlette on uvicorn.  Starlette is the small, well-kept ASGI toolkit
FastAPI is built on (routing, static files with HTTP range requests, which the
audio element needs to seek, a test client); without FastAPI we also go without
pydantic, whose multi-line validation reports would have to be flattened into our
one-line errors anyway, so the few fields are checked here by hand.  uvicorn is
the reference ASGI server, pure Python (h11) in the configuration we pin.

Safety: it binds to 127.0.0.1 unless told otherwise and answers only requests addressed to
this server from its own page (``guard.py``: the Host, Origin and Sec-Fetch-Site checks
against DNS rebinding and cross-site requests, JSON-only actions, time limits on slow
clients); a request body is at most
``MAX_BODY`` bytes and a take at most ``PAGE_MAX_SECONDS`` long; files are found by
take id only (16 random hex digits, checked by a regex, looked up in a dict: no
path from a request reaches the filesystem); the store keeps the last
``MAX_TAKES`` takes in a temporary folder and deletes the oldest.  Generation is
synchronous NumPy work, run in Starlette's thread pool, so one slow take does not
hold up the others; the one ``Stepper`` is loaded at start and only read.
"""
from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import multiprocessing
import os
import re
import secrets
import shutil
import socket
import sys
import tempfile
import threading
import time
from collections import OrderedDict
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import unquote

import numpy as np
from starlette.applications import Starlette
from starlette.background import BackgroundTask
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from jazzgen import paths
from jazzgen.commands import cli, guard, trading
from jazzgen.errors import FieldError, JazzgenError, UsageError
from jazzgen.generation.sample import Sampling, Stepper
from jazzgen.generation.takes import BANDS, Take, TakeConfig, load_stepper, make_takes, write_take
from jazzgen.music.chart import DEFAULT_BPM, DEFAULT_FORM, build_chart, default_key
from jazzgen.music.chords import FORMS
from jazzgen.music.midi_io import DRUM_CHANNEL
from jazzgen.music.timing import seconds_at, swing_for

PROG = "jazzgen.serve"
STATIC = Path(__file__).resolve().parent / "static"
MAX_BODY = 2 * 2**20          # bytes of a request body: a chart file sent whole (a playlist, a lead sheet)
PAGE_MAX_SECONDS = 120.0           # longest take the page may ask for
MAX_TAKES = 50                # takes kept; the oldest one's files are deleted
TAKE_ID = re.compile(r"[0-9a-f]{16}")
FILES = {"mid": "audio/midi", "wav": "audio/wav", "musicxml": "application/vnd.recordare.musicxml+xml",
         "svg": "image/svg+xml"}
EAGER = ("mid", "wav")        # written with the take; the lead sheet (MusicXML, its SVG) on first request

# name -> (JSON types accepted, what to call it in a message); null means "not given"
FIELDS = {
    "chords": ((str,), "a string"), "form": ((str,), "a string"), "key": ((str,), "a string"),
    "chart": ((str,), "a chart file's text or a data: URL of it"), "tune": ((str,), "a title"),
    "meter": ((str,), "a string like 3/4"), "like": ((str,), "a performer's name"),
    "bpm": ((int, float), "a number"), "seconds": ((int, float), "a number"),
    "swing": ((int, float), "a number"), "band": ((str,), "a string"),
    "instrument": ((int,), "an integer"), "temperature": ((int, float), "a number"),
    "top_k": ((int,), "an integer"), "top_p": ((int, float), "a number"),
    "min_p": ((int, float), "a number"), "seed": ((int,), "an integer"),
}

log = logging.getLogger(PROG)


# ---------------------------------------------------------------------------- the request

def read_request(body: bytes, extra: dict | None = None) -> dict:
    """The generate request as a dict of known, well-typed fields (UsageError otherwise);
    `extra` adds fields (name -> (types, what to call them)) for another request."""
    fields = {**FIELDS, **(extra or {})}
    try:
        req = json.loads(body)
    except ValueError as e:        # JSONDecodeError, bad UTF-8, an integer of over 4300 digits
        raise UsageError(f"the request body is not JSON: {str(e).splitlines()[0][:200]}") from None
    except RecursionError:
        raise UsageError("the request body is not JSON: nested too deeply") from None
    if not isinstance(req, dict):
        raise UsageError("the request body must be a JSON object")
    out = {}
    for name, value in req.items():
        if name not in fields:
            raise UsageError(f"unknown field {name[:40]!r}; known: {', '.join(fields)}")
        types, what = fields[name]
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, types):
            raise UsageError(f"{name} must be {what}, not {type(value).__name__}")
        if isinstance(value, float) and not math.isfinite(value) or isinstance(value, int) and abs(value) >= 2**63:
            raise UsageError(f"{name} must be a finite number under 2^63")
        out[name] = value
    return out


def chart_bytes(text: str) -> bytes:
    """The `chart` field's file: its text, or the bytes of a ``data:`` URL (how the page
    uploads a file, a compressed .mxl included)."""
    if not text.startswith("data:"):
        return text.encode("utf-8", "surrogatepass")          # a lone surrogate: "not UTF-8", not a 500
    head, comma, body = text.partition(",")
    try:
        if head.endswith(";base64"):
            return base64.b64decode(body, validate=True)
        return unquote(body).encode("utf-8", "surrogatepass")
    except (binascii.Error, ValueError):
        raise UsageError("chart: the data: URL's base64 does not decode") from None


def chart_and_config(req: dict):
    """(Chart, TakeConfig) of a checked request, through the one chart builder."""
    if sum(k in req for k in ("chords", "chart", "form")) > 1:
        raise UsageError("give one of chords, chart or form, not both")
    seconds = float(req.get("seconds", TakeConfig.seconds))
    if not 0 < seconds <= PAGE_MAX_SECONDS:
        raise FieldError("seconds", f"must be in (0, {PAGE_MAX_SECONDS:g}] here, not {seconds:g}")
    chart = build_chart(chords=req.get("chords"), form=req.get("form"), key=req.get("key"),
                        meter=req.get("meter") or None, tune=req.get("tune") or None,
                        chart_data=chart_bytes(req["chart"]) if "chart" in req else None,
                        bpm=None if "bpm" not in req else float(req["bpm"]))
    d = Sampling()
    sampling = Sampling(float(req.get("temperature", d.temperature)), int(req.get("top_k", d.top_k)),
                        float(req.get("top_p", d.top_p)), float(req.get("min_p", d.min_p)))
    t = TakeConfig()
    cfg = TakeConfig(seconds=seconds, sampling=sampling, seed=req.get("seed"), num=1,
                     band=req.get("band", t.band), instrument=req.get("instrument", t.instrument),
                     swing=float(req["swing"]) if "swing" in req else t.swing, like=req.get("like"))
    return chart, cfg


# ---------------------------------------------------------------------------- what the page draws

def seconds_of(steps, take: Take) -> list[float]:
    """Grid steps -> seconds in the audio: the swing and tempo map write_midi plays them with."""
    return np.round(seconds_at(take.solo, steps, swing_for(take.solo, take.config.swing)), 4).tolist()


def _notes(take: Take, pitch, start, duration) -> list[list[float]]:
    on, off = seconds_of(start, take), seconds_of(np.asarray(start) + np.asarray(duration), take)
    return [[a, b, int(p)] for a, b, p in zip(on, off, np.asarray(pitch).tolist())]


def roll(take: Take) -> dict:
    """Notes, chord symbols and bar lines in seconds, for the piano roll and its playhead."""
    solo = take.solo
    tracks = [{"name": "solo", "notes": _notes(take, solo.pitch, solo.start, solo.duration)}]
    tracks += [{"name": p.name.lower(), "notes": _notes(take, p.pitch, p.start, p.duration)}
               for p in take.parts if p.channel != DRUM_CHANNEL]
    return {"length": seconds_of([solo.end], take)[0], "bars": seconds_of([a for a, _ in solo.bars()], take),
            "chords": [[t, c.symbol] for t, c in zip(seconds_of([c.step for c in solo.chords], take), solo.chords)],
            "tracks": tracks}


# ---------------------------------------------------------------------------- the store

@dataclass
class Entry:
    take: Take
    folder: Path
    summary: dict
    roll: dict
    readers: int = 0              # downloads in flight: the folder outlives eviction until they end
    evicted: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock)


class TakeStore:
    """The last `capacity` takes of the session, each in its own folder of a temporary one."""

    def __init__(self, capacity: int = MAX_TAKES, root: str | Path | None = None):
        self.capacity = capacity
        self.root = Path(tempfile.mkdtemp(prefix="jazzgen-serve-", dir=root))
        self._takes: OrderedDict[str, Entry] = OrderedDict()
        self._lock = threading.Lock()

    def new_folder(self) -> tuple[str, Path]:
        """(a fresh take id, the empty folder its files go in)."""
        take_id = secrets.token_hex(8)
        folder = self.root / take_id
        folder.mkdir()
        return take_id, folder

    def add(self, take: Take, summary: dict) -> Entry:
        """Write the take's eager files and keep it (see ``keep``)."""
        take_id, folder = self.new_folder()
        write_eager(take, folder)
        return self.keep(take_id, folder, take, summary)

    def keep(self, take_id: str, folder: Path, take: Take, summary: dict) -> Entry:
        """Keep a take whose eager files are in `folder`; evicts the oldest beyond capacity."""
        entry = Entry(take, folder, {"id": take_id, **summary}, roll(take))
        with self._lock:
            self._takes[take_id] = entry
            old = [self._takes.popitem(last=False)[1] for _ in range(len(self._takes) - self.capacity)]
            for e in old:
                e.evicted = True
            gone = [e for e in old if e.readers == 0]
        for e in gone:
            shutil.rmtree(e.folder, ignore_errors=True)
        return entry

    def get(self, take_id: str) -> Entry | None:
        with self._lock:
            return self._takes.get(take_id) if TAKE_ID.fullmatch(take_id) else None

    def summaries(self) -> list[dict]:
        with self._lock:
            return [e.summary for e in reversed(self._takes.values())]

    def checkout(self, take_id: str, fmt: str) -> tuple[Entry, Path] | None:
        """The entry and the path of one of its files, held until `release`; None: no such take."""
        entry = self.get(take_id)
        if entry is None:
            return None
        with self._lock:
            if entry.evicted:
                return None
            entry.readers += 1
        try:
            path = entry.folder / f"{entry.take.name}.{fmt}"
            with entry.lock:                       # one writer of a lazy file
                if not path.exists():
                    write_take(entry.take, entry.folder, (fmt,))
        except BaseException:
            self.release(entry)
            raise
        return entry, path

    def release(self, entry: Entry) -> None:
        with self._lock:
            entry.readers -= 1
            gone = entry.evicted and entry.readers == 0
        if gone:
            shutil.rmtree(entry.folder, ignore_errors=True)

    def close(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


# ---------------------------------------------------------------------------- the API

def error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status)


async def read_body(request: Request) -> bytes:
    """The body, refused past MAX_BODY bytes whatever Content-Length claims."""
    try:
        declared = int(request.headers.get("content-length", "0"))
    except ValueError:
        raise HTTPException(400, "bad Content-Length header") from None
    if declared > MAX_BODY:
        raise HTTPException(413, f"request body over {MAX_BODY} bytes")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > MAX_BODY:
            raise HTTPException(413, f"request body over {MAX_BODY} bytes")
    return bytes(body)


def chart_label(req: dict, chart) -> str:
    """What the take list calls the chart: the tune's title, the typed changes, or the form and its key."""
    if "chart" in req:
        return chart.title or "a chart"
    if "chords" in req:
        return " ".join(req["chords"].split())[:200]
    form = req.get("form", DEFAULT_FORM)
    return f"{form} in {req.get('key') or default_key(form) or 'C'}"


def write_eager(take: Take, folder: Path) -> None:
    """The files a take is answered with; none is left behind on failure."""
    try:
        write_take(take, folder, EAGER)
    except BaseException:
        shutil.rmtree(folder, ignore_errors=True)
        raise


# A take's CPU goes mostly to the synthesizer, which holds the GIL: in threads, concurrent
# takes queue behind each other.  The command therefore makes takes in forked worker
# processes, which inherit the loaded network (copy-on-write) from this module global.
_STEPPER: Stepper | None = None


def _remember(stepper: Stepper) -> None:
    global _STEPPER
    _STEPPER = stepper


def _take_in_worker(chart, cfg: TakeConfig, folder: Path) -> Take:
    take = make_takes(_STEPPER, chart, cfg)[0]
    write_eager(take, folder)
    return take


def worker_pool(stepper: Stepper, workers: int) -> ProcessPoolExecutor:
    """Forked processes that make takes with `stepper`, `workers` at a time."""
    return ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"),
                               initializer=_remember, initargs=(stepper,))


def make_take(stepper: Stepper, store: TakeStore, req: dict, pool: ProcessPoolExecutor | None = None) -> Entry:
    """The one generator, as the generate command runs it, and the take kept in the store.

    With a pool, the take is made and its eager files written in a worker process.
    """
    t0 = time.perf_counter()
    chart, cfg = chart_and_config(req)
    if pool is None:
        take = make_takes(stepper, chart, cfg)[0]
    else:
        take_id, folder = store.new_folder()
        try:
            take = pool.submit(_take_in_worker, chart, cfg, folder).result()
        except BaseException:
            shutil.rmtree(folder, ignore_errors=True)
            raise
    cfg = take.config                      # as played: the seed drawn, auto swing resolved
    summary = {"name": take.name, "seed": cfg.seed, "seconds": cfg.seconds, "bpm": chart.bpm,
               "chart": chart_label(req, chart),
               "band": cfg.band, "instrument": cfg.instrument, "swing": cfg.swing,
               "temperature": cfg.sampling.temperature, "top_p": cfg.sampling.top_p,
               "top_k": cfg.sampling.top_k, "min_p": cfg.sampling.min_p, "like": take.solo.performer,
               "notes": len(take.solo)}
    entry = store.add(take, summary) if pool is None else store.keep(take_id, folder, take, summary)
    entry.summary["ms"] = round(1000 * (time.perf_counter() - t0))
    return entry


def take_json(entry: Entry) -> dict:
    tid = entry.summary["id"]
    return {**entry.summary, "roll": entry.roll, "files": {f: f"/api/takes/{tid}/{f}" for f in FILES}}


FORMS_JSON = {"forms": list(FORMS), "bands": list(BANDS), "max_seconds": PAGE_MAX_SECONDS,
              "defaults": {"seconds": TakeConfig.seconds, "bpm": DEFAULT_BPM, "swing": TakeConfig.swing,
                           "band": TakeConfig.band, "instrument": TakeConfig.instrument,
                           "temperature": Sampling.temperature, "top_p": Sampling.top_p,
                           "min_p": Sampling.min_p}}


def gone(store: TakeStore) -> JSONResponse:
    return error(404, f"no such take (it may be older than the last {store.capacity})")


def error_handlers(store: TakeStore) -> dict:
    """A user's mistake: 400 with its one line (no server paths); an HTTP refusal: its status;
    anything else: 500, counted in app.state.internal_errors, the traceback in the log."""
    async def user_error(request, exc: JazzgenError):
        text = exc.named(lambda f: f.rsplit(".", 1)[-1])   # the page's field names
        msg = (text.splitlines() or [type(exc).__name__])[0].replace(str(store.root) + "/", "")
        return JSONResponse({"error": msg, "kind": type(exc).__name__}, status_code=400)   # no server paths

    async def http_error(request, exc: HTTPException):
        return error(exc.status_code, str(exc.detail))

    async def internal_error(request, exc: Exception):
        request.app.state.internal_errors += 1
        log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
        return error(500, "internal error; the traceback is in the server's log")

    return {JazzgenError: user_error, HTTPException: http_error, Exception: internal_error}


def create_app(stepper: Stepper, model_name: str = "model", store: TakeStore | None = None,
               workers: int = 0, hosts: tuple[str, ...] | None = guard.LOOPBACK) -> Starlette:
    """The page and its API over one loaded model; the store's folder goes when the app stops.
    Takes are made in `workers` forked processes (the command: one per core), or with 0 in threads.
    Only requests to `hosts` (Host header names), from the page itself, pass (``guard.Guard``)."""
    store = store or TakeStore()
    pool = worker_pool(stepper, workers) if workers > 0 else None

    async def index(request):
        return FileResponse(STATIC / "index.html")

    async def forms(request):
        return JSONResponse(FORMS_JSON)

    async def models(request):
        return JSONResponse({"models": [{"name": model_name, "loaded": True,
                                         "performers": list(stepper.vocab.performers)}]})

    async def generate(request):
        req = read_request(await read_body(request))
        entry = await run_in_threadpool(make_take, stepper, store, req, pool)
        return JSONResponse(take_json(entry))

    async def takes(request):
        return JSONResponse({"takes": store.summaries()})

    async def one_take(request):
        entry = store.get(request.path_params["take_id"])
        if entry is None:
            return gone(store)
        return JSONResponse(take_json(entry))

    async def take_file(request):
        fmt = request.path_params["fmt"]
        if fmt not in FILES:
            return error(404, f"no such file; a take has {', '.join(FILES)}")
        got = await run_in_threadpool(store.checkout, request.path_params["take_id"], fmt)
        if got is None:
            return gone(store)
        entry, path = got
        return FileResponse(path, media_type=FILES[fmt], filename=path.name,
                            background=BackgroundTask(store.release, entry))

    @asynccontextmanager
    async def lifespan(app):
        yield
        if pool is not None:
            pool.shutdown(cancel_futures=True)
        store.close()

    app = Starlette(routes=[
        Route("/", index), Mount("/static", StaticFiles(directory=STATIC), name="static"),
        Route("/api/forms", forms), Route("/api/models", models),
        Route("/api/generate", generate, methods=["POST"]), Route("/api/takes", takes),
        Route("/api/takes/{take_id}", one_take), Route("/api/takes/{take_id}/{fmt}", take_file),
        *trading.routes(stepper, store.root / "trade", read_body, read_request, chart_and_config),
    ], exception_handlers=error_handlers(store),
        middleware=[Middleware(guard.Guard, hosts=hosts)], lifespan=lifespan)
    app.state.store, app.state.internal_errors = store, 0
    return app


# ---------------------------------------------------------------------------- the command

def parser() -> cli.Parser:
    p = cli.Parser(prog="python -m jazzgen.serve", description=__doc__.split("\n\n")[0])
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1: this machine only)")
    p.add_argument("--port", type=int, default=8000, help="port (default 8000; 0 = any free one)")
    p.add_argument("--model", default=str(paths.SHIPPED_MODEL),
                   help="model folder (default: the shipped models/wjazzd)")
    p.add_argument("--workers", type=int, help="processes that make takes (default: one per core; 0: threads)")
    p.add_argument("--allow-host", action="append", default=[], metavar="NAME",
                   help="also answer requests addressed to NAME (a Host header; repeatable); by default only "
                        "this server's own address and the loopback names")
    return p


def listen(host: str, port: int) -> socket.socket:
    """A listening socket, so that a taken port is a one-line error before anything starts."""
    if not 0 <= port <= 65535:
        raise UsageError(f"--port must be in 0..65535, not {port}")
    try:
        info = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0]
        sock = socket.socket(info[0], socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(info[4])
    except OSError as e:
        raise UsageError(f"cannot listen on {host}:{port}: {e.strerror or e}") from None
    sock.listen(128)
    return sock


def url_of(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://[{host}]:{port}/" if ":" in host else f"http://{host}:{port}/"


def server(app: Starlette, header_seconds: float = guard.HEADER_SECONDS):
    """The uvicorn server of `app`, closing connections whose headers take over `header_seconds`."""
    import uvicorn
    return uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False,
                                         http=guard.header_deadline_protocol(header_seconds)))


def serve(app: Starlette, sock: socket.socket):
    """Run uvicorn on an already bound socket until interrupted."""
    server(app).run(sockets=[sock])


def one_blas_thread() -> None:
    """The sampler's matrices are small (one note at a time): a second BLAS thread only
    waits on the first, and on a busy machine it made a trading answer 8x slower (8.4 ms a
    step with two threads, 1.2 with one, the shipped model, load 15 on 2 cores).  Takes are
    made one per core in worker processes anyway, so the server runs BLAS single-threaded."""
    from threadpoolctl import threadpool_limits
    threadpool_limits(1, user_api="blas")


def _main(argv) -> int:
    a = parser().parse_args(argv)
    if a.workers is not None and not 0 <= a.workers <= 64:
        raise UsageError(f"--workers must be in 0..64, not {a.workers}")
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s")
    one_blas_thread()
    stepper = load_stepper(a.model)
    sock = listen(a.host, a.port)
    if a.host not in ("127.0.0.1", "localhost", "::1"):
        print(f"{PROG}: warning: listening on {a.host}, reachable from other machines", file=sys.stderr)
    print(f"{PROG}: serving {Path(a.model).name} at {url_of(sock)}  (Ctrl-C stops)", flush=True)
    workers = a.workers if a.workers is not None else (os.cpu_count() or 1)
    hosts = guard.served_hosts(a.host, a.allow_host)
    serve(create_app(stepper, Path(a.model).name, workers=workers if sys.platform.startswith("linux") else 0,
                     hosts=hosts), sock)
    return 0


def main(argv=None) -> int:
    return cli.run(PROG, _main, argv)


if __name__ == "__main__":
    sys.exit(main())
