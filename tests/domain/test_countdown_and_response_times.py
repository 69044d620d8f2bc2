"""Issue 11: the inbox's countdown (R-23, R-39) and the response-time
figures (R-42) beside the office-time arithmetic (domain.office_time)."""

from datetime import datetime
from zoneinfo import ZoneInfo

from domain.calendar import OfficeHours
from domain.country import DEFAULT_COUNTRY, DEFAULT_TIMEZONE, Country
from domain.office_time import (
    Countdown,
    ResponseSample,
    countdown,
    response_statistics,
)

SE = Country.SE
STOCKHOLM = "Europe/Stockholm"
OFFICE = OfficeHours()  # 08:00–16:30


def sthlm(*args: int) -> datetime:
    return datetime(*args, tzinfo=ZoneInfo(STOCKHOLM))


def test_r23_the_countdown_is_office_hours_to_the_deadline() -> None:
    # Friday 15:30 to Monday 10:00: 1 h on Friday, 2 h on Monday.
    left = countdown(sthlm(2026, 3, 16, 10, 0), sthlm(2026, 3, 13, 15, 30), SE, STOCKHOLM,
                     OFFICE)
    assert left == Countdown(hours=3.0, overdue=False, office=True)


def test_r23_past_the_deadline_the_countdown_says_how_late_in_office_hours() -> None:
    late = countdown(sthlm(2026, 3, 13, 15, 30), sthlm(2026, 3, 16, 10, 0), SE, STOCKHOLM,
                     OFFICE)
    assert late == Countdown(hours=3.0, overdue=True, office=True)


def test_r39_in_a_crisis_the_countdown_runs_around_the_clock() -> None:
    left = countdown(sthlm(2026, 3, 14, 23, 0), sthlm(2026, 3, 14, 21, 30), SE, STOCKHOLM,
                     OFFICE, around_the_clock=True)  # a Saturday night
    assert left == Countdown(hours=1.5, overdue=False, office=False)
    late = countdown(sthlm(2026, 3, 14, 21, 30), sthlm(2026, 3, 14, 23, 0), SE, STOCKHOLM,
                     OFFICE, around_the_clock=True)
    assert late == Countdown(hours=1.5, overdue=True, office=False)


def test_one_default_country_and_time_zone_for_rows_that_name_none() -> None:
    assert (DEFAULT_COUNTRY, DEFAULT_TIMEZONE) == (Country.SE, "Europe/Stockholm")


def _sample(received: datetime, responded: datetime | None, due: datetime, *,
            answered: bool = False) -> ResponseSample:
    return ResponseSample(received_at=received, first_response_at=responded, due=due,
                          answered=answered, country=SE, tz=STOCKHOLM, office=OFFICE)


def test_r42_response_times_are_counted_in_office_hours_against_the_deadline() -> None:
    due = sthlm(2026, 3, 16, 16, 30)
    samples = [
        # Wednesday 09:00 -> 11:00: 2 office hours, in time, answered.
        _sample(sthlm(2026, 3, 11, 9, 0), sthlm(2026, 3, 11, 11, 0), due, answered=True),
        # Friday 16:00 -> Monday 09:00: 0.5 + 1 = 1.5 office hours, in time.
        _sample(sthlm(2026, 3, 13, 16, 0), sthlm(2026, 3, 16, 9, 0), due),
        # Responded after its deadline: 8.5 office hours (a full Tuesday).
        _sample(sthlm(2026, 3, 17, 8, 0), sthlm(2026, 3, 17, 16, 30), sthlm(2026, 3, 17, 12, 0)),
        # Awaiting, past its deadline at `now`; and awaiting within it.
        _sample(sthlm(2026, 3, 18, 8, 0), None, sthlm(2026, 3, 18, 12, 0)),
        _sample(sthlm(2026, 3, 18, 9, 0), None, sthlm(2026, 3, 19, 12, 0)),
    ]
    figures = response_statistics(samples, now=sthlm(2026, 3, 18, 13, 0))
    assert (figures.received, figures.responded, figures.answered) == (5, 3, 1)
    assert (figures.awaiting_response, figures.overdue) == (2, 1)
    assert figures.median_office_hours == 2.0
    assert figures.p90_office_hours is not None and 2.0 < figures.p90_office_hours < 8.5
    assert (figures.within_deadline, figures.within_deadline_share) == (2, 2 / 3)


def test_r42_no_responses_no_figures() -> None:
    figures = response_statistics([], now=sthlm(2026, 3, 18, 13, 0))
    assert figures.median_office_hours is None and figures.within_deadline_share is None
