"""R-37, R-38 in "My tasks", and R-12, R-13 for a waiting snapshot, on the real
stack (dev server, worker, web app).

A snapshot waiting for screenshots is a task: for the account's admins
("upload screenshots and press Klar", linking to the account page's panel),
for the unit's manager and deputy once escalated to them, and for the
communications unit once escalated to it (with the record-only decision on
the panel it links to); with its next deadline and the overdue/escalated
marks. An outsider never sees it; it is gone once done.

An admin added while the snapshot waits says done at once (the account's
workflow tells the snapshot, SnapshotAdminsUpdated on its stream); an admin
removed is refused at once by the web layer (the read models first) and
then by the workflow itself.
"""

from __future__ import annotations

import asyncio
import html
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser
from temporalio.client import WorkflowUpdateFailedError

from domain import snapshot as snap
from domain.country import Country
from store.eventstore import EventStore, NewEvent
from store.projections import all_projections
from tests.e2e.browser import expect_accessible, person_page, screenshot, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.intranet import browser, csrf_of, sign_in
from tests.e2e.snapshot_waits import waiting_snapshot
from tests.e2e.test_messages_api import as_
from tests.e2e.test_snapshot_screenshots import events_of
from tests.support import COMMS, DEPUTY, MANAGER, OUTSIDER, REQUESTER, eventually
from tests.workflows.test_snapshot_workflow import _tiny_png

ADMIN = REQUESTER
NEW_ADMIN = "ida.hedlund"
TZ = "Europe/Stockholm"


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder in the test's own directory that nothing may write to: the
    web app keeps uploads in PostgreSQL (issue 12)."""
    folder = tmp_path / "uploads"
    monkeypatch.setenv("KANALVAKT_ARCHIVE_DIR", str(tmp_path / "web-archive"))
    return folder


async def tasks_page(stack: Stack, person: str) -> str:
    async with browser(stack) as http:
        await sign_in(http, person)
        page = await http.get("/tasks")
        assert page.status_code == 200, page.text
        return html.unescape(page.text)


def snapshot_row(page: str, sid: str) -> str | None:
    """The tasks table's row of snapshot `sid` (its HTML), or None."""
    marker = f'data-snapshot="{sid}"'
    if marker not in page:
        return None
    start = page.index(marker)
    return page[start:page.index("</tr>", start)]


async def admins_told(stack: Stack, sid: str, n: int) -> list[list[str]]:
    """The admin lists the snapshot has recorded, once there are `n`."""
    query = ("SELECT data FROM events WHERE stream_id = $1 "
             "AND event_type = 'SnapshotAdminsUpdated' ORDER BY version")

    async def probe() -> bool:
        return len(await stack.pool.fetch(query, sid)) >= n
    assert await eventually(probe, seconds=30), "not in time"
    return [r["data"]["admins"] for r in await stack.pool.fetch(query, sid)]


async def test_r37_r12_r13_waiting_snapshot_is_the_admins_task_new_admin_says_done_removed_admin_refused(  # noqa: E501
        stack: Stack, uploads: Path) -> None:
    """R-37: the activation's snapshot of a TikTok account waits: it is on
    the admins' task list (link to the panel, on time), not on an
    outsider's, nor the manager's or the communications unit's before any
    escalation. R-12: the manager adds ida.hedlund; the snapshot records the
    new list and it is her task; she says Klar on the page and the task is
    gone. R-13: elin.strand, removed, loses the task and is refused at once
    (403: the web layer reads the accounts read model before sending), and
    by the workflow's own rule once the snapshot has been told."""
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)
    sid = await waiting_snapshot(stack, account_id, "major_change")
    assert sid is not None

    row = snapshot_row(await tasks_page(stack, ADMIN), sid)
    assert row is not None
    assert f'href="/accounts/{account_id}#snapwait"' in row
    assert "Ladda upp skärmbilder och tryck på Klar" in row
    # The platform's own spelling and the activation's label (issue 14).
    assert "Kulturhuset Ängen (TikTok)" in row
    assert "ögonblicksbild: aktiveringsbild (kontot blev aktivt)" in row
    assert "✓ I tid" in row and "Försenad" not in row and "Eskalerad" not in row
    due = await stack.pool.fetchval(
        "SELECT next_deadline FROM snapshot_screenshot_requests WHERE snapshot_id = $1", sid)
    assert f'datetime="{due.isoformat()}"' in row
    assert snapshot_row(await tasks_page(stack, DEPUTY), sid) is not None  # the other admin
    for person in (OUTSIDER, MANAGER, COMMS):
        page = await tasks_page(stack, person)
        assert snapshot_row(page, sid) is None, person
        assert "Inga ögonblicksbilder väntar på dig." in page, person

    # a new admin, told to the waiting snapshot by the account's workflow.
    r = await stack.http.post(f"/api/accounts/{account_id}/admins",
                              json={"person": NEW_ADMIN, "two_factor": True},
                              headers=as_(MANAGER))
    assert r.status_code == 200, r.text
    assert await admins_told(stack, sid, 1) == [sorted((ADMIN, DEPUTY, NEW_ADMIN))]
    assert snapshot_row(await tasks_page(stack, NEW_ADMIN), sid) is not None

    # elin.strand removed (two admins with 2FA remain): refused at once.
    r = await stack.http.post(f"/api/accounts/{account_id}/admins/{ADMIN}/remove",
                              json={"reason": "Byter tjänst"}, headers=as_(MANAGER))
    assert r.status_code == 200, r.text
    base = f"/api/accounts/{account_id}/snapshot-requests/{sid}"
    r = await stack.http.post(f"{base}/done", headers=as_(ADMIN), json={})
    assert r.status_code == 403 and r.json()["detail"]["key"] == "snapshot.done_not_authorised"
    assert snapshot_row(await tasks_page(stack, ADMIN), sid) is None
    assert (await admins_told(stack, sid, 2))[-1] == sorted((DEPUTY, NEW_ADMIN))
    # The workflow's own rule refuses her too (the worker's path, whatever the
    # web layer), once it has folded the new list in (after writing it).
    handle = stack.client.get_workflow_handle(sid)
    told = await eventually(lambda: handle.query("screenshot_wait"),
                            lambda w: ADMIN not in w["people"]["admins"])
    assert ADMIN not in told["people"]["admins"]
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await stack.client.get_workflow_handle(sid).execute_update(
            "screenshots_done", snap.ScreenshotsDone(actor=ADMIN))
    assert "may not say the screenshots are uploaded" in str(refused.value.cause)
    assert await events_of(stack, sid) == ["SnapshotScreenshotsRequested",
                                           "SnapshotAdminsUpdated", "SnapshotAdminsUpdated"]

    # The new admin uploads and presses Klar on the page: taken; the task is gone.
    async with browser(stack) as http:
        token = await sign_in(http, NEW_ADMIN)
        r = await http.post(f"/accounts/{account_id}/snapshot-uploads",
                            data={"csrf_token": token, "caption": "Profilen på TikTok"},
                            files={"file": ("profil.png", _tiny_png(), "image/png")})
        assert r.status_code == 303, r.text
        panel = (await http.get(f"/accounts/{account_id}")).text
        r = await http.post(f"/accounts/{account_id}/snapshot-requests/{sid}/done",
                            data={"csrf_token": csrf_of(panel)})
        assert r.status_code == 303 and "done=snapwait" in r.headers["location"], r.text
        page = html.unescape((await http.get("/tasks")).text)
        assert snapshot_row(page, sid) is None
        assert "Inga ögonblicksbilder väntar på dig." in page
    result = await asyncio.wait_for(stack.client.get_workflow_handle(sid).result(), timeout=120)
    assert (result["source"], result["screenshots"]) == ("screenshots", 1)
    decided = await stack.pool.fetchrow(
        "SELECT outcome, decided_by FROM snapshot_screenshot_requests WHERE snapshot_id = $1",
        sid)
    assert (decided["outcome"], decided["decided_by"]) == ("done", NEW_ADMIN)
    assert snapshot_row(await tasks_page(stack, DEPUTY), sid) is None


async def record(stack: Stack, stream: str, version: int, *events: Any) -> None:
    await EventStore(stack.pool, all_projections()).append(
        stream, version,
        [NewEvent(event_id=uuid.uuid4(), event_type=e.type, data=e.model_dump(mode="json"),
                  occurred_at=e.at, actor=e.actor) for e in events], str(uuid.uuid4()))


async def test_r37_r38_escalated_snapshot_is_the_managers_then_the_communications_units_task(
        chromium: Browser, stack: Stack, uploads: Path) -> None:
    """R-37, R-38: a snapshot whose wait has passed its reminder and been
    escalated is the unit's manager's and deputy's task, marked late and
    escalated, not yet the communications unit's; escalated on, it is the
    communications unit's too, linking to the panel with the record-only
    decision (axe on the page). Ended, it is nobody's task.

    Escalation comes after 5 and 10 working days, which the dev server's
    clock cannot skip (the time-skipping workflow test proves the timers:
    tests/workflows/test_manual_snapshot.py): here the wait's events are
    recorded on a snapshot stream of the account through the real event
    store and projections, as its workflow records them; no workflow runs
    for that stream."""
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)
    # The activation's own snapshot waits too: the communications unit ends it.
    activation = await waiting_snapshot(stack, account_id, "major_change")
    assert activation is not None
    r = await stack.http.post(
        f"/api/accounts/{account_id}/snapshot-requests/{activation}/record-only",
        headers=as_(COMMS), json={"reason": "Inte det här testets ögonblicksbild"})
    assert r.status_code == 200, r.text

    slug = await stack.pool.fetchval(
        "SELECT state->>'slug' FROM accounts WHERE account_id = $1::uuid", account_id)
    requested_at = datetime.now(UTC) - timedelta(days=20)
    sid = snap.snapshot_id("exempelby", slug, snap.snapshot_key(
        snap.SnapshotReason.ON_DEMAND, snap.local_date(requested_at, TZ), label="090000"))
    comms = sorted(r["person_id"] for r in await stack.pool.fetch(
        "SELECT person_id FROM roles WHERE municipality_id = 'exempelby' "
        "AND role = 'communications'"))
    assert COMMS in comms
    people = snap.ScreenshotPeople(admins=(ADMIN, DEPUTY), managers=(MANAGER, DEPUTY),
                                   communications=tuple(comms))
    steps = snap.screenshot_wait_plan(requested_at, snap.SnapshotPolicy(), Country.SE, TZ,
                                      people)
    wait = snap.ScreenshotWait(snapshot_id=sid, account_id=account_id,
                               requested_at=requested_at, people=people)
    requested = snap.SnapshotScreenshotsRequested(
        at=requested_at, actor="kanalvakt", snapshot_id=sid, account_id=account_id,
        municipality_id="exempelby", reason=snap.SnapshotReason.ON_DEMAND, platform="tiktok",
        recipients=[ADMIN, DEPUTY], steps=steps)
    reminder, escalation, last = steps
    await record(stack, sid, 0, requested,
                 snap.fire_screenshot_step(wait, reminder, now=reminder.due),
                 snap.fire_screenshot_step(wait, escalation, now=escalation.due))

    for person in (MANAGER, DEPUTY):
        row = snapshot_row(await tasks_page(stack, person), sid)
        assert row is not None, person
        expected = ("Ladda upp skärmbilder och tryck på Klar" if person == DEPUTY  # also admin
                    else "Eskalerad till dig som chef")
        assert expected in row, person
        assert "⚠ Försenad" in row and "▲ Eskalerad" in row, person
        assert f'datetime="{last.due.isoformat()}"' in row, person
    for person in (COMMS, OUTSIDER):
        assert snapshot_row(await tasks_page(stack, person), sid) is None, person

    await record(stack, sid, 3, snap.fire_screenshot_step(wait, last, now=last.due))
    row = snapshot_row(await tasks_page(stack, COMMS), sid)
    assert row is not None
    assert "Eskalerad till kommunikationsenheten" in row and "arkivera utan skärmbilder" in row
    assert "▲ Eskalerad" in row and "⚠ Försenad" in row
    assert f'href="/accounts/{account_id}#snapwait"' in row
    assert snapshot_row(await tasks_page(stack, OUTSIDER), sid) is None
    # The link leads to the panel with the record-only decision.
    async with browser(stack) as http:
        await sign_in(http, COMMS)
        panel = html.unescape((await http.get(f"/accounts/{account_id}")).text)
    assert f"/snapshot-requests/{sid}/record-only" in panel

    page = await person_page(chromium, stack, COMMS)
    await page.goto(url(stack, "/tasks"))
    table = page.locator("table[aria-labelledby=snapshot-tasks]")
    assert "Eskalerad till kommunikationsenheten" in await table.inner_text()
    await expect_accessible(page, "tasks-snapshot-escalated")
    await screenshot(page, "tasks-snapshot-escalated")
    await page.get_by_role("link", name="Eskalerad till kommunikationsenheten",
                           exact=False).click()
    await page.wait_for_url(f"**/accounts/{account_id}#snapwait")
    assert await page.locator("#snapwait").is_visible()

    # Decided (as the workflow records it): nobody's task any more.
    await record(stack, sid, 4, snap.SnapshotRecordOnlyDecided(
        at=datetime.now(UTC), actor=COMMS, snapshot_id=sid, account_id=account_id,
        decision_reason="Kontot är avpublicerat; inget att fotografera"))
    for person in (COMMS, MANAGER, DEPUTY, ADMIN):
        assert snapshot_row(await tasks_page(stack, person), sid) is None, person


def test_snapshot_row_finds_only_its_own_row() -> None:
    page = ('<tr data-snapshot="snapshot:a:b:x"><td>x</td></tr>'
            '<tr data-snapshot="snapshot:a:b:y"><td>y</td></tr>')
    assert snapshot_row(page, "snapshot:a:b:y") == 'data-snapshot="snapshot:a:b:y"><td>y</td>'
    assert snapshot_row(page, "snapshot:a:b:z") is None
