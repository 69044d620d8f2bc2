"""Monitoring duties of an active account (R-15..R-20), as pure rules.

    R-15  checked at least twice per working day, within the account's office
          hours: a reminder to the admins when none by midday and when fewer
          than two by the afternoon check; escalation to the unit's manager
          when a working day ends with fewer.
    R-16  never less than once a week (lag 1998:112 §4): escalation to the
          communications unit when seven calendar days pass without any
          check-in, and again every further seven days.
    R-18  at least three posts a week: a weekly evaluation warns the admins
          (a warning, never a block).
    R-19  no posts for a period proposes closure to the communications unit,
          who closes the account or keeps it with a recorded reason (which
          restarts the inactivity clock).
    R-20  criticism or errors seen about the unit are raised with the manager
          and tracked like a task: reminded, then escalated, until resolved.

Everything is a function of the monitoring state and a `Duty` (calendar,
office hours, settings, who is told); time comes in as an argument. The
account's `deadline_plan` adds `due_steps` to its own, so the account
workflow waits for monitoring on the same durable timer as for every other
deadline, and `FireDueDeadlines` records each step that falls due.

How the plan stays small over years: the *day cursor* is the first working
day whose check-in duty is not yet settled (settled = enough check-ins, or
its end-of-day escalation recorded); the *week cursor* likewise for the
posting rhythm. Only check-ins and posts that can still matter (and a few
weeks for display) are kept in the state; the read models keep everything.

The package, by kind: duty (settings and state), plan (what falls due),
folding (how events change the state), status, rules (the checks of a
monitoring command).
"""

from domain.monitoring.duty import (
    AFTERNOON,
    CHECK_IN_ESCALATION,
    CRISIS_CHECK_IN,
    DAY_MISSED,
    INACTIVITY,
    INACTIVITY_ESCALATION,
    MIDDAY,
    POSTING_RHYTHM,
    WATCH_ESCALATION,
    WATCH_REMINDER,
    WEEKLY_FLOOR,
    CheckIn,
    CheckInSource,
    DueStep,
    Duty,
    MonitoringPolicy,
    MonitoringState,
    PublishedPost,
    StepKind,
    WatchItem,
)
from domain.monitoring.folding import (
    next_watch_id,
    started,
    with_check_in,
    with_kept,
    with_post,
    with_step_fired,
    with_watch_item,
    with_watch_resolved,
)
from domain.monitoring.plan import (
    CrisisCheckIns,
    at_local,
    check_in_steps,
    check_ins_on,
    check_times,
    counts_for_day,
    crisis_check_in_step,
    day_settled,
    day_steps,
    due_steps,
    first_duty_day,
    inactive_since,
    inactivity_step,
    local_day,
    monday_of,
    next_due,
    posting_rhythm_step,
    posts_in_week,
    superseded_by,
    watch_steps,
    week_evaluated_at,
    week_settled,
    weekly_floor_step,
    with_crisis_step_fired,
)
from domain.monitoring.rules import (
    CLOCK_SKEW,
    check_in_time,
    monitoring_hours_text,
    open_watch_item,
    post_recorded,
    require_aware,
    require_closure_proposed,
    require_published,
    require_seen,
)
from domain.monitoring.status import (
    CheckInTask,
    MonitoringStatus,
    check_in_task,
    status,
)

__all__ = [
    "AFTERNOON",
    "CHECK_IN_ESCALATION",
    "CLOCK_SKEW",
    "CRISIS_CHECK_IN",
    "CheckIn",
    "CheckInSource",
    "CrisisCheckIns",
    "DAY_MISSED",
    "DueStep",
    "Duty",
    "INACTIVITY",
    "INACTIVITY_ESCALATION",
    "MIDDAY",
    "MonitoringPolicy",
    "MonitoringState",
    "CheckInTask",
    "MonitoringStatus",
    "POSTING_RHYTHM",
    "PublishedPost",
    "StepKind",
    "WATCH_ESCALATION",
    "WATCH_REMINDER",
    "WEEKLY_FLOOR",
    "WatchItem",
    "at_local",
    "check_in_steps",
    "check_in_time",
    "check_ins_on",
    "check_times",
    "counts_for_day",
    "crisis_check_in_step",
    "day_settled",
    "day_steps",
    "due_steps",
    "first_duty_day",
    "inactive_since",
    "inactivity_step",
    "local_day",
    "monday_of",
    "monitoring_hours_text",
    "next_due",
    "next_watch_id",
    "open_watch_item",
    "post_recorded",
    "posting_rhythm_step",
    "posts_in_week",
    "require_aware",
    "require_closure_proposed",
    "require_published",
    "require_seen",
    "started",
    "check_in_task",
    "status",
    "superseded_by",
    "watch_steps",
    "week_evaluated_at",
    "week_settled",
    "weekly_floor_step",
    "with_check_in",
    "with_crisis_step_fired",
    "with_kept",
    "with_post",
    "with_step_fired",
    "with_watch_item",
    "with_watch_resolved",
]
