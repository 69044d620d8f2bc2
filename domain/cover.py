"""R-14, holiday cover: an absence and who is told instead of the absent,
shared by the account (domain.account.absences, where absences are
recorded) and its message cases (domain.message, told them by the account)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict

from domain.core import PersonId

# A cover who is away passes it on to their own cover, this many times at most.
_MAX_CHAIN = 10


class Absence(BaseModel):
    """R-14: an admin away from `starts_on` to `ends_on` (both days
    included, in the account's time zone: `starts_at` .. `ends_at`, the
    local midnights around them, or from when it was recorded), and who
    covers meanwhile: one of the account's admins or a named colleague of
    the directory."""

    model_config = ConfigDict(frozen=True)

    absence_id: str
    person: PersonId
    starts_on: date
    ends_on: date
    starts_at: datetime
    ends_at: datetime
    cover: PersonId

    def away_at(self, moment: datetime) -> bool:
        return self.starts_at <= moment < self.ends_at

    def local_end(self, timezone: str) -> str:
        """When it ends, as the account's wall clock reads (YYYY-MM-DDTHH:MM)."""
        return self.ends_at.astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%dT%H:%M")


def absence_among(absences: Sequence[Absence], person: str, at: datetime) -> Absence | None:
    """The absence `person` is on at `at`, if any."""
    return next((a for a in absences if a.person == person and a.away_at(at)), None)


def cover_recipients(absences: Sequence[Absence], recipients: Iterable[str], at: datetime,
                     fallback: Sequence[str]) -> tuple[list[str], dict[str, list[str]]]:
    """R-14: who is told at `at` instead of the absent among `recipients`,
    and for whom each cover is told. An absent cover's own cover takes it;
    where the chain comes back to someone away, `fallback` (the unit's
    manager and deputy) are told. Nobody away: the recipients as given."""
    told: list[str] = []
    covering: dict[str, list[str]] = {}
    for person in recipients:
        if absence_among(absences, person, at) is None:
            told.append(person)
            continue
        who, seen = person, {person}
        for _ in range(_MAX_CHAIN):
            away = absence_among(absences, who, at)
            if away is None:
                break
            who = away.cover
            if who in seen:
                break
            seen.add(who)
        takers = (who,) if absence_among(absences, who, at) is None else tuple(fallback)
        for taker in takers:
            told.append(taker)
            covering.setdefault(taker, [])
            if person not in covering[taker]:
                covering[taker].append(person)
    if not covering:
        return told, covering  # as before R-14, duplicates and all
    return list(dict.fromkeys(told)), covering
