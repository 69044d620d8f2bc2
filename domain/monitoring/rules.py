"""The monitoring rules that decide a command (R-15, R-17, R-18, R-19, R-20):
when a check-in, a post or a watch item may be recorded, which closure can
be kept, which watch item resolved. domain.account's monitoring_rules says
who may and records the account's events."""

from __future__ import annotations

from datetime import datetime, timedelta

from domain.calendar import OfficeHours
from domain.core import RuleViolation
from domain.monitoring.duty import MonitoringState, WatchItem

# How far ahead of the workflow's clock a reported time may be (clocks differ).
CLOCK_SKEW = timedelta(minutes=5)


def require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RuleViolation(f"{name} must say its time zone")


def check_in_time(checked_at: datetime | None, now: datetime) -> datetime:
    """R-15: when a check-in was made (`checked_at`, else now): never ahead
    of the clock, and recorded within a day of being made."""
    checked = checked_at or now
    require_aware(checked, "checked_at")
    if checked > now + CLOCK_SKEW:
        raise RuleViolation("a check-in cannot be recorded ahead of time (R-15)",
                            key="checkin.future")
    if checked < now - timedelta(days=1):
        raise RuleViolation("a check-in is recorded when it is made, within a day (R-15)",
                            key="checkin.too_old")
    return checked


def require_published(published_at: datetime, now: datetime) -> None:
    """R-18: a post is recorded once it is published, never ahead of time."""
    require_aware(published_at, "published_at")
    if published_at > now + CLOCK_SKEW:
        raise RuleViolation("a post cannot be published in the future (R-18)",
                            key="post.future")


def post_recorded(state: MonitoringState, post_id: str) -> bool:
    """R-18: a post reported again (a connector's retry) is recorded once."""
    return any(p.post_id == post_id for p in state.posts)


def require_closure_proposed(state: MonitoringState, *, breach_proposed: bool) -> None:
    """R-19: an account is kept only when its closure was proposed, for
    inactivity (here) or for a lasting breach (the account's)."""
    if state.closure_proposed_at is None and not breach_proposed:
        raise RuleViolation("no closure has been proposed for this account (R-19)",
                            key="keep.not_proposed")


def require_seen(seen_at: datetime, now: datetime) -> None:
    """R-20: a watch item was seen, so not in the future."""
    require_aware(seen_at, "seen_at")
    if seen_at > now + CLOCK_SKEW:
        raise RuleViolation("seen_at cannot be in the future (R-20)", key="watch.future")


def open_watch_item(state: MonitoringState, item_id: str) -> WatchItem:
    """R-20: the watch item to resolve, which must be on the account and open."""
    item = state.watch_item(item_id)
    if item is None:
        raise RuleViolation(f"no watch item {item_id} on this account (R-20)",
                            key="watch.unknown", params={"item": str(item_id)})
    if not item.open:
        raise RuleViolation(f"watch item {item_id} is already resolved (R-20)",
                            key="watch.resolved", params={"item": str(item_id)})
    return item


def monitoring_hours_text(hours: OfficeHours) -> str:
    """R-17: the published monitoring hours, e.g. 'vardagar 08:00–16:30'."""
    return f"vardagar {hours.opens:%H:%M}–{hours.closes:%H:%M}"
