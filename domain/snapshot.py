"""Snapshots of official accounts and the archive packages they become (R-37, R-38).

R-37: a snapshot of each account every six months, mid-term (not in the
summer or around Christmas), and after a major change, showing layout and
content. R-38: before an account is closed it is captured and the capture is
handed to the registrar. Pure rules only: time and the country come in as
arguments; capture, rendering, packaging and delivery are activities.

- `SnapshotPolicy` is the per-municipality setting (R-43), `snapshots:` in the
  municipality section of the directory YAML; the defaults are mid-March and
  mid-October, never in July nor between 20 December and 6 January.
- `snapshot_day(nominal, country, policy)`: a nominal date that falls in a
  blackout or on a non-working day moves to the next allowed working day.
- `major_change_reason(event_type)`: which account events call for an
  on-demand snapshot (activation, a changed profile or handle); routine
  administration (admins, 2FA, authorities, message settings) does not.
- `PackageMetadata`: what an archive package says about itself (producer,
  archival creator, content type, dates, record class, files with checksums),
  written as METS by activities/snapshot_package.py.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Annotated, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

from domain.calendar import OfficeHours, is_working_day, working_days_due
from domain.core import NotAuthorised, RuleViolation, WrongStage
from domain.country import Country
from domain.text import CleanStrings

# ----------------------------------------------------------------------------- dates

_MONTH_DAY = re.compile(r"^(\d{1,2})-(\d{1,2})$")
_LEAP_YEAR = 2000  # a "month-day" is valid if it exists in some year (29 Feb does)


class MonthDay(BaseModel):
    """A day of the year without the year, written "MM-DD" in YAML."""

    model_config = ConfigDict(frozen=True)

    month: int = Field(ge=1, le=12)
    day: int = Field(ge=1, le=31)

    @model_validator(mode="before")
    @classmethod
    def _from_text(cls, value: object) -> object:
        if isinstance(value, str):
            match = _MONTH_DAY.match(value.strip())
            if match is None:
                raise ValueError(f"{value!r} is not a month and day written MM-DD, e.g. 03-15")
            return {"month": int(match.group(1)), "day": int(match.group(2))}
        return value

    @model_validator(mode="after")
    def _exists(self) -> MonthDay:
        try:
            date(_LEAP_YEAR, self.month, self.day)
        except ValueError:
            raise ValueError(f"{self.month:02d}-{self.day:02d} is not a day of the year") from None
        return self

    def in_year(self, year: int) -> date:
        """This day in `year`; 29 February in a common year is 28 February."""
        if self.month == 2 and self.day == 29 and not _is_leap(year):
            return date(year, 2, 28)
        return date(year, self.month, self.day)

    def __str__(self) -> str:
        return f"{self.month:02d}-{self.day:02d}"

    def _ordinal(self) -> int:
        return date(_LEAP_YEAR, self.month, self.day).timetuple().tm_yday


def _is_leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _wall_time(value: object) -> object:
    if isinstance(value, str) and re.fullmatch(r"\d{1,2}:\d{2}", value.strip()):
        return value.strip() + ":00"
    return value


WallTime = Annotated[time, BeforeValidator(_wall_time)]

# Six months "mid-term" with some slack: two dates more than seven months apart
# would leave an account unsnapshotted for longer than the guideline means.
MAX_GAP_DAYS = 214


class SnapshotPolicy(BaseModel):
    """R-37, R-43: when a municipality's accounts are snapshotted.

    YAML (municipality section of the directory)::

        snapshots:
          dates: ["03-15", "10-15"]      # nominal dates, each year
          at: "06:00"                    # local time of day
          summer_months: [7]             # never in these months
          christmas_from: "12-20"        # never from here ...
          christmas_to: "01-06"          # ... to here, inclusive
          record_class: "..."            # the diarium's record class
          screenshots_reminder_days: 3   # R-37: waiting for screenshots (working days):
          screenshots_escalation_days: 5 #   reminder to the admins, the unit's manager,
          screenshots_communications_days: 10  # then the communications unit
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    dates: tuple[MonthDay, ...] = (MonthDay(month=3, day=15), MonthDay(month=10, day=15))
    at: WallTime = time(6, 0)
    summer_months: tuple[int, ...] = (7,)
    christmas_from: MonthDay = MonthDay(month=12, day=20)
    christmas_to: MonthDay = MonthDay(month=1, day=6)
    record_class: str = Field("Ögonblicksbild av officiellt konto i sociala medier",
                              min_length=1, max_length=200)
    # a snapshot of a platform Kanalvakt cannot read waits
    # for its screenshots; working days after the request: a reminder to the
    # account's admins, escalation to the unit's manager and deputy, then to
    # the communications unit.
    screenshots_reminder_days: int = Field(3, ge=1, le=60)
    screenshots_escalation_days: int = Field(5, ge=1, le=60)
    screenshots_communications_days: int = Field(10, ge=1, le=120)

    @model_validator(mode="after")
    def _screenshot_chain(self) -> SnapshotPolicy:
        if not (self.screenshots_reminder_days < self.screenshots_escalation_days
                < self.screenshots_communications_days):
            raise ValueError(
                "R-37: screenshots_reminder_days < screenshots_escalation_days < "
                "screenshots_communications_days (reminder, then the manager, then the "
                f"communications unit); got {self.screenshots_reminder_days}, "
                f"{self.screenshots_escalation_days}, {self.screenshots_communications_days}")
        return self

    @model_validator(mode="after")
    def _semiannual(self) -> SnapshotPolicy:
        if len(self.dates) < 2:
            raise ValueError("R-37: at least two snapshot dates a year (every six months)")
        ordinals = sorted(d._ordinal() for d in self.dates)
        if len(set(ordinals)) != len(ordinals):
            raise ValueError("a snapshot date is listed twice")
        gaps = [b - a for a, b in zip(ordinals, ordinals[1:], strict=False)]
        gaps.append(366 - ordinals[-1] + ordinals[0])
        if max(gaps) > MAX_GAP_DAYS:
            raise ValueError(
                f"R-37: snapshot dates {', '.join(map(str, sorted(self.dates, key=str)))} "
                f"leave {max(gaps)} days between two snapshots; at most {MAX_GAP_DAYS} "
                "(every six months)")
        for month in self.summer_months:
            if not 1 <= month <= 12:
                raise ValueError(f"summer_months: {month} is not a month")
        if len(set(self.summer_months)) > 3:
            raise ValueError("summer_months: at most three months may be excluded")
        return self


def in_blackout(day: date, policy: SnapshotPolicy) -> bool:
    """R-37: never in the summer months nor in the Christmas window (which may
    run over the new year: 20 December to 6 January by default)."""
    if day.month in policy.summer_months:
        return True
    start, end = policy.christmas_from, policy.christmas_to
    key = (day.month, day.day)
    start_key, end_key = (start.month, start.day), (end.month, end.day)
    if start_key <= end_key:
        return start_key <= key <= end_key
    return key >= start_key or key <= end_key


def is_snapshot_day(day: date, country: Country, policy: SnapshotPolicy) -> bool:
    """A working day of the country outside the blackouts."""
    return is_working_day(day, country) and not in_blackout(day, policy)


def snapshot_day(nominal: date, country: Country, policy: SnapshotPolicy) -> date:
    """R-37: the day a snapshot due on `nominal` is taken: `nominal` itself if
    it is an allowed working day, else the next one (out of July, past New
    Year's week, off weekends and the country's public holidays)."""
    day = nominal
    for _ in range(400):
        if is_snapshot_day(day, country, policy):
            return day
        day += timedelta(days=1)
    raise ValueError(f"no allowed snapshot day within 400 days of {nominal}")  # pragma: no cover


def scheduled_days(year: int, country: Country, policy: SnapshotPolicy) -> list[date]:
    """The days of `year`'s scheduled snapshots, after moving."""
    return sorted(snapshot_day(d.in_year(year), country, policy) for d in policy.dates)


def snapshot_moment(day: date, policy: SnapshotPolicy, timezone: str) -> datetime:
    """When, in UTC, the snapshots of `day` are taken (the policy's local time)."""
    return datetime.combine(day, policy.at, tzinfo=ZoneInfo(timezone)).astimezone(UTC)


def local_date(moment: datetime, timezone: str) -> date:
    if moment.tzinfo is None:
        raise ValueError("moment must be timezone-aware")
    return moment.astimezone(ZoneInfo(timezone)).date()


def day_start(day: date, timezone: str) -> datetime:
    """The first moment of `day` in `timezone` (what local_date maps to it
    starts here)."""
    return datetime.combine(day, time.min, tzinfo=ZoneInfo(timezone))


# ----------------------------------------------------------------------------- reasons


class SnapshotReason(StrEnum):
    SCHEDULED = "scheduled"        # the semiannual snapshot
    MAJOR_CHANGE = "major_change"  # after a major change
    ON_DEMAND = "on_demand"        # a person asked for one
    FINAL = "final"                # before closure


# Account events that change what the public sees of the account: its first
# day, its name or handle, its profile. Everything else on the account's
# stream is administration (admins, 2FA, authorities, reminders, message
# settings) and leaves the account's face unchanged.
MAJOR_CHANGES: dict[str, str] = {
    "AccountActivated": "activated",
    "ProfileChanged": "profile-changed",
    "HandleChanged": "handle-changed",
    "AccountRenamed": "renamed",
    "ProfileTextChanged": "profile-changed",
    "CrisisNoticePublished": "crisis-notice",
}

NOT_MAJOR: frozenset[str] = frozenset({
    "AdminAdded", "AdminRemoved", "AdminTwoFactorConfirmed", "AdminCoverageLost",
    "AdminCoverageRestored", "AuthoritiesUpdated", "MessageSettingsChanged",
    "DeadlineReminderSent", "DeadlineEscalated", "ListedInRegister",
})


def major_change_reason(event_type: str) -> str | None:
    """R-37: the short reason an on-demand snapshot is taken after this
    account event, or None when the event is not a major change."""
    return MAJOR_CHANGES.get(event_type)


_KEY = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")


def snapshot_key(reason: SnapshotReason, day: date, *, label: str | None = None) -> str:
    """The last part of a snapshot's id: the date for a scheduled one,
    `final` for the closure's, else date and reason (and a label, e.g. the
    major change or the hour of an on-demand request). No personal data."""
    if reason is SnapshotReason.FINAL:
        return "final"
    key = day.isoformat()
    if reason is SnapshotReason.MAJOR_CHANGE:
        key += f"-{label or 'major-change'}"
    elif reason is SnapshotReason.ON_DEMAND:
        key += "-on-demand" + (f"-{label}" if label else "")
    if not _KEY.match(key):
        raise ValueError(f"snapshot key {key!r} must be lowercase letters, digits and '-'")
    return key


def snapshot_id(municipality_id: str, slug: str, key: str) -> str:
    """`snapshot:<municipality>:<slug>:<date or reason>`: the workflow id, the
    event stream and the diarium case of one snapshot (no personal data)."""
    return f"snapshot:{municipality_id}:{slug}:{key}"


def fanout_id(municipality_id: str) -> str:
    return f"snapshots:{municipality_id}"


def schedule_id(municipality_id: str) -> str:
    """The Temporal Schedule of a municipality's semiannual snapshots."""
    return f"snapshots:{municipality_id}"


def package_id(municipality_id: str, slug: str, key: str) -> str:
    """The archive package's name: a folder or object key, portable everywhere."""
    return f"{municipality_id}-{slug}-snapshot-{key}"


# ----------------------------------------------------------------------------- screenshots


class ScreenshotPeople(BaseModel):
    """Who hears of a snapshot waiting for screenshots, and who may end the wait."""

    model_config = ConfigDict(frozen=True)

    admins: tuple[str, ...] = ()
    managers: tuple[str, ...] = ()  # the unit's manager and deputy
    communications: tuple[str, ...] = ()


class ScreenshotStep(BaseModel):
    model_config = ConfigDict(frozen=True)

    key: str
    kind: Literal["remind", "escalate"]
    due: datetime
    recipients: tuple[str, ...]


def screenshot_wait_plan(requested_at: datetime, policy: SnapshotPolicy, country: Country,
                         timezone: str, people: ScreenshotPeople,
                         office: OfficeHours | None = None) -> list[ScreenshotStep]:
    """R-37, R-38: while a snapshot waits for screenshots, counted in working
    days of the country from the request: a reminder to the account's admins,
    escalation to the unit's manager and deputy, then to the communications
    unit (the municipality's settings, R-43). A step without anybody to tell
    goes to the communications unit. Given the account's `office` hours each
    step falls at the end of its office day (issue 14); without them (a
    workflow recorded before) at the clock time of the request."""
    spec: tuple[tuple[str, Literal["remind", "escalate"], int], ...] = (
        ("screenshots_reminder", "remind", policy.screenshots_reminder_days),
        ("screenshots_escalation", "escalate", policy.screenshots_escalation_days),
        ("screenshots_communications", "escalate", policy.screenshots_communications_days),
    )
    return [ScreenshotStep(key=name, kind=kind,
                           due=working_days_due(requested_at, days, country, timezone, office),
                           recipients=step_recipients(name, people))
            for name, kind, days in spec]


_STEP_PEOPLE = {"screenshots_reminder": "admins", "screenshots_escalation": "managers",
                "screenshots_communications": "communications"}


def step_recipients(key: str, people: ScreenshotPeople) -> tuple[str, ...]:
    """Who a step of the wait tells: the admins, the unit's manager and
    deputy, the communications unit; nobody there: the communications unit."""
    who: tuple[str, ...] = getattr(people, _STEP_PEOPLE[key])
    return tuple(sorted(set(who or people.communications)))


class ScreenshotWait(BaseModel):
    """A snapshot waiting for screenshots: the workflow's state, folded from
    its events (`evolve_wait`)."""

    snapshot_id: str
    account_id: str
    requested_at: datetime
    people: ScreenshotPeople
    steps: list[ScreenshotStep] = []
    fired: list[str] = []
    escalated: bool = False
    outcome: Literal["done", "record_only"] | None = None
    version: int = 0  # events on the snapshot's stream


class ScreenshotsDone(CleanStrings):
    """Command: the screenshots are uploaded; take the snapshot."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=64)


class PackageWithoutScreenshots(CleanStrings):
    """Command: package this snapshot without screenshots (record only)."""

    model_config = ConfigDict(extra="forbid")

    actor: str = Field(min_length=1, max_length=64)
    reason: str = Field(max_length=2000)  # at least ten characters: decide_record_only


MIN_REASON = 10


def may_end_screenshot_wait(people: ScreenshotPeople, who: str) -> bool:
    """R-37: the account's admins and the communications unit say the
    screenshots are uploaded."""
    return who in people.admins or who in people.communications


def decide_screenshots_done(wait: ScreenshotWait | None, command: ScreenshotsDone, *,
                            now: datetime, uploads: int | None) -> SnapshotScreenshotsDone:
    """R-37, R-38: an admin of the account or the communications unit ends
    the wait once at least one screenshot is uploaded (`uploads` None: not
    counted yet, as in an Update's validator)."""
    if wait is None or wait.outcome is not None:
        raise WrongStage("this snapshot is not waiting for screenshots",
                         key="snapshot.not_waiting")
    if not may_end_screenshot_wait(wait.people, command.actor):
        raise NotAuthorised(
            f"{command.actor} may not say the screenshots are uploaded: the account's "
            "admins and the communications unit may", key="snapshot.done_not_authorised")
    if uploads is not None and uploads < 1:
        raise RuleViolation("no screenshot is uploaded for this account yet: upload at "
                            "least one first", key="snapshot.no_screenshots")
    return SnapshotScreenshotsDone(at=now, actor=command.actor, snapshot_id=wait.snapshot_id,
                                   account_id=wait.account_id, screenshots=uploads or 0)


def decide_record_only(wait: ScreenshotWait | None, command: PackageWithoutScreenshots, *,
                       now: datetime) -> SnapshotRecordOnlyDecided:
    """R-37, R-38: only the communications unit may package a snapshot
    without screenshots, with a reason on the record."""
    if wait is None or wait.outcome is not None:
        raise WrongStage("this snapshot is not waiting for screenshots",
                         key="snapshot.not_waiting")
    if command.actor not in wait.people.communications:
        raise NotAuthorised(
            f"{command.actor} may not package without screenshots: only the communications "
            "unit may", key="snapshot.record_only_not_authorised")
    if len(command.reason.strip()) < MIN_REASON:
        raise RuleViolation(f"say why the snapshot is packaged without screenshots (at least "
                            f"{MIN_REASON} characters)", key="snapshot.reason_required",
                            params={"n": str(MIN_REASON)})
    return SnapshotRecordOnlyDecided(at=now, actor=command.actor,
                                     snapshot_id=wait.snapshot_id, account_id=wait.account_id,
                                     decision_reason=command.reason.strip())


def decide_wait_admins(wait: ScreenshotWait | None, admins: list[str] | tuple[str, ...], *,
                       now: datetime) -> list[SnapshotAdminsUpdated]:
    """R-12, R-13, R-37: the account's admins as they are now (an admin was
    added or removed while the snapshot waits): from then on they, and no
    others, may say the screenshots are uploaded. Nothing when the wait has
    ended or the list is the one the wait has already."""
    new = tuple(sorted(set(admins)))
    if any(not a for a in new):
        raise ValueError("an admin's person id is empty")
    if wait is None or wait.outcome is not None or new == wait.people.admins:
        return []
    return [SnapshotAdminsUpdated(at=now, actor="kanalvakt", snapshot_id=wait.snapshot_id,
                                  account_id=wait.account_id, admins=list(new))]


def fire_screenshot_step(wait: ScreenshotWait, step: ScreenshotStep, *, now: datetime
                         ) -> SnapshotScreenshotsReminderSent | SnapshotScreenshotsEscalated:
    cls = (SnapshotScreenshotsReminderSent if step.kind == "remind"
           else SnapshotScreenshotsEscalated)
    return cls(at=now, actor="kanalvakt", snapshot_id=wait.snapshot_id,
               account_id=wait.account_id, step=step.key, due=step.due,
               recipients=list(step.recipients))


def restep(step: ScreenshotStep, wait: ScreenshotWait) -> ScreenshotStep:
    """`step` told to the wait's people as they are now (admins and the
    unit's authorities change while a snapshot waits); its due stays."""
    return step.model_copy(update={"recipients": step_recipients(step.key, wait.people)})


def pending_screenshot_steps(wait: ScreenshotWait) -> list[ScreenshotStep]:
    fired = set(wait.fired)
    return [s for s in wait.steps if s.key not in fired]


def evolve_wait(wait: ScreenshotWait, event: ScreenshotWaitEvent) -> ScreenshotWait:
    update: dict[str, object] = {"version": wait.version + 1}
    match event:
        case SnapshotScreenshotsRequested():
            update["steps"] = list(event.steps)
        case SnapshotScreenshotsReminderSent():
            update["fired"] = [*wait.fired, event.step]
        case SnapshotScreenshotsEscalated():
            update["fired"] = [*wait.fired, event.step]
            update["escalated"] = True
        case SnapshotScreenshotsDone():
            update["outcome"] = "done"
        case SnapshotRecordOnlyDecided():
            update["outcome"] = "record_only"
        case SnapshotAdminsUpdated():
            update["people"] = wait.people.model_copy(
                update={"admins": tuple(sorted(set(event.admins)))})
    return wait.model_copy(update=update)


# ----------------------------------------------------------------------------- events


class _SnapshotEvent(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str | None = None


class SnapshotTaken(_SnapshotEvent):
    """R-37/R-38: the capture exists as an archive package."""

    type: Literal["SnapshotTaken"] = "SnapshotTaken"
    snapshot_id: str
    account_id: str
    municipality_id: str
    reason: SnapshotReason
    captured_at: datetime
    source: Literal["platform", "screenshots", "record_only"]
    posts: int = 0
    comments: int = 0
    screenshots: int = 0
    package_id: str
    manifest_sha256: str
    payload_oxum: str


class SnapshotRegistered(_SnapshotEvent):
    """The package is a document in the diarium with its number."""

    type: Literal["SnapshotRegistered"] = "SnapshotRegistered"
    snapshot_id: str
    account_id: str
    municipality_id: str
    diarium_number: str
    record_class: str
    registrars: list[str] = []


class SnapshotDelivered(_SnapshotEvent):
    """The package reached the registrar's archive location."""

    type: Literal["SnapshotDelivered"] = "SnapshotDelivered"
    snapshot_id: str
    account_id: str
    location: str  # a folder path or an s3:// URL
    kind: Literal["folder", "s3"]


class SnapshotScreenshotsRequested(_SnapshotEvent):
    """R-37, R-38: Kanalvakt cannot read the platform and no screenshots are
    uploaded: the snapshot waits for them and asks the account's admins."""

    type: Literal["SnapshotScreenshotsRequested"] = "SnapshotScreenshotsRequested"
    snapshot_id: str
    account_id: str
    municipality_id: str
    reason: SnapshotReason
    platform: str
    recipients: list[str] = []
    steps: list[ScreenshotStep] = []  # the reminder and escalations planned


class _ScreenshotStepFired(_SnapshotEvent):
    snapshot_id: str
    account_id: str
    step: str
    due: datetime
    recipients: list[str]


class SnapshotScreenshotsReminderSent(_ScreenshotStepFired):
    type: Literal["SnapshotScreenshotsReminderSent"] = "SnapshotScreenshotsReminderSent"


class SnapshotScreenshotsEscalated(_ScreenshotStepFired):
    type: Literal["SnapshotScreenshotsEscalated"] = "SnapshotScreenshotsEscalated"


class SnapshotScreenshotsDone(_SnapshotEvent):
    """An admin (or the communications unit) says the screenshots are uploaded."""

    type: Literal["SnapshotScreenshotsDone"] = "SnapshotScreenshotsDone"
    snapshot_id: str
    account_id: str
    screenshots: int


class SnapshotRecordOnlyDecided(_SnapshotEvent):
    """The communications unit decides to package without screenshots, and why."""

    type: Literal["SnapshotRecordOnlyDecided"] = "SnapshotRecordOnlyDecided"
    snapshot_id: str
    account_id: str
    decision_reason: str


class SnapshotAdminsUpdated(_SnapshotEvent):
    """R-12, R-13, R-37: the account's admins changed while the snapshot
    waits; these, and no others, may now say the screenshots are uploaded."""

    type: Literal["SnapshotAdminsUpdated"] = "SnapshotAdminsUpdated"
    snapshot_id: str
    account_id: str
    admins: list[str]


ScreenshotWaitEvent = (SnapshotScreenshotsRequested | SnapshotScreenshotsReminderSent
                       | SnapshotScreenshotsEscalated | SnapshotScreenshotsDone
                       | SnapshotRecordOnlyDecided | SnapshotAdminsUpdated)

SnapshotEvent = Annotated[
    SnapshotTaken | SnapshotRegistered | SnapshotDelivered | SnapshotScreenshotsRequested
    | SnapshotScreenshotsReminderSent | SnapshotScreenshotsEscalated | SnapshotScreenshotsDone
    | SnapshotRecordOnlyDecided | SnapshotAdminsUpdated, Field(discriminator="type")
]
SNAPSHOT_STREAM_PREFIX = "snapshot:"


# ----------------------------------------------------------------------------- packages


class PackageKind(StrEnum):
    SNAPSHOT = "snapshot"
    FINAL_SNAPSHOT = "final_snapshot"
    RECORDS_EXPORT = "records_export"


CONTENT_TYPES: dict[PackageKind, str] = {
    PackageKind.SNAPSHOT: "Ögonblicksbild av officiellt konto i sociala medier",
    PackageKind.FINAL_SNAPSHOT: "Slutlig ögonblicksbild före avslut av konto i sociala medier",
    PackageKind.RECORDS_EXPORT: "Uttag av allmänna handlingar från konto i sociala medier",
}


class PackageFile(BaseModel):
    model_config = ConfigDict(frozen=True)

    path: str  # relative to the bag's data/
    mime_type: str
    size: int = Field(ge=0)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


class PackageMetadata(BaseModel):
    """What a package says about itself, in the spirit of FGS Paketstruktur
    and E-ARK SIP (see docs/decisions.md for how far)."""

    model_config = ConfigDict(frozen=True)

    package_id: str
    kind: PackageKind
    created_at: datetime
    producer: str  # the municipality (arkivbildare's organisation)
    producer_id: str
    archival_creator: str  # the unit that holds the account
    archival_creator_id: str
    submitter: str = "Kanalvakt"
    system: str = "Kanalvakt"
    content_type: str = ""
    record_class: str
    diarium_number: str | None = None
    start_date: date
    end_date: date
    account_id: str | None = None
    account_name: str | None = None
    platform: str | None = None
    handle: str | None = None
    url: str | None = None
    files: tuple[PackageFile, ...] = ()

    @model_validator(mode="after")
    def _consistent(self) -> PackageMetadata:
        if self.end_date < self.start_date:
            raise ValueError("the package's end date is before its start date")
        if self.created_at.tzinfo is None:
            raise ValueError("created_at must be timezone-aware")
        return self

    def content(self) -> str:
        return self.content_type or CONTENT_TYPES[self.kind]
