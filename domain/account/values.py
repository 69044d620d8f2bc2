"""The account's values: its stages, the request and its sign-off checklist,
the admins and the archive package reference (payload shapes of the record)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
)
from pydantic_core import PydanticCustomError

from domain.calendar import OfficeHours
from domain.core import (
    Email,
    HttpsUrl,
    PersonId,
    Platform,
    Reason,
    ShortText,
    Text,
)
from domain.cover import Absence as Absence  # R-14, shared with the message cases
from domain.directory import Authorities
from domain.text import CleanStrings


class Stage(StrEnum):
    AWAITING_MANAGER = "awaiting_manager"
    RISK_ASSESSMENT = "risk_assessment"
    AWAITING_SIGNOFF = "awaiting_signoff"
    AMENDING = "amending"
    AWAITING_ACTIVATION = "awaiting_activation"
    ACTIVE = "active"
    CLOSING = "closing"
    CLOSED = "closed"
    REJECTED = "rejected"
    LAPSED = "lapsed"

    @property
    def terminal(self) -> bool:
        return self in {Stage.CLOSED, Stage.REJECTED, Stage.LAPSED}


class RiskAssessmentKind(StrEnum):
    ROS = "ros"  # risk- och sårbarhetsanalys
    DPIA = "dpia"  # konsekvensbedömning, GDPR art. 35


class Routine(StrEnum):
    """R-51: the routines a delegated account takes with it."""

    CRISIS = "crisis_communication"
    REGISTRATION = "registration"
    DISPOSAL = "disposal"
    ARCHIVING = "archiving"
    UNSUITABLE_POSTS = "unsuitable_or_confidential_posts"


class SignOffDecision(StrEnum):
    APPROVE = "approve"
    SEND_BACK = "send_back"
    REJECT = "reject"


class AccountRequest(CleanStrings):
    """What the intranet form asks (R-02), with the proposed admins (R-12)."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    unit_id: str = Field(min_length=1, max_length=64)
    platform: Platform
    account_name: ShortText
    purpose: Text
    target_audience: Text
    goals: Text
    message: Text
    dialogue_wanted: bool
    resources: Text = Field(description="People and time set aside for the account")
    hours_per_week: float = Field(gt=0, le=168)
    channel_rationale: Text = Field(description="Why this platform rather than another")
    proposed_admins: list[PersonId] = Field(min_length=2, max_length=20)
    contact_email: Email
    monitoring_hours: OfficeHours = OfficeHours()
    # the routines the unit takes on with the account (checked at sign-off).
    routines: list[Routine] = Field(default_factory=list, max_length=len(Routine))
    # a municipality-wide main account, owned by the communications unit.
    main_account: bool = False

    @field_validator("proposed_admins")
    @classmethod
    def _distinct_admins(cls, admins: list[str]) -> list[str]:
        if len(set(admins)) != len(admins):
            # The error's type is its stable key (web/rule_texts.py: rule.request.admin_twice).
            raise PydanticCustomError("request.admin_twice", "the same person is proposed twice")
        return admins


class RiskAssessment(BaseModel):
    model_config = ConfigDict(frozen=True)

    kind: RiskAssessmentKind
    document_ref: ShortText
    completed_on: date
    completed_by: PersonId
    recorded_by: PersonId


class SignOffChecklist(CleanStrings):
    """The communications unit's quality check before go-live."""

    model_config = ConfigDict(frozen=True)

    profile_names_municipality: bool = False
    profile_text: str | None = Field(None, max_length=4000)  # as published
    profile_links: list[HttpsUrl] = Field(default_factory=list, max_length=10)
    profile_states_purpose_and_rules: bool = False
    provider_identity_and_visibility_shown: bool = False
    terms_read_and_accepted_by: PersonId | None = None  # R-05, before issue 16: both in one
    terms_read_by: list[PersonId] = Field(default_factory=list, max_length=10)
    terms_accepted_by: PersonId | None = None  # an authorised person who read them
    communication_plan_checked: bool = False  # the plan quality-checked
    routines_checked: bool = False  # the delegated routines are in place
    public_channel: bool = True
    private_channel_reason: str | None = None  # a recorded exception
    unit_web_page_updated: bool = False
    municipality_has_login_access: bool = False

    def missing(self, authorities: Authorities) -> list[str]:
        """What still stands between this checklist and an approval."""
        return [gap.text for gap in self.gaps(authorities)]

    @property
    def terms_readers(self) -> list[str]:
        legacy = [self.terms_read_and_accepted_by] if self.terms_read_and_accepted_by else []
        return [*self.terms_read_by, *legacy]

    @property
    def terms_acceptor(self) -> str | None:
        return self.terms_accepted_by or self.terms_read_and_accepted_by

    def gaps(self, authorities: Authorities, *, terms_delegate: str | None = None,
             routines: Sequence[Routine] | None = None, legacy: bool = False) -> list[Reason]:
        """`missing`, each gap with its stable key (R-03, R-05, R-06,
        R-08..R-11, R-51). `terms_delegate`: the person the manager authorised
        to accept the platform's terms (R-05); `routines`: those the request
        names (R-51); `legacy`: the checklist as it was before issue 16."""
        gaps: list[Reason] = []
        if not self.profile_names_municipality:
            gaps.append(Reason("signoff.profile_sender",
                               "R-08: the profile must make the municipality the clear sender"))
        if not self.profile_links:
            gaps.append(Reason("signoff.profile_links",
                               "R-08: the profile must link the unit's page and the policy page"))
        if not (self.profile_text or "").strip():
            gaps.append(Reason("signoff.profile_text",
                               "R-09: record the profile text as it is published"))
        if not self.profile_states_purpose_and_rules:
            gaps.append(Reason("signoff.profile_purpose",
                               "R-09: the profile must state purpose, comment rules and hours"))
        if not self.provider_identity_and_visibility_shown:
            gaps.append(Reason("signoff.provider_notice", "R-10: the provider's identity and "
                               "visibility notice must be shown"))
        who = self.terms_acceptor
        if who is None:
            gaps.append(Reason("signoff.terms",
                               "R-05: the platform's terms must be read and accepted"))
        elif not (authorities.is_manager(who) or authorities.is_communications(who)
                  or (terms_delegate is not None and who == terms_delegate)):
            gaps.append(Reason("signoff.terms_by_whom",
                               f"R-05: {who} is not authorised to accept the platform's terms",
                               {"person": who}))
        elif not legacy and who not in self.terms_readers:
            gaps.append(Reason("signoff.terms_unread",
                               f"R-05: {who} accepts the platform's terms only after reading "
                               "them: record who read them", {"person": who}))
        if not self.public_channel and not (self.private_channel_reason or "").strip():
            gaps.append(Reason("signoff.private_channel",
                               "R-11: a non-public channel needs a recorded exception"))
        if not self.unit_web_page_updated:
            gaps.append(Reason("signoff.web_page",
                               "R-06: the unit's web page must be updated before go-live"))
        if not self.municipality_has_login_access:
            gaps.append(Reason("signoff.login_access",
                               "R-06: the municipality must have access to the account's login"))
        if not legacy and not self.communication_plan_checked:
            gaps.append(Reason("signoff.communication_plan",
                               "R-03: the account's communication plan must be quality-checked"))
        if not legacy and routines is not None:
            left = [r.value for r in Routine if r not in routines]
            if left:
                gaps.append(Reason("signoff.routines_missing",
                                   "R-51: the request must name the routines delegated with the "
                                   "account; missing: " + ", ".join(left),
                                   {"routines": ", ".join(left)}))
            if not self.routines_checked:
                gaps.append(Reason("signoff.routines_checked",
                                   "R-51: check that the delegated routines are in place"))
        return gaps


class Admin(BaseModel):
    model_config = ConfigDict(frozen=True)

    person: PersonId
    two_factor: bool = False


class ArchivePackageRef(BaseModel):
    model_config = ConfigDict(frozen=True)

    package_id: str
    path: str
    manifest_sha256: str
    payload_oxum: str

