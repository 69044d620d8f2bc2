"""Issue 14 (C8) on the real stack, in Chromium with real file uploads:

- R-30, R-45: a comment removed on a platform without an API (TikTok) is
  deleted by hand; the case page asks for a screenshot and takes it. "Bekräfta"
  before the upload is refused with the reason, a bad file with its own
  (nothing kept), then the screenshot is kept with the case (an event naming
  its digest, who and when), "Bekräfta" is accepted, the screenshot is a
  download for the case's readers and goes into the registrar's records
  export with its case.
- R-41: the post form takes the guardian's signed consent as a file; a bad
  file is refused with the other fields kept, a post without any consent
  still with the rule's reason; the recorded post names the upload and its
  digest, and the consent is a download for those who may read it, not for
  the unit's other staff.
axe-core (no serious or critical violations) on the case page and the post form.
"""

from __future__ import annotations

import hashlib
import io
import re
import zipfile
from datetime import UTC, datetime, timedelta

from playwright.async_api import Browser, Page

from tests.e2e.browser import expect_accessible, person_page, screenshot, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_messages_api import case, decide, received
from tests.support import COMMS, MANAGER, OUTSIDER, REGISTRARS, REQUESTER, eventually
from tests.workflows.test_snapshot_workflow import _tiny_png

ADMIN = REQUESTER  # elin.strand, an admin of the account active_account makes
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def _events(stack: Stack, stream: str, kind: str) -> list[dict[str, object]]:
    rows = await stack.pool.fetch("SELECT actor, occurred_at, data FROM events "
                                  "WHERE stream_id = $1 AND event_type = $2 ORDER BY version",
                                  stream, kind)
    return [dict(r) for r in rows]


async def _choose(page: Page, field: str, name: str, mime: str, content: bytes) -> None:
    await page.locator(field).set_input_files(files=[{"name": name, "mimeType": mime,
                                                      "buffer": content}])


async def test_r30_r45_the_screenshot_a_deletion_by_hand_asks_for_is_taken_on_the_case_page(
        chromium: Browser, stack: Stack) -> None:
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None,
                                       name="Kulturhuset på TikTok")
    case_id = await received(stack, account_id, "Anna på kommunen är en idiot, sparka henne")
    r = await decide(stack, case_id, "redact", ADMIN, {
        "category": "defamation_or_insult", "reason": "Pekar ut en namngiven anställd"})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["pending_action"] == "delete"

    admin = await person_page(chromium, stack, ADMIN)
    await admin.goto(url(stack, f"/messages/{case_id}"))
    section = admin.locator("section[aria-labelledby=d-screenshot]")
    assert "Skärmbild före borttagning" in await section.inner_text()
    await expect_accessible(admin, "message-case-screenshot-wanted")

    # "Bekräfta" before the screenshot: refused with the reason, nothing recorded.
    await submit(admin, admin.get_by_role("button", name="Bekräfta", exact=True))
    main = await admin.locator("main").inner_text()
    assert "Ladda upp en skärmbild av kommentaren" in main, main
    assert await _events(stack, case_id, "ManualActionConfirmed") == []

    # A file that is not an image: its own reason, nothing kept.
    await _choose(admin, "#f-screenshot-file", "kommentar.txt", "text/plain", b"inte en bild")
    await submit(admin, admin.get_by_role("button", name="Ladda upp skärmbilden"))
    error = await admin.locator("#f-screenshot-file-error").inner_text()
    assert "PNG, JPEG eller WebP" in error and "Inget sparades" in error, error
    await expect_accessible(admin, "message-case-screenshot-refused")
    await screenshot(admin, "message-case-screenshot-refused")
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM record_uploads WHERE case_id = $1", case_id) == 0

    # The screenshot: kept, on the record, then "Bekräfta" is accepted.
    png = _tiny_png()
    await _choose(admin, "#f-screenshot-file", "kommentar.png", "image/png", png)
    await submit(admin, admin.get_by_role("button", name="Ladda upp skärmbilden"))
    await admin.wait_for_url(re.compile(r"done=screenshot"))
    assert "Skärmbilden är uppladdad" in await admin.locator("main").inner_text()
    [attached] = await _events(stack, case_id, "ScreenshotAttached")
    digest = hashlib.sha256(png).hexdigest()
    assert attached["actor"] == ADMIN and attached["data"]["sha256"] == digest  # type: ignore[index]
    assert abs(attached["occurred_at"] - datetime.now(UTC)) < timedelta(minutes=2)  # type: ignore[operator]
    await expect_accessible(admin, "message-case-screenshot-uploaded")

    await submit(admin, admin.get_by_role("button", name="Bekräfta", exact=True))
    assert len(await _events(stack, case_id, "ManualActionConfirmed")) == 1
    assert (await case(stack, case_id))["state"]["pending_action"] is None

    # A download for the case's readers (the manager), not for an outsider.
    upload_id = attached["data"]["upload_id"]  # type: ignore[index]
    manager = await person_page(chromium, stack, MANAGER)
    got = await manager.request.get(url(stack, f"/messages/{case_id}/uploads/{upload_id}"))
    assert got.status == 200 and await got.body() == png
    outsider = await person_page(chromium, stack, OUTSIDER)
    refused = await outsider.request.get(url(stack, f"/messages/{case_id}/uploads/{upload_id}"))
    assert refused.status == 403

    # the preserved copy taken by hand is in the records export with its case.
    today = datetime.now(UTC).date().isoformat()
    registrar = REGISTRARS[1]
    r = await stack.http.post("/api/records-exports", headers={"X-Kanalvakt-Actor": registrar},
                              json={"municipality_id": "exempelby", "account_id": account_id,
                                    "start": today, "end": today})
    assert r.status_code in (200, 201, 202), r.text
    export_id = r.json()["export_id"]

    async def status() -> str:
        got = await stack.http.get(f"/api/records-exports/{export_id}",
                                   headers={"X-Kanalvakt-Actor": registrar})
        return str(got.json()["status"])

    assert await eventually(status, lambda s: s == "done", seconds=60) == "done"
    package = await stack.http.get(f"/api/records-exports/{export_id}/package",
                                   headers={"X-Kanalvakt-Actor": registrar})
    assert package.status_code == 200, package.text
    names = zipfile.ZipFile(io.BytesIO(package.content)).namelist()
    assert any(n.endswith(f"data/content/screenshots/{digest}.png") for n in names), names
    assert any(n.endswith("data/content/screenshots.json") for n in names), names


async def test_r41_the_post_form_records_a_guardians_signed_consent_as_an_upload(
        chromium: Browser, stack: Stack) -> None:
    account_id = await active_account(stack)
    admin = await person_page(chromium, stack, ADMIN)
    await admin.goto(url(stack, f"/accounts/{account_id}"))
    form = admin.locator("form[action$='/monitoring/post']")
    await form.get_by_label("Inläggets id på plattformen").fill("p-consent-41")
    await form.get_by_label("Vem har rättigheterna till bilden?").fill("Foto: Lisa Berg")
    await form.get_by_label("Bilden visar personer som kan kännas igen").check()
    await form.get_by_label("Bilden visar ett barn under 15 år").check()
    await expect_accessible(admin, "account-post-form-consent-upload")

    # A file that is neither PDF nor image: refused, the other fields kept, nothing stored.
    await _choose(admin, "#f-post-image_guardian_consent_file", "samtycke.docx",
                  "application/octet-stream", b"PK\x03\x04 word")
    await submit(admin, form.get_by_role("button", name="Registrera inlägget"))
    error = await admin.locator("#f-post-image_guardian_consent_file-error").inner_text()
    assert "PDF, PNG eller JPEG" in error and "registrerades inte" in error, error
    form = admin.locator("form[action$='/monitoring/post']")
    assert await form.get_by_label("Inläggets id på plattformen").input_value() == "p-consent-41"
    assert await stack.pool.fetchval("SELECT count(*) FROM record_uploads "
                                     "WHERE account_id = $1::uuid", account_id) == 0
    await expect_accessible(admin, "account-post-form-consent-refused")
    await screenshot(admin, "account-post-form-consent-refused")

    # Without any consent (the boxes still ticked): the rule's reason, no file kept.
    await submit(admin, form.get_by_role("button", name="Registrera inlägget"))
    main = await admin.locator("main").inner_text()
    assert "vårdnadshavarens skriftliga samtycke ska registreras" in main, main

    # The signed consent as a PDF: recorded with the post, naming the upload.
    form = admin.locator("form[action$='/monitoring/post']")
    if not await form.get_by_label("Bilden visar ett barn under 15 år").is_checked():
        await form.get_by_label("Bilden visar ett barn under 15 år").check()
    await _choose(admin, "#f-post-image_guardian_consent_file", "samtycke-vardnadshavare.pdf",
                  "application/pdf", PDF)
    await submit(admin, form.get_by_role("button", name="Registrera inlägget"))
    [row] = await stack.pool.fetch(
        "SELECT data FROM events WHERE event_type = 'PostRecorded' "
        "AND data->>'post_id' = 'p-consent-41'")
    signed = row["data"]["images"][0]["guardian_consent_upload"]
    assert signed["sha256"] == hashlib.sha256(PDF).hexdigest()
    assert signed["file_name"] == "samtycke-vardnadshavare.pdf"
    assert await stack.pool.fetchval("SELECT count(*) FROM record_uploads "
                                     "WHERE account_id = $1::uuid", account_id) == 1

    # Shown as a download to those who may read it.
    await admin.goto(url(stack, f"/accounts/{account_id}"))
    link = admin.get_by_role("link", name="samtycke-vardnadshavare.pdf")
    href = await link.get_attribute("href")
    assert href == f"/accounts/{account_id}/consents/{signed['upload_id']}"
    await expect_accessible(admin, "account-consents")
    for reader in (ADMIN, COMMS, REGISTRARS[1]):
        page = admin if reader == ADMIN else await person_page(chromium, stack, reader)
        got = await page.request.get(url(stack, href))
        assert got.status == 200 and await got.body() == PDF, reader
    outsider = await person_page(chromium, stack, OUTSIDER)
    assert (await outsider.request.get(url(stack, href))).status == 403


async def test_r30_r45_the_json_api_takes_the_screenshot_too(stack: Stack) -> None:
    """R-30, R-45 over the JSON API (multipart): 403 for anyone but the
    account's admins and 415 for a bad file, nothing kept; "confirm" is
    refused with the rule's key until the screenshot is recorded."""
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None,
                                       name="Biblioteket på TikTok")
    case_id = await received(stack, account_id, "Bibliotekarien Per är en idiot")
    r = await decide(stack, case_id, "redact", ADMIN, {
        "category": "defamation_or_insult", "reason": "Pekar ut en namngiven anställd"})
    assert r.status_code == 200, r.text
    path = f"/api/messages/{case_id}/screenshot-uploads"
    png = _tiny_png()

    r = await stack.http.post(path, headers={"X-Kanalvakt-Actor": MANAGER},
                              files={"file": ("k.png", png, "image/png")})
    assert r.status_code == 403, r.text
    r = await stack.http.post(path, headers={"X-Kanalvakt-Actor": ADMIN},
                              files={"file": ("k.gif", b"GIF89a....", "image/gif")})
    assert r.status_code == 415, r.text
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM record_uploads WHERE case_id = $1", case_id) == 0

    r = await decide(stack, case_id, "confirm", ADMIN, {})
    assert r.status_code == 422 and r.json()["detail"]["key"] == "manual.screenshot_needed"
    r = await stack.http.post(path, headers={"X-Kanalvakt-Actor": ADMIN},
                              files={"file": ("k.png", png, "image/png")})
    assert r.status_code == 201, r.text
    assert r.json()["sha256"] == hashlib.sha256(png).hexdigest()
    assert r.json()["state"]["pending_screenshot"] == r.json()["sha256"]
    r = await decide(stack, case_id, "confirm", ADMIN, {})
    assert r.status_code == 200, r.text
    # Asked for no longer: refused before anything is kept.
    r = await stack.http.post(path, headers={"X-Kanalvakt-Actor": ADMIN},
                              files={"file": ("k.png", png, "image/png")})
    assert r.status_code == 403, r.text
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM record_uploads WHERE case_id = $1", case_id) == 1
