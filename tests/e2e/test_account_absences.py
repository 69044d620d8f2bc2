"""R-14, holiday cover, on the whole stack (dev server, PostgreSQL, web app,
Chromium): admins record absences with a cover over the API and on the
account page; with every admin away the manager is escalated to at once, and
the account shows it on its page and in My tasks, the manager's and the
cover's; an absence ended early ends the escalation."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import Browser

from tests.e2e.browser import expect_accessible, person_page, screenshot, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.intranet import browser, sign_in
from tests.support import DEPUTY, MANAGER, OUTSIDER, REQUESTER, eventually

COLLEAGUE = "eva.marklund"  # kansli: in the directory, not an admin


def as_(person: str) -> dict[str, str]:
    return {"X-Kanalvakt-Actor": person}


def today() -> date:
    return datetime.now(UTC).astimezone(ZoneInfo("Europe/Stockholm")).date()


async def events(stack: Stack, account_id: str, kind: str) -> list[dict[str, Any]]:
    rows = await stack.pool.fetch(
        "SELECT actor, data FROM events WHERE stream_id = $1 AND event_type = $2 "
        "ORDER BY version", f"account-{account_id}", kind)
    return [dict(r) for r in rows]


async def test_r14_absences_over_the_api_all_away_escalates_at_once_and_shows_in_tasks(
        stack: Stack) -> None:
    account_id = await active_account(stack)
    base = f"/api/accounts/{account_id}/absences"
    day = today()
    mine = {"person": REQUESTER, "starts_on": day.isoformat(),
            "ends_on": (day + timedelta(days=3)).isoformat(), "cover": COLLEAGUE}

    # Refused, nothing recorded: someone of another unit; an unknown cover; bad dates.
    r = await stack.http.post(base, headers=as_(OUTSIDER), json=mine)
    assert r.status_code == 403 and r.json()["detail"]["key"] == "absence.who", r.text
    r = await stack.http.post(base, headers=as_(REQUESTER), json={**mine, "cover": "no.such"})
    assert r.status_code == 422 and r.json()["detail"]["key"] == "absence.cover_unknown"
    r = await stack.http.post(base, headers=as_(REQUESTER), json={**mine, "ends_on": "x"})
    assert r.status_code == 422 and r.json()["detail"][0]["loc"] == ["body", "ends_on"]
    assert await events(stack, account_id, "AbsenceRecorded") == []

    r = await stack.http.post(base, headers=as_(REQUESTER), json=mine)
    assert r.status_code == 201, r.text
    [absence] = r.json()["absences"]
    assert (absence["absence_id"], absence["cover"]) == ("A-1", COLLEAGUE)
    assert r.json()["all_away_since"] is None

    # johan.berg (the other admin, and the unit's deputy) leaves today too:
    # every admin is away, and the manager is told at once.
    r = await stack.http.post(base, headers=as_(DEPUTY), json={
        "person": DEPUTY, "starts_on": day.isoformat(), "ends_on": day.isoformat(),
        "cover": COLLEAGUE})
    assert r.status_code == 201, r.text
    [escalated] = await eventually(
        lambda: events(stack, account_id, "AllAdminsAwayEscalated"), lambda e: len(e) == 1,
        seconds=30)
    assert escalated["data"]["recipients"] == [MANAGER, COLLEAGUE]
    assert escalated["data"]["covering"] == {COLLEAGUE: [DEPUTY]}
    told = await eventually(lambda: stack.pool.fetch(
        "SELECT recipient, kind FROM notifications WHERE account_id = $1::uuid "
        "AND step LIKE 'all_admins_away%' ORDER BY recipient", account_id),
        lambda rows: len(rows) == 2)
    assert [(t["recipient"], t["kind"]) for t in told] == [
        (MANAGER, "escalation"), (COLLEAGUE, "escalation")]
    view = await eventually(
        lambda: stack.http.get(base, headers=as_(MANAGER)),
        lambda got: got.json()["all_away_since"] is not None)
    assert view.json()["escalated"] is True

    # On the account page and in My tasks: the manager's, and the cover's.
    async with browser(stack) as manager:
        await sign_in(manager, MANAGER)
        page = (await manager.get(f"/accounts/{account_id}")).text
        assert 'id="all-away"' in page and "Alla administratörer är borta sedan" in page
        tasks = (await manager.get("/tasks")).text
        assert "Alla administratörer är borta" in tasks
    async with browser(stack) as outsider:  # staff data: not shown to others
        await sign_in(outsider, OUTSIDER)
        page = (await outsider.get(f"/accounts/{account_id}")).text
        assert 'id="absences"' not in page and 'id="all-away"' not in page
    async with browser(stack) as cover:
        await sign_in(cover, COLLEAGUE)
        assert "Du är vikarie för en administratör som är borta" in (
            await cover.get("/tasks")).text
        # the cover checks the account while covering.
        r = await stack.http.post(f"/api/accounts/{account_id}/check-ins",
                                  headers=as_(COLLEAGUE), json={})
        assert r.status_code == 200, r.text

    # elin.strand is back early: the escalation ends on the record.
    r = await stack.http.post(f"{base}/A-1/cancel", headers=as_(OUTSIDER))
    assert r.status_code == 403
    r = await stack.http.post(f"{base}/A-1/cancel", headers=as_(REQUESTER))
    assert r.status_code == 200, r.text
    await eventually(lambda: events(stack, account_id, "AdminBackFromAbsence"),
                     lambda e: len(e) == 1, seconds=30)
    r = await eventually(lambda: stack.http.get(base, headers=as_(REQUESTER)),
                         lambda got: got.json()["all_away_since"] is None)
    assert [a["person"] for a in r.json()["absences"]] == [DEPUTY]


async def test_r14_absence_form_on_the_account_page(chromium: Browser, stack: Stack) -> None:
    """An admin records an absence in the browser: the form and its refusal
    are accessible (axe, WCAG 2.1 A/AA); the panel then lists it with the
    cover, the timeline has it; someone of another unit sees no form and is
    refused (403) with nothing recorded."""
    account_id = await active_account(stack)
    action = f"/accounts/{account_id}/absences"
    async with browser(stack) as outsider:
        token = await sign_in(outsider, OUTSIDER)
        shown = await outsider.get(f"/accounts/{account_id}")
        assert shown.status_code == 200 and f'action="{action}"' not in shown.text
        r = await outsider.post(action, data={
            "csrf_token": token, "person": REQUESTER, "starts_on": today().isoformat(),
            "ends_on": today().isoformat(), "cover": COLLEAGUE})
        assert r.status_code == 403
    assert await events(stack, account_id, "AbsenceRecorded") == []

    elin = await person_page(chromium, stack, REQUESTER)
    await elin.goto(url(stack, f"/accounts/{account_id}"))
    form = elin.locator(f"form[action='{action}']")
    await expect_accessible(elin, "account-absence-form")
    # The cover is herself: refused with the rule's text at the form.
    first = today() + timedelta(days=7)
    await form.get_by_label("Från och med (datum)").fill(first.isoformat())
    await form.get_by_label("Till och med (datum)").fill((first + timedelta(days=4)).isoformat())
    await form.get_by_label("Vikarie").fill(REQUESTER)
    await submit(elin, form.get_by_role("button", name="Registrera frånvaron"))
    assert "Någon annan ska vara vikarie" in await elin.locator("#f-absence-form").inner_text()
    await expect_accessible(elin, "account-absence-refused")

    await form.get_by_label("Från och med (datum)").fill(first.isoformat())
    await form.get_by_label("Till och med (datum)").fill((first + timedelta(days=4)).isoformat())
    await form.get_by_label("Vikarie").fill(COLLEAGUE)
    await submit(elin, form.get_by_role("button", name="Registrera frånvaron"))
    await elin.wait_for_url(re.compile(r"done=absence"))
    listed = await elin.locator("#absence-list").inner_text()
    assert "Elin Strand" in listed and "Eva Marklund" in listed and first.isoformat() in listed
    assert "Frånvaro registrerad" in await elin.locator("#timeline").inner_text()
    await screenshot(elin, "account-absence-recorded")
    [recorded] = await events(stack, account_id, "AbsenceRecorded")
    assert recorded["actor"] == REQUESTER
    assert recorded["data"]["absence"]["cover"] == COLLEAGUE
