"""The page answers its own tabs only: foreign Host, cross-site and non-JSON actions get 403 and make
no take; slow clients are cut off and a client that vanishes mid-upload is one log line.

The first tests go through Starlette's test client (addressed as http://127.0.0.1:8000, the
default address); the slow-client ones through a real uvicorn on a loopback port, in a thread,
with the time limits lowered to a second.
"""
from __future__ import annotations

import socket
import threading
import time

import pytest

from conftest import LOCAL
from jazzgen.commands import guard, serve

BODY = {"chords": "Dm7 G7 | Cmaj7 |", "seconds": 2, "seed": 1}


def takes(client) -> list:
    return client.get("/api/takes").json()["takes"]


CROSS_SITE = [
    ({"Origin": "http://evil.example", "Content-Type": "application/x-www-form-urlencoded"}, "cross-origin"),
    ({"Origin": "http://evil.example", "Content-Type": "text/plain"}, "cross-origin"),
    ({"Origin": "http://evil.example", "Content-Type": "multipart/form-data; boundary=x"}, "cross-origin"),
    ({"Origin": "null", "Content-Type": "application/json"}, "cross-origin"),
    ({"Origin": "http://localhost:3000", "Content-Type": "application/json"}, "cross-origin"),
    ({"Sec-Fetch-Site": "cross-site", "Content-Type": "text/plain"}, "another site"),
    ({"Sec-Fetch-Site": "same-site", "Content-Type": "application/json"}, "another site"),
    ({"Content-Type": "text/plain"}, "JSON body"),
    ({"Content-Type": "application/x-www-form-urlencoded"}, "JSON body"),
    ({}, "JSON body"),
]


@pytest.mark.parametrize("headers, needle", CROSS_SITE, ids=[str(h) for h, _ in CROSS_SITE])
def test_a_cross_site_or_non_json_action_is_403_and_makes_no_take(client, headers, needle):
    before = takes(client)
    import json
    r = client.post("/api/generate", content=json.dumps(BODY).encode(), headers=headers)
    assert r.status_code == 403, r.text
    assert needle in r.json()["error"] and "\n" not in r.json()["error"]
    assert takes(client) == before


@pytest.mark.parametrize("host", ["evil.example", "evil.example:8000", "127.0.0.1.evil.example:8000", ""])
def test_a_foreign_host_is_403_and_sees_no_takes(client, host):
    client.post("/api/generate", json=BODY)                     # there is a take to leak
    before = takes(client)
    for method, path in (("GET", "/api/takes"), ("GET", "/"), ("POST", "/api/generate")):
        r = client.request(method, path, headers={"Host": host}, json=BODY if method == "POST" else None)
        assert r.status_code == 403 and "is not this server's address" in r.json()["error"], (path, r.text)
        assert "takes" not in r.json()
    assert takes(client) == before


def test_the_page_itself_passes(client):
    """Same origin (as the page's fetch sends it), other loopback names, and a followed link."""
    ok = client.post("/api/generate", json=BODY, headers={"Origin": LOCAL, "Sec-Fetch-Site": "same-origin"})
    assert ok.status_code == 200, ok.text
    for host in ("localhost:8000", "[::1]:8000", "LOCALHOST"):
        assert client.get("/api/forms", headers={"Host": host}).status_code == 200, host
    assert client.post("/api/generate", json={"seconds": 0}, headers={"Host": "localhost:8000",
                                                                       "Origin": "http://localhost:8000"}
                       ).status_code == 400                                                  # checked, not refused
    link = client.get("/", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "navigate"})
    assert link.status_code == 200 and "<canvas" in link.text
    embed = client.get("/api/takes", headers={"Sec-Fetch-Site": "cross-site", "Sec-Fetch-Mode": "no-cors"})
    assert embed.status_code == 403


def test_served_hosts_are_the_listening_address_loopback_and_what_is_allowed():
    assert guard.served_hosts("127.0.0.1") == ("127.0.0.1", "localhost", "::1")
    assert "jazz.local" in guard.served_hosts("10.0.0.5", ["Jazz.Local"])
    assert "10.0.0.5" in guard.served_hosts("10.0.0.5")
    assert socket.gethostname().lower() in guard.served_hosts("0.0.0.0")
    assert guard.host_name("[::1]:8000") == "::1" and guard.host_name("Evil.Example:80") == "evil.example"


# ---------------------------------------------------------------------------- a real server

@pytest.fixture
def live(stepper, monkeypatch):
    """(app, (host, port)) of a uvicorn serving the app in a thread, every time limit one second."""
    monkeypatch.setattr(guard, "BODY_SECONDS", 1.0)
    app = serve.create_app(stepper, "test-model")
    sock = serve.listen("127.0.0.1", 0)
    srv = serve.server(app, header_seconds=1.0)
    t = threading.Thread(target=srv.run, kwargs={"sockets": [sock]}, daemon=True)
    t.start()
    for _ in range(3000):
        if srv.started:
            break
        time.sleep(0.01)
    try:
        yield app, sock.getsockname()[:2]
    finally:
        srv.should_exit = True
        t.join(30)


def talk(addr, data: bytes, close: bool = False) -> bytes:
    """Send `data` and read until the server closes (a guard of 30 s: a hang fails, not blocks)."""
    s = socket.create_connection(addr, timeout=30)
    try:
        s.sendall(data)
        if close:
            return b""
        got = b""
        while chunk := s.recv(65536):
            got += chunk
        return got
    finally:
        s.close()


def test_stalled_connections_are_closed(live):
    app, addr = live
    assert talk(addr, b"") == b""                                                 # nothing sent: closed
    assert talk(addr, b"GET /api/forms HTTP/1.1\r\nHost: 127.0.0.1\r\n") == b""   # half the headers: closed
    slow_body = (b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                 b"Content-Length: 100\r\n\r\n{\"chords\"")
    got = talk(addr, slow_body)                                                   # a body that never ends
    assert got.startswith(b"HTTP/1.1 408") and b"not received within" in got
    assert app.state.internal_errors == 0


def test_a_client_that_drops_an_upload_is_one_log_line(live, caplog):
    app, addr = live
    caplog.set_level("INFO")
    head = (b"POST /api/generate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
            b"Content-Length: 5000\r\n\r\n")
    for _ in range(5):
        talk(addr, head + b"{" * 100, close=True)
    for _ in range(300):                                                          # the server's side of it
        if caplog.text.count("client left during POST /api/generate") == 5:
            break
        time.sleep(0.02)
    assert caplog.text.count("client left during POST /api/generate") == 5, caplog.text
    assert "Traceback" not in caplog.text and app.state.internal_errors == 0
    ok = talk(addr, b"GET /api/forms HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n")
    assert ok.startswith(b"HTTP/1.1 200")                                          # still serving
