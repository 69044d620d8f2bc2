"""R-37, R-38 on the real stack (dev server, worker, web app): a snapshot of a
platform Kanalvakt cannot read waits for screenshots; the account page shows
it waiting with its Done button; the JSON API and the page refuse the wrong
people and a Done before any upload (nothing recorded); an admin uploads and
presses Done on the page, and the snapshot is packaged with the screenshot;
only the communications unit packages without screenshots, with a reason."""

from __future__ import annotations

import asyncio
import html
import re
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Browser

from tests.e2e.browser import ARTIFACTS, expect_accessible, person_page, screenshot, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.intranet import browser, csrf_of, sign_in
from tests.e2e.snapshot_waits import waiting_snapshot
from tests.e2e.test_messages_api import as_
from tests.support import COMMS, MANAGER, OUTSIDER, REQUESTER
from tests.workflows.test_snapshot_workflow import _tiny_png, check_package

ADMIN = REQUESTER


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder in the test's own directory that nothing may write to: the
    web app keeps uploads in PostgreSQL (issue 12)."""
    folder = tmp_path / "uploads"
    monkeypatch.setenv("KANALVAKT_ARCHIVE_DIR", str(tmp_path / "web-archive"))
    return folder


async def events_of(stack: Stack, sid: str) -> list[str]:
    return [r["event_type"] for r in await stack.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", sid)]


async def api(stack: Stack, path: str, actor: str | None, body: dict[str, Any] | None = None
              ) -> Any:
    return await stack.http.post(path, headers=as_(actor), json=body or {})


async def test_r37_r38_waiting_snapshot_refusals_then_done_on_the_page_packages_the_screenshot(
        stack: Stack, uploads: Path) -> None:
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)
    sid = await waiting_snapshot(stack, account_id, "major_change")
    assert sid is not None and sid.endswith("-activated")
    base = f"/api/accounts/{account_id}/snapshot-requests"

    r = await stack.http.get(base, headers=as_(ADMIN))
    assert r.status_code == 200, r.text
    [waiting] = r.json()
    assert (waiting["snapshot_id"], waiting["outcome"], waiting["reason"]) == (
        sid, None, "major_change")
    assert sorted(waiting["recipients"]) == ["elin.strand", "johan.berg"]
    assert (await stack.http.get(base, headers=as_(OUTSIDER))).status_code == 403
    told = await stack.pool.fetch("SELECT recipient FROM notifications WHERE case_id = $1", sid)
    assert sorted(r["recipient"] for r in told) == ["elin.strand", "johan.berg"]

    # Refusals over the API, each before or by the rule; nothing recorded.
    for actor, status in ((OUTSIDER, 403), (MANAGER, 403), (None, 401)):
        r = await api(stack, f"{base}/{sid}/done", actor)
        assert r.status_code == status, (actor, r.text)
    r = await api(stack, f"{base}/{sid}/done", ADMIN)
    assert r.status_code == 422 and r.json()["detail"]["key"] == "snapshot.no_screenshots"
    r = await api(stack, f"{base}/{sid}/record-only", ADMIN, {"reason": "No access to TikTok"})
    assert r.status_code == 403, r.text
    r = await api(stack, f"{base}/{sid}/record-only", COMMS, {"reason": "short"})
    assert r.status_code == 422 and r.json()["detail"]["key"] == "snapshot.reason_required"
    r = await api(stack, f"{base}/snapshot:exempelby:other:final/done", ADMIN)
    assert r.status_code == 404
    assert await events_of(stack, sid) == ["SnapshotScreenshotsRequested"]

    async with browser(stack) as http:
        token = await sign_in(http, ADMIN)
        page = await http.get(f"/accounts/{account_id}")
        assert page.status_code == 200
        text = html.unescape(page.text)
        assert 'id="snapwait-title"' in text and "Väntar på skärmbilder" in text
        assert f"/snapshot-requests/{sid}/done" in text
        assert f"/snapshot-requests/{sid}/record-only" not in text  # communications only
        assert 'id="upload-f-file"' in text or 'name="file"' in text
        # Done before any upload: the page says why, in Swedish (422).
        r = await http.post(f"/accounts/{account_id}/snapshot-requests/{sid}/done",
                            data={"csrf_token": token})
        assert r.status_code == 422
        assert "Ingen skärmbild är uppladdad" in html.unescape(r.text)
        assert await events_of(stack, sid) == ["SnapshotScreenshotsRequested"]

        shot = _tiny_png()
        r = await http.post(f"/accounts/{account_id}/snapshot-uploads",
                            data={"csrf_token": token, "caption": "Profilen på TikTok"},
                            files={"file": ("profil.png", shot, "image/png")})
        assert r.status_code == 303, r.text
        r = await http.post(f"/accounts/{account_id}/snapshot-requests/{sid}/done",
                            data={"csrf_token": csrf_of((await http.get(
                                f"/accounts/{account_id}")).text)})
        assert r.status_code == 303 and "done=snapwait" in r.headers["location"], r.text

    result = await asyncio.wait_for(stack.client.get_workflow_handle(sid).result(), timeout=120)
    assert (result["source"], result["screenshots"]) == ("screenshots", 1)
    bag = check_package(result["package"]["path"])
    assert bag.info["Kanalvakt-Source"] == "screenshots"
    assert (Path(result["package"]["path"]) / "data/content/screenshots/001.png"
            ).read_bytes() == shot
    assert await events_of(stack, sid) == [
        "SnapshotScreenshotsRequested", "SnapshotScreenshotsDone", "SnapshotTaken",
        "SnapshotRegistered", "SnapshotDelivered"]
    [row] = (await stack.http.get(base, headers=as_(COMMS))).json()
    assert (row["outcome"], row["decided_by"], row["screenshots"]) == ("done", ADMIN, 1)
    r = await api(stack, f"{base}/{sid}/done", ADMIN)
    assert r.status_code == 409, r.text  # ended


async def test_r38_only_the_communications_unit_packages_without_screenshots_with_a_reason(
        stack: Stack, uploads: Path) -> None:
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)
    sid = await waiting_snapshot(stack, account_id, "major_change")
    assert sid is not None
    async with browser(stack) as http:
        token = await sign_in(http, COMMS)
        page = html.unescape((await http.get(f"/accounts/{account_id}")).text)
        assert f"/snapshot-requests/{sid}/record-only" in page
        r = await http.post(f"/accounts/{account_id}/snapshot-requests/{sid}/record-only",
                            data={"csrf_token": token, "reason": "kort"})
        assert r.status_code == 422 and "minst 10 tecken" in html.unescape(r.text)
        because = "Kontot är avpublicerat på TikTok; inget finns att fotografera"
        r = await http.post(f"/accounts/{account_id}/snapshot-requests/{sid}/record-only",
                            data={"csrf_token": token, "reason": because})
        assert r.status_code == 303, r.text
    result = await asyncio.wait_for(stack.client.get_workflow_handle(sid).result(), timeout=120)
    assert result["source"] == "record_only"
    decided = await stack.pool.fetchrow(
        "SELECT actor, data FROM events WHERE stream_id = $1 "
        "AND event_type = 'SnapshotRecordOnlyDecided'", sid)
    assert (decided["actor"], decided["data"]["decision_reason"]) == (COMMS, because)


async def test_r37_waiting_snapshot_panel_in_chromium_with_axe(
        chromium: Browser, stack: Stack, uploads: Path) -> None:
    """R-37 in the browser, axe on each state: an admin sees the activation's
    snapshot waiting for screenshots (since when, the next reminder), presses
    Done too early and reads why, uploads through the file input and presses
    Done: the snapshot is taken with the screenshot and the wait is gone."""
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)
    sid = await waiting_snapshot(stack, account_id, "major_change")
    assert sid is not None
    page = await person_page(chromium, stack, ADMIN)
    await page.goto(url(stack, f"/accounts/{account_id}"))
    panel = page.locator("#snapwait")
    text = await panel.inner_text()
    assert "väntar på skärmbilder sedan" in text and "Nästa påminnelse eller eskalering" in text
    await expect_accessible(page, "account-snapshot-waiting")
    await screenshot(page, "account-snapshot-waiting")
    await page.locator("#snapshots").screenshot(  # the panel alone, to look at
        path=str(ARTIFACTS / "account-snapshot-waiting-panel.png"))

    done = page.get_by_role("button", name="Klar: skärmbilderna är uppladdade")
    await submit(page, done)
    assert "Ingen skärmbild är uppladdad" in await page.locator("#f-snapwait-form").inner_text()
    await expect_accessible(page, "account-snapshot-waiting-error")

    await page.get_by_label(re.compile(r"^Skärmbild \(")).set_input_files(files=[{
        "name": "profil.png", "mimeType": "image/png", "buffer": _tiny_png()}])
    await submit(page, page.get_by_role("button", name="Ladda upp"))
    await page.wait_for_url(re.compile(r"done=upload"))
    await submit(page, page.get_by_role("button", name="Klar: skärmbilderna är uppladdade"))
    await page.wait_for_url(re.compile(r"done=snapwait"))
    result = await asyncio.wait_for(stack.client.get_workflow_handle(sid).result(), timeout=120)
    assert (result["source"], result["screenshots"]) == ("screenshots", 1)
    await page.goto(url(stack, f"/accounts/{account_id}"))
    assert await page.locator("#snapwait").count() == 0
    assert result["diarium_number"] in await page.locator(
        "#snapshot-list").inner_text()
    await expect_accessible(page, "account-snapshot-taken")
    await screenshot(page, "account-snapshot-taken")
