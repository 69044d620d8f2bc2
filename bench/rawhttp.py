"""A lean HTTP/1.1 sender for the storm: one keep-alive connection, each
request written as one buffer, answers read by Content-Length.

Why: the storm's client shares the machine's two cores with the stack it
measures. httpx spends about 2 ms of CPU per request (h11, its models, the
transport); at 100 deliveries/s that is a fifth of a core, and the client's
own scheduling delay lands in the ack latency it records. This sender does
the least an HTTP/1.1 client must: it is not a general client (no redirects,
no chunked request bodies, no TLS), only what the webhook's POST and its
JSON answer need. A chunked answer is read too, so a server that streams
is not misread.
"""

from __future__ import annotations

import asyncio
from urllib.parse import urlsplit


class RawHttpError(Exception):
    """The connection failed or the answer could not be read."""


class RawSender:
    """One connection to `base_url`, reopened when the server closes it."""

    def __init__(self, base_url: str, timeout: float = 60.0) -> None:
        parts = urlsplit(base_url)
        if parts.scheme != "http" or not parts.hostname:
            raise ValueError(f"only http://host:port is supported, not {base_url!r}")
        self.base_url = base_url
        self._host = parts.hostname
        self._port = parts.port or 80
        self._host_header = parts.netloc.encode("ascii")
        self._timeout = timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None

    async def post(self, path: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        """POST `body`; the status code and the answer's body. The request is
        one buffer, so sending it is one write."""
        lines = [f"POST {path} HTTP/1.1".encode("ascii"), b"Host: " + self._host_header,
                 f"Content-Length: {len(body)}".encode("ascii")]
        lines += [f"{name}: {value}".encode("latin-1") for name, value in headers.items()]
        request = b"\r\n".join(lines) + b"\r\n\r\n" + body
        try:
            return await asyncio.wait_for(self._exchange(request), self._timeout)
        except (OSError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                TimeoutError, ValueError) as exc:
            await self.aclose()
            raise RawHttpError(type(exc).__name__) from exc

    async def _exchange(self, request: bytes) -> tuple[int, bytes]:
        if self._writer is None or self._reader is None:
            self._reader, self._writer = await asyncio.open_connection(self._host, self._port)
        self._writer.write(request)
        head = await self._reader.readuntil(b"\r\n\r\n")
        status_line, *header_lines = head[:-4].split(b"\r\n")
        status = int(status_line.split(b" ", 2)[1])
        fields: dict[bytes, bytes] = {}
        for raw in header_lines:
            name, _, value = raw.partition(b":")
            fields[name.strip().lower()] = value.strip()
        if b"content-length" in fields:
            body = await self._reader.readexactly(int(fields[b"content-length"]))
        elif fields.get(b"transfer-encoding", b"").lower() == b"chunked":
            body = await self._read_chunked()
        else:
            body = await self._reader.read()  # until the server closes
            fields[b"connection"] = b"close"
        if fields.get(b"connection", b"").lower() == b"close":
            await self.aclose()
        return status, body

    async def _read_chunked(self) -> bytes:
        assert self._reader is not None
        chunks: list[bytes] = []
        while True:
            size = int((await self._reader.readuntil(b"\r\n")).split(b";")[0], 16)
            if size == 0:
                await self._reader.readuntil(b"\r\n")  # no trailers expected
                return b"".join(chunks)
            chunks.append(await self._reader.readexactly(size))
            await self._reader.readexactly(2)

    async def aclose(self) -> None:
        writer, self._reader, self._writer = self._writer, None, None
        if writer is not None:
            writer.close()
            try:
                await writer.wait_closed()
            except OSError:
                pass
