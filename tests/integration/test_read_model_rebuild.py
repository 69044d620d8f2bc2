"""`kanalvakt rebuild-read-models` gives back the same read models of the
monitoring duties (R-15, R-16, R-18, R-19, R-20), crisis mode and storms
(R-39, R-40) and snapshots (R-37, R-38) as the live projections wrote.

The events are the domain's own: every command is decided and folded by
domain.account / domain.crisis (as the workflows do) and appended with all
projections (as RecordActivities does); the snapshot events are those
SnapshotWorkflow records. Then the tables are compared row for row before
and after the rebuild."""

from __future__ import annotations

import uuid
from datetime import date, datetime, timedelta
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import asyncpg

from cli import rebuild_read_models
from domain import account as acc
from domain import crisis as cr
from domain import snapshot as snap
from domain.screening import StormSignal
from store.directory import DirectoryRepository, parse_directory_yaml
from store.eventstore import EventStore, NewEvent
from store.projections import all_projections
from tests.support import COMMS, COMMS_2, DEPUTY, EXEMPELBY, MANAGER, REGISTRARS, REQUESTER
from tests.workflows.test_snapshot_workflow import put_active_account

TZ = ZoneInfo("Europe/Stockholm")
KRISLEDNING = "eva.marklund"

# Every read model these duties write, and the shared ones they add rows to.
TABLES = ("check_ins", "published_posts", "watch_items", "monitoring_tasks", "notifications",
          "accounts", "crisis_modes", "crisis_storms", "crisis_digests", "snapshots",
          "diarium", "registrar_inbox", "public_register")


def _new(events: list[Any]) -> list[NewEvent]:
    return [NewEvent(event_id=uuid.uuid4(), event_type=e.type, data=e.model_dump(mode="json"),
                     occurred_at=e.at, actor=e.actor) for e in events]


class Account:
    """One account's stream: `do` decides, appends with the projections, folds."""

    def __init__(self, store: EventStore, state: acc.AccountState) -> None:
        self.store, self.state = store, state
        self.types: list[str] = []

    async def do(self, command: acc.Command, at: datetime) -> list[str]:
        events = acc.decide(self.state, command, now=at)
        if events:
            await self.store.append(f"account-{self.state.account_id}", self.state.version,
                                    _new(events), str(uuid.uuid4()))
        for e in events:
            self.state = acc.evolve(self.state, e)
        self.types += [e.type for e in events]
        return [e.type for e in events]


class Crisis:
    def __init__(self, store: EventStore) -> None:
        self.store = store
        self.state: cr.CrisisState | None = None

    async def do(self, command: cr.Command, at: datetime) -> list[cr.CrisisEvent]:
        events = cr.decide(self.state, command, now=at)
        if events:
            await self.store.append(f"{cr.STREAM_PREFIX}exempelby",
                                    self.state.version if self.state else 0,
                                    _new(events), str(uuid.uuid4()))
        for e in events:
            self.state = cr.evolve(self.state, e)
        return events


async def _tables(pool: asyncpg.Pool) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for table in TABLES:
        rows = await pool.fetch(f"SELECT * FROM {table}")
        out[table] = sorted(repr(sorted(dict(r).items())) for r in rows)
    return out


async def test_r15_r20_r37_r39_r40_rebuild_gives_back_the_monitoring_crisis_and_snapshot_read_models(  # noqa: E501
        pool: asyncpg.Pool, database_url: str) -> None:
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    store = EventStore(pool, all_projections())
    t0 = datetime(2026, 3, 2, 9, 0, tzinfo=TZ)  # a Monday
    state = await put_active_account(SimpleNamespace(pool=pool, directory=directory),  # type: ignore[arg-type]
                                     name="Kulturhuset Ängen", platform="facebook",
                                     platform_account_id="104000000000001", at=t0)
    a = Account(store, state)

    # ---- monitoring
    await a.do(acc.RecordCheckIn(actor=REQUESTER), t0 + timedelta(hours=1))
    await a.do(acc.RecordCheckIn(actor=DEPUTY, source=acc.mon.CheckInSource.MODERATION,
                                 case_id="message:facebook:c-1",
                                 checked_at=t0 + timedelta(hours=2)), t0 + timedelta(hours=2))
    await a.do(acc.RecordPost(actor=REQUESTER, post_id="104000000000001_1",
                              published_at=t0 + timedelta(hours=3)), t0 + timedelta(hours=3))
    await a.do(acc.ReportWatchItem(actor=REQUESTER, summary="Felaktiga öppettider i inlägget",
                                   link="https://www.facebook.com/kulturhusetangen/posts/1",
                                   seen_at=t0 + timedelta(hours=3)), t0 + timedelta(hours=4))
    await a.do(acc.ReportWatchItem(actor=DEPUTY, summary="Kritik mot bokningen",
                                   seen_at=t0 + timedelta(hours=4)), t0 + timedelta(hours=5))
    # Time passes without posts or check-ins: reminders, escalations, the
    # watch items' reminders and escalations, and (R-19) a closure proposal.
    at = t0
    while "ClosureProposed" not in a.types and at < t0 + timedelta(days=200):
        at += timedelta(hours=6)
        await a.do(acc.FireDueDeadlines(actor="kanalvakt"), at)
        if "WatchItemEscalated" in a.types and a.state.monitoring.watch_items and any(
                w.item_id == "W-1" and w.resolved_at is None
                for w in a.state.monitoring.watch_items):
            await a.do(acc.ResolveWatchItem(actor=MANAGER, item_id="W-1",
                                            note="Rättat i inlägget"), at)
    assert "ClosureProposed" in a.types, "no closure proposal within 200 days"
    for step in ("CheckInReminderSent", "CheckInEscalated", "WatchItemReminderSent",
                 "WatchItemEscalated", "WatchItemResolved"):
        assert step in a.types, step
    await a.do(acc.KeepAccount(actor=COMMS, reason="Sommarprogrammet publiceras i juni"),
               at + timedelta(hours=1))
    await a.do(acc.RecordPost(actor=REQUESTER, post_id="104000000000001_2",
                              published_at=at + timedelta(hours=2)), at + timedelta(hours=2))
    await a.do(acc.RecordCheckIn(actor=REQUESTER), at + timedelta(hours=3))

    # ---- crisis mode, a storm, a digest
    c = Crisis(store)
    settings = cr.CrisisSettings(
        municipality_id="exempelby", policy=directory.municipality.crisis,
        crisis_management=frozenset(directory.crisis_management),
        communications=frozenset({COMMS, COMMS_2}),
        units=frozenset(u.id for u in directory.units))
    c0 = at + timedelta(days=1)
    await c.do(cr.LoadSettings(actor="kanalvakt", settings=settings), c0)
    [declared] = await c.do(cr.DeclareCrisis(actor=KRISLEDNING, reason="Översvämning"),
                            c0 + timedelta(minutes=1))
    assert isinstance(declared, cr.CrisisDeclared)
    signal = StormSignal(window_start=c0, window_end=c0 + timedelta(minutes=30), messages=40,
                         critical=31, critical_share=0.78)
    await c.do(cr.FlagStorm(actor="kanalvakt", account_id=a.state.account_id, unit_id="kultur",
                            signal=signal), c0 + timedelta(minutes=31))
    digest = cr.compile_digest(
        declared.crisis,
        [cr.DigestCase(case_id="message:facebook:c-2", account_id=a.state.account_id,
                       unit_id="kultur", received_at=c0 + timedelta(minutes=10), critical=True,
                       question=True, open=True, flagged=False)],
        period_start=c0 + timedelta(minutes=1), period_end=c0 + timedelta(minutes=61),
        recipients=sorted(settings.crisis_management))
    await c.do(cr.RecordDigest(actor="kanalvakt", digest=digest), c0 + timedelta(minutes=61))
    assert await c.do(cr.FireDue(actor="kanalvakt"), c0 + timedelta(hours=7))
    await c.do(cr.EndCrisis(actor=KRISLEDNING, reason="Vattnet har sjunkit"),
               c0 + timedelta(hours=8))
    await c.do(cr.DeclareCrisis(actor="karin.holm", reason="Strömavbrott",
                                units=frozenset({"kultur"})), c0 + timedelta(hours=9))

    # ---- a snapshot on the record, as SnapshotWorkflow records it
    taken_at = c0 + timedelta(hours=10)
    sid = snap.snapshot_id("exempelby", a.state.slug, f"{date(2026, 3, 16)}")
    await store.append(sid, 0, _new([
        snap.SnapshotTaken(at=taken_at, actor="kanalvakt", snapshot_id=sid,
                           account_id=a.state.account_id, municipality_id="exempelby",
                           reason=snap.SnapshotReason.SCHEDULED, captured_at=taken_at,
                           source="platform", posts=2, comments=5, package_id="p-2026-03-16",
                           manifest_sha256="a" * 64, payload_oxum="1234.9"),
        snap.SnapshotRegistered(at=taken_at, actor="kanalvakt", snapshot_id=sid,
                                account_id=a.state.account_id, municipality_id="exempelby",
                                diarium_number="KS 2026/00042", record_class="Ögonblicksbild",
                                registrars=REGISTRARS),
        snap.SnapshotDelivered(at=taken_at, actor="kanalvakt", snapshot_id=sid,
                               account_id=a.state.account_id,
                               location="/arkiv/exempelby/p-2026-03-16", kind="folder"),
    ]), "snapshot-1")

    # The live read models say what happened...
    live = await _tables(pool)
    for table in TABLES:
        assert live[table], f"{table} is empty: the comparison would prove nothing"
    items = {r["item_id"]: r for r in await pool.fetch("SELECT * FROM watch_items")}
    assert items["W-1"]["status"] == "resolved" and items["W-1"]["escalated_at"] is not None
    assert items["W-2"]["status"] == "open" and items["W-2"]["reminded_at"] is not None
    # R-19 (issue 16): no check-ins for a month proposed closure too (a
    # breach); keeping the account closes both proposals.
    tasks = await pool.fetch("SELECT * FROM monitoring_tasks ORDER BY opened_at")
    assert "ClosureProposedForBreach" in a.types and len(tasks) == 2
    assert {(t["kind"], t["outcome"], t["closed_by"]) for t in tasks} == {
        ("closure_proposal", "kept", COMMS)}
    assert await pool.fetchval("SELECT count(*) FROM published_posts") == 2
    modes = await pool.fetch("SELECT * FROM crisis_modes ORDER BY declared_at")
    assert [m["ended_at"] is not None for m in modes] == [True, False]
    [storm] = await pool.fetch("SELECT * FROM crisis_storms")
    assert storm["cooled_down_at"] is not None and storm["messages"] == 40
    assert await pool.fetchval("SELECT count(*) FROM crisis_digests") == 1
    row = await pool.fetchrow("SELECT * FROM snapshots WHERE snapshot_id = $1", sid)
    assert row["diarium_number"] == "KS 2026/00042" and row["delivered_at"] is not None

    # ...and the rebuild gives back every row, column for column.
    replayed = await rebuild_read_models(database_url)
    assert replayed == await pool.fetchval("SELECT count(*) FROM events")
    rebuilt = await _tables(pool)
    for table in TABLES:
        assert rebuilt[table] == live[table], table
    # A second rebuild changes nothing either (rebuild is idempotent).
    await rebuild_read_models(database_url)
    assert await _tables(pool) == live
