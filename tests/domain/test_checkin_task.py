"""R-15, R-39 (issue 14): the day's check-ins as a task in "Mina uppgifter"
(domain.monitoring.check_in_task): due on a working day within the
account's monitoring hours while fewer than required are counted, by the
next check-in reminder or the day's closing time; in a crisis, around the
clock by the end of the interval."""

from __future__ import annotations

from datetime import UTC, timedelta

from domain import monitoring as mon
from domain.calendar import OfficeHours
from domain.directory import Country
from domain.monitoring import MonitoringState
from tests.domain.test_monitoring import OSLO, check_in, duty, local

# Activated Friday 20 November 2026; duties from Monday the 23rd.
ACTIVATED = local(2026, 11, 20, 15)


def started(d: mon.Duty) -> MonitoringState:
    return mon.started(ACTIVATED, d)


def test_r15_none_made_the_task_is_due_by_the_midday_reminder() -> None:
    d = duty()
    task = mon.check_in_task(started(d), d, local(2026, 11, 23, 9, 0))
    assert task is not None
    assert (task.made, task.required, task.crisis) == (0, 2, False)
    assert task.by == local(2026, 11, 23, 12).astimezone(UTC)
    # The account page's status says the same: 0 of 2 today.
    shown = mon.status(started(d), d, local(2026, 11, 23, 9, 0))
    assert (shown.check_ins_today, shown.check_ins_required) == (task.made, task.required)


def test_r15_one_made_the_task_is_due_by_the_afternoon_check_then_the_day_end() -> None:
    d = duty()
    state = check_in(started(d), local(2026, 11, 23, 9, 10), d)
    task = mon.check_in_task(state, d, local(2026, 11, 23, 10, 0))
    assert task is not None and (task.made, task.required) == (1, 2)
    assert task.by == local(2026, 11, 23, 14, 30).astimezone(UTC)
    late = mon.check_in_task(state, d, local(2026, 11, 23, 15, 0))
    assert late is not None and late.by == local(2026, 11, 23, 16, 30).astimezone(UTC)
    # None by midday and it is past midday: by the afternoon check.
    none_yet = mon.check_in_task(started(d), d, local(2026, 11, 23, 13, 0))
    assert none_yet is not None and none_yet.by == local(2026, 11, 23, 14, 30).astimezone(UTC)


def test_r15_both_made_no_task() -> None:
    d = duty()
    state = check_in(started(d), local(2026, 11, 23, 9, 10), d)
    state = check_in(state, local(2026, 11, 23, 13, 0), d, by="adm.b")
    assert mon.check_in_task(state, d, local(2026, 11, 23, 13, 5)) is None
    # The next working day starts again at none of two.
    tuesday = mon.check_in_task(state, d, local(2026, 11, 24, 8, 5))
    assert tuesday is not None and tuesday.made == 0


def test_r15_a_check_in_outside_the_hours_does_not_settle_the_task() -> None:
    d = duty()
    state = check_in(started(d), local(2026, 11, 23, 7, 30), d)  # before opening
    task = mon.check_in_task(state, d, local(2026, 11, 23, 8, 30))
    assert task is not None and task.made == 0


def test_r15_no_task_on_a_weekend_or_holiday() -> None:
    d = duty()
    assert mon.check_in_task(started(d), d, local(2026, 11, 21, 10)) is None  # Saturday
    assert mon.check_in_task(started(d), d, local(2026, 11, 22, 10)) is None  # Sunday
    assert mon.check_in_task(started(d), d, local(2026, 12, 25, 10)) is None  # Juldagen
    # 17 May is a working day in Sweden, not in Norway (a Monday in 2027).
    d_no = duty(Country.NO, OSLO)
    state = mon.started(local(2027, 5, 14, 15, tz=OSLO), d_no)
    assert mon.check_in_task(state, d_no, local(2027, 5, 17, 10, tz=OSLO)) is None
    assert mon.check_in_task(state, d_no, local(2027, 5, 18, 10, tz=OSLO)) is not None


def test_r15_no_task_outside_the_accounts_monitoring_hours() -> None:
    d = duty()
    assert mon.check_in_task(started(d), d, local(2026, 11, 23, 7, 59)) is None
    assert mon.check_in_task(started(d), d, local(2026, 11, 23, 16, 31)) is None
    assert mon.check_in_task(started(d), d, local(2026, 11, 23, 8, 0)) is not None
    # The account's own hours (10-15): the reminders move inside them.
    late_office = mon.Duty(country=d.country, timezone=d.timezone,
                           office=OfficeHours.model_validate({"opens": "10:00",
                                                              "closes": "15:00"}),
                           policy=d.policy, admins=d.admins, managers=d.managers,
                           communications=d.communications)
    assert mon.check_in_task(started(late_office), late_office,
                             local(2026, 11, 23, 9, 30)) is None
    task = mon.check_in_task(started(late_office), late_office, local(2026, 11, 23, 14, 45))
    assert task is not None and task.by == local(2026, 11, 23, 15).astimezone(UTC)


def test_r15_not_monitored_no_task() -> None:
    d = duty()
    assert mon.check_in_task(MonitoringState(), d, local(2026, 11, 23, 10)) is None


def test_r39_in_a_crisis_the_task_is_due_around_the_clock_by_the_interval() -> None:
    d = duty()
    declared = local(2026, 11, 21, 20)  # Saturday evening
    crisis = mon.CrisisCheckIns(every=timedelta(hours=2), declared_at=declared)
    sunday_night = local(2026, 11, 22, 1, 0)
    assert mon.check_in_task(started(d), d, sunday_night) is None  # no crisis: weekend
    task = mon.check_in_task(started(d), d, sunday_night, crisis)
    assert task is not None and task.crisis
    assert task.by == declared + timedelta(hours=2)
    # A check-in restarts the interval from it.
    state = check_in(started(d), local(2026, 11, 22, 0, 30), d)
    after = mon.check_in_task(state, d, sunday_night, crisis)
    assert after is not None and after.by == local(2026, 11, 22, 2, 30)
