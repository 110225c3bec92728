"""What api/server.py relies on in uvicorn, held to that shape by name.

api/server.py is the one module that reaches into uvicorn: it subclasses
``uvicorn.protocols.http.h11_impl.H11Protocol`` (overriding ``connection_made``,
``handle_events``, ``on_response_complete`` and ``connection_lost``, and reading ``loop``,
``transport``, ``conn`` and ``cycle`` with the cycle's ``more_body``, ``response_started``,
``response_complete``, ``disconnected`` and ``message_event``), hands it to ``uvicorn.Config`` as
``http``, and runs several workers under ``uvicorn.supervisors.Multiprocess(config, sockets=...)``,
which pickles the sockets to each worker process (what ``ReusePortAddress`` relies on). Public way:
none for either; uvicorn documents ``--http`` as a choice of its own protocols and the supervisor
only through ``--workers``. A uvicorn upgrade that changes any of this fails here.
"""

from __future__ import annotations

import asyncio
import inspect
import multiprocessing.context
import pickle
import socket
from collections.abc import Iterator
from typing import Any

import h11
import pytest
import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol, RequestResponseCycle
from uvicorn.server import ServerState
from uvicorn.supervisors import Multiprocess

from api import server
from api.server import GuardedH11Protocol, ReusePortAddress, bind_reuse_port

OURS = ("_header_timer", "_body_timer", "_idle_timer", "_seen_cycle", "_arm_header_deadline", "_cancel", "_time_out")


def _parameters(function: Any) -> list[str]:
    return list(inspect.signature(function).parameters)


# --- the protocol: what it overrides, calls and reads --------------------------------------------


def test_the_overridden_methods_exist_with_the_signatures_overridden() -> None:
    assert _parameters(H11Protocol.connection_made) == ["self", "transport"]
    assert _parameters(H11Protocol.handle_events) == ["self"]
    assert _parameters(H11Protocol.on_response_complete) == ["self"]
    assert _parameters(H11Protocol.connection_lost) == ["self", "exc"]
    for name in ("connection_made", "handle_events", "on_response_complete", "connection_lost"):
        assert getattr(GuardedH11Protocol, name) is not getattr(H11Protocol, name)  # overridden, not added


def test_our_names_shadow_none_of_uvicorns() -> None:
    taken = {name for klass in H11Protocol.__mro__ for name in vars(klass)}
    assert taken.isdisjoint(OURS)


def _app_config() -> uvicorn.Config:
    async def app(scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            return
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-length", b"2")]})
        await send({"type": "http.response.body", "body": b"ok"})

    config = uvicorn.Config(app, http=GuardedH11Protocol, lifespan="off", log_config=None, access_log=False)
    config.load()
    return config


class _Transport(asyncio.Transport):
    """What uvicorn's protocol and ours call on a transport, recording what is written."""

    def __init__(self) -> None:
        super().__init__()
        self.written = bytearray()
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(name, default)

    def is_closing(self) -> bool:
        return self.closed

    def write(self, data: bytes | bytearray | memoryview) -> None:
        self.written += data

    def close(self) -> None:
        self.closed = True

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


@pytest.fixture
def loop() -> Iterator[asyncio.AbstractEventLoop]:
    loop = asyncio.new_event_loop()
    yield loop
    loop.close()


def _protocol(loop: asyncio.AbstractEventLoop) -> tuple[GuardedH11Protocol, _Transport]:
    assert _parameters(H11Protocol.__init__) == ["self", "config", "server_state", "app_state", "_loop"]
    protocol = GuardedH11Protocol(_app_config(), ServerState(), {}, _loop=loop)
    transport = _Transport()
    protocol.connection_made(transport)
    return protocol, transport


def test_an_instance_has_the_handles_read(loop: asyncio.AbstractEventLoop) -> None:
    protocol, transport = _protocol(loop)
    assert protocol.loop is loop
    assert protocol.transport is transport
    assert isinstance(protocol.conn, h11.Connection)
    data, closed = protocol.conn.trailing_data
    assert (data, closed) == (b"", False)
    assert protocol.cycle is None
    assert protocol._header_timer is not None  # armed by our connection_made, on uvicorn's loop
    protocol.connection_lost(None)
    assert protocol._header_timer is None


def test_a_request_goes_through_handle_events_and_on_response_complete(loop: asyncio.AbstractEventLoop) -> None:
    protocol, transport = _protocol(loop)
    first_deadline = protocol._header_timer

    async def exchange() -> None:
        protocol.data_received(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\n\r\nab")  # calls handle_events
        cycle = protocol.cycle
        assert isinstance(cycle, RequestResponseCycle)
        assert protocol._seen_cycle is cycle and protocol._header_timer is None  # headers in: deadline off
        assert cycle.more_body is True and protocol._body_timer is not None
        assert cycle.response_started is False and cycle.response_complete is False
        assert cycle.disconnected is False and isinstance(cycle.message_event, asyncio.Event)
        protocol.data_received(b"cd")
        for _ in range(100):  # the app's task answers, then uvicorn calls on_response_complete
            await asyncio.sleep(0)
            if cycle.response_complete:
                break
        assert cycle.response_started and cycle.response_complete
        assert protocol._body_timer is None and protocol._idle_timer is None
        assert protocol._header_timer is not None and protocol._header_timer is not first_deadline  # re-armed

    loop.run_until_complete(exchange())
    assert transport.written.startswith(b"HTTP/1.1 200 ") and transport.written.endswith(b"ok")
    protocol.connection_lost(None)
    assert protocol._header_timer is None


def test_a_deadline_answers_408_through_conn_and_transport(loop: asyncio.AbstractEventLoop) -> None:
    protocol, transport = _protocol(loop)

    async def stall() -> None:
        protocol.data_received(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 10\r\n\r\nab")
        cycle = protocol.cycle
        protocol._time_out()
        assert cycle.disconnected is True and cycle.message_event.is_set()

    loop.run_until_complete(stall())
    assert transport.written.startswith(b"HTTP/1.1 408 ") and transport.closed
    protocol.connection_lost(None)


# --- the configuration and the supervisor ------------------------------------------------------------


def test_config_takes_what_serve_passes_and_uses_our_protocol_class() -> None:
    keywords = set(_parameters(uvicorn.Config.__init__))
    passed = {"app", "factory", "host", "port", "workers", "access_log", "log_config", "http"}
    assert passed | {"timeout_graceful_shutdown"} <= keywords
    assert _app_config().http_protocol_class is GuardedH11Protocol
    assert _parameters(uvicorn.Server.run) == ["self", "sockets"]
    assert "serve" in vars(server)  # the function these are passed by


def test_multiprocess_takes_config_and_sockets_and_supervises() -> None:
    assert _parameters(Multiprocess.__init__) == ["self", "config", "sockets"]
    for method in ("run", "keep_subprocess_alive", "restart_all", "handle_hup"):  # serve's docstring promises these
        assert callable(getattr(Multiprocess, method)), method


def test_workers_are_spawned_so_the_sockets_are_pickled() -> None:
    from uvicorn._subprocess import get_subprocess  # uvicorn's own, as Multiprocess calls it

    address = bind_reuse_port(socket.AF_INET, ("127.0.0.1", 0), cls=ReusePortAddress)
    try:
        process = get_subprocess(_app_config(), target=print, sockets=[address])
        assert isinstance(process, multiprocessing.context.SpawnProcess)  # arguments cross by pickling
    finally:
        address.close()


def test_the_address_pickles_as_a_fresh_socket_bound_to_it() -> None:
    address = bind_reuse_port(socket.AF_INET, ("127.0.0.1", 0), cls=ReusePortAddress)
    try:
        fresh = pickle.loads(pickle.dumps(address))
        try:
            assert type(fresh) is socket.socket
            assert fresh.getsockname() == address.getsockname()
            assert fresh.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT)
        finally:
            fresh.close()
    finally:
        address.close()
