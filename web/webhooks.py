"""Meta's webhook endpoint: Facebook Page comments, Messenger, Instagram
comments and Instagram Direct, all on `/webhooks/meta`.

GET  /webhooks/meta   Meta's subscription handshake: `hub.mode=subscribe` and
                      our verify token -> `hub.challenge` as text/plain.
POST /webhooks/meta   A delivery, signed with the app secret
                      (`X-Hub-Signature-256`). Acknowledged (200) only once its
                      messages are durably in the intake table; the feeder
                      starts their cases from there ("Intake under load" in
                      DESIGN.md). Nothing here waits for Temporal, so a storm
                      of deliveries, or a Temporal outage, does not make Meta
                      time out and retry.

Answers to a POST:
  503  the app secret is not configured: unsigned input is never accepted;
  401  signature missing or wrong: nothing parsed, nothing written;
  413  the body is over KANALVAKT_WEBHOOK_MAX_BODY_BYTES (web/boundary.py):
       refused on its declared length, or once the streamed part passes it,
       before the signature is checked: an unsigned 50 MB body is not read;
  400  the body is not JSON or not a Meta delivery at all (reason given);
  500  the intake write failed: Meta redelivers later, which is what we want;
  200  {"accepted", "duplicates", "skipped", "errors": [{"path", "reason"}]};
       a malformed event costs only itself, it is listed and logged, and the
       rest of the batch is stored. A redelivery counts as duplicates. Odd
       text never costs a message: lone surrogates become U+FFFD here, NUL
       and control characters are dropped by domain.inbound.

Logs carry paths, reasons and counts, never the body: message texts are
personal data (DESIGN.md, "Data protection").
"""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Annotated, Any

import asyncpg
import structlog
from fastapi import APIRouter, Depends, HTTPException, Query, Request
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel

import settings as app_settings
from domain.meta_webhooks import (
    SIGNATURE_HEADER,
    EntryError,
    MalformedDelivery,
    parse_delivery,
    verify_signature,
)
from domain.text import REPLACEMENT
from store.intake import IntakeRepository
from web.boundary import MAY_HOLD_UNRECORDABLE

log = structlog.get_logger("kanalvakt.web.webhooks")
_LONE_SURROGATE = re.compile(r"[\ud800-\udfff]")


def without_lone_surrogates(value: Any) -> Any:
    """The decoded delivery with every lone surrogate, in keys and values,
    replaced by U+FFFD; everything else as it was (ids keep their bytes)."""
    if isinstance(value, str):
        return _LONE_SURROGATE.sub(REPLACEMENT, value)
    if isinstance(value, list):
        return [without_lone_surrogates(v) for v in value]
    if isinstance(value, dict):
        return {without_lone_surrogates(k): without_lone_surrogates(v)
                for k, v in value.items()}
    return value


@dataclass(frozen=True)
class MetaWebhookSettings:
    """`META_APP_SECRET` signs every delivery; `META_VERIFY_TOKEN` is the
    string we typed into the App Dashboard for the handshake. Empty = unset."""

    app_secret: str | None = None
    verify_token: str | None = None

    @classmethod
    def from_env(cls) -> MetaWebhookSettings:
        cfg = app_settings.load()
        return cls(app_secret=cfg.meta_app_secret or None,
                   verify_token=cfg.meta_verify_token or None)


class DeliveryReceipt(BaseModel):
    accepted: int
    duplicates: int
    skipped: int
    errors: list[EntryError]


async def _pool(request: Request) -> asyncpg.Pool:
    # The app's context (web.deps.AppContext); read off app.state rather than
    # imported, so web.app can import this module. Async, though it awaits
    # nothing: FastAPI runs a plain `def` dependency in its thread pool, a
    # hand-off per delivery that the ack's tail paid for on a busy machine.
    pool: asyncpg.Pool = request.app.state.ctx.pool
    return pool


Pool = Annotated[asyncpg.Pool, Depends(_pool)]


def meta_router(settings: MetaWebhookSettings | None = None) -> APIRouter:
    """The endpoint, configured from the environment unless `settings` are given."""
    cfg = settings or MetaWebhookSettings.from_env()
    router = APIRouter(tags=["webhooks"])

    @router.get("/webhooks/meta", response_class=PlainTextResponse)
    async def verify_subscription(
        mode: Annotated[str | None, Query(alias="hub.mode")] = None,
        token: Annotated[str | None, Query(alias="hub.verify_token")] = None,
        challenge: Annotated[str | None, Query(alias="hub.challenge")] = None,
    ) -> PlainTextResponse:
        """Meta's handshake when the webhook is set up in the App Dashboard."""
        if cfg.verify_token is None:
            raise HTTPException(503, detail="webhooks not configured")
        if mode != "subscribe" or token is None or not hmac.compare_digest(
                token.encode(), cfg.verify_token.encode()):
            log.warning("meta webhook handshake refused", mode=mode)
            raise HTTPException(403, detail="verification failed")
        if challenge is None:
            raise HTTPException(400, detail="hub.challenge is missing")
        log.info("meta webhook handshake accepted")
        return PlainTextResponse(challenge)

    @router.post("/webhooks/meta", response_model=DeliveryReceipt)
    async def receive_delivery(request: Request, pool: Pool) -> DeliveryReceipt:
        """A delivery: verify, parse, write to the intake table, acknowledge."""
        if cfg.app_secret is None:
            log.error("meta webhook delivery refused: META_APP_SECRET is not set")
            raise HTTPException(503, detail="webhooks not configured")
        raw = await request.body()
        header = request.headers.get(SIGNATURE_HEADER)
        if not verify_signature(cfg.app_secret, raw, header):
            reason = "signature missing" if header is None else "signature invalid"
            log.warning("meta webhook delivery refused", reason=reason, body_bytes=len(raw))
            raise HTTPException(401, detail=reason)
        try:
            payload: Any = json.loads(raw)
        except (ValueError, RecursionError):  # UnicodeDecodeError is a ValueError
            log.warning("meta webhook delivery refused", reason="body is not JSON")
            raise HTTPException(400, detail="body is not JSON") from None
        if MAY_HOLD_UNRECORDABLE.search(raw):
            # A lone surrogate ("\ud800") decodes from JSON but no pydantic str
            # field takes it: replaced (U+FFFD), so the message is kept, not lost.
            payload = without_lone_surrogates(payload)
        try:
            parsed = parse_delivery(payload)
        except MalformedDelivery as malformed:
            log.warning("meta webhook delivery refused", reason=malformed.reason)
            raise HTTPException(400, detail=malformed.reason) from None
        for error in parsed.errors:
            log.warning("meta webhook event rejected", platform=parsed.platform.value,
                        path=error.path, reason=error.reason)
        for skip in parsed.skipped:
            log.debug("meta webhook event skipped", platform=parsed.platform.value,
                      path=skip.path, reason=skip.reason)
        # The durable write; only after it succeeds does Meta get its 200.
        receipt = await IntakeRepository(pool).accept(parsed.messages,
                                                      received_at=datetime.now(UTC))
        log.info("meta webhook delivery accepted", platform=parsed.platform.value,
                 accepted=receipt.accepted, duplicates=receipt.duplicates,
                 skipped=len(parsed.skipped), errors=len(parsed.errors))
        return DeliveryReceipt(accepted=receipt.accepted, duplicates=receipt.duplicates,
                               skipped=len(parsed.skipped), errors=parsed.errors)

    return router
