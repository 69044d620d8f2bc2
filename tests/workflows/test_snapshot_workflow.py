"""R-37, R-38: the snapshot pipeline end to end on the time-skipping test
server with the real activities: PostgreSQL, the fake Graph API over HTTP,
headless Chromium, BagIt packages checked by the reference `bagit` validator.

The account is put on the record with the same decide/evolve rules and
projections the account workflow uses (events appended to the event store),
so each environment has one workflow under test (TEMPORAL-NOTES.md); the
closure test runs the account workflow itself, whose final snapshot is the
same SnapshotWorkflow as its child."""

from __future__ import annotations

import os
import shutil
import uuid
import xml.etree.ElementTree as ET
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import bagit
import httpx
import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowFailureError
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.testing import WorkflowEnvironment

import worker as app_worker
from adapters.connectors.registry import Connectors
from cli import rebuild_read_models
from domain import account as acc
from domain import snapshot as snap
from domain.directory import Country, Directory
from store.directory import DirectoryRepository, parse_directory_yaml
from store.eventstore import EventStore, NewEvent
from store.projections import all_projections
from store.snapshots import store_upload
from tests.fakes.meta_graph import FakeGraph, seed_page, serve
from tests.support import (
    COMMS,
    DEPUTY,
    EXEMPELBY,
    MANAGER,
    REGISTRARS,
    REQUESTER,
    TEST_SERVER,
    assessment,
    full_checklist,
    register_search_attributes,
    request_fields,
)
from workflows.snapshot import SnapshotFanOutWorkflow, SnapshotWorkflow
from workflows.snapshot_models import SnapshotFanOutInput, SnapshotFanOutResult, SnapshotResult
from workflows.snapshot_starter import start_snapshot

PAGE = "104000000000001"
TOKEN = "EAAGkulturhuset-page-token"
METS = "{http://www.loc.gov/METS/}"


@dataclass
class Env:
    env: WorkflowEnvironment
    client: Client
    task_queue: str
    pool: asyncpg.Pool
    archive: Path
    directory: Directory
    graph: FakeGraph


@pytest_asyncio.fixture(loop_scope="session")
async def s(pool: asyncpg.Pool, tmp_path: Path) -> AsyncIterator[Env]:
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    fake = FakeGraph()
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=TEST_SERVER, data_converter=pydantic_data_converter)
    try:
        await register_search_attributes(env.client)
        archive = tmp_path / "archive"
        archive.mkdir()
        async with serve(fake) as base_url, httpx.AsyncClient(timeout=10) as http:
            connectors = Connectors(http, tokens={PAGE: TOKEN}, graph_url=base_url)
            activities = app_worker.build_activities(pool, archive, connectors)
            queue = f"kv-{uuid.uuid4().hex[:8]}"
            async with app_worker.create_worker(env.client, activities, queue):
                yield Env(env, env.client, queue, pool, archive, directory, fake)
    finally:
        await env.shutdown()


async def put_active_account(s: Env, *, name: str, platform: str,
                             platform_account_id: str | None, at: datetime) -> acc.AccountState:
    """An active, listed account on the record: the lifecycle's own commands,
    decided and folded by domain.account, appended with the projections."""
    request = acc.AccountRequest.model_validate(request_fields(account_name=name,
                                                               platform=platform))
    commands: list[acc.Command] = [
        acc.RequestAccount(actor=REQUESTER, account_id=str(uuid.uuid4()),
                           municipality_id="exempelby", country=Country.SE,
                           timezone="Europe/Stockholm", request=request,
                           authorities=s.directory.authorities("kultur")),
        acc.ApproveRequest(actor=MANAGER, admins_equipped=True),
        acc.RecordRiskAssessment(actor=REQUESTER, **assessment("ros", at.date())),
        acc.RecordRiskAssessment(actor=REQUESTER, **assessment("dpia", at.date())),
        acc.SignOff(actor=COMMS, decision=acc.SignOffDecision.APPROVE,
                    checklist=acc.SignOffChecklist.model_validate(full_checklist())),
        acc.ActivateAccount(actor=COMMS, handle="@kulturhusetangen",
                            url="https://www.facebook.com/kulturhusetangen",
                            admins=[acc.Admin(person=REQUESTER, two_factor=True),
                                    acc.Admin(person=DEPUTY, two_factor=True)],
                            platform_account_id=platform_account_id),
    ]
    store = EventStore(s.pool, all_projections())
    account_id = str(uuid.uuid4())
    commands[0] = commands[0].model_copy(update={"account_id": account_id})
    state: acc.AccountState | None = None
    for command in commands:
        events = acc.decide(state, command, now=at)
        stream = f"account-{account_id}"
        await store.append(stream, state.version if state else 0, [
            NewEvent(event_id=uuid.uuid4(), event_type=e.type, data=e.model_dump(mode="json"),
                     occurred_at=e.at, actor=e.actor) for e in events], str(uuid.uuid4()))
        for e in events:
            state = acc.evolve(state, e)
    assert state is not None and state.stage is acc.Stage.ACTIVE
    return state


def check_package(path: str) -> bagit.Bag:
    """The reference validator accepts the bag; METS.xml lists every other
    payload file with its SHA-256; the PDF and PNG are real."""
    bag = bagit.Bag(path)
    bag.validate()
    root = Path(path) / "data"
    mets = ET.parse(root / "METS.xml").getroot()
    listed = {f.find(f"{METS}FLocat").get("{http://www.w3.org/1999/xlink}href")  # type: ignore[union-attr]
              .removeprefix("file:///"): f.get("CHECKSUM") for f in mets.iter(f"{METS}file")}
    payload = {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file()}
    assert set(listed) == payload - {"METS.xml"}
    for name, checksum in listed.items():
        assert bag.entries[f"data/{name}"]["sha256"] == checksum
    agents = {(a.get("ROLE"), a.get("OTHERROLE")) for a in mets.iter(f"{METS}agent")}
    assert {("ARCHIVIST", None), ("CREATOR", None), ("OTHER", "PRODUCER")} <= agents
    pdf = (root / "content" / "snapshot.pdf").read_bytes()
    png = (root / "content" / "snapshot.png").read_bytes()
    assert pdf.startswith(b"%PDF-") and len(pdf) > 5_000
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 20_000
    width, height = int.from_bytes(png[16:20], "big"), int.from_bytes(png[20:24], "big")
    assert width == 1200 and height > 600  # the whole page, not a fixed window
    return bag


async def test_r37_snapshot_captures_renders_packages_registers_and_delivers(
        s: Env, database_url: str) -> None:
    """R-37: a snapshot of a Facebook Page through the Graph API: profile,
    posts and comments, a readable page with PDF and PNG, a BagIt package
    with METS, a diarium number, delivered to the archive folder, recorded."""
    now = await s.env.get_current_time()
    seed_page(s.graph, PAGE, TOKEN, posts=4, comments_per_post=3)
    state = await put_active_account(s, name="Kulturhuset Ängen", platform="facebook",
                                     platform_account_id=PAGE, at=now)
    day = snap.local_date(now, "Europe/Stockholm")
    handle = await start_snapshot(
        s.client, account_id=state.account_id, municipality_id="exempelby", slug=state.slug,
        reason=snap.SnapshotReason.MAJOR_CHANGE, day=day, task_queue=s.task_queue,
        label="activated", change="AccountActivated")
    assert handle.id == f"snapshot:exempelby:{state.slug}:{day.isoformat()}-activated"
    result = SnapshotResult.model_validate(await handle.result())

    assert (result.source, result.posts, result.comments) == ("platform", 4, 12)
    bag = check_package(result.package.path)
    assert bag.info["Kanalvakt-Snapshot-Id"] == handle.id
    assert bag.info["Kanalvakt-Diarium-Number"] == result.diarium_number
    assert result.diarium_number == f"KS {day.year}/00001"
    page = (Path(result.package.path) / "data/content/snapshot.html").read_text("utf-8")
    assert "Kommentar 3 på inlägg 4" in page and "Kulturhuset Ängen" in page
    events = (Path(result.package.path) / "data/metadata/account-events.jsonl").read_text()
    assert '"AccountActivated"' in events
    assert result.delivered_to == result.package.path
    if os.environ.get("KANALVAKT_KEEP_SNAPSHOT_PNG"):  # to look at it
        shutil.copy(Path(result.package.path) / "data/content/snapshot.png",
                    os.environ["KANALVAKT_KEEP_SNAPSHOT_PNG"])
    assert Path(result.package.path).parent == s.archive / "exempelby"

    # On the record: the snapshot's stream, the read model, the diarium, the registrars.
    recorded = await s.pool.fetch("SELECT event_type FROM events WHERE stream_id = $1 "
                                  "ORDER BY version", handle.id)
    assert [r["event_type"] for r in recorded] == [
        "SnapshotTaken", "SnapshotRegistered", "SnapshotDelivered"]
    row = await s.pool.fetchrow("SELECT * FROM snapshots WHERE snapshot_id = $1", handle.id)
    assert row["diarium_number"] == result.diarium_number and row["reason"] == "major_change"
    assert row["delivered_to"] == result.package.path
    diarium = await s.pool.fetchrow("SELECT * FROM diarium WHERE case_id = $1", handle.id)
    assert diarium["diarium_number"] == result.diarium_number
    inbox = await s.pool.fetchrow("SELECT * FROM registrar_inbox WHERE package_id = $1",
                                  result.package.package_id)
    assert inbox["kind"] == "snapshot" and sorted(inbox["registrars"]) == REGISTRARS
    assert inbox["path"] == result.package.path
    assert await s.pool.fetchval("SELECT count(*) FROM snapshot_work") == 0

    # The same snapshot again is refused: one snapshot, one package, one number.
    with pytest.raises(WorkflowAlreadyStartedError):
        await start_snapshot(
            s.client, account_id=state.account_id, municipality_id="exempelby",
            slug=state.slug, reason=snap.SnapshotReason.MAJOR_CHANGE, day=day,
            task_queue=s.task_queue, label="activated")

    # The read models rebuild from the events.
    before = [dict(r) for r in await s.pool.fetch("SELECT * FROM snapshots")]
    diarium_before = [dict(r) for r in await s.pool.fetch("SELECT * FROM diarium")]
    await rebuild_read_models(database_url)
    assert [dict(r) for r in await s.pool.fetch("SELECT * FROM snapshots")] == before
    assert [dict(r) for r in await s.pool.fetch("SELECT * FROM diarium")] == diarium_before


async def test_r37_fan_out_waits_for_an_allowed_day_and_snapshots_every_active_account(
        s: Env) -> None:
    """R-37: the schedule's fan-out for a nominal date in July waits (a durable
    timer, skipped here) until the first working day of August, then takes a
    snapshot of each active account: through the Graph API, or from uploaded
    screenshots for a platform without one."""
    now = await s.env.get_current_time()
    seed_page(s.graph, PAGE, TOKEN, posts=2, comments_per_post=1)
    facebook = await put_active_account(s, name="Kulturhuset Ängen", platform="facebook",
                                        platform_account_id=PAGE, at=now)
    tiktok = await put_active_account(s, name="Kulturhuset Ängen", platform="tiktok",
                                      platform_account_id=None, at=now)
    screenshot = _tiny_png()
    await store_upload(s.pool, account_id=tiktok.account_id,
                       file_name="profil.png", mime_type="image/png", content=screenshot,
                       caption="Profilen på TikTok", uploaded_by=REQUESTER, uploaded_at=now)
    # Issue 12: the upload is in its row; no folder is shared with the web.
    assert await s.pool.fetchval("SELECT content FROM snapshot_uploads") == screenshot
    # An upload kept before migration 0022 (by path, no content) is still
    # read from its folder: the fallback.
    legacy = _tiny_png() + b"legacy"
    legacy_path = s.archive.parent / "uploads" / tiktok.account_id / "old.png"
    legacy_path.parent.mkdir(parents=True)
    legacy_path.write_bytes(legacy)
    await s.pool.execute(
        "INSERT INTO snapshot_uploads (upload_id, account_id, file_name, mime_type, size, "
        "sha256, path, uploaded_by, uploaded_at) VALUES ($1, $2::uuid, 'old.png', 'image/png', "
        "$3, 'x', $4, $5, $6)", uuid.uuid4(), tiktok.account_id, len(legacy), str(legacy_path),
        REQUESTER, now + timedelta(seconds=1))
    nominal = date(now.year + 1, 7, 10)
    expected = snap.snapshot_day(nominal, Country.SE, snap.SnapshotPolicy())
    assert expected.month == 8

    result = SnapshotFanOutResult.model_validate(await s.client.execute_workflow(
        SnapshotFanOutWorkflow.run, SnapshotFanOutInput(municipality_id="exempelby",
                                                        nominal=nominal, batch_size=2),
        id="snapshots:exempelby-test", task_queue=s.task_queue))

    assert result.day == expected and not result.failed and not result.skipped
    key = expected.isoformat()
    assert sorted(result.taken) == sorted(
        f"snapshot:exempelby:{a.slug}:{key}" for a in (facebook, tiktok))
    assert await s.env.get_current_time() >= snap.snapshot_moment(
        expected, snap.SnapshotPolicy(), "Europe/Stockholm")
    rows = {r["account_id"]: r for r in await s.pool.fetch("SELECT * FROM snapshots")}
    assert rows[uuid.UUID(facebook.account_id)]["source"] == "platform"
    assert rows[uuid.UUID(tiktok.account_id)]["source"] == "screenshots"
    assert rows[uuid.UUID(tiktok.account_id)]["screenshots"] == 2
    for row in rows.values():
        assert row["taken_at"].astimezone(UTC).date() == expected
        check_package(row["delivered_to"])
    tiktok_bag = Path(rows[uuid.UUID(tiktok.account_id)]["delivered_to"])
    assert (tiktok_bag / "data/content/screenshots/001.png").read_bytes() == screenshot
    assert (tiktok_bag / "data/content/screenshots/002.png").read_bytes() == legacy
    assert {r["used_by"] for r in await s.pool.fetch("SELECT used_by FROM snapshot_uploads")} \
        == {f"snapshot:exempelby:{tiktok.slug}:{key}"}
    # Delivered: the package holds the screenshots, the rows no longer do.
    assert await s.pool.fetchval(
        "SELECT count(*) FROM snapshot_uploads WHERE content IS NOT NULL") == 0
    # Diarium numbers of the year of the snapshot, one per package.
    numbers = sorted(r["diarium_number"] for r in rows.values())
    assert numbers == [f"KS {expected.year}/00001", f"KS {expected.year}/00002"]


async def test_r37_fan_out_for_a_municipality_that_does_not_exist_fails_clearly(s: Env) -> None:
    with pytest.raises(WorkflowFailureError) as failed:
        await s.client.execute_workflow(
            SnapshotFanOutWorkflow.run, SnapshotFanOutInput(municipality_id="ingenstans"),
            id="snapshots:ingenstans-test", task_queue=s.task_queue,
            execution_timeout=timedelta(minutes=5))
    assert "no municipality ingenstans" in str(failed.value.cause.__cause__)


def _tiny_png() -> bytes:
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(
            ">I", zlib.crc32(kind + data))

    raw = b"".join(b"\x00" + b"\xff\x00\x00" * 64 for _ in range(64))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 64, 64, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


_ = (Any, SnapshotWorkflow)


async def test_r38_closure_captures_through_the_same_pipeline_and_hands_it_to_the_registrar(
        s: Env) -> None:
    """R-38: closing an account runs the same SnapshotWorkflow (as a child):
    rendered page, PDF, PNG, METS, diarium number, delivered; the account's
    stream records the package before it is removed from the register.
    Kanalvakt cannot read this Instagram account (no Page token): the closure
    waits for the final snapshot's screenshots (R-37, R-38: never silently
    the record only); an admin uploads one and says done."""
    from tests.workflows.snapshot_waits import waiting
    from tests.workflows.test_account_lifecycle import start, walk_to_active
    from workflows.account import AccountLifecycleWorkflow, AccountWorkflowResult

    handle = await start(s)  # type: ignore[arg-type]
    state = await walk_to_active(s, handle)  # type: ignore[arg-type]
    await handle.execute_update(AccountLifecycleWorkflow.request_closure, acc.RequestClosure(
        actor=MANAGER, reason="The house moves its programme to the municipal website"))
    final = s.client.get_workflow_handle(f"snapshot:exempelby:{state.slug}:final")
    await waiting(final, lambda w: w.outcome is None)
    shot = _tiny_png()
    await store_upload(s.pool, account_id=state.account_id,
                       file_name="sista.png", mime_type="image/png", content=shot,
                       caption="Kontot före avslut", uploaded_by=REQUESTER,
                       uploaded_at=await s.env.get_current_time())
    await final.execute_update(SnapshotWorkflow.screenshots_done,
                               snap.ScreenshotsDone(actor=REQUESTER))
    result = AccountWorkflowResult.model_validate(await handle.result())
    assert result.stage is acc.Stage.CLOSED and result.final_package is not None

    bag = check_package(result.final_package.path)
    assert bag.info["Kanalvakt-Package-Kind"] == "final_snapshot"
    assert bag.info["Kanalvakt-Reason"] == "final"
    assert bag.info["Kanalvakt-Source"] == "screenshots"  # Instagram without a Page token
    assert (Path(result.final_package.path) / "data/content/screenshots/001.png"
            ).read_bytes() == shot
    sid = f"snapshot:exempelby:{state.slug}:final"
    row = await s.pool.fetchrow("SELECT * FROM snapshots WHERE snapshot_id = $1", sid)
    assert row["reason"] == "final" and row["package_id"] == result.final_package.package_id
    assert row["diarium_number"] and row["delivered_to"] == result.final_package.path
    # the activation's snapshot (a major change) is in the inbox too.
    inbox = await s.pool.fetchrow("SELECT * FROM registrar_inbox WHERE package_id = $1",
                                  result.final_package.package_id)
    assert inbox["kind"] == "final_snapshot" and sorted(inbox["registrars"]) == REGISTRARS
    types = [r["event_type"] for r in await s.pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version",
        f"account-{state.account_id}")]
    assert types[-3:] == ["FinalSnapshotArchived", "RemovedFromRegister", "AccountClosed"]
    assert int(bag.info["Kanalvakt-Event-Count"]) == types.index("FinalSnapshotArchived")
    page = (Path(result.final_package.path) / "data/content/snapshot.html").read_text("utf-8")
    assert "slutlig ögonblicksbild" in page and "Kontot före avslut" in page
