"""End to end over HTTP on the dev-server stack: the snapshots JSON API
(web/snapshots_api.py). An account's snapshots listed, a screenshot uploaded
for a platform Kanalvakt cannot read, a snapshot taken on demand (R-37: the
real SnapshotWorkflow, headless Chromium, BagIt with METS, diarium number,
delivered to the archive folder), and the registrar's records export (R-28,
R-35, R-38) checked by the reference `bagit` validator. Who may do each: a
wrong person gets 403 and nothing is recorded, stored or started."""

from __future__ import annotations

import asyncio
import hashlib
import io
import json
import zipfile
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bagit
import httpx
import pytest

from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_messages_api import REGISTRAR, as_
from tests.support import COMMS, MANAGER, OUTSIDER, REQUESTER, eventually
from tests.workflows.test_snapshot_workflow import _tiny_png, check_package

ADMIN = REQUESTER  # elin.strand; johan.berg is the other admin


@pytest.fixture
def folders(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, Path]:
    """A folder for uploads and the web app's archive folder in the test's
    own directory (never the repository's .state/), apart from the worker's
    (stack.archive_dir): the web app writes to neither (issue 12)."""
    uploads, archive = tmp_path / "uploads", tmp_path / "web-archive"
    monkeypatch.setenv("KANALVAKT_ARCHIVE_DIR", str(archive))
    return uploads, archive


async def listing(stack: Stack, account_id: str, actor: str | None = ADMIN) -> httpx.Response:
    return await stack.http.get(f"/api/accounts/{account_id}/snapshots", headers=as_(actor))


async def take(stack: Stack, account_id: str, actor: str | None,
               body: dict[str, Any] | None = None) -> httpx.Response:
    return await stack.http.post(f"/api/accounts/{account_id}/snapshots", json=body or {},
                                 headers=as_(actor))


async def upload(stack: Stack, account_id: str, actor: str | None, content: bytes,
                 name: str = "profil.png", caption: str | None = None) -> httpx.Response:
    data = {"caption": caption} if caption else {}
    return await stack.http.post(f"/api/accounts/{account_id}/snapshot-uploads",
                                 files={"file": (name, content, "image/png")}, data=data,
                                 headers=as_(actor))


async def export(stack: Stack, actor: str | None, **body: Any) -> httpx.Response:
    today = datetime.now(UTC).date()
    payload = {"municipality_id": "exempelby", "start": str(today - timedelta(days=1)),
               "end": str(today + timedelta(days=1)), **body}
    return await stack.http.post("/api/records-exports", json=payload, headers=as_(actor))


async def snapshot_workflows(stack: Stack, ok: Callable[[list[str]], bool] = bool,
                             seconds: float = 15) -> list[str]:
    """The snapshot workflows visibility lists once `ok` says so (or
    `seconds` pass). Visibility follows a start a moment later: wait for
    what is asserted (at least n), not for the first one listed. A check
    that none was started waits briefly for one to show (`seconds`)."""
    async def ids() -> list[str]:
        return [w.id async for w in stack.client.list_workflows(
            'WorkflowType="SnapshotWorkflow"')]
    return await eventually(ids, ok, seconds)


async def activation_snapshot(stack: Stack) -> str:
    """Activation is a major change (R-37): the account's case starts a
    snapshot itself. Wait for it to finish, so it does not take the uploads
    made afterwards."""
    [snapshot_id] = await snapshot_workflows(stack)
    assert snapshot_id.endswith("-activated")
    # It waits for screenshots: not this test's subject.
    from tests.e2e.snapshot_waits import record_only

    account_id = await stack.pool.fetchval(
        "SELECT account_id::text FROM accounts WHERE $1 LIKE "
        "'snapshot:' || municipality_id || ':' || (state->>'slug') || ':%'", snapshot_id)
    await record_only(stack, account_id, "major_change")
    await asyncio.wait_for(stack.client.get_workflow_handle(snapshot_id).result(), timeout=120)
    return snapshot_id


def files_under(path: Path) -> list[Path]:
    return sorted(p for p in path.rglob("*") if p.is_file()) if path.exists() else []


async def test_r37_r38_screenshot_upload_then_a_snapshot_on_demand_over_http(
        stack: Stack, folders: tuple[Path, Path]) -> None:
    """R-37, R-38: for a TikTok account (no API Kanalvakt may read) an admin
    uploads a screenshot; the communications unit takes a snapshot on demand;
    the workflow renders it with Chromium, packages the screenshot, numbers it
    in the diarium and delivers it to the archive; the list shows it. An
    outsider, a registrar and an unnamed caller may not take one, an outsider
    may not upload or list, a file that is not an image is refused, a major
    change must be on the record: nothing stored, no workflow started."""
    uploads, _ = folders
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)
    activated = await activation_snapshot(stack)

    r = await listing(stack, account_id)
    assert r.status_code == 200
    assert [(s["snapshot_id"], s["reason"], s["source"]) for s in r.json()] == [
        (activated, "major_change", "record_only")]
    assert (await listing(stack, account_id, MANAGER)).status_code == 200
    assert (await listing(stack, account_id, COMMS)).status_code == 200
    assert (await listing(stack, account_id, OUTSIDER)).status_code == 403
    assert (await listing(stack, account_id, None)).status_code == 401
    assert (await listing(stack, "00000000-0000-0000-0000-000000000000")).status_code == 404

    # Uploads: only the account's people; only PNG, JPEG or WebP.
    screenshot = _tiny_png()
    r = await upload(stack, account_id, OUTSIDER, screenshot)
    assert r.status_code == 403, r.text
    r = await upload(stack, account_id, REGISTRAR, screenshot)
    assert r.status_code == 403, r.text
    r = await upload(stack, account_id, ADMIN, b"%PDF-1.7 not a screenshot", name="x.png")
    assert r.status_code == 415, r.text
    r = await stack.http.post(f"/api/accounts/{account_id}/snapshot-uploads",
                              files={"file": ("profil.png", screenshot, "image/png")})
    assert r.status_code in (401, 403), r.text  # no caller: the JSON API refuses a form post
    assert await stack.pool.fetchval("SELECT count(*) FROM snapshot_uploads") == 0
    assert files_under(uploads) == []

    r = await upload(stack, account_id, ADMIN, screenshot, caption="Profilen 2026-03-16")
    assert r.status_code == 201, r.text
    stored = r.json()
    assert stored["sha256"] == hashlib.sha256(screenshot).hexdigest()
    assert (stored["uploaded_by"], stored["mime_type"], stored["size"]) == (
        ADMIN, "image/png", len(screenshot))
    # Issue 12: kept in its row for the worker, not in a folder shared with it.
    assert await stack.pool.fetchval(
        "SELECT content FROM snapshot_uploads WHERE upload_id = $1::uuid",
        stored["upload_id"]) == screenshot
    assert files_under(uploads) == []

    # Taking a snapshot: not an outsider, not a registrar, not unnamed; a
    # "major change" must be one.
    for actor, status in ((OUTSIDER, 403), (REGISTRAR, 403), (None, 401)):
        r = await take(stack, account_id, actor)
        assert r.status_code == status, (actor, r.text)
    r = await take(stack, account_id, ADMIN, {"reason": "major_change",
                                              "change": "CheckInRecorded"})
    assert r.status_code == 422 and "not a major change" in r.text
    r = await take(stack, account_id, ADMIN, {"reason": "whenever"})
    assert r.status_code == 422
    # A major change must be on the account's record today: a claimed one
    # would take the id of the snapshot the account's case starts itself
    # after the real change (fixed in web/snapshots_api.py).
    r = await take(stack, account_id, ADMIN, {"reason": "major_change",
                                              "change": "HandleChanged"})
    assert r.status_code == 422 and "no HandleChanged on its record" in r.text
    # The activation is on the record, and its snapshot has been taken already.
    r = await take(stack, account_id, ADMIN, {"reason": "major_change",
                                              "change": "AccountActivated"})
    assert r.status_code == 409 and "taken already" in r.text
    assert await snapshot_workflows(stack) == [activated]

    r = await take(stack, account_id, COMMS)
    assert r.status_code == 202, r.text
    snapshot_id = r.json()["snapshot_id"]
    assert snapshot_id.startswith("snapshot:exempelby:")
    result = await asyncio.wait_for(
        stack.client.get_workflow_handle(snapshot_id).result(), timeout=120)
    assert (result["source"], result["screenshots"]) == ("screenshots", 1)
    # The refusals started none.
    listed = await snapshot_workflows(stack, lambda ids: len(ids) >= 2)
    assert sorted(listed) == sorted([activated, snapshot_id])

    r = await listing(stack, account_id)
    [first, row] = r.json()
    assert first["snapshot_id"] == activated
    assert row["snapshot_id"] == snapshot_id and row["reason"] == "on_demand"
    assert (row["source"], row["screenshots"]) == ("screenshots", 1)
    assert row["diarium_number"] == result["diarium_number"] and row["diarium_number"]
    assert row["delivery_kind"] == "folder" and row["delivered_at"]
    bag_path = Path(row["delivered_to"])
    assert bag_path.is_relative_to(stack.archive_dir / "exempelby")
    bag = check_package(str(bag_path))
    assert bag.info["Kanalvakt-Snapshot-Id"] == snapshot_id
    assert (bag_path / "data/content/screenshots/001.png").read_bytes() == screenshot
    listed = json.loads((bag_path / "data/content/screenshots.json").read_text("utf-8"))
    assert [(s["uploaded_by"], s["caption"]) for s in listed] == [(ADMIN, "Profilen 2026-03-16")]
    used = await stack.pool.fetchrow(
        "SELECT used_by, content FROM snapshot_uploads WHERE upload_id = $1::uuid",
        stored["upload_id"])
    assert used["used_by"] == snapshot_id
    assert used["content"] is None  # delivered: the package holds it now
    taken = await stack.pool.fetchrow(
        "SELECT actor FROM events WHERE stream_id = $1 AND event_type = 'SnapshotTaken'",
        snapshot_id)
    assert taken["actor"] == COMMS


async def test_r28_r35_r38_records_export_over_http_for_registrars_and_communications(
        stack: Stack, folders: tuple[Path, Path], tmp_path: Path) -> None:
    """R-28, R-35, R-38, issue 12: a registrar's records export of an account
    (diarium, messages, decisions, disposal log, snapshots, the account's
    events) is started as RecordsExportWorkflow: the request returns at once
    (202, queued, no package), its progress is followed over the API and the
    package, a BagIt zip with METS that the reference validator accepts, is
    downloaded from the web (nothing through a shared folder). The
    communications unit may export too. An account admin, an outsider and
    an unnamed caller are refused, nothing is started; a reversed period and
    an unknown account are clear errors; others may not follow the export."""
    _, archive = folders
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)
    activated = await activation_snapshot(stack)
    for actor, status in ((ADMIN, 403), (OUTSIDER, 403), (MANAGER, 403), (None, 401),
                          ("nobody.here", 403)):
        r = await export(stack, actor, account_id=account_id)
        assert r.status_code == status, (actor, r.text)
    today = datetime.now(UTC).date()
    r = await export(stack, REGISTRAR, account_id=account_id, start=str(today),
                     end=str(today - timedelta(days=1)))
    assert r.status_code == 422 and "ends before it starts" in r.text
    r = await export(stack, REGISTRAR, account_id="00000000-0000-0000-0000-000000000000")
    assert r.status_code == 404
    r = await export(stack, REGISTRAR, municipality_id="nowhere")
    assert r.status_code == 403  # not a person of that municipality
    assert await stack.pool.fetchval("SELECT count(*) FROM records_exports") == 0
    assert [w.id async for w in stack.client.list_workflows(
        'WorkflowType="RecordsExportWorkflow"')] == []

    r = await export(stack, REGISTRAR, account_id=account_id)
    assert r.status_code == 202, r.text
    started = r.json()
    assert started["status"] == "queued" and "package" not in started
    bag_path = await _download(stack, started, REGISTRAR, tmp_path / "account")
    for outsider in (ADMIN, OUTSIDER):
        refused = await stack.http.get(started["progress_url"], headers=as_(outsider))
        assert refused.status_code == 403, outsider
        refused = await stack.http.get(started["package_url"], headers=as_(outsider))
        assert refused.status_code == 403, outsider
    bag = bagit.Bag(str(bag_path))
    bag.validate()
    assert bag.info["Kanalvakt-Package-Kind"] == "records_export"
    assert bag.info["Kanalvakt-Requested-By"] == REGISTRAR
    events = (bag_path / "data/metadata/account-events.jsonl").read_text("utf-8")
    assert '"AccountActivated"' in events and '"AccountRequested"' in events
    for name in ("diarium.json", "messages.jsonl", "decisions.jsonl", "disposal-log.json",
                 "snapshots.json"):
        assert (bag_path / "data/content" / name).is_file()
    assert (bag_path / "data/METS.xml").is_file()
    # The period's snapshot (taken at activation) and its diarium entry.
    snapshots = json.loads((bag_path / "data/content/snapshots.json").read_text("utf-8"))
    assert [s["snapshot_id"] for s in snapshots] == [activated]
    diarium = json.loads((bag_path / "data/content/diarium.json").read_text("utf-8"))
    assert activated in {d["case_id"] for d in diarium}

    r = await export(stack, COMMS)  # the whole municipality
    assert r.status_code == 202, r.text
    whole = await _download(stack, r.json(), COMMS, tmp_path / "whole")
    bagit.Bag(str(whole)).validate()
    assert not (whole / "data/metadata/account-events.jsonl").exists()
    # Nothing written to a folder by the web app.
    assert files_under(archive) == []


async def _download(stack: Stack, started: dict[str, Any], actor: str, into: Path) -> Path:
    """Follow the export's progress until done; download and unpack the zip."""
    async def progress() -> dict[str, Any]:
        r = await stack.http.get(started["progress_url"], headers=as_(actor))
        assert r.status_code == 200, r.text
        body: dict[str, Any] = r.json()
        return body

    done = await eventually(progress, lambda p: p["status"] in {"done", "failed"}, 30)
    assert done["status"] == "done", done
    assert done["package_url"] == started["package_url"] and done["size"] > 0
    r = await stack.http.get(started["package_url"], headers=as_(actor))
    assert r.status_code == 200 and r.headers["content-type"] == "application/zip"
    with zipfile.ZipFile(io.BytesIO(r.content)) as package:
        package.extractall(into)
    return into / done["package_id"]


async def test_r37_only_an_active_account_is_snapshotted_on_demand(
        stack: Stack, folders: tuple[Path, Path]) -> None:
    """R-37: an account still being requested has nothing to snapshot (409),
    an unknown account is 404; neither starts a workflow. A rejected account
    takes no screenshots (409, nothing stored)."""
    from tests.support import request_fields

    r = await stack.http.post("/api/accounts", headers=as_(ADMIN), json={
        **request_fields(), "municipality_id": "exempelby"})
    assert r.status_code == 201, r.text
    requested = r.json()["account_id"]
    r = await take(stack, requested, MANAGER)
    assert r.status_code == 409 and "only an active account" in r.text
    r = await take(stack, "00000000-0000-0000-0000-000000000000", COMMS)
    assert r.status_code == 404
    assert await snapshot_workflows(stack, seconds=2) == []

    # a screenshot for an account that will never be snapshotted
    # again (rejected, lapsed, closed) is refused rather than kept unused.
    r = await stack.http.post(f"/api/accounts/{requested}/reject", headers=as_(MANAGER),
                              json={"reason": "Kulturhuset har redan ett konto"})
    assert r.status_code == 200, r.text
    r = await upload(stack, requested, MANAGER, _tiny_png())
    assert r.status_code == 409 and "rejected" in r.text
    assert await stack.pool.fetchval("SELECT count(*) FROM snapshot_uploads") == 0
    assert files_under(folders[0]) == []


async def test_a_nul_in_a_screenshots_name_or_caption_is_stored_without_it(
        stack: Stack, folders: tuple[Path, Path]) -> None:
    """Issue 9: a multipart form's text reaches the handler as sent; a NUL in
    the file name or the caption made the upload's row unwritable (500)."""
    account_id = await active_account(stack, platform="tiktok", platform_account_id=None)

    # By hand: httpx would percent-encode the NUL in the file name.
    body = (b'--b\r\nContent-Disposition: form-data; name="caption"\r\n\r\nProfilen\x00 2026'
            b'\r\n--b\r\nContent-Disposition: form-data; name="file"; filename="pro\x00fil.png"'
            b"\r\nContent-Type: image/png\r\n\r\n" + _tiny_png() + b"\r\n--b--\r\n")
    r = await stack.http.post(f"/api/accounts/{account_id}/snapshot-uploads", content=body,
                              headers={**as_(ADMIN),
                                       "Content-Type": "multipart/form-data; boundary=b"})

    assert r.status_code == 201, r.text
    row = await stack.pool.fetchrow("SELECT file_name, caption FROM snapshot_uploads")
    assert (row["file_name"], row["caption"]) == ("profil.png", "Profilen 2026")
