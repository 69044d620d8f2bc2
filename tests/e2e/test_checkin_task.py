"""Issue 14, R-15: the day's check-in is a task in "Mina uppgifter" (/tasks)
for the account's admins, read from the read model; deadlines read in words
("senast fredag 18 december kl. 16.30", "innen ...", "i dag kl. 12.00").

In Chromium on the dev-server stack. "My tasks" is shown as of
`web.account_pages.tasks_clock`, which the first test sets to a working
day's morning (the suite runs on any day). That the task reads 1 of 2
after a check-in and is gone after two is proven on the time-skipping server
(tests/workflows/test_checkin_task_read_model.py), not here: real check-ins
would need the real clock on a working day within office hours, a test
that would pass or skip by the day CI runs."""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from playwright.async_api import Browser, Locator, Page

import web.account_pages
from domain.calendar import next_working_day
from domain.directory import Country
from tests.e2e.browser import expect_accessible, person_page, screenshot, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_messages_api import as_
from tests.support import MANAGER, REQUESTER, request_fields

ADMIN = REQUESTER  # elin.strand; johan.berg (DEPUTY) is the other admin
TZ = ZoneInfo("Europe/Stockholm")
HANDLE = "@kulturhusetangen"
SV_DAYS = ("måndag", "tisdag", "onsdag", "torsdag", "fredag", "lördag", "söndag")
SV_MONTHS = ("januari", "februari", "mars", "april", "maj", "juni", "juli", "augusti",
             "september", "oktober", "november", "december")
NB_DAYS = ("mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag", "søndag")
NB_MONTHS = ("januar", "februar", "mars", "april", "mai", "juni", "juli", "august",
             "september", "oktober", "november", "desember")


def _working_morning() -> datetime:
    """09:00 in Stockholm on the next Swedish working day."""
    day = next_working_day(datetime.now(TZ).date(), Country.SE)
    return datetime.combine(day, time(9, 0), tzinfo=TZ).astimezone(UTC)


def _check_in_rows(page: Page, account_id: str) -> Locator:
    return page.locator(f"tr.check-in-task[data-account='{account_id}']")


async def _deadline(page: Page, row_selector: str) -> tuple[datetime, str]:
    """The row's <time>: its machine-readable moment and its words."""
    element = page.locator(f"{row_selector} time").first
    moment = datetime.fromisoformat(await element.get_attribute("datetime") or "")
    return moment, (await element.inner_text()).strip()


def _in_words(moment: datetime, days: tuple[str, ...], months: tuple[str, ...],
              lead: str, dot: str) -> str:
    local = moment.astimezone(TZ)
    return (f"{lead} {days[local.weekday()]} {local.day}{dot} {months[local.month - 1]}"
            f" kl. {local:%H.%M}")


async def test_r15_the_check_in_is_an_admins_task_with_its_deadline_in_words(
        chromium: Browser, stack: Stack, monkeypatch: pytest.MonkeyPatch) -> None:
    """R-15: on a working day's morning (09:00) with no check-in made, the
    account's admin finds "Kontrollera kontot @kulturhusetangen (0 av 2
    gjorda i dag)" in "Mina uppgifter", by the midday reminder ("i dag kl.
    12.00", the <time> element the same moment), linking to the account
    page's check-in form; the unit's manager, not an admin, has no such
    task. A decision waiting for the manager reads its deadline in words in
    sv ("senast fredag 18 december kl. 16.30") and nb ("innen fredag 18.
    desember kl. 16.30"). /tasks passes axe."""
    morning = _working_morning()
    monkeypatch.setattr(web.account_pages, "tasks_clock", lambda: morning)
    account_id = await active_account(stack)
    r = await stack.http.post("/api/accounts", headers=as_(ADMIN), json={
        **request_fields(account_name="Ungdomens hus"), "municipality_id": "exempelby"})
    assert r.status_code == 201, r.text
    requested = r.json()["account_id"]

    elin = await person_page(chromium, stack, ADMIN)
    await elin.goto(url(stack, "/tasks"))
    rows = _check_in_rows(elin, account_id)
    assert await rows.count() == 1, await elin.locator("main").inner_text()
    text = await rows.inner_text()
    assert f"Kontrollera kontot {HANDLE} (0 av 2 gjorda i dag)" in text, text
    moment, words = await _deadline(elin, f"tr.check-in-task[data-account='{account_id}']")
    assert moment == datetime.combine(morning.astimezone(TZ).date(), time(12, 0), tzinfo=TZ)
    assert words == "i dag kl. 12.00", words
    await expect_accessible(elin, "checkin-task")
    await screenshot(elin, "checkin-task")
    await submit(elin, rows.get_by_role("link"))
    assert re.search(rf"/accounts/{account_id}#check-in$", elin.url), elin.url
    assert await elin.locator("form#check-in").count() == 1

    anna = await person_page(chromium, stack, MANAGER)
    await anna.goto(url(stack, "/tasks"))
    assert await _check_in_rows(anna, account_id).count() == 0
    assert "Kontrollera kontot" not in await anna.locator("main").inner_text()
    # The manager's decision on the new request: its deadline in words.
    approve = f"tr:has(a[href='/accounts/{requested}'])"
    due, words = await _deadline(anna, approve)
    assert due.astimezone(TZ).date() > morning.astimezone(TZ).date() + timedelta(days=1), due
    assert words == _in_words(due, SV_DAYS, SV_MONTHS, "senast", ""), words
    await expect_accessible(anna, "checkin-task-manager")
    await anna.goto(url(stack, "/lang/nb?next=/tasks"))
    await anna.wait_for_url(re.compile(r"/tasks$"))
    due_nb, words_nb = await _deadline(anna, approve)
    assert due_nb == due
    assert words_nb == _in_words(due, NB_DAYS, NB_MONTHS, "innen", "."), words_nb
    await expect_accessible(anna, "checkin-task-manager-nb")
    await screenshot(anna, "checkin-task-manager-nb")

