"""The account page's monitoring, crisis and snapshot panels on the
dev-server stack (R-15, R-16, R-18, R-19, R-20, R-37, R-38, R-39).

In Chromium: an admin records a check-in on the active account's page and
sees today's count go up and the check-in with their name (R-15); the page
with the crisis notice (R-39) and the new panels passes axe; screenshots to
test-artifacts/. Over HTTP (tests.e2e.intranet): a wrong person's post is the
403 page with nothing recorded, and the watch item, resolve, post, keep,
snapshot and screenshot forms by the right and the wrong people."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
import pytest
from playwright.async_api import Browser

from tests.e2e.browser import expect_accessible, person_page, screenshot, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.intranet import browser, sign_in
from tests.e2e.test_messages_api import as_
from tests.e2e.test_snapshots_api import activation_snapshot, files_under, snapshot_workflows
from tests.support import COMMS, DEPUTY, MANAGER, OUTSIDER, REQUESTER, eventually
from tests.workflows.test_snapshot_workflow import _tiny_png

ADMIN = REQUESTER  # elin.strand; johan.berg (DEPUTY) is the other admin
KRISLEDNING = "eva.marklund"
TZ = ZoneInfo("Europe/Stockholm")


def _count(text: str) -> int:
    found = re.search(r"\d+", text)
    assert found, text
    return int(found.group(0))


def _local(moment: datetime) -> str:
    """A datetime-local field's value in the municipality's zone."""
    return moment.astimezone(TZ).strftime("%Y-%m-%dT%H:%M")


async def _events(stack: Stack, account_id: str) -> list[str]:
    r = await stack.http.get(f"/api/accounts/{account_id}/timeline", headers=as_(ADMIN))
    assert r.status_code == 200, r.text
    return [e["event_type"] for e in r.json()]


async def _check_ins(stack: Stack, account_id: str) -> int:
    count: int = await stack.pool.fetchval(
        "SELECT count(*) FROM check_ins WHERE account_id = $1::uuid", account_id)
    return count


async def _declare_crisis(stack: Stack, account_id: str) -> None:
    r = await stack.http.post("/api/municipalities/exempelby/crisis",
                              json={"reason": "Stormen Gudrun", "units": ["kultur"]},
                              headers=as_(KRISLEDNING))
    assert r.status_code == 200, r.text
    row = await stack.pool.fetchrow(
        "SELECT workflow_id FROM accounts WHERE account_id = $1::uuid", account_id)

    async def crisis_on() -> bool:
        state = await stack.client.get_workflow_handle(row["workflow_id"]).query("state")
        return bool(state.get("crisis") if isinstance(state, dict) else state.crisis)
    assert await eventually(crisis_on, bool), "the crisis never reached the account"


@pytest.fixture
def uploads(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A folder in the test's own directory that nothing may write to: the
    web app keeps uploads in PostgreSQL (issue 12)."""
    folder = tmp_path / "uploads"
    monkeypatch.setenv("KANALVAKT_ARCHIVE_DIR", str(tmp_path / "web-archive"))
    return folder


async def test_r15_r39_an_admin_records_a_check_in_on_the_account_page(
        chromium: Browser, stack: Stack) -> None:
    """R-15: on the active account's page, in Chromium, elin.strand (an admin)
    presses "Registrera kontroll": today's count goes up by one and the last
    check-in is hers, by hand. R-39: a crisis covering the unit shows as a
    notice pointing to the website and phone, with the word "Kris". The page
    with the monitoring and snapshot panels passes axe (WCAG 2.1 AA); the
    manager sees the panel without the admin's check-in button."""
    account_id = await active_account(stack)
    await _declare_crisis(stack, account_id)
    page = await person_page(chromium, stack, ADMIN)
    await page.goto(url(stack, f"/accounts/{account_id}"))

    notice = page.locator("#crisis-notice")
    assert await notice.count() == 1
    text = await notice.inner_text()
    assert "Krisläge" in text and "Kris" in text and "krisinformation" in text
    assert "Kris" in await page.locator("dl.facts a.mark-crisis").inner_text()

    before = _count(await page.locator("#made-today").inner_text())
    assert "Ingen ännu" in await page.locator("#last-check-in").inner_text()
    # Swedish date and time in the forms (chromium --lang=sv-SE, datetime-local).
    seen = await page.get_by_label("Sett (datum och tid)").input_value()
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}", seen), seen

    await submit(page, page.get_by_role("button", name="Registrera kontroll"))
    await page.wait_for_url(re.compile(r"done=check_in"))
    assert "Kontrollen är registrerad" in await page.locator(".notice-ok").inner_text()
    assert _count(await page.locator("#made-today").inner_text()) == before + 1
    last = await page.locator("#last-check-in").inner_text()
    assert "Elin Strand" in last
    first = await page.locator("#recent-check-ins tbody tr").first.inner_text()
    assert "Elin Strand" in first and "För hand" in first
    assert await _check_ins(stack, account_id) == 1
    await expect_accessible(page, "account-monitoring")
    await screenshot(page, "account-monitoring")

    manager = await person_page(chromium, stack, MANAGER)
    await manager.goto(url(stack, f"/accounts/{account_id}"))
    assert await manager.locator("#monitoring").count() == 1
    assert await manager.get_by_role("button", name="Registrera kontroll").count() == 0
    assert "Elin Strand" in await manager.locator("#last-check-in").inner_text()
    await expect_accessible(manager, "account-monitoring-manager")
    await screenshot(manager, "account-monitoring-manager")


async def test_r15_a_wrong_persons_check_in_is_403_and_nothing_is_recorded(
        stack: Stack) -> None:
    """R-15: the check-in is the admins'. The manager and a person of another
    unit posting the check-in form get the 403 page before anything reaches
    the workflow: no check-in, no event. Without a CSRF token even an admin
    is refused. The outsider sees neither the panel nor the button."""
    account_id = await active_account(stack)
    before = await _events(stack, account_id)
    async with browser(stack) as http:
        token = await sign_in(http, MANAGER)
        r = await http.post(f"/accounts/{account_id}/monitoring/check_in",
                            data={"csrf_token": token})
        assert r.status_code == 403 and "Inget har ändrats" in r.text
        assert "R-15" in r.text
    async with browser(stack) as http:
        token = await sign_in(http, OUTSIDER)
        page = await http.get(f"/accounts/{account_id}")
        assert page.status_code == 200
        assert "Registrera kontroll" not in page.text and 'id="monitoring"' not in page.text
        r = await http.post(f"/accounts/{account_id}/monitoring/check_in",
                            data={"csrf_token": token})
        assert r.status_code == 403
    async with browser(stack) as http:
        await sign_in(http, ADMIN)
        r = await http.post(f"/accounts/{account_id}/monitoring/check_in", data={})
        assert r.status_code == 403
    assert await _check_ins(stack, account_id) == 0
    assert await _events(stack, account_id) == before


async def test_r18_r20_posts_and_watch_items_through_the_page_forms(stack: Stack) -> None:
    """R-18: an admin records a published post (the platform's id, the time in
    the municipality's zone): posts this week counts it; the manager may not.
    R-20: an admin reports criticism for the manager (bad input: field errors,
    nothing recorded); an outsider may not; the admin may not resolve it,
    the manager resolves it with a note and it leaves the open list."""
    account_id = await active_account(stack)
    base = f"/accounts/{account_id}/monitoring"
    now = datetime.now(UTC)
    async with browser(stack) as manager:
        m_token = await sign_in(manager, MANAGER)
        r = await manager.post(f"{base}/post", data={
            "csrf_token": m_token, "post_id": "104_1", "published_at": _local(now)})
        assert r.status_code == 403
    async with browser(stack) as admin:
        token = await sign_in(admin, ADMIN)
        page = await admin.get(f"/accounts/{account_id}")
        assert "Registrera ett publicerat inlägg" in page.text
        assert "Behåll kontot" not in page.text  # no closure proposed
        r = await admin.post(f"{base}/post", data={
            "csrf_token": token, "post_id": "", "published_at": "igår"})
        assert r.status_code == 422
        assert "Fyll i fältet." in r.text and "Ange datum och tid." in r.text
        r = await admin.post(f"{base}/post", data={
            "csrf_token": token, "post_id": "104000000000001_77",
            "published_at": _local(now - timedelta(hours=2))})
        assert r.status_code == 303 and "done=post" in r.headers["location"]
        page = await admin.get(f"/accounts/{account_id}?done=post")
        assert "Inlägget är registrerat." in page.text
        posts = re.search(r'id="posts-this-week">\s*(\d+)', page.text)
        assert posts and posts.group(1) == "1"

        r = await admin.post(f"{base}/watch", data={
            "csrf_token": token, "summary": "", "link": "http://osäker", "seen_at": ""})
        assert r.status_code == 422 and 'aria-invalid="true"' in r.text
        assert "Ange datum och tid." in r.text and "https://" in r.text
        assert "WatchItemReported" not in await _events(stack, account_id)
        r = await admin.post(f"{base}/watch", data={
            "csrf_token": token, "summary": "Lokaltidningen skriver att kulturhuset stänger",
            "link": "https://www.example.se/nyheter/1",
            "seen_at": _local(now - timedelta(hours=1))})
        assert r.status_code == 303 and "done=watch" in r.headers["location"]
        r = await admin.post(f"{base}/resolve", data={
            "csrf_token": token, "item_id": "W-1", "note_W-1": "Klart"})
        assert r.status_code == 403
    async with browser(stack) as outsider:
        o_token = await sign_in(outsider, OUTSIDER)
        r = await outsider.post(f"{base}/watch", data={
            "csrf_token": o_token, "summary": "Fel", "seen_at": _local(now)})
        assert r.status_code == 403 and "R-20" in r.text
    events = await _events(stack, account_id)
    assert events.count("WatchItemReported") == 1 and events.count("PostRecorded") == 1

    async with browser(stack) as manager:
        m_token = await sign_in(manager, MANAGER)
        page = await manager.get(f"/accounts/{account_id}")
        assert "Lokaltidningen skriver" in page.text and "Lös W-1" in page.text
        r = await manager.post(f"{base}/resolve", data={
            "csrf_token": m_token, "item_id": "W-1", "note_W-1": ""})
        assert r.status_code == 422 and 'aria-invalid="true"' in r.text
        assert 'href="#f-resolve-note_W-1"' in r.text  # the error summary links the field
        r = await manager.post(f"{base}/resolve", data={
            "csrf_token": m_token, "item_id": "W-9", "note_W-9": "?"})
        assert r.status_code == 404
        r = await manager.post(f"{base}/resolve", data={
            "csrf_token": m_token, "item_id": "W-1",
            "note_W-1": "Rättat med tidningen; inlägg på fredag"})
        assert r.status_code == 303 and "done=resolve" in r.headers["location"]
        page = await manager.get(f"/accounts/{account_id}")
        assert "Inga öppna bevakningsärenden." in page.text
    row = await stack.pool.fetchrow(
        "SELECT status, resolved_by FROM watch_items WHERE account_id = $1::uuid", account_id)
    assert (row["status"], row["resolved_by"]) == ("resolved", MANAGER)


async def test_r19_keep_only_by_the_communications_unit_and_only_on_a_proposal(
        stack: Stack) -> None:
    """R-19: without a closure proposal the keep form is not offered, and a
    post of it by the communications unit is refused with the rule's
    message (422, nothing recorded); anyone else gets 403."""
    account_id = await active_account(stack)
    before = await _events(stack, account_id)
    async with browser(stack) as comms:
        token = await sign_in(comms, COMMS)
        page = await comms.get(f"/accounts/{account_id}")
        assert 'id="monitoring"' in page.text and "Behåll kontot" not in page.text
        r = await comms.post(f"/accounts/{account_id}/monitoring/keep",
                             data={"csrf_token": token, "reason": "Används fortfarande"})
        assert r.status_code == 422 and "R-19" in r.text
        r = await comms.post(f"/accounts/{account_id}/monitoring/keep",
                             data={"csrf_token": token, "reason": ""})
        assert r.status_code == 422 and "Fyll i fältet." in r.text
    for person in (MANAGER, DEPUTY):
        async with browser(stack) as http:
            token = await sign_in(http, person)
            r = await http.post(f"/accounts/{account_id}/monitoring/keep",
                                data={"csrf_token": token, "reason": "Behåll"})
            assert r.status_code == 403, person
    assert await _events(stack, account_id) == before


async def test_r37_r38_snapshots_panel_upload_and_take_on_the_page(
        stack: Stack, uploads: Path) -> None:
    """R-37, R-38: a TikTok account (no API Kanalvakt may read): its admin
    sees the snapshots (the activation's, with diarium number and where it
    was delivered), uploads a screenshot through the multipart form (with its
    CSRF token); a file that is not an image is refused with a field error
    and nothing stored; an outsider may neither see, upload nor take (403,
    nothing stored or started). The communications unit takes a snapshot on
    demand from the page and it is listed."""
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)
    activated = await activation_snapshot(stack)
    upload_path = f"/accounts/{account_id}/snapshot-uploads"
    async with browser(stack) as admin:
        token = await sign_in(admin, ADMIN)
        page = await admin.get(f"/accounts/{account_id}")
        assert page.status_code == 200 and 'id="snapshot-list"' in page.text
        row = await stack.pool.fetchrow(
            "SELECT diarium_number, delivered_to FROM snapshots WHERE snapshot_id = $1",
            activated)
        assert row["diarium_number"] and row["diarium_number"] in page.text
        assert row["delivered_to"] and row["delivered_to"] in page.text
        # The activation's snapshot is labelled as such (issue 14).
        assert "Aktiveringsbild (kontot blev aktivt)" in page.text
        # The activation's snapshot is taken: the form offers no second one.
        assert 'value="AccountActivated"' not in page.text
        assert 'enctype="multipart/form-data"' in page.text

        r = await admin.post(upload_path, data={"csrf_token": token},
                             files={"file": ("text.png", b"not an image", "image/png")})
        assert r.status_code == 422 and "PNG, JPEG eller WebP" in r.text
        r = await admin.post(upload_path, data={"caption": "Profilen"},
                             files={"file": ("profil.png", _tiny_png(), "image/png")})
        assert r.status_code == 403  # no CSRF token
        assert files_under(uploads) == []
        r = await admin.post(upload_path, data={"csrf_token": token, "caption": "Profilen"},
                             files={"file": ("profil.png", _tiny_png(), "image/png")})
        assert r.status_code == 303 and "done=upload" in r.headers["location"]
        page = await admin.get(f"/accounts/{account_id}?done=upload")
        assert "Skärmbilder som väntar på nästa ögonblicksbild: 1" in page.text
    stored = await stack.pool.fetch(
        "SELECT uploaded_by, caption FROM snapshot_uploads WHERE account_id = $1::uuid",
        account_id)
    assert [(r["uploaded_by"], r["caption"]) for r in stored] == [(ADMIN, "Profilen")]

    async with browser(stack) as outsider:
        token = await sign_in(outsider, OUTSIDER)
        page = await outsider.get(f"/accounts/{account_id}")
        assert 'id="snapshots"' not in page.text
        r = await outsider.post(upload_path, data={"csrf_token": token},
                                files={"file": ("profil.png", _tiny_png(), "image/png")})
        assert r.status_code == 403
        r = await outsider.post(f"/accounts/{account_id}/snapshots",
                                data={"csrf_token": token, "change": ""})
        assert r.status_code == 403
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM snapshot_uploads WHERE account_id = $1::uuid", account_id) == 1
    assert await snapshot_workflows(stack) == [activated]

    async with browser(stack) as comms:
        token = await sign_in(comms, COMMS)
        r = await comms.post(f"/accounts/{account_id}/snapshots",
                             data={"csrf_token": token, "change": "HandleChanged"})
        assert r.status_code == 422 and "HandleChanged" in r.text  # not on the record
        r = await comms.post(f"/accounts/{account_id}/snapshots",
                             data={"csrf_token": token, "change": ""})
        assert r.status_code == 303 and "done=snapshot" in r.headers["location"]

    async def listed() -> httpx.Response:
        return await stack.http.get(f"/api/accounts/{account_id}/snapshots",
                                    headers=as_(ADMIN))
    rows = (await eventually(listed, lambda r: len(r.json()) == 2, seconds=120)).json()
    assert [r["reason"] for r in rows] == ["major_change", "on_demand"]
    assert all(r["diarium_number"] for r in rows)
    async with browser(stack) as admin:
        await sign_in(admin, ADMIN)
        page = await admin.get(f"/accounts/{account_id}")
        assert rows[1]["diarium_number"] in page.text


async def test_r20_r37_watch_item_and_screenshot_forms_in_chromium(
        chromium: Browser, stack: Stack, uploads: Path) -> None:
    """R-20 and R-37 in the browser, with axe on each state: an admin of a
    TikTok account sends an empty watch item and gets the error summary
    linking to the field (values kept), then reports it and sees it open;
    uploads a screenshot through the file input (multipart with the CSRF
    token) and sees it waiting for the next snapshot."""
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)
    await activation_snapshot(stack)
    page = await person_page(chromium, stack, ADMIN)
    await page.goto(url(stack, f"/accounts/{account_id}"))

    await page.get_by_label("Länk (https://, frivillig)").fill("https://www.example.se/1")
    await submit(page, page.get_by_role("button", name="Rapportera", exact=True))
    summary = page.locator("#error-summary")
    assert "Fyll i fältet." in await summary.inner_text()
    assert await summary.get_by_role("link").first.get_attribute("href") == "#f-watch-summary"
    assert await page.get_by_label("Länk (https://, frivillig)").input_value() == \
        "https://www.example.se/1"
    await expect_accessible(page, "account-watch-errors")
    await screenshot(page, "account-watch-errors")
    assert "WatchItemReported" not in await _events(stack, account_id)

    await page.get_by_label(re.compile("Kritik eller fel")).fill(
        "Fel öppettider i profilen")
    await submit(page, page.get_by_role("button", name="Rapportera", exact=True))
    await page.wait_for_url(re.compile(r"done=watch"))
    assert "Fel öppettider i profilen" in await page.locator("#watch-items").inner_text()

    await page.get_by_label(re.compile(r"^Skärmbild \(")).set_input_files(files=[{
        "name": "profil.png", "mimeType": "image/png", "buffer": _tiny_png()}])
    await page.get_by_label("Bildtext (frivillig)").fill("Profilen")
    await submit(page, page.get_by_role("button", name="Ladda upp"))
    await page.wait_for_url(re.compile(r"done=upload"))
    assert _count(await page.locator("#pending-uploads").inner_text()) == 1
    assert await stack.pool.fetchval(
        "SELECT caption FROM snapshot_uploads WHERE account_id = $1::uuid", account_id) == \
        "Profilen"
    await expect_accessible(page, "account-snapshots-upload")
    await screenshot(page, "account-snapshots-upload")


async def test_r15_a_moderation_decision_shows_as_a_check_in_in_every_language(
        stack: Stack) -> None:
    """R-15, R-16: an admin (johan.berg) answers a message; the account page
    lists the check-in as made through a moderation decision, linking the
    case, in Swedish, Norwegian bokmål and English."""
    from tests.e2e.test_messages_api import decide, received
    from web import i18n

    account_id = await active_account(stack)
    case_id = await received(stack, account_id, "Hej! Är kulturhuset öppet på lördag?")
    r = await decide(stack, case_id, "respond", DEPUTY, {"text": "Ja, 10–16."})
    assert r.status_code == 200, r.text
    await eventually(lambda: _check_ins(stack, account_id), lambda n: n == 1)
    # The check_ins row is written with the event; the page's list comes from
    # the account workflow's state, which folds the check-in in after: wait.
    workflow_id = await stack.pool.fetchval(
        "SELECT workflow_id FROM accounts WHERE account_id = $1::uuid", account_id)

    async def live_check_ins() -> list[dict[str, object]]:
        state = await stack.client.get_workflow_handle(workflow_id).query("state")
        return list(state["monitoring"]["check_ins"])
    assert [c["case_id"] for c in await eventually(live_check_ins)] == [case_id]
    expected = {"sv": ("Bevakning", "Genom ett modereringsbeslut", "Registrera kontroll"),
                "nb": ("Overvåking", "Gjennom en modereringsbeslutning", "Registrer kontroll"),
                "en": ("Monitoring", "Through a moderation decision", "Record check-in")}
    for lang, (title, source, button) in expected.items():
        async with browser(stack) as http:
            await sign_in(http, DEPUTY)
            http.cookies.set(i18n.COOKIE, lang)
            page = await http.get(f"/accounts/{account_id}")
            assert page.status_code == 200
            assert title in page.text and button in page.text, lang
            recent = page.text.split('id="recent-check-ins"', 1)[1].split("</table>", 1)[0]
            assert "Johan Berg" in recent and source in recent, lang
            assert f'href="/messages/{case_id}"' in recent
