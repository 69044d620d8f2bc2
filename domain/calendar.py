"""Working-day calendars for Swedish and Norwegian municipalities (R-23).

Answer deadlines count working days or office hours, so they skip weekends
and the country's holidays. Pure and deterministic: every time comes in as an
argument. Holidays are computed here rather than taken from the `holidays`
package, which is not safe in the Temporal sandbox (gettext, locale); the unit
tests check these functions against that package.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from datetime import UTC, date, datetime, time, timedelta
from functools import lru_cache
from types import MappingProxyType
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, model_validator

from domain.country import Country

# Lag 1989:253 took effect in 1990; earlier Swedish rules (Marie bebådelsedag
# and others) are not modelled, so older years are refused rather than guessed.
FIRST_SUPPORTED_YEAR = 1990

_FRIDAY, _SATURDAY = 4, 5


def easter_sunday(year: int) -> date:
    """Gregorian Easter Sunday (the anonymous algorithm, as given by Meeus)."""
    a = year % 19
    b, c = divmod(year, 100)
    d, e = divmod(b, 4)
    f = (b + 8) // 25
    g = (b - f + 1) // 3
    h = (19 * a + b - d - g + 15) % 30
    i, k = divmod(c, 4)
    m = (32 + 2 * e + 2 * i - h - k) % 7
    n = (a + 11 * h + 22 * m) // 451
    month, day = divmod(h + m - 7 * n + 114, 31)
    return date(year, month, day + 1)


def _first_weekday_from(day: date, weekday: int) -> date:
    return day + timedelta(days=(weekday - day.weekday()) % 7)


def _collect(pairs: Iterable[tuple[date, str]]) -> dict[date, str]:
    """Chronological dict; two holidays on one date (e.g. 1 May and Ascension
    in 2008) keep both names, joined by "; " as the `holidays` package does."""
    days: dict[date, str] = {}
    for day, name in sorted(pairs, key=lambda pair: pair[0]):
        days[day] = f"{days[day]}; {name}" if day in days else name
    return days


def public_holidays(year: int, country: Country) -> dict[date, str]:
    """Official public holidays of `year` with their local names."""
    if year < FIRST_SUPPORTED_YEAR:
        raise ValueError(f"holidays before {FIRST_SUPPORTED_YEAR} are not modelled")
    easter = easter_sunday(year)

    def after_easter(days: int) -> date:
        return easter + timedelta(days=days)

    if country == Country.SE:
        # Lag (1989:253) om allmänna helgdagar. Sundays are holidays too, but
        # weekends are handled by is_working_day.
        pairs = [
            (date(year, 1, 1), "Nyårsdagen"),
            (date(year, 1, 6), "Trettondedag jul"),
            (after_easter(-2), "Långfredagen"),
            (easter, "Påskdagen"),
            (after_easter(1), "Annandag påsk"),
            (date(year, 5, 1), "Första maj"),
            (after_easter(39), "Kristi himmelsfärdsdag"),
            (after_easter(49), "Pingstdagen"),
            (_first_weekday_from(date(year, 6, 20), _SATURDAY), "Midsommardagen"),
            (_first_weekday_from(date(year, 10, 31), _SATURDAY), "Alla helgons dag"),
            (date(year, 12, 25), "Juldagen"),
            (date(year, 12, 26), "Annandag jul"),
        ]
        # SFS 2004:1310: from 2005 the national day replaced Whit Monday.
        if year >= 2005:
            pairs.append((date(year, 6, 6), "Nationaldagen"))
        else:
            pairs.append((after_easter(50), "Annandag pingst"))
        return _collect(pairs)
    if country == Country.NO:
        # Lov om helligdager og helligdagsfred §2, plus lov om 1. og 17. mai
        # som høgtidsdager (1947).
        return _collect(
            [
                (date(year, 1, 1), "Nyttårsdag"),
                (after_easter(-3), "Skjærtorsdag"),
                (after_easter(-2), "Langfredag"),
                (easter, "Første påskedag"),
                (after_easter(1), "Andre påskedag"),
                (date(year, 5, 1), "1. mai"),
                (date(year, 5, 17), "17. mai"),
                (after_easter(39), "Kristi himmelfartsdag"),
                (after_easter(49), "Første pinsedag"),
                (after_easter(50), "Andre pinsedag"),
                (date(year, 12, 25), "Første juledag"),
                (date(year, 12, 26), "Andre juledag"),
            ]
        )
    raise ValueError(f"unknown country {country!r}")


@lru_cache(maxsize=256)
def _non_working_days(year: int, country: Country) -> Mapping[date, str]:
    # Read-only, because the cached mapping is shared by every caller (and by
    # every workflow in a worker, the module being passed through the sandbox).
    days = public_holidays(year, country)
    if country == Country.SE:
        # Lag (1930:173) om beräkning av lagstadgad tid §2 moves a deadline that
        # falls on these eves to the next weekday, like a Sunday or holiday.
        eves = [
            (_first_weekday_from(date(year, 6, 19), _FRIDAY), "Midsommarafton"),
            (date(year, 12, 24), "Julafton"),
            (date(year, 12, 31), "Nyårsafton"),
        ]
        days = _collect([*days.items(), *eves])
    # Norway: domstolloven §149 extends only to Saturdays, holidays and days
    # equal to them (1 and 17 May), so there are no extra days.
    return MappingProxyType(days)


def non_working_days(year: int, country: Country) -> dict[date, str]:
    """Public holidays plus the days that count as holidays for deadlines."""
    return dict(_non_working_days(year, country))


def is_working_day(day: date, country: Country) -> bool:
    return day.weekday() < 5 and day not in _non_working_days(day.year, country)


def next_working_day(day: date, country: Country) -> date:
    """The first working day strictly after `day`."""
    day += timedelta(days=1)
    while not is_working_day(day, country):
        day += timedelta(days=1)
    return day


def _local(start: datetime, tz: str) -> datetime:
    if start.tzinfo is None or start.utcoffset() is None:
        raise ValueError("start must be timezone-aware")
    return start.astimezone(ZoneInfo(tz))


def _to_utc(day: date, wall: time, tz: str) -> datetime:
    # Build the wall-clock time in the zone first, so a DST change between
    # start and deadline keeps the local time and moves the UTC one.
    return datetime.combine(day, wall, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def add_working_days(start: datetime, days: int, country: Country, tz: str) -> datetime:
    """`days` working days after `start`, at the same local wall-clock time, in UTC."""
    local = _local(start, tz)
    if _no_days(days):
        return local.astimezone(UTC)
    return _to_utc(_working_days_after(local.date(), days, country), local.time(), tz)


def _no_days(days: int) -> bool:
    if days < 0:
        raise ValueError("days must be >= 0")
    return days == 0


def _working_days_after(day: date, days: int, country: Country) -> date:
    for _ in range(days):
        day = next_working_day(day, country)
    return day


def working_days_between(start: date, end: date, country: Country) -> int:
    """Number of working days d with start < d <= end."""
    return sum(
        is_working_day(start + timedelta(days=n), country) for n in range(1, (end - start).days + 1)
    )


class OfficeHours(BaseModel):
    """Local opening hours of the municipality's office on working days."""

    model_config = ConfigDict(frozen=True)

    opens: time = time(8, 0)
    closes: time = time(16, 30)

    @model_validator(mode="after")
    def _opens_before_closes(self) -> OfficeHours:
        if self.opens.tzinfo is not None or self.closes.tzinfo is not None:
            raise ValueError("office hours are local wall-clock times, without a zone")
        if not self.opens < self.closes:
            raise ValueError("opens must be before closes")
        return self


def working_days_end(start: datetime, days: int, country: Country, tz: str,
                     office: OfficeHours) -> datetime:
    """The end of the office day (`office.closes`, local) on the `days`-th
    working day after `start`'s local date, in UTC (issue 14, item 8).

    A deadline of "N working days" falls at closing time, not at the clock
    time of the click: counted like `add_working_days` (the start's own day
    never counts, whatever the hour: a click at night, after closing or on a
    weekend counts from its calendar date), then set at the closing time of
    that day in the office's zone, so a DST change in between keeps the
    local closing time. `days == 0` is the start itself."""
    local = _local(start, tz)
    if _no_days(days):
        return local.astimezone(UTC)
    return _to_utc(_working_days_after(local.date(), days, country), office.closes, tz)


def working_days_due(start: datetime, days: int, country: Country, tz: str,
                     office: OfficeHours | None) -> datetime:
    """A deadline of `days` working days: at the end of the office day
    (`working_days_end`) given the office's hours; without them (`None`: a
    workflow recorded before issue 14 replays as it was decided) at the
    clock time of `start` (`add_working_days`)."""
    if office is None:
        return add_working_days(start, days, country, tz)
    return working_days_end(start, days, country, tz, office)


def _wall_span(day: date, start: time, end: time) -> timedelta:
    return datetime.combine(day, end) - datetime.combine(day, start)


def add_office_hours(
    start: datetime, hours: float, country: Country, tz: str, office: OfficeHours
) -> datetime:
    """The moment `hours` of office time have passed since `start`, in UTC.

    Only working days between `opens` and `closes` (local) count; outside them
    counting starts at the next opening. A deadline that is used up exactly at
    closing time ends at closing time, not at the next opening.
    """
    if not math.isfinite(hours) or hours < 0:
        raise ValueError("hours must be a finite number >= 0")
    local = _local(start, tz)
    if hours == 0:
        return local.astimezone(UTC)
    remaining = timedelta(hours=hours)
    day, clock = local.date(), max(local.time(), office.opens)
    while True:
        if is_working_day(day, country) and clock < office.closes:
            available = _wall_span(day, clock, office.closes)
            if remaining <= available:
                wall = datetime.combine(day, clock) + remaining
                return _to_utc(day, wall.time(), tz)
            remaining -= available
        day, clock = next_working_day(day, country), office.opens


def next_working_day_close(
    start: datetime, country: Country, tz: str, office: OfficeHours
) -> datetime:
    """Closing time of the first working day after start's local date (the
    "answer by the next working day" rule), in UTC."""
    day = next_working_day(_local(start, tz).date(), country)
    return _to_utc(day, office.closes, tz)
