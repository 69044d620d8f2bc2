"""R-41 (issue 14) on the real stack: "children under 15 need written consent
from a guardian (recorded with a post)", over the JSON API as on the page, and
the consent's end.

- The JSON API takes the signed consent as an upload (multipart) that the
  post then names, with the page's limits, refusals and authorisation.
- A consent withdrawn by the guardian (or disposed of) is recorded on the
  account (ConsentWithdrawn: the upload, who, when, why), its file destroyed
  (its own data key gone, its row deleted), the post shown as "samtycke
  återkallat", and the admins told to take the image down (a notification).
  On the page behind a confirmation that names the consequence; axe-core
  without serious or critical violations.
"""

from __future__ import annotations

import hashlib
from datetime import UTC, datetime
from typing import Any

from playwright.async_api import Browser

from tests.e2e.browser import expect_accessible, person_page, screenshot, submit, url
from tests.e2e.conftest import Stack, active_account
from tests.support import COMMS, MANAGER, OUTSIDER, REQUESTER, eventually

ADMIN = REQUESTER  # elin.strand, an admin of the account active_account makes
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


def _as(person: str) -> dict[str, str]:
    return {"X-Kanalvakt-Actor": person}


async def _upload(stack: Stack, account_id: str, person: str, name: str, content: bytes,
                  mime: str = "application/pdf") -> Any:
    return await stack.http.post(f"/api/accounts/{account_id}/consent-uploads",
                                 headers=_as(person), files={"file": (name, content, mime)})


async def _post(stack: Stack, account_id: str, post_id: str, signed: dict[str, Any]) -> Any:
    image = {"rights": "Foto: Lisa Berg", "shows_people": True, "child_under_15": True,
             "guardian_consent_upload": signed}
    return await stack.http.post(
        f"/api/accounts/{account_id}/posts", headers=_as(ADMIN),
        json={"post_id": post_id, "published_at": datetime.now(UTC).isoformat(),
              "images": [image]})


async def _uploads(stack: Stack, account_id: str) -> int:
    return int(await stack.pool.fetchval(
        "SELECT count(*) FROM record_uploads WHERE account_id = $1::uuid", account_id))


async def _key(stack: Stack, upload_id: str) -> Any:
    return await stack.pool.fetchrow(
        "SELECT wrapped, destroyed_at, destroyed_reason FROM payload_data_keys WHERE scope = $1",
        f"consent:{upload_id}")


async def _posted_with_consent(stack: Stack, account_id: str, post_id: str) -> dict[str, Any]:
    r = await _upload(stack, account_id, ADMIN, "samtycke-vardnadshavare.pdf", PDF)
    assert r.status_code == 201, r.text
    signed = {k: r.json()[k] for k in ("upload_id", "sha256", "file_name")}
    r = await _post(stack, account_id, post_id, signed)
    assert r.status_code == 200, r.text
    return signed


async def test_r41_the_json_api_records_a_post_with_an_uploaded_consent(stack: Stack) -> None:
    """R-41 over the JSON API: the consent is uploaded first (PDF, PNG, JPEG,
    at most 10 MB; 403 for anyone who may not record the account's posts;
    415 for another kind, nothing kept), then the post names it; a post
    naming an upload that is not this account's (or another digest) is
    refused with nothing recorded."""
    account_id = await active_account(stack)
    for person in (OUTSIDER, MANAGER):
        r = await _upload(stack, account_id, person, "s.pdf", PDF)
        assert r.status_code == 403, (person, r.text)
    r = await _upload(stack, account_id, ADMIN, "s.docx", b"PK\x03\x04 word",
                      "application/octet-stream")
    assert r.status_code == 415 and r.json()["detail"]["reason"] == "kind", r.text
    assert await _uploads(stack, account_id) == 0

    r = await _upload(stack, account_id, ADMIN, "samtycke.pdf", PDF)
    assert r.status_code == 201, r.text
    signed = {k: r.json()[k] for k in ("upload_id", "sha256", "file_name")}
    assert signed["sha256"] == hashlib.sha256(PDF).hexdigest()

    r = await _post(stack, account_id, "p-api-41", {**signed, "sha256": "0" * 64})
    assert r.status_code == 422, r.text
    assert "upload" in r.text
    other = await active_account(stack, name="Biblioteket Ängen")
    r = await _post(stack, other, "p-api-41", signed)  # another account's upload
    assert r.status_code == 422, r.text
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'PostRecorded' "
        "AND data->>'post_id' = 'p-api-41'") == 0

    r = await _post(stack, account_id, "p-api-41", signed)
    assert r.status_code == 200, r.text
    [data] = await stack.pool.fetch(
        "SELECT data FROM events WHERE event_type = 'PostRecorded' "
        "AND data->>'post_id' = 'p-api-41'")
    assert data["data"]["images"][0]["guardian_consent_upload"] == signed

    schema = (await stack.http.get("/openapi.json")).json()
    assert "/api/accounts/{account_id}/consent-uploads" in schema["paths"]
    assert "/api/accounts/{account_id}/consents/{upload_id}/withdraw" in schema["paths"]


async def test_r41_a_withdrawn_consent_is_recorded_destroyed_and_the_admins_told(
        stack: Stack) -> None:
    """R-41 over the JSON API: only the account's admins and the
    communications unit withdraw a consent; then the event names the upload,
    who and why, the key is destroyed and the row gone (the download is
    404), the state shows it withdrawn and each admin has a notification to
    take the image down. Again: nothing new."""
    account_id = await active_account(stack)
    signed = await _posted_with_consent(stack, account_id, "p-withdraw-41")
    path = f"/api/accounts/{account_id}/consents/{signed['upload_id']}/withdraw"
    body = {"reason": "Vårdnadshavaren återkallade samtycket per telefon"}
    for person in (MANAGER, OUTSIDER):
        r = await stack.http.post(path, headers=_as(person), json=body)
        assert r.status_code == 403, (person, r.text)
    assert await _uploads(stack, account_id) == 1

    r = await stack.http.post(path, headers=_as(COMMS), json=body)
    assert r.status_code == 200, r.text
    [consent] = r.json()["consents"]
    assert (consent["ended"], consent["ended_by"]) == ("withdrawn", COMMS)
    [event] = await stack.pool.fetch(
        "SELECT actor, data FROM events WHERE event_type = 'ConsentWithdrawn' "
        "AND stream_id = $1", f"account-{account_id}")
    assert event["actor"] == COMMS
    assert event["data"]["upload_id"] == signed["upload_id"]
    assert event["data"]["post_id"] == "p-withdraw-41" and event["data"]["reason"] == body["reason"]
    assert await _uploads(stack, account_id) == 0
    key = await _key(stack, signed["upload_id"])
    assert key["wrapped"] is None and key["destroyed_at"] is not None

    async def told() -> set[str]:
        rows = await stack.pool.fetch(
            "SELECT recipient FROM notifications WHERE account_id = $1::uuid "
            "AND step LIKE 'consent_take_down%'", account_id)
        return {r["recipient"] for r in rows}
    assert ADMIN in await eventually(told, lambda got: ADMIN in got)

    r = await stack.http.post(path, headers=_as(ADMIN), json=body)  # again: nothing new
    assert r.status_code == 200, r.text
    assert await stack.pool.fetchval(
        "SELECT count(*) FROM events WHERE event_type = 'ConsentWithdrawn' "
        "AND stream_id = $1", f"account-{account_id}") == 1


async def test_r41_the_account_page_withdraws_a_consent_after_a_confirmation(
        chromium: Browser, stack: Stack) -> None:
    """R-41 in Chromium: the consent's "Återkalla samtycket" names the
    consequence; without the confirmation nothing changes; with it the
    consent is shown as "Samtycke återkallat", its download is gone, and the
    file is destroyed. axe-core on the open form and the result."""
    account_id = await active_account(stack)
    signed = await _posted_with_consent(stack, account_id, "p-page-41")
    admin = await person_page(chromium, stack, ADMIN)
    await admin.goto(url(stack, f"/accounts/{account_id}"))
    item = admin.locator(f"#consent-{signed['upload_id']}")
    await item.get_by_text("Återkalla samtycket").click()
    consequence = await item.locator("p[id$='consequence']").inner_text()
    assert "går inte att ångra" in consequence and "ta ned bilden" in consequence, consequence
    await expect_accessible(admin, "account-consent-withdraw-open")

    await item.get_by_label("Skäl").fill("Vårdnadshavaren har återkallat samtycket")
    await submit(admin, item.get_by_role("button", name="Återkalla och förstör samtycket"))
    main = await admin.locator("main").inner_text()
    assert "kryssa i rutan" in main, main
    assert await _uploads(stack, account_id) == 1  # nothing changed

    item = admin.locator(f"#consent-{signed['upload_id']}")
    await item.get_by_label("Skäl").fill("Vårdnadshavaren har återkallat samtycket")
    await item.get_by_label("Jag förstår att samtycket förstörs").check()
    await submit(admin, item.get_by_role("button", name="Återkalla och förstör samtycket"))
    item = admin.locator(f"#consent-{signed['upload_id']}")
    text = await item.inner_text()
    assert "Samtycke återkallat" in text and "tar ned bilden" in text, text
    assert await item.get_by_role("link").count() == 0
    assert await _uploads(stack, account_id) == 0
    assert (await _key(stack, signed["upload_id"]))["wrapped"] is None
    got = await admin.request.get(url(stack, f"/accounts/{account_id}/consents/"
                                             f"{signed['upload_id']}"))
    assert got.status == 404
    await expect_accessible(admin, "account-consent-withdrawn")
    await screenshot(admin, "account-consent-withdrawn")
