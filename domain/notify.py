"""How a notification reaches a person (issue 13): at once, or in the
person's digest at a chosen hour on working days. Escalations and crisis
notices always go at once. Pure rules: time comes in as an argument.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

from pydantic import BaseModel, Field

from domain.calendar import is_working_day
from domain.country import Country


class DeliveryMode(StrEnum):
    IMMEDIATE = "immediate"
    DIGEST = "digest"


# Kinds of notifications rows (store/projections) that never wait for a
# digest: escalations, and what crisis mode says, and the notice
# of an undeliverable notification to the communications unit.
ALWAYS_AT_ONCE = frozenset({"escalation", "storm", "crisis_digest", "approval",
                            "undeliverable"})

LANGUAGES = ("sv", "nb", "en")


class NotificationPreference(BaseModel):
    mode: DeliveryMode = DeliveryMode.IMMEDIATE
    digest_hour: int = Field(default=8, ge=0, le=23)
    language: str | None = None  # None: the municipality's country's


def default_language(country: Country) -> str:
    return "nb" if country is Country.NO else "sv"


def language_of(preference: NotificationPreference, country: Country) -> str:
    return preference.language if preference.language in LANGUAGES else default_language(
        country)


def next_digest_at(now: datetime, hour: int, country: Country, tz: str) -> datetime:
    """The first moment at or after `now` that is `hour`:00 in the office's
    time zone on a working day of its country."""
    zone = ZoneInfo(tz)
    local = now.astimezone(zone)
    day = local.date()
    for _ in range(400):
        candidate = datetime.combine(day, time(hour), zone)
        if is_working_day(day, country) and candidate >= local:
            return candidate.astimezone(UTC)
        day += timedelta(days=1)
    raise ValueError("no working day within 400 days")  # pragma: no cover


def send_after(kind: str, preference: NotificationPreference, now: datetime,
               country: Country, tz: str) -> datetime:
    """When a notification of `kind`, first seen by the sender at `now`, may
    go: at once, unless the person chose a digest and it is not one of
    ALWAYS_AT_ONCE."""
    if preference.mode is DeliveryMode.DIGEST and kind not in ALWAYS_AT_ONCE:
        return next_digest_at(now, preference.digest_hour, country, tz)
    return now


def retry_delay(attempts: int, base: timedelta, cap: timedelta) -> timedelta:
    """The wait after the `attempts`-th failed delivery (1, 2, ...):
    base, doubling, capped."""
    exponent = max(0, min(attempts - 1, 30))
    return min(cap, base * (2 ** exponent))
