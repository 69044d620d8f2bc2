"""Issue 13 end to end on the real stack (dev server, worker, web app,
PostgreSQL) with a real SMTP server: a message left unanswered escalates
(R-22: entered with a publication ten days back, every step is overdue at
once), the outbox sender mails the unit's manager, and the link in that mail
opens the case in Chromium after the development sign-in. The pages: a
person changes their delivery choice (/notifications); the communications
unit sees a failed delivery and sends it again (/outbox), anyone else gets
403."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser

from adapters.mail import SmtpSettings
from outbox_sender import OutboxSender, SenderPolicy
from tests.e2e.browser import expect_accessible, person_page, screenshot, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_authorisation_matrix import (
    ROLES,
    Action,
    People,
    check_action,
    check_read,
    report,
)
from tests.e2e.test_authorisation_matrix import people as people  # noqa: F401 - the fixture
from tests.e2e.test_messages_api import received
from tests.smtp import Mailbox, smtp_server, text_of
from tests.support import COMMS, MANAGER, REQUESTER, eventually

TEXT = "Varför svarar ingen om simhallens öppettider, Kim Medborgare undrar"


def _sender(stack: Stack, box: Mailbox) -> OutboxSender:
    return OutboxSender(stack.pool, SmtpSettings(host="127.0.0.1", port=box.port,
                                                 from_address="kanalvakt@exempelby.se",
                                                 public_base_url=str(stack.http.base_url)),
                        None, SenderPolicy(), clock=lambda: datetime.now(UTC))


async def test_r22_the_manager_s_escalation_mail_opens_the_case_after_sign_in(
        stack: Stack, chromium: Browser) -> None:
    account_id = await active_account(stack)
    ten_days_ago = (datetime.now(UTC) - timedelta(days=10)).isoformat()
    case_id = await received(stack, account_id, TEXT, published_at=ten_days_ago)

    async def manager_told() -> int:
        return int(await stack.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE case_id = $1 AND recipient = $2 "
            "AND kind = 'escalation'", case_id, MANAGER))
    assert await eventually(manager_told, seconds=60), "no escalation reached the outbox"
    async with smtp_server() as box:
        sender = _sender(stack, box)
        while await sender.pump():
            pass
    # The catch-up may still be firing steps while the sender runs: the
    # manager's first mail is the escalation (its steps gathered in one).
    mails = box.to("anna.lind@exempelby.se")
    assert mails and len(set(box.ids())) == len(box.mails)
    mail = mails[0]
    body = text_of(mail)
    assert "Eskalering" in body and "Kulturhuset Ängen" in body
    for other in box.mails:
        assert TEXT not in text_of(other) and "Kim Medborgare" not in text_of(other)
    links = re.findall(r"https?://\S+/messages/[^\s\"<]+", mail.get_body(("plain",))
                       .get_content())
    assert links, body
    page = await person_page(chromium, stack, MANAGER)
    response = await page.goto(links[0])
    assert response is not None and response.status == 200
    assert page.url.endswith(f"/messages/{case_id}")
    assert "Kulturhuset Ängen" in await page.title()
    await screenshot(page, "outbox-mail-link-case")


async def test_a_person_chooses_a_digest_on_the_notifications_page(
        stack: Stack, chromium: Browser) -> None:
    page = await person_page(chromium, stack, REQUESTER)
    await page.goto(url(stack, "/notifications"))
    await expect_accessible(page, "notifications")
    await page.get_by_label("Hur vill du få påminnelser?").select_option("digest")
    await page.get_by_label("Klockslag för sammanfattningen (kontorets tid)").select_option("7")
    await page.get_by_label("Språk i breven").select_option("en")
    await submit(page, page.get_by_role("button", name="Spara"))
    assert await page.locator("#result").count() == 1
    row = await stack.pool.fetchrow(
        "SELECT * FROM notification_preferences WHERE person_id = $1", REQUESTER)
    assert (row["mode"], row["digest_hour"], row["language"]) == ("digest", 7, "en")
    r = await stack.http.post("/notifications", data={"mode": "weekly", "digest_hour": "7",
                                                      "language": ""})
    assert r.status_code in (401, 403, 303, 422)  # never a server error, nothing changed
    assert (await stack.pool.fetchval("SELECT mode FROM notification_preferences "
                                      "WHERE person_id = $1", REQUESTER)) == "digest"


async def test_the_communications_unit_sees_a_failed_delivery_and_sends_it_again(
        stack: Stack, chromium: Browser) -> None:
    account_id = await active_account(stack)
    await stack.pool.execute(
        """INSERT INTO outbox (event_id, recipient, channel, municipality_id, account_id, kind,
               step, stage, created_at, status, attempts, last_error, send_after)
           VALUES (gen_random_uuid(), 'anna.lind', 'email', 'exempelby', $1::uuid,
                   'escalation', 'manager', 'open', now(), 'failed', 8,
                   'SMTP 550 relaying denied', now())""", account_id)
    row_id = await stack.pool.fetchval("SELECT max(id) FROM outbox WHERE status = 'failed'")
    outsider = await person_page(chromium, stack, MANAGER)
    response = await outsider.goto(url(stack, "/outbox"))
    assert response is not None and response.status == 403
    page = await person_page(chromium, stack, COMMS)
    await page.goto(url(stack, "/outbox"))
    await expect_accessible(page, "outbox")
    assert "SMTP 550 relaying denied" in await page.locator(f"#outbox-{row_id}").inner_text()
    await submit(page, page.locator(f"#outbox-{row_id}").get_by_role("button",
                                                                      name="Skicka igen"))
    status = await stack.pool.fetchval("SELECT status FROM outbox WHERE id = $1", row_id)
    assert status == "pending"
    await screenshot(page, "outbox-retried")


async def test_matrix_outbox_pages(stack: Stack, people: People) -> None:
    """The authorisation matrix (tests/e2e/test_authorisation_matrix.py) for
    issue 13's pages: /outbox and its "send again" are the communications
    unit's (anyone else 403, nothing changed, another municipality's row not
    there); /notifications is everyone's own."""
    problems: list[str] = []
    await stack.pool.execute(
        """INSERT INTO outbox (event_id, recipient, channel, municipality_id, kind, step,
               stage, created_at, status, attempts, last_error, send_after)
           VALUES (gen_random_uuid(), 'anna.lind', 'email', 'exempelby', 'escalation',
                   'manager', 'open', now(), 'failed', 8, 'SMTP 550', now())""")
    row_id = await stack.pool.fetchval("SELECT max(id) FROM outbox")

    async def failed() -> int:
        return int(await stack.pool.fetchval(
            "SELECT count(*) FROM outbox WHERE status = 'failed'"))

    async def fail_again(role: str) -> None:
        await stack.pool.execute("UPDATE outbox SET status = 'failed' WHERE id = $1", row_id)

    await check_read(people, "page", "outbox page", "/outbox", {"communications"}, problems)
    await check_action(people, "page", Action(
        "send a notification again", frozenset({"communications"}), None,
        (f"/outbox/{row_id}/retry", {}), failed, undo=fail_again), problems)
    everyone = {role for role, who in ROLES.items() if who is not None}
    await check_read(people, "page", "my notifications", "/notifications", everyone, problems)
    report(problems)
