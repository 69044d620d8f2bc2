"""Issue 14, item 8: a deadline of N working days ends at the end of the
office day (the office's closing time in its zone) on the N-th working day,
not at the clock time of the click ("2026-12-18 03:21"). Office-hour
deadlines (R-23's 24 office hours) are unchanged. A workflow recorded before
keeps the clock time (`end_of_day_deadlines=False`, workflow.patched
"usability_end_of_day")."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain import monitoring as mon
from domain import snapshot as snap
from domain.account import Stage as AccountStage
from domain.account import deadline_plan as account_plan
from domain.calendar import (
    OfficeHours,
    add_working_days,
    working_days_due,
    working_days_end,
)
from domain.directory import Country
from domain.message import Stage as MessageStage
from domain.message import deadline_plan as message_plan
from tests.domain.conftest import Journey
from tests.domain.test_message import AFTER_EASTER, case_at, fire, forward, received

SE, NO = Country.SE, Country.NO
STOCKHOLM, OSLO = "Europe/Stockholm", "Europe/Oslo"
OFFICE = OfficeHours()  # 08:00–16:30
CLOSES = time(16, 30)


def local(tz: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def wall(moment: datetime, tz: str = STOCKHOLM) -> tuple[date, time]:
    there = moment.astimezone(ZoneInfo(tz))
    return there.date(), there.time()


# --- the calendar ---------------------------------------------------------------------


def test_r23_a_click_at_night_is_due_at_closing_time_on_the_nth_working_day() -> None:
    """The issue's example: clicked Thursday 10 December 03:21, due six
    working days later, Friday 18 December, at 16:30, not at 03:21."""
    click = local(STOCKHOLM, 2026, 12, 10, 3, 21)
    assert working_days_end(click, 6, SE, STOCKHOLM, OFFICE) == utc(2026, 12, 18, 15, 30)
    assert add_working_days(click, 6, SE, STOCKHOLM) == utc(2026, 12, 18, 2, 21)  # as before


def test_r23_a_click_after_closing_counts_from_its_own_date() -> None:
    """Monday 17:45, after closing, and Monday 08:05 are both due Tuesday at
    closing time: the day of the click never counts, whatever its hour."""
    late = local(STOCKHOLM, 2026, 5, 11, 17, 45)
    early = local(STOCKHOLM, 2026, 5, 11, 8, 5)
    assert working_days_end(late, 1, SE, STOCKHOLM, OFFICE) == utc(2026, 5, 12, 14, 30)
    assert working_days_end(early, 1, SE, STOCKHOLM, OFFICE) == utc(2026, 5, 12, 14, 30)


@pytest.mark.parametrize("day", [9, 10])
def test_r23_a_click_on_a_weekend_is_due_at_closing_time_of_monday(day: int) -> None:
    click = local(STOCKHOLM, 2026, 5, day, 10)  # Saturday, Sunday
    assert working_days_end(click, 1, SE, STOCKHOLM, OFFICE) == utc(2026, 5, 11, 14, 30)


def test_r23_closing_time_is_local_over_both_dst_changes() -> None:
    """Spring: Friday 27 March (CET) + 1 = Monday 30 March 16:30 CEST (14:30
    UTC); autumn: Friday 23 October (CEST) + 1 = Monday 26 October 16:30 CET
    (15:30 UTC)."""
    spring = local(STOCKHOLM, 2026, 3, 27, 10)
    autumn = local(STOCKHOLM, 2026, 10, 23, 10)
    assert working_days_end(spring, 1, SE, STOCKHOLM, OFFICE) == utc(2026, 3, 30, 14, 30)
    assert working_days_end(autumn, 1, SE, STOCKHOLM, OFFICE) == utc(2026, 10, 26, 15, 30)


def test_r23_holiday_eves_are_no_working_days_in_sweden_but_are_in_norway() -> None:
    """The calendar knows no short office days; Sweden's eves (midsummer,
    Christmas, New Year) count as holidays for deadlines, so a deadline never
    ends on one: Thursday 18 June + 1 is Monday 22 June at closing time in
    Sweden, Friday 19 June in Norway. 23 December + 1 is 28 December."""
    thursday = local(STOCKHOLM, 2026, 6, 18, 11)
    assert working_days_end(thursday, 1, SE, STOCKHOLM, OFFICE) == utc(2026, 6, 22, 14, 30)
    assert working_days_end(local(OSLO, 2026, 6, 18, 11), 1, NO, OSLO, OFFICE) == \
        utc(2026, 6, 19, 14, 30)
    eve_before = local(STOCKHOLM, 2026, 12, 23, 15)
    assert working_days_end(eve_before, 1, SE, STOCKHOLM, OFFICE) == utc(2026, 12, 28, 15, 30)


def test_r17_r23_the_offices_own_closing_time_ends_the_day() -> None:
    short = OfficeHours(opens=time(6, 45), closes=time(15))
    click = local(OSLO, 2026, 5, 15, 9)  # Friday; 17 May is a Sunday in 2026
    assert working_days_end(click, 2, NO, OSLO, short) == utc(2026, 5, 19, 13)


def test_r23_zero_days_negative_days_and_the_recorded_rule() -> None:
    start = local(STOCKHOLM, 2026, 5, 9, 12)
    assert working_days_end(start, 0, SE, STOCKHOLM, OFFICE) == start
    with pytest.raises(ValueError):
        working_days_end(start, -1, SE, STOCKHOLM, OFFICE)
    with pytest.raises(ValueError):
        working_days_end(datetime(2026, 5, 9, 12), 1, SE, STOCKHOLM, OFFICE)
    # Without office hours (a run recorded before): the clock time of the start.
    for days in (1, 5, 30):
        assert working_days_due(start, days, SE, STOCKHOLM, None) == \
            add_working_days(start, days, SE, STOCKHOLM)
        assert working_days_due(start, days, SE, STOCKHOLM, OFFICE) == \
            working_days_end(start, days, SE, STOCKHOLM, OFFICE)


# --- the account's lifecycle ----------------------------------------------------------


def test_r01_r23_the_managers_reminder_escalation_and_lapse_fall_at_closing_time(
        walk: Callable[..., Journey]) -> None:
    """R-01: requested Monday 30 March 2026 11:00; the manager is reminded
    after 5 working days (Wednesday 8 April, Easter skipped), the
    communications unit hears after 10, the request lapses after 30, each
    at 16:30; a run recorded before keeps 11:00."""
    state = walk(AccountStage.AWAITING_MANAGER).current
    assert [(s.name, s.due) for s in account_plan(state)] == [
        ("manager_reminder", utc(2026, 4, 8, 14, 30)),
        ("manager_escalation", utc(2026, 4, 15, 14, 30)),
        ("manager_lapse", utc(2026, 5, 15, 14, 30)),
    ]
    recorded = state.model_copy(update={"end_of_day_deadlines": False})
    assert [s.due for s in account_plan(recorded)] == [
        utc(2026, 4, 8, 9), utc(2026, 4, 15, 9), utc(2026, 5, 15, 9)]


@pytest.mark.parametrize("stage", [AccountStage.RISK_ASSESSMENT, AccountStage.AWAITING_SIGNOFF,
                                   AccountStage.AMENDING, AccountStage.AWAITING_ACTIVATION])
def test_r03_r04_r22_every_lifecycle_step_and_chase_ends_at_closing_time(
        walk: Callable[..., Journey], stage: AccountStage) -> None:
    """R-04 (risk assessment), R-03 (sign-off), the amendment and the
    activation: each reminder, escalation and chase ("never silent") falls at
    16:30 on the working day the recorded rule gave it."""
    state = walk(stage).current
    new, old = account_plan(state), account_plan(
        state.model_copy(update={"end_of_day_deadlines": False}))
    assert new and [s.key for s in new] == [s.key for s in old]
    for step, before in zip(new, old, strict=True):
        assert wall(step.due) == (wall(before.due)[0], CLOSES), step.name


def test_r12_r17_an_accounts_own_hours_close_its_day(walk: Callable[..., Journey]) -> None:
    """R-12's restore steps on an active account whose published monitoring
    hours (R-17) close at 15:00: the deadlines end at 15:00."""
    state = walk(AccountStage.ACTIVE).current
    hours = OfficeHours(opens=time(8), closes=time(15))
    state = state.model_copy(update={
        "coverage_lost_at": local(STOCKHOLM, 2026, 5, 11, 20),
        "message_policy": None,
        "request": state.request.model_copy(update={"monitoring_hours": hours})})
    restore = [s for s in account_plan(state) if s.name.startswith("admin_restore")]
    assert restore and all(wall(s.due)[1] == time(15) for s in restore)
    assert [wall(s.due)[0] for s in restore][:3] == [
        date(2026, 5, 13), date(2026, 5, 19), date(2026, 5, 26)]  # 2, 5, 10 working days


def test_r20_a_watch_items_reminder_and_escalation_end_at_closing_time() -> None:
    """R-20: reported Monday 07:10, before opening: the manager is reminded and
    the communications unit told at 16:30 on their working days."""
    reported = local(STOCKHOLM, 2026, 5, 11, 7, 10)
    item = mon.WatchItem(item_id="w1", summary="Kritik", seen_at=reported, reported_by="a",
                         reported_at=reported)
    state = mon.MonitoringState().model_copy(update={"watch_items": [item]})
    duty = mon.Duty(country=SE, timezone=STOCKHOLM, office=OFFICE,
                    policy=mon.MonitoringPolicy(), admins=("a",), managers=("m",),
                    communications=("c",))
    steps = mon.watch_steps(state, duty)
    assert len(steps) == 2 and all(wall(s.due)[1] == CLOSES for s in steps)
    recorded = mon.watch_steps(state, replace(duty, end_of_day=False))
    assert [wall(s.due)[0] for s in recorded] == [wall(s.due)[0] for s in steps]
    assert all(wall(s.due)[1] == time(7, 10) for s in recorded)


# --- a message case -------------------------------------------------------------------


def test_r24_the_case_officers_deadline_ends_at_closing_time() -> None:
    """R-24: forwarded Tuesday 7 April 09:00: the officer is reminded on
    Monday 13 April and the managers told on Tuesday 14 April, each at 16:30."""
    case = received()
    case.do(forward(), at=AFTER_EASTER)
    steps = {s.name: s.due for s in message_plan(case.current)}
    assert wall(steps["officer_reminder"]) == (date(2026, 4, 13), CLOSES)
    assert wall(steps["officer_deadline"]) == (date(2026, 4, 14), CLOSES)
    recorded = case.current.model_copy(update={"end_of_day_deadlines": False})
    steps = {s.name: s.due for s in message_plan(recorded)}
    assert wall(steps["officer_deadline"]) == (date(2026, 4, 14), time(9))


def test_r50_r22_the_records_reminder_and_its_chase_end_at_closing_time() -> None:
    """R-50: answered Tuesday 7 April 09:00 and not registered: reminded after
    5 working days, the manager after 10, then chased (R-22), at 16:30."""
    case = case_at(MessageStage.ANSWERED)
    assert case.current.stage is MessageStage.ANSWERED
    steps = message_plan(case.current)
    assert [s.name for s in steps][:2] == ["records_reminder", "records_escalation"]
    assert wall(steps[0].due) == (date(2026, 4, 14), CLOSES)
    assert wall(steps[1].due) == (date(2026, 4, 21), CLOSES)
    for _ in range(3):
        case.do(fire(), at=min(s.due for s in message_plan(case.current)
                               if s.key not in case.current.fired_steps))
    chase = [s for s in message_plan(case.current) if s.name == "chase"]
    assert chase and wall(chase[0].due)[1] == CLOSES


def test_r22_an_acknowledged_cases_final_answer_ends_at_closing_time() -> None:
    case = case_at(MessageStage.ACKNOWLEDGED)
    steps = {s.name: s.due for s in message_plan(case.current)}
    assert {wall(steps[n])[1] for n in ("final_answer_reminder", "final_answer_deadline",
                                        "final_answer_escalation")} == {CLOSES}


# --- a snapshot waiting for screenshots ------------------------------------------------


def test_r37_the_screenshot_waits_steps_end_at_closing_time() -> None:
    """R-37: a snapshot waiting for screenshots, asked for on Thursday evening:
    the reminder, the manager and the communications unit at 16:30."""
    requested = local(STOCKHOLM, 2026, 5, 7, 21, 5)  # Thursday evening
    people = snap.ScreenshotPeople(admins=("a",), managers=("m",), communications=("c",))
    new = snap.screenshot_wait_plan(requested, snap.SnapshotPolicy(), SE, STOCKHOLM, people,
                                    OFFICE)
    old = snap.screenshot_wait_plan(requested, snap.SnapshotPolicy(), SE, STOCKHOLM, people)
    assert [wall(s.due) for s in new] == [
        (date(2026, 5, 12), CLOSES),  # 3 working days: Fri 8, Mon 11, Tue 12
        (date(2026, 5, 15), CLOSES),  # 5: Ascension Day (14 May) skipped
        (date(2026, 5, 22), CLOSES)]  # 10
    assert [wall(s.due)[0] for s in old] == [wall(s.due)[0] for s in new]
    assert {wall(s.due)[1] for s in old} == {time(21, 5)}
    assert all(n.due + timedelta(hours=4, minutes=35) == o.due
               for n, o in zip(new, old, strict=True))
