"""The business calendar behind R-23: answer within 24 office hours (Mora) or by
the next working day (Umeå); office hours and the public holidays of Sweden or
Norway apply. Checked against the `holidays` package, used here only as a
reference because it is not safe in the Temporal sandbox.
"""

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import holidays
import pydantic
import pytest
from holidays.constants import DE_FACTO, PUBLIC

from domain.calendar import (
    OfficeHours,
    add_office_hours,
    add_working_days,
    easter_sunday,
    is_working_day,
    next_working_day,
    next_working_day_close,
    non_working_days,
    public_holidays,
    working_days_between,
)
from domain.directory import Country

SE, NO = Country.SE, Country.NO
STOCKHOLM, OSLO = "Europe/Stockholm", "Europe/Oslo"
OFFICE = OfficeHours()  # 08:00–16:30, 8.5 office hours a day
YEARS = range(1995, 2046)


def local(tz: str, *args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(tz))


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


# --- holidays ---------------------------------------------------------------


@pytest.mark.parametrize(
    "year, expected",
    [
        (2000, date(2000, 4, 23)),
        (2024, date(2024, 3, 31)),
        (2025, date(2025, 4, 20)),
        (2026, date(2026, 4, 5)),
        (2027, date(2027, 3, 28)),
        (2038, date(2038, 4, 25)),
    ],
)
def test_easter_sunday_known_years(year: int, expected: date) -> None:
    assert easter_sunday(year) == expected


def names(days: dict[date, str]) -> dict[date, set[str]]:
    # Two holidays on one date (1 May = Ascension in 2008, 17 May = Ascension
    # in 2012) are joined with "; " by both sides, not necessarily in one order.
    return {day: set(name.split("; ")) for day, name in days.items()}


# The package's names follow the environment's locale unless a language is
# given (LANG=C gives English), and it adds every Sunday ("Söndag"/"Søndag")
# only with include_sundays=True. Sundays are weekend days to us, so the
# reference is asked for without them, explicitly, in case the default changes.
@pytest.mark.parametrize("year", YEARS)
def test_r23_swedish_public_holidays_match_holidays_package(year: int) -> None:
    reference = holidays.country_holidays(
        "SE", years=year, language="sv", include_sundays=False, categories=(PUBLIC,)
    )
    assert names(public_holidays(year, SE)) == names(dict(reference))


@pytest.mark.parametrize("year", YEARS)
def test_r23_swedish_non_working_days_add_the_eves_of_lag_1930_173(year: int) -> None:
    """The package files midsommarafton, julafton and nyårsafton under DE_FACTO
    (not PUBLIC): they are non-working days for deadlines, not holidays."""
    reference = holidays.country_holidays(
        "SE", years=year, language="sv", include_sundays=False, categories=(PUBLIC, DE_FACTO)
    )
    assert names(non_working_days(year, SE)) == names(dict(reference))


# Same days, other names: the package uses the common names, we the laws' words.
NO_NAMES = {
    "Første nyttårsdag": "Nyttårsdag",
    "Arbeidernes dag": "1. mai",
    "Grunnlovsdag": "17. mai",
}


@pytest.mark.parametrize("year", YEARS)
def test_r23_norwegian_public_holidays_match_holidays_package(year: int) -> None:
    reference = holidays.country_holidays("NO", years=year, language="no", include_sundays=False)
    expected = {
        day: {NO_NAMES.get(n, n) for n in name.split("; ")} for day, name in reference.items()
    }
    assert names(public_holidays(year, NO)) == expected
    assert non_working_days(year, NO) == public_holidays(year, NO)


def test_years_before_lag_1989_253_are_refused() -> None:
    with pytest.raises(ValueError):
        public_holidays(1989, SE)


def test_non_working_days_returns_a_copy_so_the_cache_cannot_be_changed() -> None:
    non_working_days(2025, SE).clear()
    assert date(2025, 12, 24) in non_working_days(2025, SE)


# --- working days -----------------------------------------------------------


@pytest.mark.parametrize(
    "day, se, no",
    [
        (date(2025, 4, 16), True, True),  # onsdag före påsk
        (date(2025, 4, 17), True, False),  # skjærtorsdag: Norway only
        (date(2025, 4, 18), False, False),  # långfredagen / langfredag
        (date(2025, 4, 21), False, False),  # annandag påsk / andre påskedag
        (date(2025, 4, 22), True, True),
        (date(2025, 5, 1), False, False),
        (date(2024, 5, 17), True, False),  # grunnlovsdag, a Friday
        (date(2025, 5, 29), False, False),  # Kristi himmelsfärdsdag
        (date(2025, 5, 30), True, True),
        (date(2025, 6, 6), False, True),  # nationaldagen, a Friday
        (date(2025, 6, 9), True, False),  # andre pinsedag; not Swedish since 2005
        (date(2004, 5, 31), False, False),  # annandag pingst, still Swedish in 2004
        (date(2025, 6, 20), False, True),  # midsommarafton counts in Sweden only
        (date(2025, 6, 23), True, True),  # sankthansaften is a working day in Norway
        (date(2025, 12, 24), False, True),  # julafton
        (date(2025, 12, 31), False, True),  # nyårsafton
        (date(2026, 1, 1), False, False),
        (date(2026, 1, 2), True, True),
        (date(2026, 1, 6), False, True),  # trettondedag jul
        (date(2025, 5, 10), False, False),  # a Saturday
    ],
)
def test_r23_is_working_day_in_sweden_and_norway(day: date, se: bool, no: bool) -> None:
    assert (is_working_day(day, SE), is_working_day(day, NO)) == (se, no)


def test_r23_next_working_day_skips_easter() -> None:
    assert next_working_day(date(2025, 4, 17), SE) == date(2025, 4, 22)
    assert next_working_day(date(2025, 4, 16), SE) == date(2025, 4, 17)
    assert next_working_day(date(2025, 4, 16), NO) == date(2025, 4, 22)


def test_r23_working_days_between() -> None:
    # December 2025 has 23 weekdays; Sweden loses 24, 25, 26 and 31, Norway 25 and 26.
    assert working_days_between(date(2025, 11, 30), date(2025, 12, 31), SE) == 19
    assert working_days_between(date(2025, 11, 30), date(2025, 12, 31), NO) == 21
    assert working_days_between(date(2025, 4, 17), date(2025, 4, 22), SE) == 1
    assert working_days_between(date(2025, 4, 22), date(2025, 4, 22), SE) == 0
    assert working_days_between(date(2025, 4, 22), date(2025, 4, 17), SE) == 0


# --- add_working_days: R-23, and lifecycle deadlines counted in working days --


def test_r23_lifecycle_deadline_in_working_days_skips_easter() -> None:
    """Thursday before Easter 10:00 + 1 working day = Tuesday after Easter 10:00;
    in 2024 Easter Sunday is also the spring DST change, so UTC moves an hour."""
    start = local(STOCKHOLM, 2024, 3, 28, 10)
    assert add_working_days(start, 1, SE, STOCKHOLM) == utc(2024, 4, 2, 8)
    # In Norway skjærtorsdag is itself a holiday.
    start = local(OSLO, 2025, 4, 16, 10)
    assert add_working_days(start, 1, NO, OSLO) == utc(2025, 4, 22, 8)


def test_r23_lifecycle_deadline_in_working_days_skips_christmas_and_new_year() -> None:
    start = local(STOCKHOLM, 2025, 12, 23, 9)
    assert add_working_days(start, 2, SE, STOCKHOLM) == utc(2025, 12, 30, 8)
    assert add_working_days(start, 3, SE, STOCKHOLM) == utc(2026, 1, 2, 8)
    assert add_working_days(local(OSLO, 2025, 12, 23, 9), 2, NO, OSLO) == utc(2025, 12, 29, 8)


def test_r23_lifecycle_deadline_in_working_days_skips_weekends() -> None:
    friday = local(STOCKHOLM, 2025, 5, 9, 16)
    assert add_working_days(friday, 1, SE, STOCKHOLM) == utc(2025, 5, 12, 14)
    assert add_working_days(friday, 5, SE, STOCKHOLM) == utc(2025, 5, 16, 14)


def test_r23_lifecycle_deadline_keeps_wall_time_over_autumn_dst_change() -> None:
    friday = local(STOCKHOLM, 2025, 10, 24, 10)  # CEST, 08:00 UTC
    assert add_working_days(friday, 1, SE, STOCKHOLM) == utc(2025, 10, 27, 9)  # CET


def test_r23_lifecycle_deadline_counts_from_the_local_date_of_any_zone() -> None:
    # 23:30 UTC on Thursday is already Good Friday 01:30 in Stockholm.
    start = utc(2025, 4, 17, 23, 30)
    assert add_working_days(start, 1, SE, STOCKHOLM) == utc(2025, 4, 21, 23, 30)
    new_york = local("America/New_York", 2025, 4, 17, 4)  # 10:00 in Stockholm
    assert add_working_days(new_york, 1, SE, STOCKHOLM) == utc(2025, 4, 22, 8)


def test_r23_lifecycle_deadline_of_zero_working_days_is_start_in_utc() -> None:
    start = local(STOCKHOLM, 2025, 4, 19, 12)  # a Saturday: still returned as is
    result = add_working_days(start, 0, SE, STOCKHOLM)
    assert result == start and result.utcoffset() == timedelta(0)


def test_r23_lifecycle_deadline_rejects_naive_start_and_negative_days() -> None:
    with pytest.raises(ValueError):
        add_working_days(datetime(2025, 4, 17, 10), 1, SE, STOCKHOLM)
    with pytest.raises(ValueError):
        add_working_days(local(STOCKHOLM, 2025, 4, 17, 10), -1, SE, STOCKHOLM)


# --- office hours: R-23, 24 office hours (Mora) ------------------------------


def test_office_hours_must_open_before_closing_and_are_frozen() -> None:
    with pytest.raises(pydantic.ValidationError):
        OfficeHours(opens=time(16, 30), closes=time(8))
    with pytest.raises(pydantic.ValidationError):
        OFFICE.opens = time(7)  # type: ignore[misc]


def test_r23_24_office_hours_from_friday_afternoon_across_a_weekend() -> None:
    # Friday 1.5 h, Monday 8.5 h, Tuesday 8.5 h, Wednesday 5.5 h -> 13:30.
    start = local(STOCKHOLM, 2025, 5, 9, 15)
    assert add_office_hours(start, 24, SE, STOCKHOLM, OFFICE) == utc(2025, 5, 14, 11, 30)


def test_r23_24_office_hours_across_easter() -> None:
    start = local(STOCKHOLM, 2025, 4, 17, 15)  # skärtorsdagen, a working day in Sweden
    assert add_office_hours(start, 24, SE, STOCKHOLM, OFFICE) == utc(2025, 4, 24, 11, 30)
    start = local(OSLO, 2025, 4, 16, 15)  # the day before skjærtorsdag
    assert add_office_hours(start, 24, NO, OSLO, OFFICE) == utc(2025, 4, 24, 11, 30)


def test_r23_24_office_hours_across_christmas() -> None:
    friday = local(STOCKHOLM, 2025, 12, 19, 15)
    # Sweden: julafton to annandag jul are off -> Monday 29th 13:30.
    assert add_office_hours(friday, 24, SE, STOCKHOLM, OFFICE) == utc(2025, 12, 29, 12, 30)
    # Norway works on julaften -> Wednesday 24th 13:30.
    assert add_office_hours(friday, 24, NO, OSLO, OFFICE) == utc(2025, 12, 24, 12, 30)


def test_r23_office_hours_used_up_at_closing_end_at_closing_across_new_year() -> None:
    # 1.5 h on the 30th, nyårsafton and nyårsdagen off, 8.5 h on Friday 2 January.
    start = local(STOCKHOLM, 2025, 12, 30, 15)
    assert add_office_hours(start, 10, SE, STOCKHOLM, OFFICE) == utc(2026, 1, 2, 15, 30)
    assert add_office_hours(start, 1.5, SE, STOCKHOLM, OFFICE) == utc(2025, 12, 30, 15, 30)


def test_r23_office_hours_across_17_may() -> None:
    thursday = local(OSLO, 2024, 5, 16, 15)
    # Norway: 17 May and andre pinsedag (20 May) are off -> Wednesday 22nd 10:00.
    assert add_office_hours(thursday, 12, NO, OSLO, OFFICE) == utc(2024, 5, 22, 8)
    # Sweden works both days -> Monday 20th 10:00.
    assert add_office_hours(thursday, 12, SE, STOCKHOLM, OFFICE) == utc(2024, 5, 20, 8)


def test_r23_office_hours_start_outside_office_time_count_from_next_opening() -> None:
    saturday = local(STOCKHOLM, 2025, 5, 10, 12)
    assert add_office_hours(saturday, 1, SE, STOCKHOLM, OFFICE) == utc(2025, 5, 12, 7)
    early = local(STOCKHOLM, 2025, 5, 12, 6)
    assert add_office_hours(early, 0.25, SE, STOCKHOLM, OFFICE) == utc(2025, 5, 12, 6, 15)
    late = local(STOCKHOLM, 2025, 5, 12, 18)
    assert add_office_hours(late, 1, SE, STOCKHOLM, OFFICE) == utc(2025, 5, 13, 7)


def test_r23_office_hours_follow_the_accounts_published_hours() -> None:
    early_office = OfficeHours(opens=time(6, 45), closes=time(16, 30))  # R-17's example
    start = local(STOCKHOLM, 2025, 5, 12, 16)
    assert add_office_hours(start, 1, SE, STOCKHOLM, early_office) == utc(2025, 5, 13, 5, 15)


def test_r23_office_hours_keep_wall_time_over_spring_dst_change() -> None:
    friday = local(STOCKHOLM, 2025, 3, 28, 15)  # CET
    assert add_office_hours(friday, 2, SE, STOCKHOLM, OFFICE) == utc(2025, 3, 31, 6, 30)


def test_r23_office_hours_zero_negative_and_naive() -> None:
    start = local(STOCKHOLM, 2025, 5, 10, 12)
    assert add_office_hours(start, 0, SE, STOCKHOLM, OFFICE) == start
    with pytest.raises(ValueError):
        add_office_hours(start, -1, SE, STOCKHOLM, OFFICE)
    with pytest.raises(ValueError):
        add_office_hours(start, float("nan"), SE, STOCKHOLM, OFFICE)
    with pytest.raises(ValueError):
        add_office_hours(datetime(2025, 5, 12, 9), 1, SE, STOCKHOLM, OFFICE)


# --- next working day at closing: R-23, Umeå ---------------------------------


def test_r23_next_working_day_close_after_a_weekend() -> None:
    for start in (local(STOCKHOLM, 2025, 5, 9, 10), local(STOCKHOLM, 2025, 5, 10, 10)):
        assert next_working_day_close(start, SE, STOCKHOLM, OFFICE) == utc(2025, 5, 12, 14, 30)


def test_r23_next_working_day_close_across_easter_uses_the_local_date() -> None:
    # 22:30 UTC on Wednesday is skärtorsdagen 00:30 in Stockholm.
    start = utc(2025, 4, 16, 22, 30)
    assert next_working_day_close(start, SE, STOCKHOLM, OFFICE) == utc(2025, 4, 22, 14, 30)
    wednesday = local(OSLO, 2025, 4, 16, 10)
    assert next_working_day_close(wednesday, NO, OSLO, OFFICE) == utc(2025, 4, 22, 14, 30)


def test_r23_next_working_day_close_midsummer_and_christmas() -> None:
    thursday = local(STOCKHOLM, 2025, 6, 19, 10)
    assert next_working_day_close(thursday, SE, STOCKHOLM, OFFICE) == utc(2025, 6, 23, 14, 30)
    assert next_working_day_close(thursday, NO, OSLO, OFFICE) == utc(2025, 6, 20, 14, 30)
    tuesday = local(STOCKHOLM, 2025, 12, 23, 10)
    assert next_working_day_close(tuesday, SE, STOCKHOLM, OFFICE) == utc(2025, 12, 29, 15, 30)
    assert next_working_day_close(tuesday, NO, OSLO, OFFICE) == utc(2025, 12, 24, 15, 30)


def test_r23_next_working_day_close_keeps_wall_time_over_autumn_dst_change() -> None:
    friday = local(OSLO, 2025, 10, 24, 10)
    assert next_working_day_close(friday, NO, OSLO, OFFICE) == utc(2025, 10, 27, 15, 30)
