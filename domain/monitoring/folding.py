"""How a recorded check-in, post, watch item or fired step changes the
monitoring state (the account's evolve calls these)."""

from __future__ import annotations

from bisect import bisect_left, insort
from datetime import date, datetime, time, timedelta
from itertools import compress
from operator import attrgetter

from domain.calendar import is_working_day
from domain.monitoring.duty import (
    _KEEP_POSTS,
    _KEEP_RECENT,
    _KEEP_RESOLVED,
    _SCAN_LIMIT,
    CHECK_IN_ESCALATION,
    DAY_MISSED,
    INACTIVITY_ESCALATION,
    WATCH_ESCALATION,
    CheckIn,
    Duty,
    MonitoringState,
    PublishedPost,
    WatchItem,
)
from domain.monitoring.plan import (
    _instant,
    _with,
    _without,
    day_settled,
    first_duty_day,
    inactive_since,
    local_day,
    monday_of,
    remember_check_in_times,
    take_check_in_times,
    week_settled,
)

_CHECKED_AT = attrgetter("checked_at")


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
        # Kept from one instant on (issue 15: a busy account keeps hundreds,
        # so the instants sorted and carried from state to state, and the
        # usual case, the oldest ones at the front ageing out, a slice).
        since = keep_from if midnight is None else min(keep_from, midnight)
        both = (*state.check_ins, check_in)
        times = take_check_in_times(state.check_ins)
        insort(times, check_in.checked_at)
        dropped = bisect_left(times, since)
        if all(c.checked_at < since for c in both[:dropped]):
            kept = both[dropped:]  # the `dropped` older ones are all at the front
        else:
            kept = tuple(compress(both, map(since.__le__, map(_CHECKED_AT, both))))
        del times[:dropped]
        remember_check_in_times(kept, times)
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
