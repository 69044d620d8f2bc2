"""A real SMTP server for the tests (aiosmtpd on the test's own event loop):
it keeps every mail it accepts, and can refuse (5xx), be slow, or call back
when it accepts one (the crash test kills the sender there)."""

from __future__ import annotations

import asyncio
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword

from tests.servers import held_socket, port_of


@dataclass
class Mailbox:
    port: int = 0
    mails: list[EmailMessage] = field(default_factory=list)
    refuse: str | None = None  # e.g. "550 5.7.1 relaying denied"
    delay: float = 0.0
    on_accept: Callable[[EmailMessage], None] | None = None

    sessions: list[tuple[bool, str | None]] = field(default_factory=list)  # (TLS?, user)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        auth = session.auth_data if session.authenticated else None
        tls = server.transport.get_extra_info("ssl_object") is not None
        self.sessions.append((tls, auth.login.decode() if isinstance(auth, LoginPassword)
                              else None))
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


class _Only:
    """An aiosmtpd authenticator that knows one user."""

    def __init__(self, user: str, password: str) -> None:
        self.user, self.password = user.encode(), password.encode()

    def __call__(self, server: Any, session: Any, envelope: Any, mechanism: str,
                 auth_data: Any) -> AuthResult:
        ok = (isinstance(auth_data, LoginPassword) and auth_data.login == self.user
              and auth_data.password == self.password)
        return AuthResult(success=ok, auth_data=auth_data if ok else None)


def text_of(mail: EmailMessage) -> str:
    """Subject, plain and HTML parts, decoded."""
    parts = [str(mail["Subject"])]
    for part in mail.walk():
        if part.get_content_maintype() == "text":
            parts.append(part.get_content())
    return "\n".join(parts)


@asynccontextmanager
async def smtp_server(*, security: str = "none", context: ssl.SSLContext | None = None,
                      login: tuple[str, str] | None = None) -> AsyncIterator[Mailbox]:
    """`security`: "none", "starttls" (required before MAIL) or "tls"
    (implicit TLS), with the server's `context`; `login`: the only
    user and password accepted (AUTH required)."""
    box = Mailbox()
    sock = held_socket()
    box.port = port_of(sock)
    loop = asyncio.get_running_loop()
    options: dict[str, Any] = {}
    if security == "starttls":
        options.update(tls_context=context, require_starttls=True)
    if login is not None:
        options.update(authenticator=_Only(*login), auth_required=True,
                       auth_require_tls=security == "starttls")

    def protocol() -> SMTP:
        return SMTP(box, hostname="test-smtp", **options)

    server = await loop.create_server(protocol, sock=sock,
                                      ssl=context if security == "tls" else None)
    try:
        yield box
    finally:
        server.close()
        await server.wait_closed()
