"""The outbox sender (issue 13): delivers what the outbox holds, by e-mail
(SMTP) and to chat webhooks, and marks it sent.

It runs as a loop in the worker process beside the intake feeder (`python
-m worker`; `--no-outbox` leaves it out), or alone (`python -m
outbox_sender`): it needs PostgreSQL and the relay, not Temporal, and any
number of senders share the rows (store/outbox.py leases them with FOR
UPDATE SKIP LOCKED). docs/decisions.md, "Notifications: an outbox".

Delivery is at-least-once: a sender that dies after the relay accepted a
mail and before it marked the rows sent leaves their lease to run out, and
the same batch is sent again with the same Message-ID
(`<kanalvakt.outbox.<batch>@<domain>>`), which mail clients and the tests
recognise as a duplicate. A failed attempt is tried again later (backoff,
capped); a permanent refusal (5xx), no e-mail address in the directory or
too many attempts make the rows "failed": they stay, listed on the
intranet's /outbox page and by `kanalvakt outbox list`, retried by hand,
and the communications unit is told by mail.
"""

from __future__ import annotations

import asyncio
import signal
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg
import httpx
import structlog

import settings as app_settings
from adapters import chat
from adapters.mail import Notice, PermanentMailError, SmtpMailer, SmtpSettings, compose
from adapters.mail_texts import text
from deploy.logging_setup import configure_logging
from deploy.waiting import DependencyUnavailable, wait_for_postgres
from domain.notify import default_language, retry_delay
from settings import Settings
from store.db import database_unavailable
from store.outbox import (
    Batch,
    OutboxRepository,
    OutboxRow,
    chat_webhook,
    communications_unit,
    municipality_zone,
    recipient,
)

log = structlog.get_logger("kanalvakt.outbox")

NO_ADDRESS = "no e-mail address in the directory"


class Undeliverable(Exception):
    """Can never be delivered as it is: an operator's turn."""


@dataclass(frozen=True)
class SenderPolicy:
    max_attempts: int = 8
    base: timedelta = timedelta(seconds=30)
    cap: timedelta = timedelta(hours=1)
    lease: timedelta = timedelta(minutes=5)
    poll: float = 2.0
    recipients_per_claim: int = 20
    concurrency: int = 8


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _notice(row: OutboxRow) -> Notice:
    return Notice(kind=row.kind, account_name=row.account_name, account_id=row.account_id,
                  case_id=row.case_id, due=row.due)


class OutboxSender:
    def __init__(self, pool: asyncpg.Pool, mail: SmtpSettings,
                 http: httpx.AsyncClient | None = None, policy: SenderPolicy = SenderPolicy(),
                 clock: Callable[[], datetime] = _utcnow) -> None:
        self.pool = pool
        self.outbox = OutboxRepository(pool)
        self.mail = mail
        self.mailer = SmtpMailer(mail)
        self.http = http
        self.policy = policy
        self.clock = clock

    async def run(self, stop: asyncio.Event) -> None:
        """Deliver until `stop` is set; an outage of PostgreSQL pauses it."""
        while not stop.is_set():
            try:
                done = await self.pump()
            except Exception as exc:  # noqa: BLE001 - the loop outlives any one round
                if database_unavailable(exc):
                    log.warning("outbox paused: database unavailable",
                                error=type(exc).__name__)
                else:
                    log.exception("outbox round failed")
                done = 0
            if done:
                continue
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.policy.poll)
            except TimeoutError:
                pass

    async def pump(self) -> int:
        """One round: plan new rows, claim ready ones, deliver them; return
        how many batches were attempted."""
        now = self.clock()
        await self.outbox.plan(now)
        batches = await self.outbox.claim(now, self.policy.lease,
                                          self.policy.recipients_per_claim)
        if not batches:
            return 0
        gate = asyncio.Semaphore(self.policy.concurrency)

        async def one(batch: Batch) -> None:
            async with gate:
                await self.deliver(batch)

        await asyncio.gather(*(one(b) for b in batches))
        return len(batches)

    async def deliver(self, batch: Batch) -> None:
        try:
            if batch.channel == "chat":
                await self._post(batch)
            else:
                await self._mail(batch)
        except (Undeliverable, PermanentMailError, chat.PermanentChatError) as exc:
            await self._give_up(batch, str(exc))
        except Exception as exc:  # noqa: BLE001 - any other failure is retried
            attempts = batch.attempts + 1
            reason = f"{type(exc).__name__}: {exc}"[:300]
            if attempts >= self.policy.max_attempts:
                await self._give_up(batch, f"{attempts} attempts, last: {reason}")
                return
            retry_at = self.clock() + retry_delay(attempts, self.policy.base, self.policy.cap)
            log.warning("outbox delivery failed, will retry", batch=batch.number,
                        channel=batch.channel, attempts=attempts, reason=reason,
                        retry_at=retry_at.isoformat())
            await self.outbox.mark_failed(batch, reason, retry_at)
        else:
            await self.sent(batch)

    async def sent(self, batch: Batch) -> None:
        await self.outbox.mark_sent(batch, self.clock())
        log.info("outbox delivered", batch=batch.number, channel=batch.channel,
                 rows=len(batch.rows))

    async def _mail(self, batch: Batch) -> None:
        person = await recipient(self.pool, batch.municipality_id, batch.recipient)
        if person is None or not person.email.strip():
            raise Undeliverable(NO_ADDRESS)
        lang = person.language or default_language(person.country)
        detail = None
        if all(r.kind == "undeliverable" for r in batch.rows):
            detail = "\n".join(
                text(lang, "undeliverable.detail", who=r.step.partition("|")[0],
                     reason=r.step.partition("|")[2]) for r in batch.rows)
        mail = compose(notices=[_notice(r) for r in batch.rows], to_address=person.email,
                       to_name=person.name, lang=lang, tz=person.timezone, settings=self.mail,
                       batch=batch.number, now=self.clock(), detail=detail)
        await self.mailer.send(mail)

    async def _post(self, batch: Batch) -> None:
        hook = await chat_webhook(self.pool, batch.recipient)
        if hook is None:
            raise Undeliverable("the chat webhook was removed")
        if self.http is None:
            raise RuntimeError("no HTTP client for chat webhooks")
        country, tz = await municipality_zone(self.pool, batch.municipality_id)
        for row in batch.rows:
            body = chat.payload(hook.format, _notice(row), lang=default_language(country),
                                tz=tz, base_url=self.mail.public_base_url,
                                key=f"outbox-{row.id}")
            await chat.post(self.http, hook.url, body, f"outbox-{row.id}", self.mail.timeout)

    async def _give_up(self, batch: Batch, reason: str) -> None:
        log.error("outbox delivery failed for good", batch=batch.number, channel=batch.channel,
                  recipient=batch.recipient, reason=reason)
        await self.outbox.mark_failed(batch, reason, None)
        if batch.municipality_id is None or any(r.kind == "undeliverable" for r in batch.rows):
            return  # a notice about a notice would go round in circles
        who = batch.recipient if batch.channel == "email" else f"chat {batch.recipient}"
        await self.outbox.enqueue_notice(
            event_id=str(uuid.uuid5(uuid.NAMESPACE_URL, f"kanalvakt:outbox:{batch.number}")),
            recipients=await communications_unit(self.pool, batch.municipality_id),
            municipality_id=batch.municipality_id, kind="undeliverable",
            step=f"{who}|{reason[:200]}", now=self.clock())


def mail_settings(cfg: Settings) -> SmtpSettings:
    return SmtpSettings(
        host=cfg.smtp_host, port=cfg.smtp_port,
        security=cfg.smtp_security, username=cfg.smtp_username,
        password=cfg.smtp_password, from_address=cfg.mail_from,
        timeout=cfg.smtp_timeout_seconds, ca_file=cfg.smtp_ca_file,
        public_base_url=cfg.public_base_url)


def sender_policy(cfg: Settings) -> SenderPolicy:
    return SenderPolicy(
        max_attempts=cfg.outbox_max_attempts,
        base=timedelta(seconds=cfg.outbox_retry_base_seconds),
        cap=timedelta(seconds=cfg.outbox_retry_cap_seconds),
        lease=timedelta(seconds=cfg.outbox_lease_seconds),
        poll=cfg.outbox_poll_seconds)


async def main(database_url: str | None = None) -> None:
    """`python -m outbox_sender`: the sender alone (PostgreSQL and the relay).
    `database_url` overrides DATABASE_URL (`kanalvakt outbox run --database-url`)."""
    cfg = app_settings.load()  # a bad setting stops here, naming it
    configure_logging(cfg.log_level)
    dsn = database_url or cfg.database_url
    if not dsn:
        raise SystemExit("DATABASE_URL is not set")
    try:
        pool = await wait_for_postgres(dsn, cfg)
    except DependencyUnavailable as exc:
        raise SystemExit(f"outbox sender: {exc}") from None
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    async with httpx.AsyncClient() as http:
        sender = OutboxSender(pool, mail_settings(cfg), http, sender_policy(cfg))
        log.info("outbox sender started", smtp=f"{cfg.smtp_host}:{cfg.smtp_port}")
        await sender.run(stop)
    await pool.close()


if __name__ == "__main__":
    asyncio.run(main())
