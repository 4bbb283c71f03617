"""What keeps the page to the browser tabs of this machine, and slow or vanished clients cheap.

A page on 127.0.0.1 is still reachable from any web site its user visits: the browser
sends a form POST, a ``text/plain`` fetch or an ``<img>`` to any address without asking
the server first (no CORS preflight for those), and a site that points its own name at
127.0.0.1 (DNS rebinding) is, to the browser, the same origin as itself.  So every
request passes ``Guard``, an ASGI middleware around the whole app (every route, today's
and those added later), which answers 403 with a one-line JSON error when

* its ``Host`` header does not name an address this server serves (``hosts``: the
  loopback names, the ``--host`` it listens on, any ``--allow-host``): DNS rebinding;
* it carries an ``Origin`` other than its own (``http://<Host>``), or ``null``;
* the browser marks it ``Sec-Fetch-Site: cross-site`` or ``same-site`` (another port
  of localhost is the same *site*), except a plain navigation to a page (a link
  followed: GET, ``Sec-Fetch-Mode: navigate``);
* it is an action (POST, PUT, PATCH, DELETE) whose body is not ``application/json``:
  a browser sends JSON to another origin only after a preflight, which this server
  never grants, so an action from another site cannot get through even from a
  browser that sends no ``Origin``.  (A file to upload is read by the page's script and
  sent inside the JSON.)

Slow and vanished clients: the request line and headers must arrive within
``HEADER_SECONDS`` of the connection opening (or of the first byte of the next request on
a kept-alive connection; ``HeaderDeadline``, the uvicorn protocol), the whole body within
``BODY_SECONDS`` of the request starting (else 408 and the connection is closed), and a
client that stops reading a response for ``SEND_SECONDS`` is dropped.  A client that goes
away mid-upload is one short log line (it cannot be answered), not an internal error.
"""
from __future__ import annotations

import asyncio
import json
import logging
import socket

LOOPBACK = ("127.0.0.1", "localhost", "::1")
WILDCARD = ("0.0.0.0", "::", "")
HEADER_SECONDS = 10.0     # request line and headers (a browser sends them in one packet)
BODY_SECONDS = 20.0       # the whole body of a request (the page's are a few KiB)
SEND_SECONDS = 60.0       # one chunk of a response the client does not read
ACTIONS = ("POST", "PUT", "PATCH", "DELETE")

log = logging.getLogger("jazzgen.serve")


class SlowClient(Exception):
    """A client that did not send its body, or read our answer, in time."""


def host_name(host: str) -> str:
    """The name of a Host header or address, without port or brackets, lower case: '[::1]:80' -> '::1'."""
    host = host.strip().lower()
    if host.startswith("["):
        return host[1:].split("]", 1)[0]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def served_hosts(listen: str, allow: list[str] | tuple[str, ...] = ()) -> tuple[str, ...]:
    """The Host names a server listening on `listen` answers to: loopback, `listen` itself
    (for a wildcard: this machine's names and addresses), and what `allow` adds."""
    names = [*LOOPBACK, *allow]
    if host_name(listen) in WILDCARD:
        names += [socket.gethostname(), socket.getfqdn()]
        try:
            names += [a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None)]
        except OSError:
            pass
    else:
        names.append(listen)
    return tuple(dict.fromkeys(host_name(n) for n in names if n))


def _headers(scope) -> dict[str, str]:
    return {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}


def refusal(scope, hosts: tuple[str, ...] | None) -> str | None:
    """Why this request must be refused (one line), or None.  hosts None: any Host."""
    h = _headers(scope)
    host = h.get("host", "")
    if hosts is not None and host_name(host) not in hosts:
        return (f"Host {host[:80]!r} is not this server's address ({', '.join(hosts[:4])}); "
                f"start it with --allow-host NAME to serve another name")
    secure = scope.get("scheme") in ("https", "wss")
    origin = h.get("origin")
    if origin is not None and origin.lower() != f"{'https' if secure else 'http'}://{host.lower()}":
        return f"cross-origin request from {origin[:80]!r} refused"
    method = scope.get("method", "GET")
    navigate = method in ("GET", "HEAD") and h.get("sec-fetch-mode") == "navigate"
    if h.get("sec-fetch-site") in ("cross-site", "same-site") and not navigate:
        return f"request from another site ({h['sec-fetch-site']}) refused"
    media = h.get("content-type", "").split(";")[0].strip().lower()
    if scope["type"] == "http" and method in ACTIONS and media != "application/json":
        return (f"{method} takes a JSON body (Content-Type: application/json), not "
                f"{media[:60] or 'no Content-Type'}: a form or text POST could come from any web site")
    return None


async def _answer(send, status: int, message: str, close: bool = False) -> None:
    body = json.dumps({"error": message}).encode()
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status,
                "headers": headers + ([(b"connection", b"close")] if close else [])})
    await send({"type": "http.response.body", "body": body})


class Guard:
    """ASGI middleware: the checks above, before the app sees a request; timed receive and send."""

    def __init__(self, app, hosts: tuple[str, ...] | None = LOOPBACK):
        self.app, self.hosts = app, hosts
        self.body_seconds, self.send_seconds = BODY_SECONDS, SEND_SECONDS   # read here: a test may lower them

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        why = refusal(scope, self.hosts)
        where = f"{scope.get('method', 'WEBSOCKET')} {scope.get('path', '')[:80]}"
        if why:
            log.warning("refused %s: %s", where, why)
            if scope["type"] == "websocket":
                return await send({"type": "websocket.close", "code": 1008})
            return await _answer(send, 403, why)
        if scope["type"] == "websocket":
            return await self.app(scope, receive, send)
        await self._timed(scope, receive, send, where)

    async def _timed(self, scope, receive, send, where: str) -> None:
        from starlette.requests import ClientDisconnect
        loop = asyncio.get_running_loop()
        deadline, started = loop.time() + self.body_seconds, []

        async def timed_receive():
            try:
                return await asyncio.wait_for(receive(), max(deadline - loop.time(), 0.001))
            except asyncio.TimeoutError:
                raise SlowClient(f"request body not received within {self.body_seconds:g} s") from None

        async def timed_send(message):
            if message["type"] == "http.response.start":
                started.append(True)
            try:
                await asyncio.wait_for(send(message), self.send_seconds)
            except asyncio.TimeoutError:
                raise SlowClient(f"client read nothing for {self.send_seconds:g} s") from None

        try:
            await self.app(scope, timed_receive, timed_send)
        except ClientDisconnect:
            log.info("client left during %s", where)
        except SlowClient as e:
            log.info("%s: %s; connection closed", where, e)
            if not started:
                await _answer(send, 408, str(e), close=True)


def header_deadline_protocol(seconds: float = HEADER_SECONDS):
    """uvicorn's h11 protocol, closing a connection whose request headers take over `seconds`.

    uvicorn times only the idle wait between kept-alive requests; a client that opens a
    connection and then sends nothing, or half a header, would hold it forever.
    """
    from uvicorn.protocols.http.h11_impl import H11Protocol

    class HeaderDeadline(H11Protocol):
        _timer = None

        def _idle(self) -> bool:                 # no request being answered
            return self.cycle is None or self.cycle.response_complete

        def _arm(self) -> None:
            if self._timer is None:
                self._timer = self.loop.call_later(seconds, self._expire)

        def _disarm(self) -> None:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None

        def _expire(self) -> None:
            self._timer = None
            if self._idle() and not self.transport.is_closing():
                log.info("a client sent no whole request within %g s; connection closed", seconds)
                self.transport.close()

        def connection_made(self, transport):
            super().connection_made(transport)
            self._arm()

        def data_received(self, data: bytes) -> None:
            if self._idle():
                self._arm()
            super().data_received(data)
            if not self._idle():
                self._disarm()

        def connection_lost(self, exc):
            self._disarm()
            super().connection_lost(exc)

    return HeaderDeadline
