"""Issue 16 on the case page, in Swedish (Exempelby, Mora's settings): an
admin marks a comment as watched (R-46, disposed of when its date comes,
R-50); the communications unit closes an unanswered case with a reason
(R-22); an admin is not offered that form. axe-core checks each page."""

from __future__ import annotations

from playwright.async_api import Browser

from tests.e2e.browser import expect_accessible, person_page, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_messages_api import case, received
from tests.e2e.test_moderation_pages import _submit
from tests.support import COMMS


async def test_r46_r22_watched_and_closed_on_the_case_page(chromium: Browser,
                                                           stack: Stack) -> None:
    account_id = await active_account(stack)
    chat = await received(stack, account_id, "Vilken fin solnedgång över sjön ikväll.")
    asked = await received(stack, account_id, "Varför har ingen svarat om bygglovet?")

    admin = await person_page(chromium, stack, "elin.strand")
    await admin.goto(url(stack, f"/messages/{asked}"))
    assert await admin.get_by_role("heading", name="Stäng ärendet med motivering").count() == 0
    await admin.goto(url(stack, f"/messages/{chat}"))
    await expect_accessible(admin, "message-case-watch")
    await admin.get_by_label("Varför inget svar behövs").fill("En kommentar utan fråga.")
    await _submit(admin, "Bara bevaka", "Markera som bevakat")
    assert "Meddelandet är bevakat" in await admin.locator("#result").inner_text()
    watched = await case(stack, chat)
    assert watched["stage"] == "watched"
    assert watched["state"]["disposal_decision"] == "SM-1"

    comms = await person_page(chromium, stack, COMMS)
    await comms.goto(url(stack, f"/messages/{asked}"))
    await expect_accessible(comms, "message-case-close")
    await comms.get_by_label("Varför ärendet stängs utan svar").fill("Besvarad per brev.")
    await _submit(comms, "Stäng ärendet med motivering", "Stäng ärendet")
    assert "Ärendet är stängt" in await comms.locator("#result").inner_text()
    closed = await case(stack, asked)
    assert closed["stage"] == "closed"
    assert closed["timeline"][-1]["event_type"] == "CaseClosed"
