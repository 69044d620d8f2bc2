"""R-37, R-43: when accounts are snapshotted, which changes call for one,
and what a package says about itself. Pure rules, fixed dates."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import holidays
import pytest
from pydantic import ValidationError

from domain import snapshot as snap
from domain.country import Country
from store.directory import parse_directory_yaml
from tests.support import EXEMPELBY

SE, NO = Country.SE, Country.NO
DEFAULT = snap.SnapshotPolicy()


def test_r37_default_dates_are_mid_march_and_mid_october() -> None:
    assert [str(d) for d in DEFAULT.dates] == ["03-15", "10-15"]
    # 15 March 2026 is a Sunday: Monday the 16th; 15 October is a Thursday.
    assert snap.scheduled_days(2026, SE, DEFAULT) == [date(2026, 3, 16), date(2026, 10, 15)]
    # 2027: 15 March a Monday, 15 October a Friday.
    assert snap.scheduled_days(2027, NO, DEFAULT) == [date(2027, 3, 15), date(2027, 10, 15)]


@pytest.mark.parametrize("year", range(2024, 2036))
@pytest.mark.parametrize("country", [SE, NO])
def test_r37_scheduled_days_are_working_days_never_july_nor_christmas(
        year: int, country: Country) -> None:
    official = holidays.country_holidays(country.value, years=[year, year + 1])
    for day in snap.scheduled_days(year, country, DEFAULT):
        assert day.weekday() < 5 and day not in official
        assert day.month != 7
        assert not (day >= date(day.year, 12, 20) or day <= date(day.year, 1, 6))


def test_r37_a_date_in_july_moves_to_the_first_working_day_of_august() -> None:
    # 1 August 2026 is a Saturday.
    assert snap.snapshot_day(date(2026, 7, 10), SE, DEFAULT) == date(2026, 8, 3)
    assert snap.snapshot_day(date(2026, 7, 31), NO, DEFAULT) == date(2026, 8, 3)


def test_r37_a_date_around_christmas_moves_past_twelfth_night() -> None:
    # 19 Dec 2026 is a Saturday: the next working day is inside the window, so
    # the snapshot waits until 7 January (6 January is Epiphany in Sweden
    # and inside the window in Norway, where it is a working day).
    assert snap.snapshot_day(date(2026, 12, 19), SE, DEFAULT) == date(2027, 1, 7)
    assert snap.snapshot_day(date(2026, 12, 28), NO, DEFAULT) == date(2027, 1, 7)
    assert snap.snapshot_day(date(2027, 1, 6), NO, DEFAULT) == date(2027, 1, 7)
    assert snap.in_blackout(date(2026, 12, 20), DEFAULT)
    assert not snap.in_blackout(date(2026, 12, 19), DEFAULT)


def test_r37_a_date_on_a_holiday_moves_by_the_countrys_calendar() -> None:
    """Maundy Thursday is a working day in Sweden and a holiday in Norway."""
    maundy_thursday = date(2026, 4, 2)
    assert snap.snapshot_day(maundy_thursday, SE, DEFAULT) == maundy_thursday
    # NO: skjærtorsdag, langfredag, the weekend, 2. påskedag: Tuesday 7 April.
    assert snap.snapshot_day(maundy_thursday, NO, DEFAULT) == date(2026, 4, 7)
    # 17 May, Norway's constitution day (a Monday in 2027), is a working day in Sweden.
    assert snap.snapshot_day(date(2027, 5, 17), NO, DEFAULT) == date(2027, 5, 18)
    assert snap.snapshot_day(date(2027, 5, 17), SE, DEFAULT) == date(2027, 5, 17)


def test_r43_policy_is_a_setting_with_validation() -> None:
    policy = snap.SnapshotPolicy.model_validate(
        {"dates": ["04-01", "11-01"], "at": "07:30", "summer_months": [6, 7, 8]})
    assert policy.at == time(7, 30)
    # 1 Nov 2026 is a Sunday (and All Saints' Day is Saturday 31 Oct in SE).
    assert snap.scheduled_days(2026, SE, policy) == [date(2026, 4, 1), date(2026, 11, 2)]
    assert snap.snapshot_day(date(2026, 6, 15), SE, policy) == date(2026, 9, 1)

    with pytest.raises(ValidationError, match="at least two"):
        snap.SnapshotPolicy.model_validate({"dates": ["03-15"]})
    with pytest.raises(ValidationError, match="days between two snapshots"):
        snap.SnapshotPolicy.model_validate({"dates": ["01-15", "03-15"]})
    with pytest.raises(ValidationError, match="not a day of the year"):
        snap.SnapshotPolicy.model_validate({"dates": ["02-30", "08-30"]})
    with pytest.raises(ValidationError, match="MM-DD"):
        snap.SnapshotPolicy.model_validate({"dates": ["3/15", "10-15"]})
    with pytest.raises(ValidationError, match="listed twice"):
        snap.SnapshotPolicy.model_validate({"dates": ["03-15", "3-15", "09-15"]})
    with pytest.raises(ValidationError, match="Extra inputs"):
        snap.SnapshotPolicy.model_validate({"dates": ["03-15", "10-15"], "when": "soon"})
    # 29 February is a day of the year; in a common year it is the 28th.
    leap = snap.SnapshotPolicy.model_validate({"dates": ["02-29", "08-29"]})
    assert leap.dates[0].in_year(2027) == date(2027, 2, 28)


def test_r43_snapshot_settings_come_from_the_directory_yaml() -> None:
    text = EXEMPELBY.read_text(encoding="utf-8")
    assert parse_directory_yaml(text).municipality.snapshots == DEFAULT
    custom = text.replace(
        "  diarium_prefix: KS\n",
        '  diarium_prefix: KS\n  snapshots:\n    dates: ["03-20", "10-20"]\n    at: "05:00"\n', 1)
    assert [str(d) for d in parse_directory_yaml(custom).municipality.snapshots.dates] == [
        "03-20", "10-20"]
    broken = custom.replace('"10-20"', '"13-20"')
    with pytest.raises(ValidationError, match="snapshots"):
        parse_directory_yaml(broken)


def test_r37_snapshot_moment_is_local_time_in_utc() -> None:
    # Stockholm is UTC+1 in March before the DST change, UTC+2 in October.
    assert snap.snapshot_moment(date(2026, 3, 16), DEFAULT, "Europe/Stockholm") == datetime(
        2026, 3, 16, 5, 0, tzinfo=UTC)
    assert snap.snapshot_moment(date(2026, 10, 15), DEFAULT, "Europe/Oslo") == datetime(
        2026, 10, 15, 4, 0, tzinfo=UTC)


def test_r37_major_changes_call_for_a_snapshot_administration_does_not() -> None:
    assert snap.major_change_reason("AccountActivated") == "activated"
    assert snap.major_change_reason("HandleChanged") == "handle-changed"
    assert snap.major_change_reason("ProfileChanged") == "profile-changed"
    for routine in ("AdminAdded", "AdminRemoved", "AdminTwoFactorConfirmed",
                    "AuthoritiesUpdated", "MessageSettingsChanged", "DeadlineReminderSent"):
        assert snap.major_change_reason(routine) is None
        assert routine in snap.NOT_MAJOR
    assert not set(snap.MAJOR_CHANGES) & snap.NOT_MAJOR


def test_snapshot_ids_carry_no_personal_data_and_are_stable() -> None:
    day = date(2026, 3, 16)
    assert snap.snapshot_key(snap.SnapshotReason.SCHEDULED, day) == "2026-03-16"
    assert snap.snapshot_key(snap.SnapshotReason.FINAL, day) == "final"
    assert snap.snapshot_key(snap.SnapshotReason.MAJOR_CHANGE, day,
                             label="activated") == "2026-03-16-activated"
    assert snap.snapshot_key(snap.SnapshotReason.ON_DEMAND, day,
                             label="0930") == "2026-03-16-on-demand-0930"
    with pytest.raises(ValueError, match="lowercase"):
        snap.snapshot_key(snap.SnapshotReason.ON_DEMAND, day, label="Anna Lind")
    assert snap.snapshot_id("exempelby", "kulturhuset-angen-instagram", "2026-03-16") == (
        "snapshot:exempelby:kulturhuset-angen-instagram:2026-03-16")
    assert snap.schedule_id("exempelby") == "snapshots:exempelby"


def test_package_metadata_refuses_a_reversed_period() -> None:
    fields = dict(package_id="p", kind=snap.PackageKind.SNAPSHOT,
                  created_at=datetime(2026, 3, 16, tzinfo=UTC), producer="Exempelby kommun",
                  producer_id="exempelby", archival_creator="Kultur", archival_creator_id="kultur",
                  record_class="x", start_date=date(2026, 3, 16), end_date=date(2026, 3, 1))
    with pytest.raises(ValidationError, match="end date"):
        snap.PackageMetadata.model_validate(fields)
    fields["end_date"] = date(2026, 3, 16)
    assert snap.PackageMetadata.model_validate(fields).content().startswith("Ögonblicksbild")
