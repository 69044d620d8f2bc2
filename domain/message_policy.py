"""How an account's messages are answered: office hours, the answer rule,
signatures, screening and the disposal decisions that apply (R-23, R-26,
R-33, R-35, R-43). A value, so a municipality sets a default, an account its
own, and crisis mode a stricter one."""

from __future__ import annotations

from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from domain.calendar import OfficeHours
from domain.screening import ScreeningPolicy


class AnswerRule(StrEnum):
    OFFICE_HOURS = "office_hours"  # Mora: within 24 office hours
    NEXT_WORKING_DAY = "next_working_day"  # Umeå: by the next working day


class SignatureRule(StrEnum):
    REQUIRED = "required"  # Kristiansand: "Skriv under med navn og gjerne enhet/avdeling"
    OPTIONAL = "optional"  # Mora: "behöver inte undertecknas med namn"
    OFF = "off"


class DisposalDecision(BaseModel):
    """A line of the records-management plan that allows disposal (R-35)."""

    model_config = ConfigDict(frozen=True)

    id: str = Field(min_length=1, max_length=50)
    description: str
    keep_days: int = Field(ge=0, description="Kept searchable this long after the decision")


DEFAULT_DISPOSAL_DECISIONS = (
    DisposalDecision(id="SM-1", keep_days=30, description=(
        "Inlägg av tillfällig eller ringa betydelse; gallras vid inaktualitet")),
    DisposalDecision(id="SM-2", keep_days=30, description=(
        "Inlägg utan samband med kommunens verksamhet")),
)


class MessagePolicy(BaseModel):
    """Per-account settings for answering (R-23, R-26, R-43); the defaults
    are the stricter readings of the seeds."""

    model_config = ConfigDict(frozen=True)

    office_hours: OfficeHours = OfficeHours()
    answer_rule: AnswerRule = AnswerRule.NEXT_WORKING_DAY
    answer_office_hours: float = Field(24, gt=0)
    reminder_after_office_hours: float = Field(4, gt=0)
    answer_after_acknowledgement_days: int = Field(10, ge=1)
    officer_days: int = Field(5, ge=1)
    # the stricter reading is the default (Kristiansand's).
    signature: SignatureRule = SignatureRule.REQUIRED
    disposal_decisions: tuple[DisposalDecision, ...] = DEFAULT_DISPOSAL_DECISIONS
    screening: ScreeningPolicy = ScreeningPolicy()
    # after the last escalation the case is chased again every this
    # many working days, until someone acts or a person with the right
    # closes it with a reason (the chain never goes silent).
    chase_every_working_days: int = Field(1, ge=1, le=20)
    # a copy is kept before every hide or deletion; where True,
    # also of advertising (Kristiansand: "Før et innlegg slettes, ta
    # skjermdump av innlegget"), the stricter default; False follows R-32
    # (Mora: advertising is removed and not kept).
    copy_before_every_deletion: bool = True
    # the disposal decision under which advertising is deleted, named
    # on the record when the person removing it names none.
    advertising_disposal_decision: str = "SM-2"
    # "watched" (no reply needed) as an outcome; only where the
    # municipality allows it (Mora); the stricter default answers everything.
    watched_allowed: bool = False
    # "ska gallras vid inaktualitet": the disposal decision under which
    # a watched comment (of minor importance by its nature) falls due.
    minor_records_decision: str = "SM-1"
    # an answered case that is neither registered nor disposed of: its
    # admins are reminded this many working days after the answer, the
    # manager hears after twice as many, then the chase every
    # `chase_every_working_days` until it is registered, disposed of or
    # closed with a reason.
    records_within_working_days: int = Field(5, ge=1, le=60)

    @model_validator(mode="after")
    def _decisions_unique(self) -> MessagePolicy:
        ids = [d.id for d in self.disposal_decisions]
        if len(set(ids)) != len(ids):
            raise ValueError("disposal decision ids must be unique")
        return self
