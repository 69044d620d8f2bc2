"""R-19 on the dev-server stack, in Chromium: an account without posts for
longer than its inactivity period is proposed for closure by its own
workflow, and the communications unit keeps it from the account page.

Weeks without posts cannot pass on a real server, so the account is put on
the record as activated ten weeks ago (the lifecycle's own commands, decided
by domain.account and appended with the projections, as the time-skipping
tests do) and its workflow started from that state on the stack's worker;
from then on everything is the stack's: the workflow's own timer finds the
inactivity period over, records the proposal and tells the communications
unit; the page offers "Behåll kontot" to them alone; the keep goes through
the page's form, the workflow's update and the record."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

from playwright.async_api import Browser

from domain import account as acc
from store.directory import parse_directory_yaml
from tests.e2e.browser import expect_accessible, person_page, screenshot, submit, url
from tests.e2e.conftest import Stack
from tests.e2e.intranet import browser, sign_in
from tests.support import COMMS, EXEMPELBY, REQUESTER, eventually
from tests.workflows.test_snapshot_workflow import put_active_account
from workflows.account import AccountLifecycleWorkflow
from workflows.models import AccountWorkflowInput


async def _state(stack: Stack, workflow_id: str) -> acc.AccountState:
    state: Any = await stack.client.get_workflow_handle(workflow_id).query(
        AccountLifecycleWorkflow.state)
    return state if isinstance(state, acc.AccountState) else acc.AccountState.model_validate(state)


async def _event_types(stack: Stack, account_id: str) -> list[str]:
    rows = await stack.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version",
        f"account-{account_id}")
    return [r["event_type"] for r in rows]


async def _neglected_account(stack: Stack, days: int = 70) -> tuple[acc.AccountState, str]:
    """An account activated `days` ago, never posted on nor checked,
    its workflow started on the stack; returns once the workflow has caught
    up (its next deadline is in the future), with its state and id."""
    activated = datetime.now(UTC) - timedelta(days=days)
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    put = SimpleNamespace(pool=stack.pool, directory=directory)
    state = await put_active_account(put, name="Biblioteket Ängen", platform="facebook",  # type: ignore[arg-type]
                                     platform_account_id=None, at=activated)
    assert state.monitoring.last_post_at is None
    workflow_id = acc.workflow_id_for(state.municipality_id, state.slug)
    await stack.client.start_workflow(AccountLifecycleWorkflow.run,
                                      AccountWorkflowInput(state=state), id=workflow_id,
                                      task_queue=stack.task_queue)

    def caught_up(s: acc.AccountState) -> bool:
        due = acc.next_deadline(s)
        return due is not None and due > datetime.now(UTC)
    state = await eventually(lambda: _state(stack, workflow_id), caught_up, seconds=90)
    assert caught_up(state), acc.next_deadline(state)
    return state, workflow_id


async def test_r19_an_inactive_account_is_proposed_for_closure_and_kept_on_its_page(
        chromium: Browser, stack: Stack) -> None:
    """R-19: no posts for longer than the inactivity period (60 days by
    default): the workflow proposes closure (ClosureProposed, the
    communications unit told); the account page marks it and offers the keep
    form to the communications unit but not to an admin; the communications
    unit keeps it with a reason in Chromium (the enhanced form, no
    navigation), the mark goes, AccountKept is on the record with the reason
    and who, and the workflow's state has no proposal left."""
    state, workflow_id = await _neglected_account(stack)
    assert state.monitoring.closure_proposed_at is not None
    # caught up after ten weeks, each missed working day is escalated
    # once, and no reminder is sent for a day already over.
    stream = f"account-{state.account_id}"
    escalated = await stack.pool.fetch(
        "SELECT data->>'day' AS day FROM events WHERE stream_id = $1 "
        "AND event_type = 'CheckInEscalated' AND data->>'day' IS NOT NULL", stream)
    days = [r["day"] for r in escalated]
    assert len(days) > 30 and len(days) == len(set(days))
    today = datetime.now(ZoneInfo(state.timezone)).date().isoformat()
    reminded = await stack.pool.fetch(
        "SELECT data->>'day' AS day FROM events WHERE stream_id = $1 "
        "AND event_type = 'CheckInReminderSent'", stream)
    assert all(r["day"] >= today for r in reminded), [r["day"] for r in reminded]
    assert "ClosureProposed" in await _event_types(stack, state.account_id)
    told = await stack.pool.fetch(
        "SELECT recipient FROM notifications WHERE kind = 'proposal' AND account_id = $1::uuid",
        state.account_id)  # written with the event, in its transaction
    assert COMMS in {r["recipient"] for r in told}

    admin = await person_page(chromium, stack, REQUESTER)
    await admin.goto(url(stack, f"/accounts/{state.account_id}"))
    assert await admin.locator("#closure-proposed").count() == 1
    assert await admin.get_by_role("button", name="Behåll kontot").count() == 0

    page = await person_page(chromium, stack, COMMS)
    await page.goto(url(stack, f"/accounts/{state.account_id}"))
    assert "Avslut föreslaget" in await page.locator("#closure-proposed").inner_text()
    await page.evaluate("window.kvMarker = 'same page'")
    await page.get_by_label("Skäl att behålla kontot").fill(
        "Biblioteket flyttar; kontot behövs för information om de nya lokalerna.")
    await submit(page, page.get_by_role("button", name="Behåll kontot"))
    await page.wait_for_url(re.compile(r"done=keep"))
    assert await page.evaluate("window.kvMarker") == "same page"
    assert "Kontot behålls." in await page.locator(".notice-ok").inner_text()
    assert await page.locator("#closure-proposed").count() == 0
    assert await page.get_by_role("button", name="Behåll kontot").count() == 0
    await expect_accessible(page, "account-kept")
    await screenshot(page, "account-kept")

    kept = await stack.pool.fetchrow(
        "SELECT actor, data FROM events WHERE stream_id = $1 AND event_type = 'AccountKept'",
        f"account-{state.account_id}")
    assert kept is not None and kept["actor"] == COMMS
    assert "nya lokalerna" in kept["data"]["reason"]
    after = await _state(stack, workflow_id)
    assert after.monitoring.closure_proposed_at is None


async def test_the_account_timeline_pages_its_events_newest_first(stack: Stack) -> None:
    """The account page's timeline (every event, who and when) shows the
    newest 100 and pages back to the first, AccountRequested, with links both
    ways; a page bound that is not an event number shows the newest page. The
    API pages the same way (before, limit) and refuses a bad limit."""
    state, _ = await _neglected_account(stack, days=150)
    total: int = await stack.pool.fetchval(
        "SELECT max(version) FROM events WHERE stream_id = $1", f"account-{state.account_id}")
    assert total > 100  # five months of missed days, weeks and escalations: two pages
    path = f"/accounts/{state.account_id}"

    def rows(html: str) -> list[str]:
        body = html[html.index('id="timeline"'):]
        body = body[body.index("<tbody>"):body.index("</tbody>")]
        return re.findall(r"<tr>", body)

    async with browser(stack) as admin:
        await sign_in(admin, REQUESTER)
        newest = await admin.get(path)
        assert newest.status_code == 200
        assert len(rows(newest.text)) == 100
        assert f"Händelse {total - 99}–{total} av {total}" in newest.text
        assert f"?events_before={total - 99}#timeline-title" in newest.text
        assert "De senaste händelserna</a>" not in newest.text

        page, seen = newest, 100
        while "?events_before=" in page.text:
            bound = int(re.findall(r"\?events_before=(\d+)#", page.text)[0])
            page = await admin.get(f"{path}?events_before={bound}")
            assert page.status_code == 200
            assert "De senaste händelserna</a>" in page.text
            seen += len(rows(page.text))
        assert seen == total
        assert "Händelse 1–" in page.text and "Konto begärt" in page.text

        for bad in ("abc", "0", "-5", ""):
            r = await admin.get(f"{path}?events_before={bad}")
            assert r.status_code == 200 and len(rows(r.text)) == 100, bad

    api = f"/api/accounts/{state.account_id}/timeline"
    headers = {"X-Kanalvakt-Actor": REQUESTER}
    r = await stack.http.get(api, params={"before": 20, "limit": 10}, headers=headers)
    assert r.status_code == 200
    assert [e["version"] for e in r.json()] == list(range(10, 20))
    r = await stack.http.get(api, headers=headers)
    assert [e["version"] for e in r.json()] == list(range(1, total + 1))
    for bad in ({"limit": 0}, {"limit": 1001}, {"before": 0}, {"before": "x"}):
        r = await stack.http.get(api, params=bad, headers=headers)
        assert r.status_code == 422, bad
