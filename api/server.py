"""Running the app under uvicorn."""

from __future__ import annotations

import asyncio
import multiprocessing
import signal
import socket
from typing import Any

from uvicorn.protocols.http.h11_impl import H11Protocol


class NoDelayH11Protocol(H11Protocol):
    """uvicorn's h11 protocol, with Nagle's algorithm off on every connection.

    With ``--workers`` above 1, uvicorn binds its listening socket without a protocol number, so
    asyncio does not set TCP_NODELAY on accepted connections, and each keep-alive response waits
    for the client's delayed ACK: 40 ms a request (bench/README.md).
    """

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        """Switch off Nagle's algorithm, then hand over to uvicorn."""
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            try:
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        super().connection_made(transport)


def serve(*, host: str, port: int, workers: int, log_config: dict[str, Any]) -> None:
    """Run the app in ``workers`` processes, each with its own listening socket on the same port.

    uvicorn's own ``--workers`` shares one accepting socket, and a burst of new connections all
    land in whichever process accepts first (measured: two workers served no more than one).
    With SO_REUSEPORT the kernel spreads connections over the processes.
    """
    if workers <= 1:
        _run(host, port, log_config, None)
        return
    ctx = multiprocessing.get_context("spawn")
    children = [ctx.Process(target=_run, args=(host, port, log_config, True), daemon=False) for _ in range(workers)]
    for child in children:
        child.start()

    def stop(_signum: int, _frame: object) -> None:
        for child in children:
            if child.is_alive():
                child.terminate()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    for child in children:
        child.join()


def _run(host: str, port: int, log_config: dict[str, Any], reuse_port: bool | None) -> None:
    import uvicorn

    config = uvicorn.Config(
        "api.main:app_factory",
        factory=True,
        host=host,
        port=port,
        access_log=False,
        log_config=log_config,
        http=NoDelayH11Protocol,
    )
    if not reuse_port:
        uvicorn.Server(config).run()
        return
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
    sock.bind((host, port))
    uvicorn.Server(config).run(sockets=[sock])
