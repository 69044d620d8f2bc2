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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.calendar import OfficeHours, add_working_days, is_working_day, next_working_day
from domain.country import Country

# --------------------------------------------------------------------------- settings


class MonitoringPolicy(BaseModel):
    """The monitoring settings (R-43): a municipality's default (its
    `lifecycle.monitoring` in the directory YAML) or an account's own. The
    defaults are the stricter readings of the seeds."""

    model_config = ConfigDict(frozen=True)

    check_ins_per_day: int = Field(2, ge=1, le=24, description="R-15")
    midday_check: time = Field(time(12, 0), description="Local; a reminder if none by then")
    afternoon_check: time = Field(time(14, 30),
                                  description="Local; a reminder if fewer than required by then")
    days_without_check_in: int = Field(7, ge=1, le=7,
                                       description="R-16: calendar days; 7 is the legal floor")
    posts_per_week: int = Field(3, ge=0, le=100, description="R-18; 0 turns the warning off")
    inactivity_days: int = Field(60, ge=7, le=730,
                                 description="R-19: calendar days without a post")
    watch_reminder_days: int = Field(2, ge=1, le=60, description="R-20: working days")
    watch_escalation_days: int = Field(5, ge=1, le=120, description="R-20: working days")

    @model_validator(mode="after")
    def _consistent(self) -> MonitoringPolicy:
        if self.midday_check.tzinfo is not None or self.afternoon_check.tzinfo is not None:
            raise ValueError("check times are local wall-clock times, without a zone")
        if not self.midday_check < self.afternoon_check:
            raise ValueError("the midday check must come before the afternoon check")
        if not self.watch_reminder_days < self.watch_escalation_days:
            raise ValueError("a watch item is reminded before it is escalated")
        return self


@dataclass(frozen=True)
class Duty:
    """What the rules need besides the state: the calendar, the account's
    office hours, its settings and who is told what."""

    country: Country
    timezone: str
    office: OfficeHours
    policy: MonitoringPolicy
    admins: tuple[str, ...]
    managers: tuple[str, ...]
    communications: tuple[str, ...]

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


# --------------------------------------------------------------------------- state


class CheckInSource(StrEnum):
    MANUAL = "manual"  # an admin pressed "checked"
    MODERATION = "moderation"  # implied by a decision on one of the account's messages


class CheckIn(BaseModel):
    model_config = ConfigDict(frozen=True)

    checked_at: datetime
    by: str
    source: CheckInSource = CheckInSource.MANUAL
    case_id: str | None = None


class PublishedPost(BaseModel):
    """A staff post as published (R-18, R-21): the platform's id and time,
    no personal data."""

    model_config = ConfigDict(frozen=True)

    post_id: str
    published_at: datetime
    recorded_by: str


class WatchItem(BaseModel):
    """R-20: criticism or an error seen about the unit, raised with the manager."""

    model_config = ConfigDict(frozen=True)

    item_id: str
    summary: str
    link: str | None = None
    seen_at: datetime
    reported_by: str
    reported_at: datetime
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    resolution_note: str | None = None
    fired: tuple[str, ...] = ()

    @property
    def open(self) -> bool:
        return self.resolved_at is None


class MonitoringState(BaseModel):
    """The monitoring part of an account's state. Every field has a default,
    so states recorded before monitoring existed still decode."""

    model_config = ConfigDict(frozen=True)

    policy: MonitoringPolicy | None = None  # None: the municipality's default
    since: datetime | None = None  # activation; None: not monitored (yet)
    day_cursor: date | None = None
    week_cursor: date | None = None  # a Monday
    check_ins: tuple[CheckIn, ...] = ()
    last_check_in: datetime | None = None
    last_check_in_by: str | None = None
    floor_escalations: int = 0  # R-16 escalations since the last check-in
    posts: tuple[PublishedPost, ...] = ()
    last_post_at: datetime | None = None
    kept_at: datetime | None = None
    kept_reason: str | None = None
    closure_proposed_at: datetime | None = None
    watch_items: tuple[WatchItem, ...] = ()
    watch_seq: int = 0
    fired: tuple[str, ...] = ()  # day steps recorded at or after the day cursor
    open_escalations: tuple[str, ...] = ()  # "check_in", "inactivity", "watch:W-1"
    crisis_fired: tuple[str, ...] = ()  # R-39 steps since the last check-in

    def watch_item(self, item_id: str) -> WatchItem | None:
        return next((w for w in self.watch_items if w.item_id == item_id), None)

    @property
    def open_watch_items(self) -> list[WatchItem]:
        return [w for w in self.watch_items if w.open]


StepKind = Literal["remind", "escalate", "warn", "propose"]


class DueStep(BaseModel):
    """One reminder, escalation, warning or proposal and when it falls due.
    `subject` is the working day, the week's Monday, the inactivity anchor
    or the watch item the step is about."""

    model_config = ConfigDict(frozen=True)

    key: str
    name: str
    kind: StepKind
    due: datetime
    recipients: tuple[str, ...]
    subject: str


# Step names, as they appear on the record.
MIDDAY = "check_in_midday"
AFTERNOON = "check_in_afternoon"
DAY_MISSED = "check_in_day_missed"
WEEKLY_FLOOR = "check_in_weekly_floor"
POSTING_RHYTHM = "posting_rhythm"
INACTIVITY = "inactivity"
WATCH_REMINDER = "watch_reminder"
WATCH_ESCALATION = "watch_escalation"
CRISIS_CHECK_IN = "crisis_check_in"

CHECK_IN_ESCALATION = "check_in"
INACTIVITY_ESCALATION = "inactivity"

_KEEP_RECENT = timedelta(days=14)  # check-ins kept for display
_KEEP_POSTS = timedelta(weeks=8)
_KEEP_RESOLVED = timedelta(days=30)
_SCAN_LIMIT = 400  # days or weeks a plan looks ahead; a future day is never settled


# --------------------------------------------------------------------------- calendar


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


# --------------------------------------------------------------------------- rules: check-ins


def counts_for_day(check_in: CheckIn, duty: Duty) -> date | None:
    """R-15: the working day a check-in counts for, or None when it was made
    outside the account's office hours (it still counts for R-16)."""
    local = check_in.checked_at.astimezone(duty.zone)
    if not is_working_day(local.date(), duty.country):
        return None
    if not duty.office.opens <= local.time().replace(tzinfo=None) <= duty.office.closes:
        return None
    return local.date()


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
    n = 0
    for c in state.check_ins:
        if counts_for_day(c, duty) != day:
            continue
        if before is not None and c.checked_at.astimezone(duty.zone).time() >= before:
            continue
        n += 1
    return n


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


# --------------------------------------------------------------------------- rules: posts


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


# --------------------------------------------------------------------------- rules: watch duty


def watch_steps(state: MonitoringState, duty: Duty) -> list[DueStep]:
    """R-20: an open watch item reminds the manager, then escalates to the
    communications unit, in working days from its report."""
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
                due=add_working_days(item.reported_at, days, duty.country, duty.timezone),
                recipients=recipients, subject=item.item_id))
    return steps


# --------------------------------------------------------------------------- rules: crisis


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


# --------------------------------------------------------------------------- evolve helpers


def started(activated_at: datetime, duty: Duty, state: MonitoringState | None = None
            ) -> MonitoringState:
    """Monitoring begins at activation: check-ins from the next working day,
    the posting rhythm from the next full week, inactivity from now."""
    base = state or MonitoringState()
    first = first_duty_day(activated_at, duty)
    return base.model_copy(update={
        "since": activated_at, "day_cursor": first,
        "week_cursor": monday_of(local_day(activated_at, duty)) + timedelta(days=7),
    })


def _advance_days(state: MonitoringState, duty: Duty) -> MonitoringState:
    if state.day_cursor is None:
        return state
    day = state.day_cursor
    for _ in range(_SCAN_LIMIT):
        if is_working_day(day, duty.country) and not day_settled(state, day, duty):
            break
        day += timedelta(days=1)
    if day == state.day_cursor:
        return state
    stamp = day.isoformat()
    # Day keys of settled days no longer matter; other keys have no day.
    fired = tuple(k for k in state.fired if k.rsplit("@", 1)[-1] >= stamp)
    return state.model_copy(update={"day_cursor": day, "fired": fired})


def _advance_weeks(state: MonitoringState, duty: Duty) -> MonitoringState:
    if state.week_cursor is None or duty.policy.posts_per_week == 0:
        return state
    monday = state.week_cursor
    for _ in range(_SCAN_LIMIT):
        if not week_settled(state, monday, duty):
            break
        monday += timedelta(days=7)
    return state.model_copy(update={"week_cursor": monday})


def _without(items: tuple[str, ...], item: str) -> tuple[str, ...]:
    return tuple(i for i in items if i != item)


def _with(items: tuple[str, ...], item: str) -> tuple[str, ...]:
    return items if item in items else (*items, item)


def with_check_in(state: MonitoringState, check_in: CheckIn, duty: Duty,
                  at: datetime) -> MonitoringState:
    """A check-in counts for its day (R-15), restarts the weekly floor (R-16)
    and ends a check-in escalation."""
    last = state.last_check_in
    newer = last is None or check_in.checked_at >= last
    cursor = state.day_cursor
    keep_from = at - _KEEP_RECENT
    # Issue 15: the cursor day's first instant, compared instead of each
    # check-in's local day (where midnight is unambiguous).
    midnight = None if cursor is None else _instant(cursor, time(0), duty.zone)
    if cursor is None or midnight is not None:
        kept = tuple(c for c in (*state.check_ins, check_in)
                     if c.checked_at >= keep_from
                     or (midnight is not None and c.checked_at >= midnight))
    else:
        kept = tuple(c for c in (*state.check_ins, check_in)
                     if c.checked_at >= keep_from or local_day(c.checked_at, duty) >= cursor)
    after = state.model_copy(update={
        "check_ins": kept,
        "last_check_in": check_in.checked_at if newer else last,
        "last_check_in_by": check_in.by if newer else state.last_check_in_by,
        "floor_escalations": 0 if newer else state.floor_escalations,
        "crisis_fired": () if newer else state.crisis_fired,
        "open_escalations": _without(state.open_escalations, CHECK_IN_ESCALATION),
    })
    return _advance_days(after, duty)


def with_post(state: MonitoringState, post: PublishedPost, duty: Duty,
              at: datetime) -> MonitoringState:
    """A post counts for its week (R-18) and ends inactivity and any closure
    proposal it caused (R-19)."""
    cursor = state.week_cursor
    kept = tuple(p for p in (*state.posts, post)
                 if p.published_at >= at - _KEEP_POSTS
                 or (cursor is not None and local_day(p.published_at, duty) >= cursor))
    last = state.last_post_at
    after = state.model_copy(update={
        "posts": kept,
        "last_post_at": post.published_at if last is None else max(last, post.published_at),
    })
    if after.closure_proposed_at is not None and (inactive_since(after) or at) > (
            inactive_since(state) or at):
        after = after.model_copy(update={
            "closure_proposed_at": None,
            "open_escalations": _without(after.open_escalations, INACTIVITY_ESCALATION)})
    return _advance_weeks(after, duty)


def with_kept(state: MonitoringState, at: datetime, reason: str) -> MonitoringState:
    """R-19: the communications unit keeps the account; the clock restarts."""
    return state.model_copy(update={
        "kept_at": at, "kept_reason": reason, "closure_proposed_at": None,
        "open_escalations": _without(state.open_escalations, INACTIVITY_ESCALATION)})


def with_watch_item(state: MonitoringState, item: WatchItem) -> MonitoringState:
    return state.model_copy(update={"watch_items": (*state.watch_items, item),
                                    "watch_seq": state.watch_seq + 1})


def next_watch_id(state: MonitoringState) -> str:
    return f"W-{state.watch_seq + 1}"


def with_watch_resolved(state: MonitoringState, item_id: str, by: str, note: str,
                        at: datetime) -> MonitoringState:
    items = tuple(
        w.model_copy(update={"resolved_at": at, "resolved_by": by, "resolution_note": note})
        if w.item_id == item_id else w
        for w in state.watch_items
        # Resolved items stay a month for the account page; the read model keeps all.
        if w.open or (w.resolved_at is not None and w.resolved_at >= at - _KEEP_RESOLVED)
    )
    return state.model_copy(update={
        "watch_items": items,
        "open_escalations": _without(state.open_escalations, f"watch:{item_id}")})


def with_step_fired(state: MonitoringState, step_name: str, subject: str, duty: Duty,
                    at: datetime) -> MonitoringState:
    """Fold a recorded reminder, escalation, warning or proposal."""
    match step_name:
        case "check_in_midday" | "check_in_afternoon" | "check_in_day_missed":
            after = state.model_copy(update={
                "fired": _with(state.fired, f"{step_name}@{subject}")})
            if step_name == DAY_MISSED:
                after = after.model_copy(update={
                    "open_escalations": _with(after.open_escalations, CHECK_IN_ESCALATION)})
                return _advance_days(after, duty)
            return after
        case "check_in_weekly_floor":
            return state.model_copy(update={
                "floor_escalations": state.floor_escalations + 1,
                "open_escalations": _with(state.open_escalations, CHECK_IN_ESCALATION)})
        case "posting_rhythm":
            monday = date.fromisoformat(subject) + timedelta(days=7)
            cursor = state.week_cursor
            after = state.model_copy(update={
                "week_cursor": monday if cursor is None else max(cursor, monday)})
            return _advance_weeks(after, duty)
        case "inactivity":
            return state.model_copy(update={
                "closure_proposed_at": at,
                "open_escalations": _with(state.open_escalations, INACTIVITY_ESCALATION)})
        case "watch_reminder" | "watch_escalation":
            items = tuple(w.model_copy(update={"fired": (*w.fired, step_name)})
                          if w.item_id == subject else w for w in state.watch_items)
            after = state.model_copy(update={"watch_items": items})
            if step_name == WATCH_ESCALATION:
                after = after.model_copy(update={
                    "open_escalations": _with(after.open_escalations, f"watch:{subject}")})
            return after
    raise ValueError(f"unknown monitoring step {step_name!r}")


# --------------------------------------------------------------------------- status


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
