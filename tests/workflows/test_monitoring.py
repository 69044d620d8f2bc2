"""The monitoring duties of an active account on the time-skipping test
server, weeks at a time, with the real activities on a real PostgreSQL:
check-in reminders and escalations (R-15, R-16), the implicit check-in of a
moderation decision, the posting rhythm (R-18), inactivity, keep or close
(R-19) and watch items (R-20). One workflow per test (one per environment)."""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError

from cli import rebuild_read_models
from domain import account as acc
from domain import monitoring as mon
from domain.account.plans import deadline_office
from domain.calendar import is_working_day, next_working_day, working_days_end
from domain.crisis_mode import CrisisMode, CrisisStatus
from domain.directory import Country
from tests.support import COMMS, COMMS_2, DEPUTY, MANAGER, OUTSIDER, REQUESTER, eventually
from tests.workflows.conftest import Harness
from tests.workflows.test_account_lifecycle import (
    TZ,
    W,
    recorded,
    search_attribute,
    settled,
    start,
    state_of,
    today,
    wait_for_search_attribute,
    walk_to_active,
)
from workflows import search_attributes as sa
from workflows.models import AccountWorkflowResult, MessageDecisionTaken

ADMINS = sorted([REQUESTER, DEPUTY])  # elin.strand, johan.berg (with 2FA)
ALL_COMMS = sorted(["sofia.wallin", "ahmed.yusuf", "erik.sjoberg"])
STOCKHOLM = ZoneInfo(TZ)


async def active(h: Harness) -> tuple[WorkflowHandle[Any, Any], acc.AccountState]:
    handle = await start(h)
    state = await walk_to_active(h, handle)
    assert state.stage is acc.Stage.ACTIVE and state.monitoring.since is not None
    return handle, state


async def sleep_until(h: Harness, moment: datetime) -> None:
    await h.env.sleep(max(timedelta(0), moment - await today(h)))


async def events_of(h: Harness, account_id: str, *types: str) -> list[dict[str, Any]]:
    return [e for e in await recorded(h, account_id) if e["event_type"] in types]


async def notified(h: Harness, account_id: str, step_prefix: str) -> list[tuple[str, str]]:
    rows = await h.pool.fetch(
        "SELECT kind, recipient FROM notifications WHERE account_id = $1::uuid "
        "AND step LIKE $2 ORDER BY created_at, recipient", account_id, f"{step_prefix}%")
    return [(r["kind"], r["recipient"]) for r in rows]


async def comms_members(h: Harness) -> list[str]:
    return sorted(h.directory.communications_members)


def local_moment(day: date, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=STOCKHOLM)


async def test_r15_r16_a_working_day_without_check_ins_reminds_then_escalates_to_the_manager_and_a_week_to_communications(  # noqa: E501
        h: Harness, database_url: str) -> None:
    """R-15: reminders to the admins at midday and at the afternoon check,
    escalation to the manager when the working day ends short; R-16: seven
    days without any check-in escalate to the communications unit. Each is an
    event, a notification per recipient and the KvEscalated search attribute;
    a check-in ends the escalation and sets KvLastCheckIn."""
    handle, state = await active(h)
    activated = state.monitoring.since
    assert activated is not None
    first_day = next_working_day(activated.astimezone(STOCKHOLM).date(), Country.SE)

    # The first working day after activation passes without a check-in.
    await sleep_until(h, local_moment(first_day, 16, 31))
    # The sleep returns once the clock is past 16:30; the worker writes the
    # escalation after it (then folds it, then upserts KvEscalated).
    fired = await eventually(
        lambda: events_of(h, state.account_id, "CheckInReminderSent", "CheckInEscalated"),
        lambda f: len(f) >= 3)
    assert [(e["event_type"], e["data"]["day"]) for e in fired] == [
        ("CheckInReminderSent", first_day.isoformat()),
        ("CheckInReminderSent", first_day.isoformat()),
        ("CheckInEscalated", first_day.isoformat()),
    ]
    assert [e["occurred_at"].astimezone(STOCKHOLM).time().isoformat("minutes")
            for e in fired] == ["12:00", "14:30", "16:30"]
    assert await notified(h, state.account_id, "check_in_midday") == [
        ("reminder", a) for a in ADMINS]
    assert await notified(h, state.account_id, "check_in_day_missed") == [
        ("escalation", MANAGER), ("escalation", DEPUTY)]
    await wait_for_search_attribute(handle, sa.ESCALATED, True)
    row = await h.pool.fetchrow("SELECT escalated FROM accounts")
    assert row["escalated"] is True

    # seven calendar days after activation, still nothing.
    week_end = activated + timedelta(days=7, minutes=1)
    await sleep_until(h, week_end)
    expected = {(first_day + timedelta(n)).isoformat() for n in range(8)
                if is_working_day(first_day + timedelta(n), Country.SE)
                and local_moment(first_day + timedelta(n), 16, 30) <= week_end}

    def missed(floor: list[dict[str, Any]]) -> set[str]:
        return {e["data"]["day"] for e in floor if e["data"]["day"]}

    # Written by the worker after the sleep: wait for every step due by now.
    floor = await eventually(
        lambda: events_of(h, state.account_id, "CheckInEscalated"),
        lambda f: missed(f) >= expected and any(e["data"]["day"] is None for e in f))
    weekly = [e for e in floor if e["data"]["day"] is None]
    assert len(weekly) == 1 and weekly[0]["data"]["recipients"] == [
        *await comms_members(h), MANAGER, DEPUTY]
    assert ("escalation", "sofia.wallin") in await notified(
        h, state.account_id, "check_in_weekly_floor")
    assert missed(floor) == expected and 4 <= len(expected) <= 5  # working days only

    # Only an admin checks in; a refusal records nothing.
    before = len(await recorded(h, state.account_id))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.record_check_in, acc.RecordCheckIn(actor=MANAGER))
    assert refused.value.cause.type == "NotAuthorised"  # type: ignore[union-attr]
    assert len(await recorded(h, state.account_id)) == before

    checked = await handle.execute_update(W.record_check_in, acc.RecordCheckIn(actor=REQUESTER))
    assert checked.monitoring.last_check_in_by == REQUESTER
    assert not acc.is_escalated(checked)
    await wait_for_search_attribute(handle, sa.ESCALATED, False)
    assert await search_attribute(handle, sa.LAST_CHECK_IN) == checked.monitoring.last_check_in
    row = await h.pool.fetchrow("SELECT escalated, last_check_in FROM accounts")
    assert row["escalated"] is False and row["last_check_in"] == checked.monitoring.last_check_in
    assert await h.pool.fetchval("SELECT count(*) FROM check_ins") == 1

    # The read models rebuild equal from the events, once nothing is being
    # written (the activation's snapshot fired its own reminders meanwhile).
    await settled(h, handle)
    tables = ("notifications", "check_ins", "accounts")
    live = {t: [dict(r) for r in await h.pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in tables}
    await rebuild_read_models(database_url)
    assert {t: [dict(r) for r in await h.pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in tables} == live


async def test_r15_a_moderation_decision_by_an_admin_is_a_check_in(h: Harness) -> None:
    """R-15, R-16: the message case signals `message_decision_taken`; an
    admin's decision is recorded as a check-in at its own time, anyone else's
    (a case officer's draft) is not. (The whole path from a message case is
    proved over HTTP in tests/e2e/test_monitoring_api.py.)"""
    handle, state = await active(h)
    now = await today(h)
    await handle.signal(W.message_decision_taken, MessageDecisionTaken(
        actor="ida.hedlund", at=now, case_id="message:facebook:1_1", decision="submit_draft"))
    await handle.signal(W.message_decision_taken, MessageDecisionTaken(
        actor=DEPUTY, at=now, case_id="message:facebook:1_2", decision="respond"))
    # Written first, folded into the state after: wait for the state.
    after = await eventually(lambda: state_of(handle),
                             lambda s: s.monitoring.last_check_in == now)
    assert after.monitoring.last_check_in == now
    checked = await events_of(h, state.account_id, "CheckInRecorded")
    assert [(e["actor"], e["data"]["source"], e["data"]["case_id"]) for e in checked] == [
        (DEPUTY, "moderation", "message:facebook:1_2")]
    row = await h.pool.fetchrow("SELECT source, case_id, checked_by FROM check_ins")
    assert dict(row) == {"source": "moderation", "case_id": "message:facebook:1_2",
                         "checked_by": DEPUTY}


async def test_r18_fewer_posts_than_recommended_warn_the_admins_after_the_week(
        h: Harness) -> None:
    """R-18: posts recorded by an admin or the connector; two in a week when
    three are recommended: a warning to the admins the next working morning,
    on the record, nothing blocked."""
    handle, state = await active(h)
    week = state.monitoring.week_cursor
    assert week is not None
    for n, day in enumerate((week, week + timedelta(days=2))):
        await sleep_until(h, local_moment(day, 9, 30))
        await handle.execute_update(W.record_check_in, acc.RecordCheckIn(actor=REQUESTER))
        await handle.execute_update(W.record_post, acc.RecordPost(
            actor=acc.SYSTEM if n else REQUESTER, post_id=f"104000000000001_{n}",
            published_at=await today(h) - timedelta(minutes=5)))
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.record_post, acc.RecordPost(
            actor=OUTSIDER, post_id="x", published_at=await today(h)))
    evaluated = next_working_day(week + timedelta(days=6), Country.SE)
    await sleep_until(h, local_moment(evaluated, 8, 1))
    # Written by the worker after the sleep returns.
    warned = await eventually(lambda: events_of(h, state.account_id, "PostingRhythmWarned"))
    assert len(warned) == 1
    data = warned[0]["data"]
    assert (data["week_starting"], data["posts"], data["expected"]) == (week.isoformat(), 2, 3)
    assert data["recipients"] == ADMINS
    assert await notified(h, state.account_id, "posting_rhythm") == [
        ("warning", a) for a in ADMINS]
    posts = await h.pool.fetch("SELECT post_id, recorded_by FROM published_posts ORDER BY 1")
    assert [(r["post_id"], r["recorded_by"]) for r in posts] == [
        ("104000000000001_0", REQUESTER), ("104000000000001_1", "kanalvakt")]
    assert (await state_of(handle)).stage is acc.Stage.ACTIVE


async def test_r19_inactivity_proposes_closure_the_communications_unit_keeps_then_closes(
        h: Harness) -> None:
    """R-19, R-43: with the account's inactivity set to 7 days, a week without
    posts proposes closure to the communications unit (event, notification,
    task); keeping it needs a reason and restarts the clock; the next
    proposal is answered by closing the account the lifecycle's way (R-38)."""
    handle, state = await active(h)
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.keep_account, acc.KeepAccount(actor=COMMS, reason="Why"))
    await handle.execute_update(W.change_monitoring_settings, acc.ChangeMonitoringSettings(
        actor=COMMS, policy=mon.MonitoringPolicy(inactivity_days=7, posts_per_week=0)))
    settings_at = (await state_of(handle)).monitoring.since
    assert settings_at is not None

    await sleep_until(h, settings_at + timedelta(days=7, minutes=1))
    # Written by the worker after the sleep returns.
    proposed = await eventually(lambda: events_of(h, state.account_id, "ClosureProposed"))
    assert len(proposed) == 1 and proposed[0]["data"]["recipients"] == ALL_COMMS
    assert await notified(h, state.account_id, "inactivity") == [
        ("proposal", c) for c in ALL_COMMS]
    task = await h.pool.fetchrow("SELECT * FROM monitoring_tasks")
    assert task["kind"] == "closure_proposal" and task["closed_at"] is None

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.keep_account, acc.KeepAccount(
            actor=MANAGER, reason="We like it"))
    assert refused.value.cause.type == "NotAuthorised"  # type: ignore[union-attr]
    kept = await handle.execute_update(W.keep_account, acc.KeepAccount(
        actor=COMMS_2, reason="The summer festival starts in three weeks"))
    assert kept.monitoring.closure_proposed_at is None and kept.monitoring.kept_at is not None
    task = await h.pool.fetchrow("SELECT * FROM monitoring_tasks")
    assert (task["outcome"], task["closed_by"], task["reason"]) == (
        "kept", COMMS_2, "The summer festival starts in three weeks")
    step = mon.inactivity_step(kept.monitoring, acc.monitoring_duty(kept))
    assert step is not None and step.due == kept.monitoring.kept_at + timedelta(days=7)

    await sleep_until(h, step.due + timedelta(minutes=1))
    proposed = await eventually(lambda: events_of(h, state.account_id, "ClosureProposed"),
                                lambda p: len(p) >= 2)
    assert len(proposed) == 2
    await handle.execute_update(W.request_closure, acc.RequestClosure(
        actor=COMMS, reason="Inactive since the summer (R-19)"))
    # The final snapshot waits for screenshots (Instagram without a Page
    # token) until the communications unit packages the record only.
    from tests.workflows.snapshot_waits import record_only_when_waiting

    await record_only_when_waiting(h.client, f"snapshot:exempelby:{state.slug}:final")
    result = await handle.result()
    result = AccountWorkflowResult.model_validate(result) if isinstance(result, dict) else result
    assert result.stage is acc.Stage.CLOSED
    outcomes = await h.pool.fetch("SELECT outcome FROM monitoring_tasks ORDER BY opened_at")
    assert [r["outcome"] for r in outcomes] == ["kept", "closed"]


async def test_r20_a_watch_item_is_reminded_escalated_and_resolved_by_the_manager(
        h: Harness) -> None:
    """R-20: an admin raises criticism seen about the unit for the manager;
    still open after 2 working days it reminds the manager, after 5 it
    escalates to the communications unit; the manager resolves it with a note."""
    handle, state = await active(h)
    await handle.execute_update(W.change_monitoring_settings, acc.ChangeMonitoringSettings(
        actor=MANAGER, policy=mon.MonitoringPolicy(check_ins_per_day=1)))
    reported = await handle.execute_update(W.report_watch_item, acc.ReportWatchItem(
        actor=REQUESTER, summary="A local paper says the culture house closes in June",
        link="https://www.example.se/nyheter/kulturhuset", seen_at=await today(h)))
    item = reported.monitoring.watch_items[0]
    assert item.item_id == "W-1" and item.open
    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.report_watch_item, acc.ReportWatchItem(
            actor=OUTSIDER, summary="Not my unit", seen_at=await today(h)))

    # Issue 14: at the end of the office day (the account's monitoring hours).
    office = deadline_office(reported)
    assert office is not None
    escalation_due = working_days_end(item.reported_at, 5, Country.SE, TZ, office)
    await sleep_until(h, escalation_due + timedelta(minutes=1))
    # Written by the worker after the sleep returns.
    fired = await eventually(
        lambda: events_of(h, state.account_id, "WatchItemReminderSent", "WatchItemEscalated"),
        lambda f: len(f) >= 2)
    assert [(e["event_type"], e["data"]["item_id"]) for e in fired] == [
        ("WatchItemReminderSent", "W-1"), ("WatchItemEscalated", "W-1")]
    assert fired[0]["data"]["due"] == working_days_end(
        item.reported_at, 2, Country.SE, TZ, office).isoformat().replace("+00:00", "Z")
    assert await notified(h, state.account_id, "watch_reminder") == [
        ("reminder", MANAGER), ("reminder", DEPUTY)]
    assert ("escalation", "sofia.wallin") in await notified(h, state.account_id,
                                                             "watch_escalation")
    row = await h.pool.fetchrow("SELECT * FROM watch_items")
    assert row["status"] == "open" and row["escalated_at"] is not None

    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(W.resolve_watch_item, acc.ResolveWatchItem(
            actor=REQUESTER, item_id="W-1", note="Done"))
    resolved = await handle.execute_update(W.resolve_watch_item, acc.ResolveWatchItem(
        actor=MANAGER, item_id="W-1", note="Corrected with the paper; a post on Friday"))
    assert resolved.monitoring.open_watch_items == []
    assert "watch:W-1" not in resolved.monitoring.open_escalations
    row = await h.pool.fetchrow("SELECT * FROM watch_items")
    assert (row["status"], row["resolved_by"]) == ("resolved", MANAGER)
    assert row["resolution_note"].startswith("Corrected")


async def test_r39_a_crisis_tightens_check_ins_to_its_interval_around_the_clock(
        h: Harness) -> None:
    """R-39 with R-15: when the crisis workflow tells the account (signal
    crisis_changed), the account's next deadline becomes the crisis interval:
    a reminder to the admins after one interval without a check-in, an
    escalation to the manager and the communications unit after the next."""
    handle, state = await active(h)
    declared = await today(h)
    await handle.signal(W.crisis_changed, CrisisStatus(mode=CrisisMode(
        crisis_id="kris-1", municipality_id="exempelby", declared_at=declared,
        answer_within=timedelta(hours=2), checkin_every=timedelta(hours=1),
        notice="Se exempelby.se och ring 0123-456 00")))
    await wait_for_search_attribute(handle, sa.NEXT_DEADLINE, declared + timedelta(hours=1))
    await sleep_until(h, declared + timedelta(hours=2, minutes=1))

    async def crisis_steps() -> list[dict[str, Any]]:
        return [e for e in await events_of(h, state.account_id, "CheckInReminderSent",
                                           "CheckInEscalated")
                if e["data"]["step"].startswith("crisis_check_in")]

    # Written by the worker after the sleep returns.
    crisis = await eventually(crisis_steps, lambda c: len(c) >= 2)
    assert [(e["event_type"], e["data"]["recipients"]) for e in crisis] == [
        ("CheckInReminderSent", ADMINS),
        ("CheckInEscalated", [MANAGER, DEPUTY, *ALL_COMMS]),
    ]
    checked = await handle.execute_update(W.record_check_in, acc.RecordCheckIn(actor=DEPUTY))
    assert checked.monitoring.crisis_fired == ()
    assert acc.next_deadline(checked) == checked.monitoring.last_check_in + timedelta(hours=1)


async def test_r39_the_next_deadline_shown_follows_a_crisis_told_while_the_account_is_busy(
        h: Harness) -> None:
    """R-39: a crisis_changed signal that lands while the account's run is in
    an activity (here a directory refresh told just before it) changes the
    plan without an event; the KvNextDeadline the Temporal UI shows must
    still become the crisis interval, not stay at the day's midday check-in."""
    handle, _ = await active(h)
    declared = await today(h)
    await handle.signal(W.refresh_authorities)
    await handle.signal(W.crisis_changed, CrisisStatus(mode=CrisisMode(
        crisis_id="kris-2", municipality_id="exempelby", declared_at=declared,
        answer_within=timedelta(hours=2), checkin_every=timedelta(hours=1),
        notice="Se exempelby.se")))
    await wait_for_search_attribute(handle, sa.NEXT_DEADLINE, declared + timedelta(hours=1))
    assert acc.next_deadline(await handle.query(W.state)) == declared + timedelta(hours=1)
