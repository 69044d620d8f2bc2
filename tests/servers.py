"""Serving an ASGI app in the test's own event loop on a loopback port that is
held from the moment it is chosen.

Picking a "free" port by binding and closing a socket, then letting uvicorn
bind it again later, races with everything else that binds ports meanwhile
(the Temporal dev server chooses its own internal ports the same way): CI once
failed on exactly that. Here the socket stays bound until the server is done.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Literal

import uvicorn


def held_socket() -> socket.socket:
    """A TCP socket bound to 127.0.0.1 on a port the system chose; it keeps
    the port until it is closed."""
    # IPPROTO_TCP, not 0: asyncio turns Nagle off on accepted connections
    # only for a socket whose protocol says TCP; with 0 every answer waited
    # ~40 ms for the client's delayed ACK.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    return sock


def port_of(sock: socket.socket) -> int:
    return int(sock.getsockname()[1])


@asynccontextmanager
async def serve_app(app: Any, sock: socket.socket | None = None, *,
                    lifespan: Literal["auto", "on", "off"] = "auto") -> AsyncIterator[str]:
    """Serve `app` with uvicorn on `sock` (a new held socket when None) until
    the block ends; yields the base URL. A server that fails to start raises
    its error here instead of leaving the test waiting."""
    own = sock is None
    sock = held_socket() if sock is None else sock
    # A request still in flight when the test ends (say, one the test gave up
    # on) must not hold the teardown forever.
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan=lifespan,
                                           timeout_graceful_shutdown=5))
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    try:
        while not server.started:  # noqa: ASYNC110 - uvicorn offers only this flag
            if serving.done():
                await serving  # start-up failed: raise its error
                raise RuntimeError("the test server stopped before it started")
            await asyncio.sleep(0.01)
        yield f"http://127.0.0.1:{port_of(sock)}"
    finally:
        server.should_exit = True
        await serving
        if own:
            sock.close()
