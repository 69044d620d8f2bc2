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
from domain.calendar import OfficeHours, add_office_hours, next_working_day
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
from tests.workflows.test_message_workflow import ADMIN as MESSAGE_ADMIN
from tests.workflows.test_message_workflow import ADMINS as MESSAGE_ADMINS
from tests.workflows.test_message_workflow import MessageHarness, mh, receive  # noqa: F401
from tests.workflows.test_message_workflow import events_of as message_events_of
from workflows import search_attributes as sa
from workflows.message import InboundMessageWorkflow

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


async def test_r14_an_absent_admins_answer_reminder_on_a_message_goes_to_the_cover(
        mh: MessageHarness) -> None:  # noqa: F811 - the fixture of test_message_workflow
    """R-14, R-23: the account tells its open message case the absences
    (`absences_changed`, recorded as AbsencesUpdated); the case's answer
    reminder then goes to the absent admin's cover, on the record."""
    now = await mh.env.get_current_time()
    day = next_working_day(now.astimezone(STOCKHOLM).date(), Country.SE)
    start = local(day, 9)
    await sleep_until_on(mh, start)
    handle = await receive(mh, "När öppnar biblioteket i sommar?", at=start)
    absence = acc.Absence(absence_id="A-1", person=MESSAGE_ADMIN, starts_on=day,
                          ends_on=day + timedelta(days=2), starts_at=local(day, 0),
                          ends_at=local(day + timedelta(days=3), 0), cover=COLLEAGUE)
    await handle.signal(InboundMessageWorkflow.absences_changed, [absence])
    await handle.signal(InboundMessageWorkflow.absences_changed, [absence])  # once on record
    updated = await eventually(
        lambda: message_events(mh, handle.id, "AbsencesUpdated"), lambda e: len(e) == 1)
    assert updated[0]["data"]["absences"][0]["cover"] == COLLEAGUE

    reminder_due = add_office_hours(start, 4, Country.SE, TZ, OfficeHours())
    await sleep_until_on(mh, reminder_due + timedelta(minutes=1))
    [reminder] = await eventually(
        lambda: message_events(mh, handle.id, "MessageReminderSent"), lambda e: len(e) >= 1)
    assert sorted(reminder["data"]["recipients"]) == sorted(
        [COLLEAGUE, *(MESSAGE_ADMINS - {MESSAGE_ADMIN})])
    assert reminder["data"]["covering"] == {COLLEAGUE: [MESSAGE_ADMIN]}
    told = await eventually(lambda: mh.pool.fetch(
        "SELECT recipient FROM notifications WHERE case_id = $1 AND kind = 'reminder'",
        handle.id), lambda rows: len(rows) == 2)
    assert MESSAGE_ADMIN not in {r["recipient"] for r in told}


async def sleep_until_on(mh: MessageHarness, moment: datetime) -> None:  # noqa: F811
    await mh.env.sleep(max(timedelta(0), moment - await mh.env.get_current_time()))


async def message_events(mh: MessageHarness, case_id: str,  # noqa: F811
                         kind: str) -> list[dict[str, Any]]:
    return [e for e in await message_events_of(mh, case_id) if e["event_type"] == kind]
