"""Office time elapsed between two moments (R-23, R-42), and what is counted
in it: the inbox's countdown to a deadline and the response-time figures.

`domain.calendar.add_office_hours` answers "when is this deadline?";
`office_hours_between` answers the inverse, "how long did the answer take,
counted as the deadline counts?", so a response time and its deadline are
measured in the same units: only working days of the country, only between
the office's local opening and closing times. Pure: every time comes in as an
argument.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from domain.calendar import OfficeHours, is_working_day
from domain.directory import Country


def _aware(moment: datetime, name: str) -> datetime:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{name} must be timezone-aware")
    return moment.astimezone(UTC)


def _at(day: date, wall: time, zone: ZoneInfo) -> datetime:
    # Wall-clock time in the zone first, then UTC: a DST change between start
    # and end moves the UTC hour and keeps the office's local opening hours.
    return datetime.combine(day, wall, tzinfo=zone).astimezone(UTC)


def office_hours_between(start: datetime, end: datetime, country: Country, tz: str,
                         office: OfficeHours) -> float:
    """Hours of office time in [start, end]: the parts of working days
    between `office.opens` and `office.closes` (local to `tz`) that lie
    between the two moments. Never negative: an `end` before `start` is 0.

    The inverse of `add_office_hours`: for h >= 0,
    office_hours_between(s, add_office_hours(s, h, ...), ...) == h.
    """
    start, end = _aware(start, "start"), _aware(end, "end")
    if end <= start:
        return 0.0
    zone = ZoneInfo(tz)
    total = timedelta()
    day, last = start.astimezone(zone).date(), end.astimezone(zone).date()
    while day <= last:
        if is_working_day(day, country):
            opens, closes = _at(day, office.opens, zone), _at(day, office.closes, zone)
            overlap = min(end, closes) - max(start, opens)
            if overlap > timedelta():
                total += overlap
        day += timedelta(days=1)
    return total / timedelta(hours=1)


# --------------------------------------------------------------------------- the inbox's countdown


@dataclass(frozen=True)
class Countdown:
    """The time left to a deadline (`overdue`: the time past it), in office
    hours (`office`) or, while a crisis's deadline applies, around the clock."""

    hours: float
    overdue: bool
    office: bool


def countdown(due: datetime, now: datetime, country: Country, tz: str, office: OfficeHours, *,
              around_the_clock: bool = False) -> Countdown:
    """R-23: the time to a case's next deadline in the account's office
    hours, or past it; R-39: around the clock while a crisis's deadline
    applies. Rounded to a tenth of an hour, as the inbox shows it."""
    if around_the_clock:
        hours = (due - now).total_seconds() / 3600
        return Countdown(hours=round(abs(hours), 1), overdue=hours < 0, office=False)
    if due >= now:
        return Countdown(hours=round(office_hours_between(now, due, country, tz, office), 1),
                         overdue=False, office=True)
    return Countdown(hours=round(office_hours_between(due, now, country, tz, office), 1),
                     overdue=True, office=True)


# --------------------------------------------------------------------------- response times


@dataclass(frozen=True)
class ResponseSample:
    """One citizen message for R-42: when it was received (published,
    R-21), its first response if any, the answer deadline of the account's
    policy (R-23), whether it reached an answer (R-22), and the office hours
    its time is counted in."""

    received_at: datetime
    first_response_at: datetime | None
    due: datetime
    answered: bool
    country: Country
    tz: str
    office: OfficeHours


@dataclass(frozen=True)
class ResponseStatistics:
    """R-42: how fast messages got a response, in office hours."""

    received: int
    responded: int
    answered: int
    awaiting_response: int
    overdue: int  # awaiting a response past their deadline
    median_office_hours: float | None
    p90_office_hours: float | None
    within_deadline: int
    within_deadline_share: float | None  # within_deadline / responded


def percentile(values: list[float], q: int) -> float | None:
    """The q-th percentile, interpolated between ranks (statistics' inclusive method)."""
    if not values:
        return None
    if len(values) == 1:
        return values[0]
    return statistics.quantiles(values, n=100, method="inclusive")[q - 1]


def response_statistics(samples: list[ResponseSample], now: datetime) -> ResponseStatistics:
    """R-42, R-23: a response is counted from receipt to the first response
    in office hours, as the deadline is; "within deadline" is against the
    first answer deadline; one awaiting a response past it at `now` is overdue."""
    hours: list[float] = []
    within = awaiting = overdue = answered = 0
    for sample in samples:
        answered += sample.answered
        if sample.first_response_at is None:
            awaiting += 1
            overdue += sample.due < now
            continue
        hours.append(office_hours_between(sample.received_at, sample.first_response_at,
                                          sample.country, sample.tz, sample.office))
        within += sample.first_response_at <= sample.due
    responded = len(hours)
    return ResponseStatistics(
        received=len(samples), responded=responded, answered=answered,
        awaiting_response=awaiting, overdue=overdue,
        median_office_hours=statistics.median(hours) if hours else None,
        p90_office_hours=percentile(hours, 90), within_deadline=within,
        within_deadline_share=within / responded if responded else None)
