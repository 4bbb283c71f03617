"""Load test of python -m jazzgen.serve: concurrent takes plus malformed requests.

    python scripts/bench/load_serve.py                      # starts its own server on a free loopback port
    python scripts/bench/load_serve.py --url http://127.0.0.1:8000/ --duration 20

For each number of concurrent clients (default 1 and 4) it sends generate requests
for --take-seconds takes for --duration seconds while one more client sends
malformed requests (bad JSON, bad chords, huge seconds, wrong types, path-traversal
take ids, oversized and lying bodies).  It reports requests/s, latency p50/p90/p99
of the takes, status codes by kind, and whether the server stayed up.  The baseline,
from the same run, is the same take made in this process without HTTP
(``make_takes`` + ``write_take`` of MIDI and WAV): the ratio is what serving costs.

Only a loopback address is ever targeted; any other host is refused.
"""
from __future__ import annotations

import argparse
import http.client
import ipaddress
import json
import random
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[2]

CHARTS = ["Dm7 G7 | Cmaj7 |", "Cm7 F7 | Bbmaj7 | Em7b5 A7alt | Dm6 |", "C7 | F7 | C7 | % | F7 | % | C7 | A7 |"]
MALFORMED = [   # (kind, method, path, body bytes, extra headers)
    ("bad JSON", "POST", "/api/generate", b'{"chords": "C7"', {}),
    ("not an object", "POST", "/api/generate", b"[1, 2, 3]", {}),
    ("bad chord", "POST", "/api/generate", b'{"chords": "Dm7 G7 | Cmaj7 | Hx9 |"}', {}),
    ("huge seconds", "POST", "/api/generate", b'{"seconds": 100000}', {}),
    ("infinite seconds", "POST", "/api/generate", b'{"seconds": 1e999}', {}),
    ("wrong type", "POST", "/api/generate", b'{"seconds": "thirty", "seed": [1]}', {}),
    ("unknown field", "POST", "/api/generate", b'{"path": "/etc/passwd"}', {}),
    ("huge integer", "POST", "/api/generate", b'{"bpm": 1' + b"0" * 6000 + b"}", {}),
    ("deep nesting", "POST", "/api/generate", b"[" * 7000 + b"]" * 7000, {}),
    ("oversized body", "POST", "/api/generate", b'{"chords": "' + b"C7 | " * 20000 + b'"}', {}),
    ("lying length", "POST", "/api/generate", b"{}", {"Content-Length": "1000000000"}),
    ("traversal id", "GET", "/api/takes/../../../etc/passwd", None, {}),
    ("encoded traversal", "GET", "/api/takes/..%2F..%2Fetc%2Fpasswd/wav", None, {}),
    ("unknown id", "GET", "/api/takes/0123456789abcdef/wav", None, {}),
    ("bad format", "GET", "/api/takes/0123456789abcdef/..%2fserve.py", None, {}),
]


def loopback(url: str) -> tuple[str, int]:
    """(host, port) of a loopback URL (an IP literal or 'localhost', never looked up); else refused."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    try:
        ok = parts.scheme == "http" and (host == "localhost" or ipaddress.ip_address(host).is_loopback)
    except ValueError:
        ok = False
    if not ok:
        sys.exit(f"load_serve: refusing {url}: only http:// on a loopback address (127.0.0.1, ::1, localhost)")
    return host, parts.port or 80


def call(host, port, method, path, body=None, headers=None, timeout=120) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(host, port, timeout=timeout)
    try:
        h = {"Content-Type": "application/json", **(headers or {})}
        if body is not None and "Content-Length" in h:          # send the lie as it is
            conn.putrequest(method, path, skip_accept_encoding=True)
            for k, v in h.items():
                conn.putheader(k, v)
            conn.endheaders(body)
        else:
            conn.request(method, path, body=body, headers=h)
        r = conn.getresponse()
        return r.status, r.read()
    except (ConnectionError, http.client.HTTPException, socket.timeout) as e:
        return -1, str(e).encode()
    finally:
        conn.close()


def take_request(rng: random.Random, seconds: float) -> bytes:
    if rng.random() < 0.3:
        return json.dumps({"form": rng.choice(["blues", "rhythm-changes", "minor-blues"]), "seconds": seconds,
                           "bpm": rng.choice([140, 180, 220])}).encode()
    return json.dumps({"chords": rng.choice(CHARTS), "seconds": seconds, "bpm": rng.choice([120, 160, 200]),
                       "temperature": rng.choice([0.8, 1.0]), "swing": rng.random()}).encode()


def phase(host, port, clients: int, duration: float, seconds: float, seed: int):
    """Run `clients` take clients and one malformed client for `duration` s; returns the records."""
    stop = time.perf_counter() + duration
    takes, bad, lock = [], [], threading.Lock()

    def take_client(k):
        rng = random.Random(seed * 100 + k)
        while time.perf_counter() < stop:
            t0 = time.perf_counter()
            status, _ = call(host, port, "POST", "/api/generate", take_request(rng, seconds))
            with lock:
                takes.append((status, time.perf_counter() - t0))

    def bad_client():
        i = 0
        while time.perf_counter() < stop:
            kind, method, path, body, headers = MALFORMED[i % len(MALFORMED)]
            status, text = call(host, port, method, path, body, headers)
            one_line = status < 0 or (b"\n" not in text and b"Traceback" not in text)
            with lock:
                bad.append((kind, status, one_line))
            i += 1
            time.sleep(0.05)

    threads = [threading.Thread(target=take_client, args=(k,)) for k in range(clients)]
    threads.append(threading.Thread(target=bad_client))
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return takes, bad, time.perf_counter() - t0


def pct(xs, q):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))] if xs else float("nan")


def baseline(model: str, seconds: float, n: int = 5) -> float:
    """Median seconds of the same kind of take made in this process, without HTTP."""
    from jazzgen.generation.takes import TakeConfig, load_stepper, make_takes, write_take
    from jazzgen.music.chart import build_chart
    stepper = load_stepper(model)
    times = []
    with tempfile.TemporaryDirectory() as d:
        for k in range(n + 1):
            t0 = time.perf_counter()
            take = make_takes(stepper, build_chart(chords=CHARTS[k % len(CHARTS)]), TakeConfig(seconds=seconds))[0]
            write_take(take, d, ("mid", "wav"))
            times.append(time.perf_counter() - t0)
    return statistics.median(times[1:])        # the first one warms the SoundFont cache


def start_server(model: str):
    log = tempfile.NamedTemporaryFile("w+", prefix="load_serve-", suffix=".log", delete=False)
    p = subprocess.Popen([sys.executable, "-m", "jazzgen.serve", "--port", "0", "--model", model], cwd=ROOT,
                         stdout=subprocess.PIPE, stderr=log, text=True)
    m = re.search(r"http://\S+/", p.stdout.readline())
    if not m:
        p.kill()
        sys.exit(f"load_serve: the server did not start; its log: {log.name}")
    print(f"server log (tracebacks of any 500 would be here): {log.name}")
    return p, m.group(0)


def main() -> int:
    from jazzgen import paths
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--url", help="a running server on a loopback address (default: start one)")
    ap.add_argument("--model", default=str(paths.SHIPPED_MODEL))
    ap.add_argument("--duration", type=float, default=20.0, help="seconds per concurrency level (default 20)")
    ap.add_argument("--take-seconds", type=float, default=30.0)
    ap.add_argument("--clients", default="1,4", help="concurrency levels (default 1,4)")
    a = ap.parse_args()
    proc, url = (None, a.url) if a.url else start_server(a.model)
    host, port = loopback(url)
    try:
        base = baseline(a.model, a.take_seconds)
        print(f"server {url}; baseline: a {a.take_seconds:g}-s take (MIDI + WAV) in-process, no HTTP: "
              f"{base * 1000:.0f} ms (median of 5)")
        call(host, port, "POST", "/api/generate", take_request(random.Random(0), a.take_seconds))   # warm-up
        for clients in (int(c) for c in a.clients.split(",")):
            takes, bad, wall = phase(host, port, clients, a.duration, a.take_seconds, clients)
            lat = [t for s, t in takes if s == 200]
            print(f"\n{clients} client(s), {wall:.1f} s: {len(lat)} takes of {a.take_seconds:g} s, "
                  f"{len(lat) / wall:.2f} takes/s; latency p50 {pct(lat, 50) * 1000:.0f} ms, "
                  f"p90 {pct(lat, 90) * 1000:.0f} ms, p99 {pct(lat, 99) * 1000:.0f} ms; "
                  f"p50 / baseline {pct(lat, 50) / base:.2f}x")
            print(f"  take statuses: {dict(Counter(s for s, _ in takes))}")
            kinds = {}
            for kind, status, _ in bad:
                kinds.setdefault(kind, Counter())[status] += 1
            print(f"  malformed: {len(bad)} requests, statuses by kind:")
            for kind, c in kinds.items():
                print(f"    {kind:18} {dict(c)}")
            fivexx = sum(1 for _, s, _ in bad if s >= 500 or s < 0)
            multi = sum(1 for *_, ok in bad if not ok)
            print(f"  malformed answered 5xx or not at all: {fivexx}; with more than one line: {multi}")
        status, _ = call(host, port, "GET", "/api/forms")
        alive = status == 200 and (proc is None or proc.poll() is None)
        print(f"\nserver still up after the run: {'yes' if alive else 'NO'} (GET /api/forms -> {status})")
        return 0 if alive else 1
    finally:
        if proc is not None:
            proc.terminate()
            proc.wait(timeout=30)


if __name__ == "__main__":
    sys.exit(main())
