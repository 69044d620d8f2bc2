"""Office time elapsed between two moments (R-23, R-42).

`domain.calendar.add_office_hours` answers "when is this deadline?";
`office_hours_between` answers the inverse, "how long did the answer take,
counted as the deadline counts?", so a response time and its deadline are
measured in the same units: only working days of the country, only between
the office's local opening and closing times. Pure: every time comes in as an
argument.
"""

from __future__ import annotations

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
