"""The monitoring status an account's page shows."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel

from domain.calendar import OfficeHours, is_working_day
from domain.monitoring.duty import (
    CheckIn,
    DueStep,
    Duty,
    MonitoringPolicy,
    MonitoringState,
    WatchItem,
)
from domain.monitoring.plan import (
    CrisisCheckIns,
    at_local,
    check_ins_on,
    check_times,
    crisis_check_in_step,
    due_steps,
    inactive_since,
    local_day,
    monday_of,
    posts_in_week,
)


class MonitoringStatus(BaseModel):
    """What the account page shows of its monitoring, as of `now`."""

    now: datetime
    monitored: bool
    today: date
    working_day: bool
    check_ins_today: int
    check_ins_required: int
    last_check_in: datetime | None
    last_check_in_by: str | None
    recent_check_ins: list[CheckIn]
    next_due: DueStep | None
    week_starting: date
    posts_this_week: int
    posts_expected: int
    last_post_at: datetime | None
    inactive_since: datetime | None
    days_inactive: int | None
    closure_proposed_at: datetime | None
    kept_at: datetime | None
    kept_reason: str | None
    open_watch_items: list[WatchItem]
    open_escalations: list[str]
    policy: MonitoringPolicy
    office_hours: OfficeHours


def status(state: MonitoringState, duty: Duty, now: datetime) -> MonitoringStatus:
    today = local_day(now, duty)
    monday = monday_of(today)
    anchor = inactive_since(state)
    steps = due_steps(state, duty)
    return MonitoringStatus(
        now=now, monitored=state.since is not None, today=today,
        working_day=is_working_day(today, duty.country),
        check_ins_today=check_ins_on(state, today, duty),
        check_ins_required=duty.policy.check_ins_per_day if is_working_day(
            today, duty.country) else 0,
        last_check_in=state.last_check_in, last_check_in_by=state.last_check_in_by,
        recent_check_ins=sorted(state.check_ins, key=lambda c: c.checked_at,
                                reverse=True)[:10],
        next_due=steps[0] if steps else None,
        week_starting=monday, posts_this_week=posts_in_week(state, monday, duty),
        posts_expected=duty.policy.posts_per_week, last_post_at=state.last_post_at,
        inactive_since=anchor,
        days_inactive=None if anchor is None else max(0, (now - anchor).days),
        closure_proposed_at=state.closure_proposed_at, kept_at=state.kept_at,
        kept_reason=state.kept_reason, open_watch_items=state.open_watch_items,
        open_escalations=list(state.open_escalations), policy=duty.policy,
        office_hours=duty.office,
    )


class CheckInTask(BaseModel):
    """R-15, R-39: the check-ins an account's admins still owe now, as a task:
    `made` of `required` today, to be done `by` (the next check-in reminder,
    or the end of the office day; in a crisis, the end of the interval)."""

    made: int
    required: int
    by: datetime
    crisis: bool = False


def check_in_task(state: MonitoringState, duty: Duty, now: datetime,
                  crisis: CrisisCheckIns | None = None) -> CheckInTask | None:
    """R-15: on a working day within the account's monitoring hours, while
    fewer check-ins are counted today than required (the account page's
    `status`), the admins' task, by the next reminder (midday while none is
    made, the afternoon check while too few) or the day's closing time.
    R-39: while a crisis covers the account it is due around the clock, by
    the end of the current interval (the crisis reminder's time). None when
    nothing is due."""
    if state.since is None:
        return None
    if crisis is not None:
        step = crisis_check_in_step(state, duty, crisis)
        if step is not None:
            return CheckInTask(made=check_ins_on(state, local_day(now, duty), duty),
                               required=duty.policy.check_ins_per_day, by=step.due,
                               crisis=True)
    shown = status(state, duty, now)
    if not shown.working_day or shown.check_ins_today >= shown.check_ins_required:
        return None
    wall = now.astimezone(duty.zone).time().replace(tzinfo=None)
    if not duty.office.opens <= wall <= duty.office.closes:
        return None
    midday, afternoon, closes = check_times(duty)
    for reminder, unmet in ((midday, shown.check_ins_today == 0), (afternoon, True)):
        due = at_local(shown.today, reminder, duty)
        if unmet and due > now:
            return CheckInTask(made=shown.check_ins_today,
                               required=shown.check_ins_required, by=due)
    return CheckInTask(made=shown.check_ins_today, required=shown.check_ins_required,
                       by=at_local(shown.today, closes, duty))
