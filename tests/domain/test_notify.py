"""When a notification may go (issue 13): at once, or in the person's digest
at their hour on a working day; escalations and crisis notices at once."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from domain.country import Country
from domain.notify import (
    ALWAYS_AT_ONCE,
    DeliveryMode,
    NotificationPreference,
    language_of,
    next_digest_at,
    retry_delay,
    send_after,
)

DIGEST_8 = NotificationPreference(mode=DeliveryMode.DIGEST, digest_hour=8)


def test_at_once_is_now() -> None:
    now = datetime(2026, 12, 12, 22, 0, tzinfo=UTC)  # a Saturday night
    assert send_after("reminder", NotificationPreference(), now, Country.SE,
                      "Europe/Stockholm") == now


@pytest.mark.parametrize("kind", sorted(ALWAYS_AT_ONCE))
def test_r22_r39_escalations_and_crisis_notices_never_wait_for_a_digest(kind: str) -> None:
    now = datetime(2026, 12, 12, 22, 0, tzinfo=UTC)
    assert send_after(kind, DIGEST_8, now, Country.SE, "Europe/Stockholm") == now


def test_a_digest_goes_at_the_hour_on_the_next_working_day() -> None:
    # Wednesday 23 December 2026, 09:00 Stockholm: past 08:00; the 24th-26th
    # are holidays in Sweden (Christmas Eve counts as one), the 27th a Sunday.
    now = datetime(2026, 12, 23, 8, 0, tzinfo=UTC)
    assert send_after("reminder", DIGEST_8, now, Country.SE, "Europe/Stockholm") == datetime(
        2026, 12, 28, 7, 0, tzinfo=UTC)
    # before the hour on a working day: today
    early = datetime(2026, 12, 22, 6, 0, tzinfo=UTC)
    assert next_digest_at(early, 8, Country.SE, "Europe/Stockholm") == datetime(
        2026, 12, 22, 7, 0, tzinfo=UTC)


def test_the_digest_hour_is_the_office_s_local_hour_across_summer_time() -> None:
    summer = datetime(2026, 6, 30, 4, 0, tzinfo=UTC)  # Tuesday, 06:00 in Oslo
    assert next_digest_at(summer, 8, Country.NO, "Europe/Oslo") == datetime(
        2026, 6, 30, 6, 0, tzinfo=UTC)


def test_r17_17_may_is_no_working_day_in_norway() -> None:
    monday = datetime(2027, 5, 17, 3, 0, tzinfo=UTC)
    assert next_digest_at(monday, 8, Country.NO, "Europe/Oslo").date().isoformat() == \
        "2027-05-18"
    assert next_digest_at(monday, 8, Country.SE, "Europe/Stockholm").date().isoformat() == \
        "2027-05-17"


def test_the_language_is_the_person_s_or_their_country_s() -> None:
    assert language_of(NotificationPreference(), Country.NO) == "nb"
    assert language_of(NotificationPreference(), Country.SE) == "sv"
    assert language_of(NotificationPreference(language="en"), Country.NO) == "en"


def test_retries_back_off_doubling_up_to_the_cap() -> None:
    base, cap = timedelta(seconds=30), timedelta(minutes=5)
    assert [retry_delay(n, base, cap).total_seconds() for n in range(1, 7)] == [
        30, 60, 120, 240, 300, 300]
