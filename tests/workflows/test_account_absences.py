"""R-14, holiday cover, on the time-skipping test server with the real
activities on a real PostgreSQL: an absent admin's check-in reminder goes to
their cover (on the record: "cover for X"); when the last admin's absence
begins, the account's workflow escalates to the unit's manager at once (its
timer), the account is escalated until one is back, and then it is not."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from temporalio.client import WorkflowUpdateFailedError

from cli import rebuild_read_models
from domain import account as acc
from domain.calendar import next_working_day
from domain.directory import Country
from tests.support import COMMS, DEPUTY, MANAGER, REQUESTER, eventually, keep_history
from tests.workflows.conftest import Harness
from tests.workflows.test_account_lifecycle import (
    TZ,
    W,
    recorded,
    settled,
    start,
    state_of,
    today,
    wait_for_search_attribute,
    walk_to_active,
)
from workflows import search_attributes as sa

STOCKHOLM = ZoneInfo(TZ)
COLLEAGUE = "eva.marklund"  # kansli: in the directory, not an admin of the account


async def events_of(h: Harness, account_id: str, *types: str) -> list[dict[str, Any]]:
    return [e for e in await recorded(h, account_id) if e["event_type"] in types]


async def notified(h: Harness, account_id: str, step_prefix: str) -> list[tuple[str, str]]:
    rows = await h.pool.fetch(
        "SELECT kind, recipient FROM notifications WHERE account_id = $1::uuid "
        "AND step LIKE $2 ORDER BY created_at, recipient", account_id, f"{step_prefix}%")
    return [(r["kind"], r["recipient"]) for r in rows]


async def sleep_until(h: Harness, moment: datetime) -> None:
    await h.env.sleep(max(timedelta(0), moment - await today(h)))


def local(day: Any, hh: int, mm: int = 0) -> datetime:
    return datetime(day.year, day.month, day.day, hh, mm, tzinfo=STOCKHOLM)


async def test_r14_cover_gets_the_reminder_and_all_admins_away_escalates_to_the_manager(
        h: Harness, database_url: str) -> None:
    """R-14: elin.strand is away from the first working day after activation,
    covered by a colleague; the day's midday check-in reminder goes to the
    colleague (for her) and to johan.berg. johan.berg's absence begins the
    working day after: at that midnight every admin is away and the manager
    is escalated to at once (the deputy, johan.berg, is away: his cover is
    told for him); when elin.strand is back the escalation ends."""
    handle = await start(h)
    state = await walk_to_active(h, handle)
    assert sorted(state.admins) == sorted([REQUESTER, DEPUTY])
    activated = state.monitoring.since
    assert activated is not None
    day1 = next_working_day(activated.astimezone(STOCKHOLM).date(), Country.SE)
    day2 = next_working_day(day1, Country.SE)

    # Only an admin for themself, or the manager; a refusal records nothing.
    before = len(await recorded(h, state.account_id))
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.record_absence, acc.RecordAbsence(
            actor=COMMS, person=REQUESTER, starts_on=day1, ends_on=day2, cover=DEPUTY))
    assert refused.value.cause.type == "NotAuthorised"  # type: ignore[union-attr]
    assert len(await recorded(h, state.account_id)) == before

    after = await handle.execute_update(W.record_absence, acc.RecordAbsence(
        actor=REQUESTER, person=REQUESTER, starts_on=day1, ends_on=day2, cover=COLLEAGUE,
        cover_in_directory=True))
    [mine] = after.absences
    assert (mine.person, mine.cover) == (REQUESTER, COLLEAGUE)
    assert mine.starts_at == local(day1, 0)
    # johan.berg from day 2, covered by the same colleague.
    after = await handle.execute_update(W.record_absence, acc.RecordAbsence(
        actor=DEPUTY, person=DEPUTY, starts_on=day2, ends_on=day2 + timedelta(days=1),
        cover=COLLEAGUE, cover_in_directory=True))
    begins, ends = local(day2, 0), local(day2 + timedelta(days=1), 0)
    assert acc.all_away_periods(after) == [(begins, ends)]

    # Day 1, 12:00: the midday reminder goes to the colleague for elin.strand.
    await sleep_until(h, local(day1, 12, 1))
    [reminder] = await eventually(
        lambda: events_of(h, state.account_id, "CheckInReminderSent"), lambda f: len(f) >= 1)
    assert reminder["data"]["day"] == day1.isoformat()
    assert REQUESTER not in reminder["data"]["recipients"]
    assert sorted(reminder["data"]["recipients"]) == sorted([COLLEAGUE, DEPUTY])
    assert reminder["data"]["covering"] == {COLLEAGUE: [REQUESTER]}
    assert sorted(await notified(h, state.account_id, "check_in_midday")) == sorted([
        ("reminder", COLLEAGUE), ("reminder", DEPUTY)])

    # The colleague covering checks the account in.
    checked = await handle.execute_update(W.record_check_in,
                                          acc.RecordCheckIn(actor=COLLEAGUE))
    assert checked.monitoring.last_check_in_by == COLLEAGUE

    # Day 2, 00:00: every admin is away: the manager is escalated to at once.
    await sleep_until(h, begins + timedelta(minutes=1))
    [escalated] = await eventually(
        lambda: events_of(h, state.account_id, "AllAdminsAwayEscalated"),
        lambda f: len(f) >= 1)
    assert escalated["occurred_at"] >= begins
    assert escalated["occurred_at"] - begins < timedelta(minutes=1)
    assert escalated["data"]["recipients"] == [MANAGER, COLLEAGUE]
    assert escalated["data"]["covering"] == {COLLEAGUE: [DEPUTY]}
    assert escalated["data"]["away"] == sorted([REQUESTER, DEPUTY])
    assert datetime.fromisoformat(escalated["data"]["until"]) == ends
    assert await notified(h, state.account_id, "all_admins_away") == [
        ("escalation", MANAGER), ("escalation", COLLEAGUE)]
    await wait_for_search_attribute(handle, sa.ESCALATED, True)
    assert await h.pool.fetchval("SELECT escalated FROM accounts") is True
    assert (await state_of(handle)).all_away_since == begins

    # Day 3, 00:00: elin.strand is back; the escalation ends on the record.
    await sleep_until(h, ends + timedelta(minutes=1))
    await eventually(lambda: events_of(h, state.account_id, "AdminBackFromAbsence"),
                     lambda f: len(f) == 1)
    back = await eventually(lambda: state_of(handle), lambda s: s.all_away_since is None)
    assert back.all_away_since is None

    # The read models rebuild equal from the events.
    await settled(h, handle)
    tables = ("notifications", "accounts")
    live = {t: [dict(r) for r in await h.pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in tables}
    await rebuild_read_models(database_url)
    assert {t: [dict(r) for r in await h.pool.fetch(f"SELECT * FROM {t} ORDER BY 1, 2")]
            for t in tables} == live
    # Absences, a cover's reminder and the all-away escalation: kept
    # for tests/workflows/test_replay.py (KANALVAKT_RECORD_HISTORIES=1).
    keep_history(await handle.fetch_history(), "account_absences_cover")
