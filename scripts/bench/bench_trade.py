"""Trading latency: from the player's last bar line to jazzgen's answer being ready.

    python scripts/bench/bench_trade.py [--turns 8] [--bars 4] [--bpm 120 300 320] [--model DIR]

Starts the page's server (``jazzgen.commands.serve``, the shipped model, a real socket on
127.0.0.1) in this process and trades --turns turns at each tempo: each turn the
"player" plays N bars of swung eighth-note lines with rests (session seconds, as the page
stamps them), and the answer is asked for as the page asks, over HTTP.  Printed per tempo:

- answer: the request's round trip (what the page waits), median and worst;
- server: the time inside the server (``ms`` of the answer);
- baseline, in the same process: the same answer made the way the page makes a take, by
  ``make_takes`` with the whole session so far as the primer, band and WAV written
  (``write_take``), as a page without a trading API would have to;
- lead and margin: the page asks `lead` seconds before the bar line (twice the slowest of
  its last four round trips + 40 ms, at least 100 ms, at most a beat; here from the first
  four turns), so an answer is ready ``lead - round trip`` before its first beat; the
  worst margin is over all turns (negative: late).
"""
from __future__ import annotations

import argparse
import http.client
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path

import numpy as np


def player_turn(trade, turn: int, rng: np.random.Generator, first_id: int) -> list[list]:
    """N bars of a line in swung eighths with a few rests, as [id, on, off, pitch, vel] seconds."""
    from jazzgen.music.notes import GRID
    lo = 2 * turn * trade.turn_steps
    steps = np.arange(lo, lo + trade.turn_steps, GRID // 2)
    steps = steps[rng.random(len(steps)) > 0.2]
    pitch = 60 + np.cumsum(rng.choice([-2, -1, 1, 2, 3, -3], len(steps))) % 19
    on, off = trade.seconds(steps), trade.seconds(steps + GRID // 3)
    return [[first_id + i, float(a), float(b), int(p), 100] for i, (a, b, p) in enumerate(zip(on, off, pitch))]


class Server:
    """serve.create_app on a free loopback port, in a thread of this process."""

    def __init__(self, stepper):
        import uvicorn

        from jazzgen.commands import serve
        self.sock = serve.listen("127.0.0.1", 0)
        self.port = self.sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(serve.create_app(stepper, "bench"), log_level="warning"))
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]}, daemon=True)
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    def post(self, path: str, body: dict) -> dict:
        c = http.client.HTTPConnection("127.0.0.1", self.port, timeout=120)
        c.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
        r = c.getresponse()
        out = json.loads(r.read())
        c.close()
        if r.status != 200:
            raise RuntimeError(f"{path}: {r.status} {out}")
        return out

    def stop(self):
        self.server.should_exit = True
        self.thread.join(timeout=10)


def baseline(stepper, trade, turn: int, folder: Path) -> float:
    """Ms to answer the way a take is made: the session so far as the primer, band and WAV."""
    from dataclasses import replace

    from jazzgen.generation import trade as T
    from jazzgen.generation.takes import TakeConfig, make_takes, write_take
    t0 = time.perf_counter()
    a0 = (2 * turn + 1) * trade.turn_steps
    line = T.player_line(trade, 0, a0)
    primer = replace(T.window(trade.chart, 0, a0), pitch=line.pitch, start=line.start, duration=line.duration,
                     velocity=line.velocity, end=a0)
    seconds = float(trade.seconds([a0 + trade.turn_steps])[0]) + 0.01
    take = make_takes(stepper, trade.chart, TakeConfig(seconds=seconds, seed=turn), primer=primer)[0]
    write_take(take, folder, ("mid", "wav"))
    return 1000 * (time.perf_counter() - t0)


def bench_tempo(server: Server, stepper, bpm: float, bars: int, turns: int, folder: Path) -> dict:
    rng = np.random.default_rng(int(bpm))
    s = server.post("/api/trade", {"form": "blues", "bpm": bpm, "bars": bars, "seed": 1})
    from jazzgen.generation import trade as T
    from jazzgen.music.chart import build_chart
    local = T.new_trade(build_chart(form="blues", bpm=bpm), bars, seed=1)   # the same session, for the baseline
    trips, inside, base, next_id = [], [], [], 1
    for turn in range(turns):
        notes = player_turn(local, turn, rng, next_id)
        next_id += len(notes)
        T.add_notes(local, notes)
        t0 = time.perf_counter()
        r = server.post(f"/api/trade/{s['id']}/answer", {"turn": turn, "notes": notes, "heard": None})
        trips.append(1000 * (time.perf_counter() - t0))
        inside.append(r["ms"])
        base.append(baseline(stepper, local, turn, folder))
    beat = 60.0 / bpm
    lead = min(max(0.1, 2 * max(trips[:4]) / 1000 + 0.04), beat)      # the page's rule, after 4 turns
    return {"bpm": bpm, "beat": beat * 1000, "trip": trips, "server": inside, "base": base,
            "lead": lead * 1000, "margin": (lead - max(trips) / 1000) * 1000, "warm": s["answer_ms"]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--turns", type=int, default=8)
    ap.add_argument("--bars", type=int, default=4, choices=(1, 2, 4, 8))
    ap.add_argument("--bpm", type=float, nargs="+", default=[120.0, 300.0, 320.0])
    ap.add_argument("--model", default=None)
    a = ap.parse_args(argv)
    from jazzgen import paths
    from jazzgen.commands.serve import one_blas_thread
    from jazzgen.generation.takes import load_stepper
    one_blas_thread()                                   # as python -m jazzgen.serve runs
    stepper = load_stepper(a.model or paths.SHIPPED_MODEL)
    server = Server(stepper)
    print(f"{a.bars} bars a turn, {a.turns} turns a tempo; ms; round trip over HTTP on 127.0.0.1")
    print(f"{'bpm':>5} {'beat':>6} {'answer med':>11} {'worst':>7} {'server med':>11} {'baseline med':>13} "
          f"{'ratio':>6} {'lead':>6} {'worst margin':>13}")
    try:
        with tempfile.TemporaryDirectory() as tmp:
            for bpm in a.bpm:
                r = bench_tempo(server, stepper, bpm, a.bars, a.turns, Path(tmp))
                med, base = statistics.median(r["trip"]), statistics.median(r["base"])
                print(f"{bpm:5.0f} {r['beat']:6.0f} {med:11.1f} {max(r['trip']):7.1f} "
                      f"{statistics.median(r['server']):11.1f} {base:13.1f} {base / med:5.1f}x "
                      f"{r['lead']:6.0f} {r['margin']:13.0f}", flush=True)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
