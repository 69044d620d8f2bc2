"""Issue 13 across a real escalation chain: an unanswered message on the
time-skipping server, its reminders and escalations projected into
notifications and the outbox by the real activities on PostgreSQL, and the
outbox sender mailing them to a real SMTP server (aiosmtpd) started here.
R-22/R-23: the admins are reminded, the manager and then the communications
unit are told by mail, each once per step, with the link to the case; the
citizen's text and name are in no mail; a rebuild of the read models sends
nothing again."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg

from adapters.mail import SmtpSettings
from domain import message as msg
from domain.country import Country
from domain.inbound import InboundMessage, message_workflow_id
from outbox_sender import OutboxSender, SenderPolicy
from store.directory import DirectoryRepository, parse_directory_yaml
from store.projections.rebuild import rebuild
from tests.smtp import Mailbox, smtp_server, text_of
from tests.support import EXEMPELBY, MANAGER, eventually
from tests.workflows.test_message_workflow import (
    ADMINS,
    AUTHORITIES,
    PAGE,
    TZ,
    MessageHarness,
    W,
    events_of,
)
from tests.workflows.test_message_workflow import mh as mh  # noqa: F401 - the fixture
from workflows.starter import start_message_case

BASE = "https://intranet.exempelby.se"
TEXT = "Min granne Per Persson på Storgatan 5 har fuskat med bygglovet"
AUTHOR = "Kim Medborgare"
ACCOUNT_NAME = "Biblioteket Exempelby"


async def _account(pool: asyncpg.Pool) -> str:
    await DirectoryRepository(pool).load(parse_directory_yaml(EXEMPELBY.read_text("utf-8")))
    account_id = str(uuid.uuid4())
    await pool.execute(
        """INSERT INTO accounts (account_id, stream_id, workflow_id, municipality_id, unit_id,
               platform, account_name, stage, requester, requested_at, updated_at, version,
               state)
           VALUES ($1::uuid, $2, 'account:exempelby:biblioteket', 'exempelby', 'kultur',
                   'facebook', $3, 'active', 'elin.strand', now(), now(), 1, '{}')""",
        account_id, f"account-{account_id}", ACCOUNT_NAME)
    return account_id


async def _receive(mh: MessageHarness, account_id: str) -> str:
    published = await mh.env.get_current_time()
    external_id = f"{PAGE}_{uuid.uuid4().int % 10**12}"
    message = InboundMessage(platform="facebook", external_id=external_id, kind="comment",
                             account_ref=PAGE, parent_id=f"{PAGE}_777", author_id="5551",
                             author_name=AUTHOR, text=TEXT, published_at=published)
    command = msg.ReceiveMessage(
        actor="kanalvakt", case_id=message_workflow_id(message.platform, external_id),
        account_id=account_id, municipality_id="exempelby", country=Country.SE, timezone=TZ,
        message=message, policy=msg.MessagePolicy(), authorities=AUTHORITIES)
    handle = await start_message_case(mh.client, command, task_queue=mh.task_queue)
    return handle.id


def _sender(pool: asyncpg.Pool, box: Mailbox) -> OutboxSender:
    return OutboxSender(pool, SmtpSettings(host="127.0.0.1", port=box.port,
                                           from_address="kanalvakt@exempelby.se",
                                           public_base_url=BASE),
                        None, SenderPolicy(), clock=lambda: datetime.now(UTC))


async def _drain(sender: OutboxSender) -> None:
    while await sender.pump():
        pass


def _who(mail: Any) -> str:
    return str(mail["To"]).split("<")[1].split("@")[0]


async def test_r22_an_escalation_chain_reaches_people_by_mail_once_each_without_citizen_data(
        mh: MessageHarness) -> None:
    account_id = await _account(mh.pool)
    case_id = await _receive(mh, account_id)
    async with smtp_server() as box:
        sender = _sender(mh.pool, box)
        handle = mh.client.get_workflow_handle(case_id)
        for _step in range(30):  # five days, four hours at a time
            await mh.env.sleep(timedelta(hours=4))
            now = await mh.env.get_current_time()

            async def settled(now: datetime = now) -> bool:
                # the case waits for its next step: the due ones are recorded
                state: msg.MessageState = await handle.query(W.state)
                due = msg.next_deadline(state)
                return due is None or due > now
            assert await eventually(settled, seconds=30)
            await _drain(sender)
        events = await events_of(mh, case_id)
        fired = [e for e in events if e["event_type"] in ("MessageReminderSent",
                                                            "MessageEscalated")]
        assert len(fired) >= 3, [e["event_type"] for e in events]
        # Every recipient of every fired step is in the outbox once, and sent.
        wanted = {(str(e["data"]["step"]), who) for e in fired for who in e["data"]["recipients"]}
        rows = await mh.pool.fetch(
            "SELECT o.step, o.recipient, o.status FROM outbox o WHERE o.case_id = $1 "
            "AND o.channel = 'email'", case_id)
        assert {(r["step"], r["recipient"]) for r in rows} == wanted
        assert {r["status"] for r in rows} == {"sent"}
        # The admins were reminded first; the manager and the communications
        # unit were told of the escalations.
        first = box.mails[0]
        assert "Påminnelse" in text_of(first) and _who(first) in ADMINS
        manager_mails = [m for m in box.mails if _who(m) == MANAGER]
        assert manager_mails and "Eskalering" in str(manager_mails[0]["Subject"])
        assert f"{BASE}/messages/{case_id}" in text_of(manager_mails[0])
        comms = {_who(m) for m in box.mails} & set(AUTHORITIES.communications)
        assert comms == set(AUTHORITIES.communications)
        # No citizen data and no message text in any mail.
        for mail in box.mails:
            body = text_of(mail)
            assert ACCOUNT_NAME in body
            for secret in (TEXT, "Per Persson", "Storgatan", AUTHOR, "Medborgare"):
                assert secret not in body, (secret, mail["Subject"])
        # One mail per person and step: no duplicates (distinct Message-IDs).
        assert len(set(box.ids())) == len(box.mails)
        # A rebuild of the read models re-creates the notifications, not the mail.
        outbox_before = await mh.pool.fetchval("SELECT count(*) FROM outbox")
        notifications = await mh.pool.fetchval("SELECT count(*) FROM notifications")
        mailed = len(box.mails)
        assert await rebuild(mh.pool) == len(await mh.pool.fetch('SELECT 1 FROM events'))
        assert await mh.pool.fetchval("SELECT count(*) FROM notifications") == notifications
        assert await mh.pool.fetchval("SELECT count(*) FROM outbox") == outbox_before
        await _drain(sender)
        assert len(box.mails) == mailed
