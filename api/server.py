"""Running the app under uvicorn: its supervisor for several workers, and a protocol with read deadlines.

This is the one module that reaches into uvicorn (its h11 protocol class and its process
supervisor); ``tests/api/test_server.py`` holds it to what it relies on, and
``tests/test_confinement.py`` keeps every other module out. Public way: none for either. uvicorn
offers its own protocols by name (``--http h11``) with no read deadlines, and runs workers only
through ``uvicorn.run(workers=...)``, which shares one listening socket among them.
"""

from __future__ import annotations

import asyncio
import json
import logging
import socket
from functools import cache
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

from .settings import Settings


@cache
def _deadlines() -> tuple[float, float, float]:
    settings = Settings()
    return settings.header_timeout_s, settings.body_timeout_s, settings.body_idle_timeout_s


def _timeout_body() -> bytes:
    return json.dumps(
        {
            "type": "https://w3id.org/guideline-reasoner/problems/request-timeout",
            "title": "Request timeout",
            "status": 408,
            "detail": "the request did not arrive in time",
            "code": "request-timeout",
        }
    ).encode()


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with Nagle's algorithm off and deadlines for reading a request.

    - Headers: a request's headers must be complete within ``GR_HEADER_TIMEOUT_S`` of the
      connection opening or the last response (uvicorn itself closes a connection only when it is
      idle after a response, so a new or trickling connection was held open for ever).
    - Body: it must be complete within ``GR_BODY_TIMEOUT_S`` of the headers, with no pause longer
      than ``GR_BODY_IDLE_TIMEOUT_S`` (a Content-Length larger than what is sent was waited for
      until the client gave up).

    Either deadline answers 408 (problem+json) and closes the connection. Nagle's algorithm is off
    because each keep-alive response otherwise waits for the client's delayed ACK: 40 ms a request
    (bench/README.md).
    """

    # asyncio.Transport, not BaseTransport: as in uvicorn's own protocols (and their ignore)
    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Switch off Nagle's algorithm, hand over to uvicorn, and start the header deadline."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        self._header_timer: asyncio.TimerHandle | None = None
        self._body_timer: asyncio.TimerHandle | None = None
        self._idle_timer: asyncio.TimerHandle | None = None
        self._seen_cycle: object = None
        super().connection_made(transport)
        self._arm_header_deadline()

    def handle_events(self) -> None:
        """Uvicorn's event loop over h11, then the deadlines brought up to date."""
        super().handle_events()
        cycle = self.cycle
        if cycle is not None and cycle is not self._seen_cycle:  # a new request's headers are in
            self._seen_cycle = cycle
            self._cancel("_header_timer")
            if cycle.more_body:
                _, body, _ = _deadlines()
                self._body_timer = self.loop.call_later(body, self._time_out)
        if self._body_timer is not None:
            self._cancel("_idle_timer")
            if cycle is None or not cycle.more_body or cycle.response_complete:
                self._cancel("_body_timer")
            else:
                self._idle_timer = self.loop.call_later(_deadlines()[2], self._time_out)

    def on_response_complete(self) -> None:
        """Uvicorn's bookkeeping, then a new header deadline for the next request on this connection."""
        super().on_response_complete()  # may start a pipelined request (handle_events)
        if not self.transport.is_closing() and (self.cycle is None or self.cycle.response_complete):
            self._arm_header_deadline()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop every deadline, then let uvicorn clean up."""
        for name in ("_header_timer", "_body_timer", "_idle_timer"):
            self._cancel(name)
        super().connection_lost(exc)

    def _arm_header_deadline(self) -> None:
        self._cancel("_header_timer")
        self._header_timer = self.loop.call_later(_deadlines()[0], self._time_out)

    def _cancel(self, name: str) -> None:
        timer = getattr(self, name, None)
        if timer is not None:
            timer.cancel()
            setattr(self, name, None)

    def _time_out(self) -> None:
        """Answer 408 (unless a response has begun, or nothing of a request came) and close."""
        if self.transport.is_closing():
            return
        cycle = self.cycle
        waiting_for_body = cycle is not None and cycle is self._seen_cycle and not cycle.response_complete
        if waiting_for_body and not cycle.response_started:
            body = _timeout_body()
            headers = [
                (b"content-type", b"application/problem+json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ]
            try:
                self.transport.write(self.conn.send(h11.Response(status_code=408, headers=headers)) or b"")
                self.transport.write(self.conn.send(h11.Data(data=body)) or b"")
                self.transport.write(self.conn.send(h11.EndOfMessage()) or b"")
            except h11.LocalProtocolError:
                pass
        elif not waiting_for_body and self.conn.trailing_data[0]:  # part of a request's headers came
            body = _timeout_body()
            head = b"HTTP/1.1 408 Request Timeout\r\ncontent-type: application/problem+json\r\n"
            self.transport.write(head + b"content-length: %d\r\nconnection: close\r\n\r\n" % len(body) + body)
        if cycle is not None and not cycle.response_complete:
            cycle.disconnected = True  # the app's receive() now reports a disconnect; its answer is dropped
            cycle.message_event.set()
        self.transport.close()


class ReusePortAddress(socket.socket):
    """The address every worker listens on, each with a socket of its own (SO_REUSEPORT).

    uvicorn's supervisor hands its sockets to each worker by pickling them, and a shared socket
    gives a burst of new connections to whichever worker wakes first (measured: all 8 of a
    client's keep-alive connections on one of two workers). This socket pickles as its address:
    the worker binds its own socket there, and the kernel spreads new connections over the
    workers. In the supervisor it is bound (so a port in use fails at once) but never listens.
    """

    def __reduce__(self) -> tuple[Any, ...]:
        """Unpickled in a worker as a fresh socket bound to the same address."""
        return bind_reuse_port, (self.family, self.getsockname())


def bind_reuse_port(family: int, address: tuple[Any, ...], cls: type[socket.socket] = socket.socket) -> socket.socket:
    """A TCP socket bound to ``address`` with SO_REUSEADDR and SO_REUSEPORT (not yet listening)."""
    sock = cls(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind(address)
    sock.set_inheritable(True)
    return sock


def serve(*, host: str, port: int, workers: int, log_config: dict[str, Any], app: str = "api.main:app_factory") -> None:
    """Run the app: in this process for one worker, else under uvicorn's supervisor.

    The supervisor starts ``workers`` processes, each listening on the address with a socket of
    its own (:class:`ReusePortAddress`), replaces a worker that dies (checked every half second),
    and restarts them one by one on SIGHUP. Every worker loads the same knowledge-base generation
    (api/generations.py), so which one answers never matters. ``app`` names the factory each
    worker calls (bench/http_app.py serves the same app with a no-op route added).
    """
    import uvicorn
    from uvicorn.supervisors import Multiprocess

    config = uvicorn.Config(
        app,
        factory=True,
        host=host,
        port=port,
        workers=workers,
        access_log=False,
        log_config=log_config,
        http=GuardedH11Protocol,
        timeout_graceful_shutdown=10,
    )
    if workers <= 1:
        uvicorn.Server(config).run()
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        address = bind_reuse_port(family, (host, port), cls=ReusePortAddress)
    except OSError as exc:
        raise SystemExit(f"error: cannot listen on {host}:{port}: {exc.strerror}") from None
    shown = f"[{host}]" if family == socket.AF_INET6 else host
    logging.getLogger("uvicorn.error").info("Uvicorn running on http://%s:%d with %d workers", shown, port, workers)
    Multiprocess(config, sockets=[address]).run()
