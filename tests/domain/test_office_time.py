"""Response times in office hours (R-42), counted as R-23's deadlines count:
working days of Sweden or Norway, between the office's local opening and
closing times."""

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.calendar import OfficeHours, add_office_hours
from domain.directory import Country
from domain.office_time import office_hours_between

SE, NO = Country.SE, Country.NO
STOCKHOLM, OSLO = "Europe/Stockholm", "Europe/Oslo"
OFFICE = OfficeHours()  # 08:00–16:30, 8.5 office hours a day


def sthlm(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(STOCKHOLM))


def oslo(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(OSLO))


def between(start: datetime, end: datetime, country: Country = SE, tz: str = STOCKHOLM,
            office: OfficeHours = OFFICE) -> float:
    return office_hours_between(start, end, country, tz, office)


def test_r42_zero_for_the_same_moment() -> None:
    at = sthlm(2026, 3, 11, 10, 0)
    assert between(at, at) == 0.0
    assert between(at, at.astimezone(UTC)) == 0.0  # the same moment in another zone


def test_r42_an_end_before_the_start_is_zero_not_negative() -> None:
    assert between(sthlm(2026, 3, 11, 12, 0), sthlm(2026, 3, 11, 10, 0)) == 0.0


def test_r42_within_one_working_day() -> None:
    assert between(sthlm(2026, 3, 11, 9, 15), sthlm(2026, 3, 11, 11, 45)) == 2.5


def test_r23_r42_friday_to_monday_across_a_weekend() -> None:
    """Friday 15:00 to Monday 09:00: 1.5 hours on Friday, 1 on Monday."""
    assert between(sthlm(2026, 3, 13, 15, 0), sthlm(2026, 3, 16, 9, 0)) == 2.5


def test_r23_r42_the_weekend_of_a_dst_change_keeps_local_office_hours() -> None:
    """Summer time starts on Sunday 29 March 2026; Monday still opens at 08:00 local."""
    assert between(sthlm(2026, 3, 27, 15, 0), sthlm(2026, 3, 30, 9, 0)) == 2.5


def test_r23_r42_easter_in_sweden() -> None:
    """Maundy Thursday 2 April 2026 is a working day in Sweden; Good Friday,
    the weekend and Easter Monday are not. Thursday 16:00 to Tuesday 09:00."""
    assert between(sthlm(2026, 4, 2, 16, 0), sthlm(2026, 4, 7, 9, 0)) == 1.5


def test_r23_r42_easter_in_norway_starts_on_maundy_thursday() -> None:
    """Skjærtorsdag is a holiday in Norway: Wednesday 16:00 to Tuesday 09:00
    counts only Wednesday's last half hour and Tuesday's first hour; in
    Sweden the whole Thursday counts too."""
    start, end = oslo(2026, 4, 1, 16, 0), oslo(2026, 4, 7, 9, 0)
    assert between(start, end, NO, OSLO) == 1.5
    assert between(start, end, SE, OSLO) == 1.5 + 8.5


@pytest.mark.parametrize(("start", "end"), [
    (sthlm(2026, 3, 14, 9, 0), sthlm(2026, 3, 15, 15, 0)),   # Saturday to Sunday
    (sthlm(2026, 3, 11, 17, 0), sthlm(2026, 3, 12, 7, 0)),   # evening to early morning
    (sthlm(2026, 3, 11, 6, 0), sthlm(2026, 3, 11, 7, 59)),   # before opening
    (sthlm(2026, 12, 24, 9, 0), sthlm(2026, 12, 26, 15, 0)),  # julafton to annandag jul
    (sthlm(2026, 6, 19, 9, 0), sthlm(2026, 6, 19, 15, 0)),   # midsommarafton
])
def test_r42_time_outside_office_hours_counts_nothing(start: datetime, end: datetime) -> None:
    assert between(start, end) == 0.0


def test_r42_a_message_received_at_night_counts_from_opening() -> None:
    assert between(sthlm(2026, 3, 10, 22, 0), sthlm(2026, 3, 11, 10, 30)) == 2.5


def test_r42_the_accounts_own_office_hours_apply() -> None:
    """R-17: monitoring hours differ per account, e.g. 06:45–16:30."""
    early = OfficeHours(opens=time(6, 45), closes=time(16, 30))
    assert between(sthlm(2026, 3, 11, 6, 0), sthlm(2026, 3, 11, 8, 0), office=early) == 1.25


@pytest.mark.parametrize("hours", [0, 0.25, 3, 8.5, 24, 40.75, 100])
@pytest.mark.parametrize("start", [
    sthlm(2026, 3, 13, 15, 0),    # a Friday afternoon
    sthlm(2026, 4, 1, 12, 0),     # the week of Easter
    sthlm(2026, 12, 22, 20, 0),   # before Christmas, after closing
    sthlm(2026, 3, 28, 12, 0),    # a Saturday before the DST change
])
def test_r23_r42_the_inverse_of_add_office_hours(start: datetime, hours: float) -> None:
    """A response that took exactly the deadline's office hours measures as
    those hours: the deadline and the statistic count alike."""
    due = add_office_hours(start, hours, SE, STOCKHOLM, OFFICE)
    assert between(start, due) == pytest.approx(hours)


def test_naive_datetimes_are_refused() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        between(datetime(2026, 3, 11, 9), sthlm(2026, 3, 11, 10))
    with pytest.raises(ValueError, match="timezone-aware"):
        between(sthlm(2026, 3, 11, 9), datetime(2026, 3, 11, 10))


def test_long_spans_add_up_working_days() -> None:
    """Four whole weeks without holidays (Monday 2 to Friday 27 February
    2026): 20 working days of 8.5 hours."""
    start = sthlm(2026, 2, 2, 0, 0)
    assert between(start, start + timedelta(days=26)) == 20 * 8.5
