"""The outbox and its sender (issue 13) against a real PostgreSQL and a
real SMTP server (aiosmtpd): every notification row reaches the outbox in
its transaction, is mailed in the recipient's language with a link and the
deadline in the office's time zone, is retried, fails visibly, is retried by
hand; a sender killed between the relay's acceptance and its mark sends the
same Message-ID again and loses nothing; a ten-week catch-up is one digest
per person; chat webhooks get the same outbox and retries."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import ssl
import sys
import uuid
from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from fastapi import FastAPI, Request, Response

from adapters.mail import SmtpSettings, message_id
from cli import main as cli_main
from domain.notify import DeliveryMode, NotificationPreference
from outbox_sender import NO_ADDRESS, OutboxSender, SenderPolicy
from store.directory import DirectoryRepository, parse_directory_yaml
from store.outbox import save_preference, set_chat_webhook
from tests.integration.test_temporal_tls import _cert, _key, _write
from tests.servers import serve_app
from tests.smtp import Mailbox, smtp_server, text_of
from tests.support import EXEMPELBY, ROOT, eventually

ACCOUNT = "3f1c0a52-8c1e-4c55-9a57-4f3b1d7e0a11"
ACCOUNT_NAME = "Kulturhuset Ängen"
CASE = "message:facebook:123_456"
BASE = "https://intranet.exempelby.se"
# Monday 7 December 2026, 10:00 in Stockholm
MONDAY = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


@pytest.fixture
async def directory(pool: asyncpg.Pool) -> asyncpg.Pool:
    await DirectoryRepository(pool).load(parse_directory_yaml(EXEMPELBY.read_text("utf-8")))
    await pool.execute(
        """INSERT INTO accounts (account_id, stream_id, workflow_id, municipality_id, unit_id,
               platform, account_name, stage, requester, requested_at, updated_at, version,
               state)
           VALUES ($1, $2, $3, 'exempelby', 'kultur', 'facebook', $4, 'active', 'elin.strand',
                   $5, $5, 1, '{}')""",
        uuid.UUID(ACCOUNT), f"account-{ACCOUNT}", "account:exempelby:kulturhuset", ACCOUNT_NAME,
        MONDAY)
    return pool


async def notify(pool: asyncpg.Pool, recipients: list[str], *, kind: str = "reminder",
                 due: datetime | None = MONDAY + timedelta(hours=6),
                 created_at: datetime = MONDAY, case_id: str | None = CASE) -> uuid.UUID:
    """A notifications row as the projections write it."""
    event_id = uuid.uuid4()
    await pool.executemany(
        """INSERT INTO notifications (event_id, recipient, account_id, kind, step, stage, due,
               created_at, case_id) VALUES ($1, $2, $3, $4, 'admins', 'open', $5, $6, $7)""",
        [(event_id, who, uuid.UUID(ACCOUNT), kind, due, created_at, case_id)
         for who in recipients])
    return event_id


def sender(pool: asyncpg.Pool, box: Mailbox, clock: Callable[[], datetime],
           **policy: Any) -> OutboxSender:
    mail = SmtpSettings(host="127.0.0.1", port=box.port, from_address="kanalvakt@exempelby.se",
                        timeout=policy.pop("timeout", 5.0), public_base_url=BASE)
    return OutboxSender(pool, mail, None, SenderPolicy(**{"base": timedelta(seconds=30),
                                                          **policy}), clock=clock)


async def statuses(pool: asyncpg.Pool) -> dict[str, str]:
    rows = await pool.fetch("SELECT recipient, status FROM outbox WHERE channel = 'email'")
    return {r["recipient"]: r["status"] for r in rows}


async def test_a_notification_reaches_the_outbox_in_its_transaction(directory: asyncpg.Pool
                                                                    ) -> None:
    """Written by the trigger with the notification; a rolled-back
    notification leaves no outbox row; a re-projection writes nothing twice."""
    pool = directory
    event_id = await notify(pool, ["anna.lind", "elin.strand"])
    rows = await pool.fetch("SELECT * FROM outbox WHERE event_id = $1 ORDER BY recipient",
                            event_id)
    assert [(r["recipient"], r["channel"], r["municipality_id"], r["status"]) for r in rows] == [
        ("anna.lind", "email", "exempelby", "pending"),
        ("elin.strand", "email", "exempelby", "pending")]
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await conn.execute(
            """INSERT INTO notifications (event_id, recipient, account_id, kind, step, stage,
                   created_at) VALUES ($1, 'anna.lind', $2, 'reminder', 's', 'open', now())""",
            uuid.uuid4(), uuid.UUID(ACCOUNT))
        assert await conn.fetchval("SELECT count(*) FROM outbox") == 3
        await tx.rollback()
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 2
    # The same notification projected again (a rebuild's live replay) is no new row.
    await pool.execute("DELETE FROM notifications")
    await pool.execute(
        """INSERT INTO notifications (event_id, recipient, account_id, kind, step, stage,
               created_at) VALUES ($1, 'anna.lind', $2, 'reminder', 'admins', 'open', now())""",
        event_id, uuid.UUID(ACCOUNT))
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 2
    # While a rebuild runs, the trigger writes nothing at all.
    async with pool.acquire() as conn, conn.transaction():
        await conn.execute("SET LOCAL kanalvakt.rebuilding = 'on'")
        await conn.execute(
            """INSERT INTO notifications (event_id, recipient, account_id, kind, step, stage,
                   created_at) VALUES ($1, 'anna.lind', $2, 'reminder', 's', 'open', now())""",
            uuid.uuid4(), uuid.UUID(ACCOUNT))
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 2


async def test_the_mail_names_what_is_wanted_with_link_and_local_deadline(
        directory: asyncpg.Pool) -> None:
    pool = directory
    await pool.execute("UPDATE people SET name = 'Anna Lind' WHERE id = 'anna.lind'")
    await save_preference(pool, "exempelby", "elin.strand",
                          NotificationPreference(language="en"), MONDAY)
    await notify(pool, ["anna.lind"], kind="escalation")
    await notify(pool, ["elin.strand"])
    async with smtp_server() as box:
        assert await sender(pool, box, Clock(MONDAY)).pump() == 2
    assert await statuses(pool) == {"anna.lind": "sent", "elin.strand": "sent"}
    [anna] = box.to("anna.lind@exempelby.se")
    body = text_of(anna)
    assert "Eskalering" in str(anna["Subject"]) and ACCOUNT_NAME in str(anna["Subject"])
    assert f"{BASE}/messages/{CASE}" in body
    # 15:00 UTC is 16:00 in Stockholm in December
    assert "2026-12-07 16:00 (Europe/Stockholm)" in body
    assert anna["Content-Language"] == "sv"
    assert {p.get_content_type() for p in anna.walk()} >= {"text/plain", "text/html"}
    [elin] = box.to("elin.strand@exempelby.se")
    assert elin["Content-Language"] == "en" and "Reminder" in str(elin["Subject"])
    row = await pool.fetchrow("SELECT batch FROM outbox WHERE recipient = 'anna.lind'")
    assert anna["Message-ID"] == f"<kanalvakt.outbox.{row['batch']}@exempelby.se>"


_CRASHING_SENDER = """
import asyncio, sys
from datetime import timedelta
from adapters.mail import SmtpSettings
from outbox_sender import OutboxSender, SenderPolicy
from store.db import create_pool

async def main() -> None:
    pool = await create_pool(sys.argv[1], min_size=1, max_size=2)
    mail = SmtpSettings(host="127.0.0.1", port=int(sys.argv[2]),
                        from_address="kanalvakt@exempelby.se", public_base_url="http://x")
    sender = OutboxSender(pool, mail, None,
                          SenderPolicy(lease=timedelta(seconds=float(sys.argv[3]))))
    print("ready", flush=True)
    while not await sender.pump():
        await asyncio.sleep(0.1)
    print("marked", flush=True)
    await pool.close()

asyncio.run(main())
"""


async def _sender_process(database_url: str, port: int, lease: float
                          ) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-c", _CRASHING_SENDER, database_url, str(port), str(lease),
        cwd=ROOT, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONPATH": str(ROOT)})


async def test_a_sender_killed_between_send_and_mark_sends_the_same_message_id_again(
        directory: asyncpg.Pool, database_url: str) -> None:
    """At-least-once: the relay accepted the mail, the sender died (SIGKILL)
    before marking it; the next sender sends the same batch with the same
    Message-ID after the lease, and nothing is lost."""
    pool = directory
    await notify(pool, ["anna.lind"])
    await notify(pool, ["anna.lind"], kind="escalation")
    await notify(pool, ["sofia.wallin"], kind="escalation")
    async with smtp_server() as box:
        first = await _sender_process(database_url, box.port, lease=1.0)
        assert first.stdout is not None
        assert (await first.stdout.readline()).strip() == b"ready"
        box.on_accept = lambda mail: os.kill(first.pid, signal.SIGKILL)
        await asyncio.wait_for(first.wait(), timeout=30)
        assert first.returncode == -signal.SIGKILL
        killed_after = len(box.mails)
        assert killed_after >= 1
        assert set((await statuses(pool)).values()) == {"pending"}  # nothing marked
        box.on_accept = None
        await asyncio.sleep(1.1)  # the dead sender's lease runs out
        second = await _sender_process(database_url, box.port, lease=60.0)
        out, _ = await asyncio.wait_for(second.communicate(), timeout=60)
        assert second.returncode == 0, out
        if set((await statuses(pool)).values()) != {"sent"}:
            # the first round took one recipient's batch; another round takes the rest
            third = await _sender_process(database_url, box.port, lease=60.0)
            await asyncio.wait_for(third.communicate(), timeout=60)
    assert await statuses(pool) == {"anna.lind": "sent", "sofia.wallin": "sent"}
    ids = box.ids()
    duplicated = {i for i in ids if ids.count(i) == 2}
    assert len(duplicated) >= 1, ids  # the mail accepted before the kill, sent again
    assert len(set(ids)) == 2  # one mail per person (anna's two steps in one), none lost
    assert all(ids.count(i) <= 2 for i in ids)
    [anna_id] = {str(m["Message-ID"]) for m in box.to("anna.lind@exempelby.se")}
    batch = await pool.fetchval("SELECT DISTINCT batch FROM outbox WHERE recipient = 'anna.lind'")
    assert anna_id == f"<kanalvakt.outbox.{batch}@exempelby.se>"


async def test_a_relay_refusing_5xx_fails_the_row_for_an_operator_and_a_retry_by_hand(
        directory: asyncpg.Pool, database_url: str, capsys: pytest.CaptureFixture[str]
        ) -> None:
    pool = directory
    await notify(pool, ["anna.lind"])
    clock = Clock(MONDAY)
    async with smtp_server() as box:
        box.refuse = "550 5.7.1 relaying denied"
        s = sender(pool, box, clock)
        await s.pump()
        row = await pool.fetchrow("SELECT * FROM outbox WHERE recipient = 'anna.lind'")
        assert row["status"] == "failed" and "550" in row["last_error"]
        # the communications unit is told, by mail, that it is waiting
        assert await s.pump() >= 1
        told = {str(m["To"]) for m in box.mails}
        assert not told  # the relay still refuses everything: the notices failed too
        notices = await pool.fetch("SELECT recipient, status FROM outbox "
                                   "WHERE kind = 'undeliverable'")
        assert {r["recipient"] for r in notices} >= {"sofia.wallin", "erik.sjoberg"}
        # The operator sees it and sends it again once the relay is fixed.
        loop = asyncio.get_running_loop()
        assert await loop.run_in_executor(None, cli_main, ["--database-url", database_url,
                                                           "outbox", "list", "--status",
                                                           "failed"]) == 0
        listing = capsys.readouterr().out
        assert f"{row['id']}\tfailed\temail\tanna.lind" in listing and "550" in listing
        box.refuse = None
        assert await loop.run_in_executor(None, cli_main, ["--database-url", database_url,
                                                           "outbox", "retry",
                                                           str(row["id"])]) == 0
        clock.at += timedelta(seconds=1)
        await s.pump()
    assert (await statuses(pool))["anna.lind"] == "sent"
    [mail] = box.to("anna.lind@exempelby.se")
    assert mail["Message-ID"] == f"<kanalvakt.outbox.{row['batch']}@exempelby.se>"


async def test_an_unreachable_relay_is_retried_with_backoff_then_failed(
        directory: asyncpg.Pool) -> None:
    pool = directory
    await notify(pool, ["anna.lind"])
    clock = Clock(MONDAY)
    async with smtp_server() as box:
        pass  # closed: nothing listens on its port any more
    s = sender(pool, box, clock, max_attempts=3)
    waits = []
    for _ in range(3):
        assert await s.pump() == 1
        row = await pool.fetchrow("SELECT * FROM outbox WHERE recipient = 'anna.lind'")
        if row["status"] == "failed":
            break
        assert await s.pump() == 0  # not before its time
        waits.append(row["send_after"] - clock.at)
        clock.at = row["send_after"]
    row = await pool.fetchrow("SELECT * FROM outbox WHERE recipient = 'anna.lind'")
    assert row["status"] == "failed" and row["attempts"] == 3
    assert waits[:2] == [timedelta(seconds=30), timedelta(seconds=60)]  # doubling
    assert "3 attempts" in row["last_error"]


async def test_a_slow_relay_times_out_and_is_tried_again(directory: asyncpg.Pool) -> None:
    pool = directory
    await notify(pool, ["anna.lind"])
    clock = Clock(MONDAY)
    async with smtp_server() as box:
        box.delay = 3.0
        await sender(pool, box, clock, timeout=0.5).pump()
        row = await pool.fetchrow("SELECT * FROM outbox WHERE recipient = 'anna.lind'")
        assert row["status"] == "pending" and row["attempts"] == 1
        assert "Timeout" in row["last_error"]
        box.delay = 0
        clock.at = row["send_after"]
        await sender(pool, box, clock).pump()
    assert (await statuses(pool))["anna.lind"] == "sent"
    # The slow server may have kept the timed-out mail too: the same Message-ID.
    assert len(set(box.ids())) == 1


async def test_a_recipient_without_an_address_is_kept_and_the_communications_unit_told(
        directory: asyncpg.Pool) -> None:
    pool = directory
    await pool.execute("UPDATE people SET email = '' WHERE id = 'anna.lind'")
    await notify(pool, ["anna.lind", "nobody.here"], kind="escalation")
    clock = Clock(MONDAY)
    async with smtp_server() as box:
        s = sender(pool, box, clock)
        while await s.pump():
            pass
    rows = await pool.fetch("SELECT recipient, status, last_error FROM outbox "
                            "WHERE kind = 'escalation'")
    assert {(r["recipient"], r["status"], r["last_error"]) for r in rows} == {
        ("anna.lind", "failed", NO_ADDRESS), ("nobody.here", "failed", NO_ADDRESS)}
    told = box.to("sofia.wallin@exempelby.se")
    assert told, [str(m["To"]) for m in box.mails]
    body = "\n".join(text_of(m) for m in told)
    assert "anna.lind" in body and "nobody.here" in body and NO_ADDRESS in body
    assert f"{BASE}/outbox" in body


async def test_a_ten_week_catch_up_is_one_digest_per_person(directory: asyncpg.Pool) -> None:
    """After an outage, every missed step of ten weeks (reminders and
    escalations, several a day) arrives at once: one mail per person."""
    pool = directory
    start = MONDAY - timedelta(weeks=10)
    people = ["anna.lind", "elin.strand", "johan.berg"]
    for day in range(70):
        for i, kind in enumerate(("reminder", "escalation")):
            await notify(pool, people[: 2 + i], kind=kind,
                         due=start + timedelta(days=day, hours=i), created_at=MONDAY)
    assert await pool.fetchval("SELECT count(*) FROM outbox") == 70 * 5
    async with smtp_server() as box:
        s = sender(pool, box, Clock(MONDAY))
        while await s.pump():
            pass
    assert sorted(str(m["To"]).split("<")[1].split("@")[0] for m in box.mails) == sorted(people)
    [anna] = box.to("anna.lind@exempelby.se")
    assert "140" in str(anna["Subject"])
    assert set((await statuses(pool)).values()) == {"sent"}


async def test_a_digest_waits_for_the_hour_on_a_working_day_escalations_do_not(
        directory: asyncpg.Pool) -> None:
    pool = directory
    await save_preference(pool, "exempelby", "anna.lind",
                          NotificationPreference(mode=DeliveryMode.DIGEST, digest_hour=7),
                          MONDAY)
    friday_evening = datetime(2026, 12, 11, 18, 0, tzinfo=UTC)
    await notify(pool, ["anna.lind"], kind="reminder", created_at=friday_evening)
    await notify(pool, ["anna.lind"], kind="warning", created_at=friday_evening)
    await notify(pool, ["anna.lind"], kind="escalation", created_at=friday_evening)
    clock = Clock(friday_evening)
    async with smtp_server() as box:
        s = sender(pool, box, clock)
        await s.pump()
        assert len(box.mails) == 1 and "Eskalering" in str(box.mails[0]["Subject"])
        clock.at = datetime(2026, 12, 14, 5, 59, tzinfo=UTC)  # Monday 06:59 Stockholm
        assert await s.pump() == 0
        clock.at = datetime(2026, 12, 14, 6, 0, tzinfo=UTC)  # Monday 07:00
        assert await s.pump() == 1
    assert len(box.mails) == 2
    assert "2" in str(box.mails[1]["Subject"])  # one digest of two


async def test_a_chat_webhook_gets_the_same_outbox_and_retries(directory: asyncpg.Pool) -> None:
    pool = directory
    received: list[dict[str, Any]] = []
    answers = [500]
    app = FastAPI()

    @app.post("/hook")
    async def hook(request: Request) -> Response:
        if answers:
            return Response(status_code=answers.pop())
        received.append({"body": json.loads(await request.body()),
                         "key": request.headers.get("idempotency-key")})
        return Response("1")

    async with serve_app(app) as url:
        await set_chat_webhook(pool, "exempelby", "kultur", f"{url}/hook", "teams", MONDAY)
        await notify(pool, ["anna.lind", "elin.strand"], kind="escalation")
        chat_rows = await pool.fetch("SELECT * FROM outbox WHERE channel = 'chat'")
        assert [r["recipient"] for r in chat_rows] == ["exempelby/kultur"]  # one per event
        import httpx

        clock = Clock(MONDAY)
        async with httpx.AsyncClient() as http, smtp_server() as box:
            s = OutboxSender(pool, SmtpSettings(port=box.port, public_base_url=BASE), http,
                             SenderPolicy(), clock=clock)
            await s.pump()
            row = await pool.fetchrow("SELECT * FROM outbox WHERE channel = 'chat'")
            assert row["status"] == "pending" and "500" in row["last_error"]
            clock.at = row["send_after"]
            await s.pump()
    row = await pool.fetchrow("SELECT * FROM outbox WHERE channel = 'chat'")
    assert row["status"] == "sent"
    [post] = received
    assert post["body"]["@type"] == "MessageCard"
    assert ACCOUNT_NAME in post["body"]["summary"]
    assert post["body"]["potentialAction"][0]["targets"][0]["uri"] == f"{BASE}/messages/{CASE}"
    assert post["key"] == f"outbox-{row['id']}"



@pytest.fixture(scope="module")
def relay_pki(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, ssl.SSLContext]:
    """A CA of the municipality's own and the relay's certificate from it."""
    from cryptography.x509.oid import ExtendedKeyUsageOID

    folder = tmp_path_factory.mktemp("relay-pki")
    ca_key, server_key = _key(), _key()
    ca = _cert("Exempelby relay CA", ca_key, None, ca_key, ca=True)
    ca_path, _ = _write(folder, "ca", ca, ca_key)
    cert, key = _write(folder, "relay", _cert("localhost", server_key, ca, ca_key,
                                              usage=ExtendedKeyUsageOID.SERVER_AUTH),
                       server_key)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    return ca_path, context


@pytest.mark.parametrize("security", ["starttls", "tls"])
async def test_the_relay_over_starttls_or_implicit_tls_with_a_login(
        directory: asyncpg.Pool, relay_pki: tuple[Path, ssl.SSLContext], security: str) -> None:
    """The settings reach a relay that demands TLS (its certificate from the
    municipality's CA, KANALVAKT_SMTP_CA_FILE) and a login; without the CA
    the certificate is refused and nothing is lost."""
    pool = directory
    ca_path, context = relay_pki
    await notify(pool, ["anna.lind"])
    async with smtp_server(security=security, context=context,
                           login=("kanalvakt", "s3cret")) as box:
        settings = SmtpSettings(host="localhost", port=box.port, security=security,
                                username="kanalvakt", password="s3cret",
                                from_address="kanalvakt@exempelby.se", timeout=5.0)
        untrusting = OutboxSender(pool, settings, None, SenderPolicy(), clock=Clock(MONDAY))
        await untrusting.pump()
        row = await pool.fetchrow("SELECT * FROM outbox WHERE recipient = 'anna.lind'")
        assert row["status"] == "pending" and "CERTIFICATE_VERIFY_FAILED" in row["last_error"]
        trusting = OutboxSender(pool, replace(settings, ca_file=str(ca_path)), None,
                                SenderPolicy(), clock=Clock(row["send_after"]))
        await trusting.pump()
    assert (await statuses(pool))["anna.lind"] == "sent"
    assert box.sessions == [(True, "kanalvakt")]


async def test_the_sender_loop_delivers_what_arrives_until_stopped(directory: asyncpg.Pool
                                                                   ) -> None:
    """As in the worker: `run` polls, delivers what comes, and stops on the event."""
    pool = directory
    async with smtp_server() as box:
        s = sender(pool, box, lambda: datetime.now(UTC), poll=0.1)
        stop = asyncio.Event()
        running = asyncio.create_task(s.run(stop))
        await notify(pool, ["anna.lind"], created_at=datetime.now(UTC))

        async def delivered() -> list[Any]:
            return box.to("anna.lind@exempelby.se")
        assert await eventually(delivered)
        stop.set()
        await asyncio.wait_for(running, timeout=5)
    assert (await statuses(pool))["anna.lind"] == "sent"


async def test_the_command_line_sets_chat_webhooks_and_retries_failed_rows(
        directory: asyncpg.Pool, database_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    pool = directory
    loop = asyncio.get_running_loop()

    async def cli(*argv: str) -> int:
        return int(await loop.run_in_executor(None, cli_main,
                                              ["--database-url", database_url, *argv]))

    assert await cli("outbox", "chat", "set", "exempelby", "https://teams.example/hook",
                     "--unit", "kultur") == 0
    row = await pool.fetchrow("SELECT * FROM chat_webhooks")
    assert (row["municipality_id"], row["unit_id"], row["format"]) == ("exempelby", "kultur",
                                                                       "teams")
    await notify(pool, ["anna.lind"])
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE channel = 'chat'") == 1
    assert await cli("outbox", "chat", "remove", "exempelby", "--unit", "kultur") == 0
    assert await cli("outbox", "chat", "remove", "exempelby", "--unit", "kultur") == 1
    assert await cli("outbox", "retry") == 2  # neither ids nor --all
    assert await cli("outbox", "retry", "x") == 2
    await pool.execute("UPDATE outbox SET status = 'failed', last_error = 'SMTP 550'")
    assert await cli("outbox", "retry", "--all") == 0
    assert "2 failed notification(s) sent back" in capsys.readouterr().out
    assert await pool.fetchval("SELECT count(*) FROM outbox WHERE status = 'pending'") == 2
    assert await cli("outbox", "retry", "999999") == 1  # not a failed row


async def test_a_changed_choice_plans_what_waits_again(directory: asyncpg.Pool) -> None:
    """A reminder held for tomorrow's digest goes at once when the person
    gives up the digest."""
    pool = directory
    await save_preference(pool, "exempelby", "anna.lind",
                          NotificationPreference(mode=DeliveryMode.DIGEST, digest_hour=7),
                          MONDAY)
    await notify(pool, ["anna.lind"])
    clock = Clock(MONDAY)  # 10:00 in Stockholm: the digest is tomorrow at 07:00
    async with smtp_server() as box:
        s = sender(pool, box, clock)
        assert await s.pump() == 0
        held = await pool.fetchval("SELECT send_after FROM outbox")
        assert held == datetime(2026, 12, 8, 6, 0, tzinfo=UTC)
        await save_preference(pool, "exempelby", "anna.lind", NotificationPreference(), MONDAY)
        assert await s.pump() == 1
    assert len(box.to("anna.lind@exempelby.se")) == 1


def test_the_message_id_is_the_batch_s_at_the_sender_s_domain() -> None:
    assert message_id(42, "kanalvakt@exempelby.se") == "<kanalvakt.outbox.42@exempelby.se>"
    assert message_id(42, "Kanalvakt <noreply@fjordvik.no>") == \
        "<kanalvakt.outbox.42@fjordvik.no>"
