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
    check_ins_on,
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
