"""A real SMTP server for the tests (aiosmtpd on the test's own event loop):
it keeps every mail it accepts, and can refuse (5xx), be slow, or call back
when it accepts one (the crash test kills the sender there)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP

from tests.servers import held_socket, port_of


@dataclass
class Mailbox:
    port: int = 0
    mails: list[EmailMessage] = field(default_factory=list)
    refuse: str | None = None  # e.g. "550 5.7.1 relaying denied"
    delay: float = 0.0
    on_accept: Callable[[EmailMessage], None] | None = None

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.refuse:
            return self.refuse
        if self.delay:
            await asyncio.sleep(self.delay)
        raw = envelope.original_content or envelope.content
        mail = message_from_bytes(raw, policy=policy.default)
        assert isinstance(mail, EmailMessage)
        self.mails.append(mail)
        if self.on_accept is not None:
            self.on_accept(mail)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.mails if address in str(m["To"])]

    def ids(self) -> list[str]:
        return [str(m["Message-ID"]) for m in self.mails]


def text_of(mail: EmailMessage) -> str:
    """Subject, plain and HTML parts, decoded."""
    parts = [str(mail["Subject"])]
    for part in mail.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


@asynccontextmanager
async def smtp_server() -> AsyncIterator[Mailbox]:
    box = Mailbox()
    sock = held_socket()
    box.port = port_of(sock)
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: SMTP(box, hostname="test-smtp"), sock=sock)
    try:
        yield box
    finally:
        server.close()
        await server.wait_closed()
