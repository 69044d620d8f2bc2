"""The web boundary: what any request may be before a handler sees it.

Two pure ASGI middlewares and the JSON API's 422 answer (issue 9: bad input
is a 4xx, never a 500):

`BodyLimitMiddleware` (outermost of the body readers): every request body
has a limit, checked on the declared Content-Length before anything is read
and again on every streamed chunk (a chunked body declares nothing), so an
oversized body costs at most the limit, never its whole length. Over the
limit: 413. Three limits (settings.py):

  /webhooks/...                   `KANALVAKT_WEBHOOK_MAX_BODY_BYTES`, sized from
                                  Meta's largest batch (see WEBHOOK_MAX_BODY_BYTES)
  .../snapshot-uploads            `KANALVAKT_UPLOAD_MAX_BODY_BYTES`: a screenshot
                                  (20 MB at most) and its form fields; also a
                                  case's .../screenshot-uploads and the post
                                  form .../monitoring/post (a consent, R-41)
  everything else (forms, JSON)   `KANALVAKT_MAX_BODY_BYTES`, 1 MiB

`TextCheckMiddleware`: PostgreSQL cannot store a NUL character and UTF-8
cannot encode a lone surrogate (`"\\ud800"`, which JSON can carry), so a
request that carries either in a path, a query parameter, a JSON string (key
or value) or a url-encoded form field is refused here with a 4xx naming where
(docs/decisions.md, "Text the boundary refuses"): 404 for a path, 422 for
the rest, in FastAPI's validation-error shape. The Meta webhook is exempt:
its signature covers the raw bytes and a delivery is never refused for one
message's text; domain.inbound normalises that text instead.

`validation_response`: the JSON API's 422, as FastAPI's but never echoing
large input (an input longer than INPUT_ECHO characters is cut, a nested one
left out) and never failing on text UTF-8 cannot encode.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qsl

import structlog
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from domain.text import clean_text, unrecordable

log = structlog.get_logger("kanalvakt.web.boundary")

MiB = 1024 * 1024
# Meta: "Event Notifications are aggregated and sent in a batch with a maximum
# of 1000 updates" (developers.facebook.com/docs/graph-api/webhooks/
# getting-started, "Event Notifications"); Meta documents no byte size. One
# update is a comment or message: a Messenger text is at most 2,000
# characters, and Meta escapes non-ASCII as \uXXXX (6 bytes a character), so
# 2,000 x 6 + ~1 KB of envelope (ids, names, permalinks) is ~13 KB; 1000 of
# them ~13 MB. With a margin: 16 MiB. A longer Facebook comment (up to 8,000
# characters) in such a batch is rare; the setting can be raised.
WEBHOOK_MAX_BODY_BYTES = 16 * MiB
MAX_BODY_BYTES = 1 * MiB
# web.snapshots_api.MAX_UPLOAD (20 MiB) and the form's other fields.
UPLOAD_MAX_BODY_BYTES = 21 * MiB
# The forms that carry a file (issue 14: a deletion's screenshot, R-30; a
# post with a guardian's signed consent, R-41), beside the snapshot's.
UPLOAD_PATHS = ("/snapshot-uploads", "/screenshot-uploads", "/monitoring/post")
INPUT_ECHO = 200  # characters of a refused input a 422 answer repeats


class BodyTooLarge(StarletteHTTPException):
    """Raised from `receive` once a streamed body passes its limit: an
    HTTPException, so a handler reading the body answers 413 through the
    app's own error handlers, and a middleware reading it (CSRF) lets it
    through to BodyLimitMiddleware, which answers 413 itself."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, detail=f"the request body is larger than {limit} bytes")


def _api_like(path: str) -> bool:
    return path.startswith(("/api/", "/webhooks/"))


async def _answer(scope: Scope, send: Send, status: int, detail: Any) -> None:
    """A JSON answer for the API and the webhooks, a short text for pages
    (the request never reached the app, so there is no reader language)."""
    if _api_like(scope["path"]):
        body = json.dumps({"detail": detail}).encode()
        content_type = b"application/json"
    else:
        text = detail if isinstance(detail, str) else "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in detail)
        body = text.encode()
        content_type = b"text/plain; charset=utf-8"
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", content_type),
                            (b"content-length", str(len(body)).encode()),
                            (b"connection", b"close")]})
    await send({"type": "http.response.body", "body": body})


def replaying(body: bytes, receive: Receive) -> Receive:
    """A `receive` that hands the app a body a middleware has already read,
    whole, then passes on what comes after (a disconnect)."""
    replayed = False

    async def replay() -> Message:
        nonlocal replayed
        if not replayed:
            replayed = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


class BodyLimitMiddleware:
    def __init__(self, app: ASGIApp, *, default: int = MAX_BODY_BYTES,
                 webhook: int = WEBHOOK_MAX_BODY_BYTES,
                 upload: int = UPLOAD_MAX_BODY_BYTES) -> None:
        self.app = app
        self.default = default
        self.webhook = webhook
        self.upload = upload

    def limit_for(self, path: str) -> int:
        if path.startswith("/webhooks/"):
            return self.webhook
        if path.rstrip("/").endswith(UPLOAD_PATHS):
            return self.upload
        return self.default

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.limit_for(scope["path"])
        declared = Headers(scope=scope).get("content-length")
        if declared is not None and declared.strip().isdigit() and int(declared) > limit:
            log.warning("request body refused: too large", path=scope["path"],
                        declared_bytes=int(declared), limit=limit)
            await _answer(scope, send, 413, f"the request body is larger than {limit} bytes")
            return
        received = 0
        started = False

        async def limited() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge(limit)
            return message

        async def tracked(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited, tracked)
        except BodyTooLarge as too_large:
            log.warning("request body refused: too large", path=scope["path"],
                        read_bytes=received, limit=limit)
            if not started:
                await _answer(scope, send, 413, too_large.detail)


# What can put a NUL or a lone surrogate into a decoded JSON string: a \u
# escape (\u0000, \ud800), or a surrogate's UTF-8 bytes, which Python's
# json.loads lets through ("surrogatepass"). Raw control characters are not
# JSON. Bodies without either are not decoded twice.
MAY_HOLD_UNRECORDABLE = re.compile(rb"\\u(?:0000|[dD][89a-fA-F])|\xed[\xa0-\xbf]")


def _bad_strings(value: Any, loc: tuple[str | int, ...]) -> Iterator[tuple[tuple[str | int, ...],
                                                                              str]]:
    """(where, why) for every string in a decoded JSON document, key or value,
    that cannot be recorded."""
    if isinstance(value, str):
        reason = unrecordable(value)
        if reason:
            yield loc, reason
    elif isinstance(value, dict):
        for key, item in value.items():
            reason = unrecordable(key)
            if reason:
                yield (*loc, clean_text(key)[:INPUT_ECHO]), f"a key {reason}"
            yield from _bad_strings(item, (*loc, clean_text(key)[:INPUT_ECHO]))
    elif isinstance(value, list):
        for i, item in enumerate(value):
            yield from _bad_strings(item, (*loc, i))


def _error(loc: tuple[str | int, ...], reason: str) -> dict[str, Any]:
    return {"loc": list(loc), "msg": f"the text {reason}", "type": "unrecordable_text"}


def _is_json(content_type: str) -> bool:
    main = content_type.split(";", 1)[0].strip().lower()
    return main == "application/json" or (main.startswith("application/")
                                          and main.endswith("+json"))


class TextCheckMiddleware:
    """Refuses NUL characters and lone surrogates at the door (see the
    module's docstring); must sit inside BodyLimitMiddleware, since it
    reads a JSON or url-encoded body whole to look into it."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/webhooks/"):
            await self.app(scope, receive, send)
            return
        path: str = scope["path"]
        if "\x00" in path:
            await _answer(scope, send, 404, "no such page: the address contains a NUL character")
            return
        query: bytes = scope.get("query_string", b"")
        if b"%00" in query or b"\x00" in query:
            errors = [_error(("query", clean_text(name)[:INPUT_ECHO]), reason)
                      for name, value in parse_qsl(query.decode("latin-1"),
                                                   keep_blank_values=True)
                      for reason in [unrecordable(name) or unrecordable(value)] if reason]
            if errors:
                await _answer(scope, send, 422, errors)
                return
        content_type = Headers(scope=scope).get("content-type", "")
        if scope["method"] not in {"POST", "PUT", "PATCH", "DELETE"}:
            await self.app(scope, receive, send)
            return
        form = content_type.startswith("application/x-www-form-urlencoded")
        if not (form or _is_json(content_type)):
            await self.app(scope, receive, send)
            return
        chunks: list[bytes] = []
        more = True
        while more:
            message = await receive()
            if message["type"] == "http.disconnect":
                return
            chunks.append(message.get("body", b""))
            more = message.get("more_body", False)
        body = b"".join(chunks)
        errors = _form_errors(body) if form else _json_errors(body)
        if errors:
            log.info("request refused: unrecordable text", path=path,
                     fields=[".".join(map(str, e["loc"])) for e in errors[:10]])
            await _answer(scope, send, 422, errors)
            return
        await self.app(scope, replaying(body, receive), send)


def _json_errors(body: bytes) -> list[dict[str, Any]]:
    if not MAY_HOLD_UNRECORDABLE.search(body):
        return []
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return []  # not JSON: FastAPI answers that itself
    return [_error(loc, reason) for loc, reason in _bad_strings(document, ("body",))][:20]


def _form_errors(body: bytes) -> list[dict[str, Any]]:
    if b"%00" not in body and b"\x00" not in body:
        return []
    return [_error(("body", clean_text(name)[:INPUT_ECHO]), reason)
            for name, value in parse_qsl(body.decode("latin-1"), keep_blank_values=True)
            for reason in [unrecordable(name) or unrecordable(value)] if reason][:20]


# --------------------------------------------------------------------------- the 422 answer

def _safe(value: Any, depth: int = 0) -> Any:
    """`value` as it may go into an answer: text normalised and cut, nothing
    deeper than a few levels."""
    if isinstance(value, str):
        text = clean_text(value)
        return text if len(text) <= INPUT_ECHO else text[:INPUT_ECHO] + "…"
    if value is None or isinstance(value, bool | int | float):
        return value
    if depth > 3:
        return None
    if isinstance(value, dict):
        return {_safe(str(k), depth + 1): _safe(v, depth + 1)
                for k, v in list(value.items())[:20]}
    if isinstance(value, list | tuple):
        return [_safe(v, depth + 1) for v in list(value)[:20]]
    return _safe(str(value), depth + 1)


def safe_errors(errors: Any) -> list[dict[str, Any]]:
    """FastAPI's validation errors for an answer: `input` kept only when it
    is a short scalar (cut to INPUT_ECHO characters), `ctx` and `loc`
    normalised, at most 50 errors."""
    out = []
    for error in list(jsonable_encoder(errors))[:50]:
        item = {k: _safe(v) for k, v in error.items() if k not in {"input", "url"}}
        given = error.get("input")
        if given is None or isinstance(given, bool | int | float):
            item["input"] = given
        elif isinstance(given, str):
            item["input"] = _safe(given)
        out.append(item)
    return out


def validation_response(error: RequestValidationError) -> JSONResponse:
    return JSONResponse({"detail": safe_errors(error.errors())}, status_code=422)
