"""Serving an ASGI app in the test's own event loop on a loopback port that is
held from the moment it is chosen.

Picking a "free" port by binding and closing a socket, then letting uvicorn
bind it again later, races with everything else that binds ports meanwhile
(the Temporal dev server chooses its own internal ports the same way): CI once
failed on exactly that. Here the socket stays bound until the server is done.

A port that another process must bind (the Temporal dev server's UI, the
children of `deploy.stack`) cannot be held for it: `port_for_another_process`
chooses one below the kernel's ephemeral range, which a bind to port 0 (the
dev server's own random ports, anyone else's) never hands out.
"""

from __future__ import annotations

import asyncio
import random
import socket
import ssl
from collections.abc import AsyncIterator, Collection
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any, Literal

import uvicorn

_EPHEMERAL_RANGE = Path("/proc/sys/net/ipv4/ip_local_port_range")
_LOWEST = 10_000  # above the well-known and most fixed service ports


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


def _bindable(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_for_another_process(taken: Collection[int] = ()) -> int:
    """A free loopback port, not in `taken`, for a process that binds it
    later. Chosen below the ephemeral range (Linux: ip_local_port_range), so
    no bind(:0) meanwhile can take it: the Temporal dev server picks its
    HTTP, metrics and internal service ports that way, and with a port freed
    by bind-and-close it could be handed ours. Elsewhere (no such file),
    bind-and-close as before."""
    try:
        low = int(_EPHEMERAL_RANGE.read_text().split()[0])
    except (OSError, ValueError, IndexError):
        low = 0
    if low - _LOWEST >= 1_000:
        for _ in range(200):
            port = random.randrange(_LOWEST, low)
            if port not in taken and _bindable(port):
                return port
        raise RuntimeError(f"no free port in {_LOWEST}..{low - 1} after 200 tries")
    while True:
        sock = held_socket()
        port = port_of(sock)
        sock.close()
        if port not in taken:
            return port


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


async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    """Copy one direction of a proxied connection until it ends (the tests'
    TLS fronts of PostgreSQL and of Temporal)."""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, ssl.SSLError):
        pass
    finally:
        writer.close()
