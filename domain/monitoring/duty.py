"""The monitoring settings (R-43), the duty they make with the account's
calendar and people, and the monitoring state (check-ins, posts, watch items)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.calendar import OfficeHours
from domain.country import Country


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
    # Issue 14 (item 8): a deadline of N working days ends at `office.closes`;
    # False for a workflow recorded before, which keeps the start's clock time.
    end_of_day: bool = True

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)


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
