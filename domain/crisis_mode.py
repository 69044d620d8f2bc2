"""What an account and its message cases carry while a crisis covers them
(R-39) or a storm of criticism is flagged on the account (R-40).

Values only, kept apart from `domain.crisis` (the crisis workflow's
decide/evolve) so that `domain.account` and `domain.message` can hold them
without importing the crisis rules (which import theirs).
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel, ConfigDict, Field


class CrisisMode(BaseModel):
    """The crisis rules in force (R-39): answers within `answer_within` and a
    check-in every `checkin_every`, both around the clock, and the notice that
    points to the website and phone."""

    model_config = ConfigDict(frozen=True)

    crisis_id: str
    municipality_id: str
    declared_at: datetime
    units: frozenset[str] = frozenset()  # empty: the whole municipality
    answer_within: timedelta = Field(gt=timedelta(0))
    checkin_every: timedelta = Field(gt=timedelta(0))
    notice: str = Field(min_length=1)
    # R-39 (Kristiansand: "all communication goes through crisis management"),
    # a setting of the municipality. While on, an admin's reply waits
    # for one of `crisis_management` (as the directory names them; a change
    # during the crisis reaches it as CrisisApproversChanged) to approve it;
    # defaults keep earlier crises decoding unchanged.
    through_crisis_management: bool = False
    crisis_management: frozenset[str] = frozenset()
    # the communications unit publishes in the crisis (a setting).
    communications_publish: bool = False
    communications: frozenset[str] = frozenset()

    def covers(self, unit_id: str) -> bool:
        """R-39: crisis management switches the whole municipality or chosen units."""
        return not self.units or unit_id in self.units


class StormFlag(BaseModel):
    """R-40: a storm of criticism flagged on an account, raised once; no
    second flag before `until` (the cool-down)."""

    model_config = ConfigDict(frozen=True)

    flagged_at: datetime
    until: datetime
    messages: int = Field(ge=1)
    critical: int = Field(ge=0)
    advice: str = "A storm of criticism: consider a topic page on the website (R-40)."


class CrisisStatus(BaseModel):
    """What the crisis workflow tells an account (signal `crisis_changed`)
    and its open message cases: the crisis rules that cover it, if any, and
    the account's storm flag while it lasts."""

    model_config = ConfigDict(frozen=True)

    mode: CrisisMode | None = None
    storm: StormFlag | None = None

    @property
    def notice(self) -> str | None:
        """R-39: the text the account shows while in crisis mode."""
        return self.mode.notice if self.mode else None


def checkin_interval(unit_id: str, crisis: CrisisStatus | CrisisMode | None) -> timedelta | None:
    """R-39: how often an account of `unit_id` is checked while a crisis
    covers it, around the clock (outside office hours too); None when no
    crisis covers it and the normal rules apply (R-15, R-16).

    For the account workflow: `checkin_interval(state.request.unit_id, state.crisis)`."""
    mode = crisis.mode if isinstance(crisis, CrisisStatus) else crisis
    if mode is None or not mode.covers(unit_id):
        return None
    return mode.checkin_every
