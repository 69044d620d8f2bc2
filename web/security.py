"""Sessions, CSRF protection and security headers for the whole app.

Session: Starlette's SessionMiddleware, a cookie signed with itsdangerous
(`KANALVAKT_SESSION_SECRET`), HttpOnly, SameSite=Lax, Secure unless the
settings turn it off for the local stack over plain http (never in
production).

CSRF (`CsrfMiddleware`), for every POST/PUT/PATCH/DELETE:
- `/webhooks/...`: exempt; a delivery proves itself by its signature.
- `/api/...` (the JSON API): passes with a JSON content type
  (`application/json` or `+json`), which a cross-site page cannot send
  without a CORS preflight that this app never grants; or with the
  development actor header, which a cross-site page cannot set either (and
  which only counts while the development sign-in is on). Anything else
  (a form post, text/plain, no content type) is refused with 403.
- everything else (the intranet's forms): the session's synchronizer token
  must come back in the form field `csrf_token` (or the `X-CSRF-Token`
  header), compared in constant time; otherwise 403 and the request never
  reaches a handler, so nothing changes.

Security headers on every answer: a Content-Security-Policy with no inline
script (the OpenAPI pages /docs and /redoc get the CDN they load from),
X-Content-Type-Options, Referrer-Policy, X-Frame-Options and frame-ancestors
'none', Permissions-Policy, and HSTS on https.
"""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from starlette.datastructures import Headers
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from web.boundary import replaying

CSRF_FIELD = "csrf_token"
CSRF_HEADER = "X-CSRF-Token"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})

CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "font-src 'self'; connect-src 'self'; form-action 'self'; frame-ancestors 'none'; "
       "base-uri 'none'; object-src 'none'")
# FastAPI's /docs and /redoc load Swagger UI / ReDoc from a CDN with an
# inline bootstrap script; they show only the API's own description.
DOCS_CSP = ("default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "style-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
            "img-src 'self' data: https://fastapi.tiangolo.com; worker-src blob:; "
            "frame-ancestors 'none'; base-uri 'none'; object-src 'none'")
DOCS_PATHS = ("/docs", "/redoc")


def csrf_token(request: Request) -> str:
    """The session's synchronizer token, made on first use."""
    session: MutableMapping[str, Any] = request.session
    token = session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        session["csrf"] = token
    return token


def _is_json(content_type: str) -> bool:
    main = content_type.split(";", 1)[0].strip().lower()
    return main == "application/json" or (main.startswith("application/")
                                          and main.endswith("+json"))


class CsrfMiddleware:
    """Must sit inside SessionMiddleware (added before it), so the session
    is decoded when this runs."""

    def __init__(self, app: ASGIApp, *, actor_header_allowed: bool,
                 refuse: Callable[[Scope, str], Awaitable[Any]] | None = None) -> None:
        self.app = app
        self.actor_header_allowed = actor_header_allowed
        self.refuse = refuse

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] not in UNSAFE:
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        headers = Headers(scope=scope)
        if path.startswith("/webhooks/"):
            await self.app(scope, receive, send)
            return
        if path.startswith("/api/"):
            if _is_json(headers.get("content-type", "")) or (
                    self.actor_header_allowed and headers.get("x-kanalvakt-actor")):
                await self.app(scope, receive, send)
                return
            await self._deny(scope, receive, send,
                             "the JSON API takes a JSON body (Content-Type: application/json)")
            return
        body = b""
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
            # No limit of its own: web.boundary.BodyLimitMiddleware, outside
            # this one, bounds every body (a screenshot upload's larger).
        expected = scope.get("session", {}).get("csrf")
        given = headers.get(CSRF_HEADER.lower())
        if not given:
            content_type = headers.get("content-type", "")
            if content_type.startswith(("application/x-www-form-urlencoded",
                                        "multipart/form-data")):
                form = await Request(scope, replaying(body, receive)).form()
                value = form.get(CSRF_FIELD)
                given = value if isinstance(value, str) else None
                await form.close()
        # The body, whole, for whoever reads it next (the form above read a copy).
        replay = replaying(body, receive)
        if not (isinstance(expected, str) and given
                and hmac.compare_digest(expected.encode(), given.encode())):
            await self._deny(scope, replay, send, "csrf")
            return
        await self.app(scope, replay, send)

    async def _deny(self, scope: Scope, receive: Receive, send: Send, reason: str) -> None:
        if self.refuse is not None:
            response = await self.refuse(scope, reason)
            await response(scope, receive, send)
            return
        await _plain(send, 403, reason)


async def _plain(send: Send, status: int, text: str) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
    await send({"type": "http.response.body", "body": text.encode()})


class SecurityHeadersMiddleware:
    def __init__(self, app: ASGIApp, *, hsts: bool = False) -> None:
        self.app = app
        self.hsts = hsts

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        csp = DOCS_CSP if path.startswith(DOCS_PATHS) else CSP
        https = scope.get("scheme") == "https" or self.hsts

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {k.lower() for k, _ in headers}
                extra = [
                    (b"content-security-policy", csp.encode()),
                    (b"x-content-type-options", b"nosniff"),
                    (b"referrer-policy", b"same-origin"),
                    (b"x-frame-options", b"DENY"),
                    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
                    (b"cross-origin-opener-policy", b"same-origin"),
                ]
                if https:
                    extra.append((b"strict-transport-security",
                                  b"max-age=31536000; includeSubDomains"))
                headers += [(k, v) for k, v in extra if k not in present]
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)
