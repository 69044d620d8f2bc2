"""The monitoring plan: which reminders, escalations, warnings and proposals
fall due when (R-15, R-16, R-18, R-19, R-20, R-40)."""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from operator import attrgetter
from zoneinfo import ZoneInfo

from domain.calendar import OfficeHours, is_working_day, next_working_day, working_days_due
from domain.monitoring.duty import (
    _SCAN_LIMIT,
    AFTERNOON,
    CHECK_IN_ESCALATION,
    CRISIS_CHECK_IN,
    DAY_MISSED,
    INACTIVITY,
    MIDDAY,
    POSTING_RHYTHM,
    WATCH_ESCALATION,
    WATCH_REMINDER,
    WEEKLY_FLOOR,
    CheckIn,
    DueStep,
    Duty,
    MonitoringState,
    StepKind,
)


def local_day(moment: datetime, duty: Duty) -> date:
    return moment.astimezone(duty.zone).date()


def at_local(day: date, wall: time, duty: Duty) -> datetime:
    """`wall` on `day` in the account's zone, in UTC (a DST change moves the
    UTC hour and keeps the local one)."""
    return datetime.combine(day, wall, tzinfo=duty.zone).astimezone(UTC)


def _within_office(wall: time, office: OfficeHours) -> time:
    return max(office.opens, min(wall, office.closes))


def check_times(duty: Duty) -> tuple[time, time, time]:
    """The midday and afternoon checks, moved inside the office hours if a
    setting falls outside them, and the day's end (closing time)."""
    p, o = duty.policy, duty.office
    return _within_office(p.midday_check, o), _within_office(p.afternoon_check, o), o.closes


def monday_of(day: date) -> date:
    return day - timedelta(days=day.weekday())


def first_duty_day(activated_at: datetime, duty: Duty) -> date:
    """Check-ins are due from the first working day after activation: the
    activation day itself is partial and would remind at once."""
    return next_working_day(local_day(activated_at, duty), duty.country)


def counts_for_day(check_in: CheckIn, duty: Duty) -> date | None:
    """R-15: the working day a check-in counts for, or None when it was made
    outside the account's office hours (it still counts for R-16)."""
    local = check_in.checked_at.astimezone(duty.zone)
    if not is_working_day(local.date(), duty.country):
        return None
    if not duty.office.opens <= local.time().replace(tzinfo=None) <= duty.office.closes:
        return None
    return local.date()


@lru_cache(maxsize=4096)  # issue 15: asked for the same day on every check-in
def _instant(day: date, at: time, zone: ZoneInfo) -> datetime | None:
    """The one instant that is `at` on `day` in `zone`, or None where the
    clock skips or repeats it (a change to or from summer time)."""
    moment = datetime.combine(day, at.replace(tzinfo=None), tzinfo=zone)
    back = moment.astimezone(UTC).astimezone(zone)
    if back.replace(tzinfo=None) != moment.replace(tzinfo=None):
        return None  # skipped
    if moment.replace(fold=1).utcoffset() != moment.utcoffset():
        return None  # repeated
    return moment


def check_ins_on(state: MonitoringState, day: date, duty: Duty,
                 before: time | None = None) -> int:
    """Check-ins counted for `day` (R-15), optionally only those before a local time."""
    if not state.check_ins:
        return 0
    window = _counting_window(day, duty, before)
    if window is not None:
        # Issue 15: the day's counting window as two instants, looked up in
        # the check-ins' sorted instants, not each check-in converted to
        # local time.
        lo, hi, inclusive = window
        times = sorted_check_in_times(state.check_ins)
        end = bisect_right(times, hi) if inclusive else bisect_left(times, hi)
        return max(0, end - bisect_left(times, lo))
    n = 0
    for c in state.check_ins:
        if counts_for_day(c, duty) != day:
            continue
        if before is not None and c.checked_at.astimezone(duty.zone).time() >= before:
            continue
        n += 1
    return n


_CHECKED_AT = attrgetter("checked_at")

# Issue 15: the sorted instants of a tuple of check-ins, remembered for the
# tuple (kept alive here, so its id stays its own) and carried over by
# with_check_in to the next state's tuple: a fold of check-ins pays a bisect
# per check-in, not a pass over the hundreds a busy account keeps. A memo
# only: the same answers as sorting each time.
_SORTED_TIMES: dict[int, tuple[tuple[CheckIn, ...], list[datetime]]] = {}
_SORTED_TIMES_MAX = 512


def sorted_check_in_times(check_ins: tuple[CheckIn, ...]) -> list[datetime]:
    """The check-ins' `checked_at`, sorted (do not change the list)."""
    known = _SORTED_TIMES.get(id(check_ins))
    if known is not None and known[0] is check_ins:
        return known[1]
    times = sorted(map(_CHECKED_AT, check_ins))
    remember_check_in_times(check_ins, times)
    return times


def take_check_in_times(check_ins: tuple[CheckIn, ...]) -> list[datetime]:
    """The check-ins' sorted instants as a list of the caller's own to change
    (the memo lets go of them: it sorts again if asked for this tuple)."""
    known = _SORTED_TIMES.pop(id(check_ins), None)
    if known is not None and known[0] is check_ins:
        return known[1]
    return sorted(map(_CHECKED_AT, check_ins))


def remember_check_in_times(check_ins: tuple[CheckIn, ...], times: list[datetime]) -> None:
    if len(_SORTED_TIMES) >= _SORTED_TIMES_MAX:
        _SORTED_TIMES.clear()
    _SORTED_TIMES[id(check_ins)] = (check_ins, times)


def _counting_window(day: date, duty: Duty, before: time | None
                     ) -> tuple[datetime, datetime, bool] | None:
    """The instants from and to which a check-in counts for `day` (R-15,
    `counts_for_day`), optionally only before a local time: (first, last,
    whether last itself counts). Zero-length when `day` is no working day.
    None where an end is a wall time the clock skips or repeats on that day
    (then each check-in is converted instead): with both ends unique, the
    instants between them are exactly those whose local time on `day` lies
    between the two wall times."""
    opens, closes = duty.office.opens, duty.office.closes
    first = _instant(day, opens, duty.zone)
    if first is None:
        return None
    if not is_working_day(day, duty.country) or opens > closes:
        return first, first, False
    end, inclusive = closes, True
    if before is not None and before <= closes:
        end, inclusive = before, False
    last = _instant(day, end, duty.zone)
    if last is None:
        return None
    return first, last, inclusive


def day_settled(state: MonitoringState, day: date, duty: Duty) -> bool:
    """A working day's duty is done: enough check-ins, or its end-of-day
    escalation is on the record."""
    return (check_ins_on(state, day, duty) >= duty.policy.check_ins_per_day
            or _day_key(DAY_MISSED, day) in state.fired)


def _day_key(name: str, day: date) -> str:
    return f"{name}@{day.isoformat()}"


def _admins_or_managers(duty: Duty) -> tuple[str, ...]:
    return duty.admins or duty.managers


def day_steps(state: MonitoringState, day: date, duty: Duty) -> list[DueStep]:
    """R-15: the reminders and escalation of one working day that its
    check-ins have not (yet) made unnecessary and that are not recorded."""
    required = duty.policy.check_ins_per_day
    midday, afternoon, closes = check_times(duty)
    wanted: list[tuple[str, StepKind, time, bool, tuple[str, ...]]] = [
        (MIDDAY, "remind", midday,
         check_ins_on(state, day, duty, before=midday) == 0, _admins_or_managers(duty)),
        (AFTERNOON, "remind", afternoon,
         check_ins_on(state, day, duty, before=afternoon) < required, _admins_or_managers(duty)),
        (DAY_MISSED, "escalate", closes,
         check_ins_on(state, day, duty) < required, duty.managers),
    ]
    return [
        DueStep(key=_day_key(name, day), name=name, kind=kind, due=at_local(day, wall, duty),
                recipients=recipients, subject=day.isoformat())
        for name, kind, wall, unmet, recipients in wanted
        if unmet and _day_key(name, day) not in state.fired
    ]


def superseded_by(name: str, subject: str | None) -> str | None:
    """R-15: the key of the step that makes this one pointless once it is due
    too: a day's check-in reminder is for getting that day checked, and when
    the day's escalation is due the day is over. None for any other step."""
    if name not in (MIDDAY, AFTERNOON) or not subject:
        return None
    return _day_key(DAY_MISSED, date.fromisoformat(subject))


def check_in_steps(state: MonitoringState, duty: Duty) -> list[DueStep]:
    """R-15: the steps of the first working day from the cursor that has any."""
    if state.day_cursor is None:
        return []
    day = state.day_cursor
    for _ in range(_SCAN_LIMIT):
        if is_working_day(day, duty.country):
            steps = day_steps(state, day, duty)
            if steps:
                return steps
        day += timedelta(days=1)
    return []


def weekly_floor_step(state: MonitoringState, duty: Duty) -> DueStep | None:
    """R-16: seven calendar days without any check-in (any time, any day)
    escalate to the communications unit; again after every further seven."""
    anchor = state.last_check_in or state.since
    if anchor is None:
        return None
    n = state.floor_escalations + 1
    due = anchor + timedelta(days=duty.policy.days_without_check_in * n)
    return DueStep(key=f"{WEEKLY_FLOOR}@{anchor.isoformat()}#{n}", name=WEEKLY_FLOOR,
                   kind="escalate", due=due,
                   recipients=tuple(dict.fromkeys((*duty.communications, *duty.managers))),
                   subject=anchor.isoformat())


def posts_in_week(state: MonitoringState, monday: date, duty: Duty) -> int:
    end = monday + timedelta(days=7)
    return sum(1 for p in state.posts if monday <= local_day(p.published_at, duty) < end)


def week_settled(state: MonitoringState, monday: date, duty: Duty) -> bool:
    return posts_in_week(state, monday, duty) >= duty.policy.posts_per_week


def week_evaluated_at(monday: date, duty: Duty) -> datetime:
    """The weekly evaluation: opening time of the first working day after the week."""
    day = next_working_day(monday + timedelta(days=6), duty.country)
    return at_local(day, duty.office.opens, duty)


def posting_rhythm_step(state: MonitoringState, duty: Duty) -> DueStep | None:
    """R-18: fewer posts in a week than recommended warns the admins."""
    if state.week_cursor is None or duty.policy.posts_per_week == 0:
        return None
    monday = state.week_cursor
    for _ in range(_SCAN_LIMIT):
        if not week_settled(state, monday, duty):
            return DueStep(key=f"{POSTING_RHYTHM}@{monday.isoformat()}", name=POSTING_RHYTHM,
                           kind="warn", due=week_evaluated_at(monday, duty),
                           recipients=_admins_or_managers(duty), subject=monday.isoformat())
        monday += timedelta(days=7)
    return None


def inactive_since(state: MonitoringState) -> datetime | None:
    """R-19: the inactivity clock runs from the last post, the last decision
    to keep the account, or activation, whichever is latest."""
    moments = [m for m in (state.since, state.last_post_at, state.kept_at) if m is not None]
    return max(moments) if moments else None


def inactivity_step(state: MonitoringState, duty: Duty) -> DueStep | None:
    """R-19: no posts for the set period proposes closure to the
    communications unit, once, until a post or a decision to keep."""
    anchor = inactive_since(state)
    if anchor is None or state.closure_proposed_at is not None:
        return None
    return DueStep(key=f"{INACTIVITY}@{anchor.isoformat()}", name=INACTIVITY, kind="propose",
                   due=anchor + timedelta(days=duty.policy.inactivity_days),
                   recipients=duty.communications or duty.managers, subject=anchor.isoformat())


def watch_steps(state: MonitoringState, duty: Duty) -> list[DueStep]:
    """R-20: an open watch item reminds the manager, then escalates to the
    communications unit, in working days from its report, at the end of the
    office day (issue 14)."""
    p = duty.policy
    steps: list[DueStep] = []
    for item in state.open_watch_items:
        for name, kind, days, recipients in (
            (WATCH_REMINDER, "remind", p.watch_reminder_days, duty.managers),
            (WATCH_ESCALATION, "escalate", p.watch_escalation_days,
             tuple(dict.fromkeys((*duty.managers, *duty.communications)))),
        ):
            if name in item.fired:
                continue
            steps.append(DueStep(
                key=f"{name}@{item.item_id}", name=name, kind=kind,
                due=working_days_due(item.reported_at, days, duty.country, duty.timezone,
                                     duty.office if duty.end_of_day else None),
                recipients=recipients, subject=item.item_id))
    return steps


@dataclass(frozen=True)
class CrisisCheckIns:
    """R-39: while a crisis covers the account it is checked every `every`,
    around the clock (domain.crisis_mode.checkin_interval), from `declared_at`."""

    every: timedelta
    declared_at: datetime


def crisis_check_in_step(state: MonitoringState, duty: Duty, crisis: CrisisCheckIns
                         ) -> DueStep | None:
    """R-39: one interval without a check-in reminds the admins; each
    further one escalates to the manager and the communications unit."""
    if state.since is None:
        return None
    anchor = max(m for m in (state.last_check_in, crisis.declared_at, state.since)
                 if m is not None)
    prefix = f"{CRISIS_CHECK_IN}@{anchor.isoformat()}#"
    n = sum(1 for k in state.crisis_fired if k.startswith(prefix)) + 1
    first = n == 1
    return DueStep(
        key=f"{prefix}{n}", name=CRISIS_CHECK_IN, kind="remind" if first else "escalate",
        due=anchor + crisis.every * n,
        recipients=_admins_or_managers(duty) if first else tuple(
            dict.fromkeys((*duty.managers, *duty.communications))),
        subject=anchor.isoformat())


def with_crisis_step_fired(state: MonitoringState, key: str, escalated: bool
                           ) -> MonitoringState:
    after = state.model_copy(update={"crisis_fired": _with(state.crisis_fired, key)})
    if escalated:
        after = after.model_copy(update={
            "open_escalations": _with(after.open_escalations, CHECK_IN_ESCALATION)})
    return after


def due_steps(state: MonitoringState, duty: Duty, crisis: CrisisCheckIns | None = None
              ) -> list[DueStep]:
    """Every monitoring step not yet recorded, earliest first."""
    if state.since is None:
        return []
    steps = [*check_in_steps(state, duty), *watch_steps(state, duty)]
    steps += [s for s in (weekly_floor_step(state, duty), posting_rhythm_step(state, duty),
                          inactivity_step(state, duty)) if s is not None]
    if crisis is not None:
        step = crisis_check_in_step(state, duty, crisis)
        if step is not None:
            steps.append(step)
    return sorted(steps, key=lambda s: (s.due, s.key))


def next_due(state: MonitoringState, duty: Duty) -> datetime | None:
    steps = due_steps(state, duty)
    return steps[0].due if steps else None


def _without(items: tuple[str, ...], item: str) -> tuple[str, ...]:
    return tuple(i for i in items if i != item)


def _with(items: tuple[str, ...], item: str) -> tuple[str, ...]:
    return items if item in items else (*items, item)
