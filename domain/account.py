"""The official account's lifecycle, as pure decide/evolve functions.

    request (R-02) -> manager approval (R-01, R-13) -> ROS and DPIA (R-04)
    -> communications sign-off, possibly sent back and amended (R-03, R-05, R-08..R-11)
    -> activation with >= 2 admins with 2FA (R-12), listed in the public register (R-07)
    -> active -> closure with a final snapshot for the registrar (R-19, R-38)

`decide(state, command, now=...)` returns the events a command causes or
raises a `DomainError`; `evolve(state, event)` folds one event into the state.
Time comes in as an argument, never from a clock, so the account workflow and
the read-model projection fold the same events into the same state.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any, Literal
from zoneinfo import ZoneInfo

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
    field_validator,
)
from pydantic_core import PydanticCustomError

from domain import monitoring as mon
from domain.calendar import OfficeHours, add_working_days
from domain.core import (
    SYSTEM,
    DeadlineStep,
    Email,
    HttpsUrl,
    NotAuthorised,
    PersonId,
    Platform,
    Reason,
    RuleViolation,
    ShortText,
    Text,
    TimeZoneName,
    WrongStage,
)
from domain.core import (
    DomainError as DomainError,  # re-exported: callers catch acc.DomainError
)
from domain.crisis_mode import CrisisStatus, checkin_interval
from domain.directory import Authorities, Country
from domain.message_policy import MessagePolicy
from domain.policy import LifecyclePolicy
from domain.screening import confidential_in_outgoing
from domain.text import CleanStrings

# --------------------------------------------------------------------------- values

# How far ahead of the workflow's clock a reported time may be (clocks differ).
_CLOCK_SKEW = timedelta(minutes=5)


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


# --------------------------------------------------------------------------- events

class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str | None = None


class AccountRequested(_Event):
    type: Literal["AccountRequested"] = "AccountRequested"
    account_id: str
    municipality_id: str
    slug: str
    country: Country
    timezone: str
    request: AccountRequest
    authorities: Authorities
    policy: LifecyclePolicy = LifecyclePolicy()


class ManagerApproved(_Event):
    type: Literal["ManagerApproved"] = "ManagerApproved"
    comment: str | None = None
    # "manager", "deputy" or "next_level" (R-53: the manager's own request).
    approved_as: str | None = None
    # the admins the manager appoints with the approval (the proposed ones).
    admins: list[str] = []
    # the person the manager authorises to accept the platform's terms.
    terms_delegate: str | None = None
    # the manager confirmed the admins have working time, resources and knowledge.
    admins_equipped: bool = False


class RequestRejected(_Event):
    type: Literal["RequestRejected"] = "RequestRejected"
    stage: Stage
    reason: str


class RiskAssessmentRecorded(_Event):
    type: Literal["RiskAssessmentRecorded"] = "RiskAssessmentRecorded"
    assessment: RiskAssessment


class SignOffApproved(_Event):
    type: Literal["SignOffApproved"] = "SignOffApproved"
    checklist: SignOffChecklist
    comment: str | None = None
    # where a new page only informs the communications unit, who was told.
    informed: list[str] = []


class SentBackForChanges(_Event):
    type: Literal["SentBackForChanges"] = "SentBackForChanges"
    checklist: SignOffChecklist
    comment: str
    # sent back for another platform: the amendment may change it.
    platform_may_change: bool = False


class RequestAmended(_Event):
    type: Literal["RequestAmended"] = "RequestAmended"
    request: AccountRequest
    comment: str | None = None


class AccountActivated(_Event):
    type: Literal["AccountActivated"] = "AccountActivated"
    handle: str
    url: str
    admins: list[Admin]
    platform_account_id: str | None = None


class ListedInRegister(_Event):
    type: Literal["ListedInRegister"] = "ListedInRegister"


class AdminAdded(_Event):
    type: Literal["AdminAdded"] = "AdminAdded"
    admin: Admin


class AdminRemoved(_Event):
    type: Literal["AdminRemoved"] = "AdminRemoved"
    person: str
    reason: str | None = None


class PublisherAppointed(_Event):
    """R-52 (Kristiansand: "administrator (minst to) og publisent"): a
    person who publishes on the account beside its admins, appointed by the
    manager, who keeps the editorial responsibility (R-13)."""

    type: Literal["PublisherAppointed"] = "PublisherAppointed"
    person: str


class PublisherRemoved(_Event):
    type: Literal["PublisherRemoved"] = "PublisherRemoved"
    person: str


class AdminTwoFactorConfirmed(_Event):
    type: Literal["AdminTwoFactorConfirmed"] = "AdminTwoFactorConfirmed"
    person: str


class AdminCoverageLost(_Event):
    """Fewer than two admins with 2FA remain (R-12); a restore deadline runs."""

    type: Literal["AdminCoverageLost"] = "AdminCoverageLost"
    admins_with_two_factor: int


class AdminCoverageRestored(_Event):
    type: Literal["AdminCoverageRestored"] = "AdminCoverageRestored"


class _StepFired(_Event):
    """A reminder or escalation of the deadline plan, to its recipients."""

    step: str
    stage: Stage
    due: datetime
    recipients: list[str]


StepFired = _StepFired  # the base, for readers of the record (notifications)


class DeadlineReminderSent(_StepFired):
    type: Literal["DeadlineReminderSent"] = "DeadlineReminderSent"


class DeadlineEscalated(_StepFired):
    type: Literal["DeadlineEscalated"] = "DeadlineEscalated"


class RequestLapsed(_Event):
    type: Literal["RequestLapsed"] = "RequestLapsed"
    step: str
    stage: Stage
    due: datetime


class CheckInReminderSent(_StepFired):
    """R-15: no check-in by midday, or too few by the afternoon check."""

    type: Literal["CheckInReminderSent"] = "CheckInReminderSent"
    day: date


class CheckInEscalated(_StepFired):
    """R-15: a working day ended with too few check-ins (`day`), or R-16:
    seven days passed without any (`day` is None, `since` the last one)."""

    type: Literal["CheckInEscalated"] = "CheckInEscalated"
    day: date | None = None
    since: datetime | None = None


class PostingRhythmWarned(_StepFired):
    """R-18: fewer posts in the week than recommended (a warning, not a block)."""

    type: Literal["PostingRhythmWarned"] = "PostingRhythmWarned"
    week_starting: date
    posts: int
    expected: int


class ClosureProposed(_StepFired):
    """R-19: no posts for the set period; the communications unit closes or keeps."""

    type: Literal["ClosureProposed"] = "ClosureProposed"
    inactive_since: datetime


class ClosureProposedForBreach(_StepFired):
    """R-19: the account keeps breaking the rules (`breach`: "admins", fewer
    than two admins with 2FA; "check_ins", no check-in) since `since`; the
    communications unit closes it or keeps it with a reason."""

    type: Literal["ClosureProposedForBreach"] = "ClosureProposedForBreach"
    breach: str
    since: datetime


class WatchItemReminderSent(_StepFired):
    """R-20: a watch item is still open with the manager."""

    type: Literal["WatchItemReminderSent"] = "WatchItemReminderSent"
    item_id: str


class WatchItemEscalated(_StepFired):
    type: Literal["WatchItemEscalated"] = "WatchItemEscalated"
    item_id: str


class CheckInRecorded(_Event):
    """R-15, R-16: an admin checked the account (by hand, or implied by a
    moderation decision on one of its messages)."""

    type: Literal["CheckInRecorded"] = "CheckInRecorded"
    checked_at: datetime
    source: mon.CheckInSource = mon.CheckInSource.MANUAL
    case_id: str | None = None


class PostRecorded(_Event):
    """R-18, R-21: a staff post as published: the platform's id and time."""

    type: Literal["PostRecorded"] = "PostRecorded"
    post_id: str
    published_at: datetime
    approved_by: str | None = None  # crisis management's approval in a crisis
    # who confirmed a post held for confidential information (never its writer).
    confirmed_by: str | None = None


class PostHeld(_Event):
    """R-44, "Självfallet ska kommunen inte publicera sekretessreglerade
    uppgifter": a staff post recorded through Kanalvakt whose text has an
    identity number or a confidential marker is not recorded as published;
    it waits for one of `approvers` (the unit's manager or deputy, the
    communications unit; never its writer) to confirm it or send it back.
    What was found is described, never quoted; the text is not kept."""

    type: Literal["PostHeld"] = "PostHeld"
    post_id: str
    published_at: datetime
    approved_by: str | None = None
    found: list[str]
    approvers: list[str]


class PostSentBack(_Event):
    """R-44: the held post is sent back to its writer to be changed (or taken
    down), with a comment; it is not recorded as published."""

    type: Literal["PostSentBack"] = "PostSentBack"
    post_id: str
    comment: str
    written_by: str


class AccountKept(_Event):
    """R-19: the communications unit keeps an inactive account, with a reason."""

    type: Literal["AccountKept"] = "AccountKept"
    reason: str


class WatchItemReported(_Event):
    """R-20: criticism or an error about the unit, raised with its manager."""

    type: Literal["WatchItemReported"] = "WatchItemReported"
    item_id: str
    summary: str
    link: str | None = None
    seen_at: datetime


class WatchItemResolved(_Event):
    type: Literal["WatchItemResolved"] = "WatchItemResolved"
    item_id: str
    note: str


class MonitoringSettingsChanged(_Event):
    """R-15..R-20, R-43: this account's own monitoring settings."""

    type: Literal["MonitoringSettingsChanged"] = "MonitoringSettingsChanged"
    policy: mon.MonitoringPolicy


class AuthoritiesUpdated(_Event):
    type: Literal["AuthoritiesUpdated"] = "AuthoritiesUpdated"
    authorities: Authorities


class MessageSettingsChanged(_Event):
    """R-23, R-26, R-43: how this account's messages are answered."""

    type: Literal["MessageSettingsChanged"] = "MessageSettingsChanged"
    policy: MessagePolicy


class ProfileChanged(_Event):
    """R-37: the account's public face changed on the platform, as its admins
    or the communications unit record it: only what changed is set (`None`:
    unchanged), with what it was before in `previous`. A major change: the
    account's case takes a snapshot after it (domain.snapshot.MAJOR_CHANGES)."""

    type: Literal["ProfileChanged"] = "ProfileChanged"
    name: str | None = None
    handle: str | None = None
    url: str | None = None
    picture_changed: bool = False
    about: str | None = None  # the profile text as now published
    platform_account_id: str | None = None  # a new owner / platform account
    note: str | None = None
    previous: dict[str, str | None] = {}


class ClosureRequested(_Event):
    type: Literal["ClosureRequested"] = "ClosureRequested"
    reason: str


class FinalSnapshotArchived(_Event):
    """R-38: the capture exists as an archive package and is registered for
    the registrars."""

    type: Literal["FinalSnapshotArchived"] = "FinalSnapshotArchived"
    package: ArchivePackageRef
    registrars: list[str]


class RemovedFromRegister(_Event):
    type: Literal["RemovedFromRegister"] = "RemovedFromRegister"


class AccountClosed(_Event):
    type: Literal["AccountClosed"] = "AccountClosed"


AccountEvent = Annotated[
    AccountRequested
    | ManagerApproved
    | RequestRejected
    | RiskAssessmentRecorded
    | SignOffApproved
    | SentBackForChanges
    | RequestAmended
    | AccountActivated
    | ListedInRegister
    | AdminAdded
    | AdminRemoved
    | AdminTwoFactorConfirmed
    | PublisherAppointed
    | PublisherRemoved
    | AdminCoverageLost
    | AdminCoverageRestored
    | DeadlineReminderSent
    | DeadlineEscalated
    | RequestLapsed
    | AuthoritiesUpdated
    | MessageSettingsChanged
    | ClosureRequested
    | FinalSnapshotArchived
    | RemovedFromRegister
    | AccountClosed
    | CheckInReminderSent
    | CheckInEscalated
    | PostingRhythmWarned
    | ClosureProposed
    | ClosureProposedForBreach
    | WatchItemReminderSent
    | WatchItemEscalated
    | CheckInRecorded
    | PostRecorded
    | PostHeld
    | PostSentBack
    | AccountKept
    | WatchItemReported
    | WatchItemResolved
    | MonitoringSettingsChanged
    | ProfileChanged,
    Field(discriminator="type"),
]


_EVENTS: TypeAdapter[AccountEvent] = TypeAdapter(AccountEvent)


def parse_event(data: object) -> AccountEvent:
    """An event from its stored JSON form (the `type` field picks the class)."""
    return _EVENTS.validate_python(data)


# --------------------------------------------------------------------------- commands

class _Command(CleanStrings):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    actor: PersonId


class RequestAccount(_Command):
    account_id: str
    municipality_id: str
    country: Country
    timezone: TimeZoneName
    request: AccountRequest
    authorities: Authorities
    policy: LifecyclePolicy = LifecyclePolicy()


class ApproveRequest(_Command):
    comment: str | None = Field(None, max_length=4000)
    # an authorised person who may accept the platform's terms.
    terms_delegate: PersonId | None = None
    # "ser till att de utsedda har tid, resurser och kunskap": the
    # manager confirms it for the appointed admins with the approval.
    admins_equipped: bool = False


class RejectRequest(_Command):
    reason: Text


class RecordRiskAssessment(_Command):
    kind: RiskAssessmentKind
    document_ref: ShortText
    completed_on: date
    completed_by: PersonId


class SignOff(_Command):
    decision: SignOffDecision
    checklist: SignOffChecklist = SignOffChecklist()
    comment: str | None = Field(None, max_length=4000)
    # sending back for another platform lets the amendment change it.
    platform_may_change: bool = False


class AmendRequest(_Command):
    request: AccountRequest
    comment: str | None = Field(None, max_length=4000)


class ActivateAccount(_Command):
    handle: ShortText
    url: HttpsUrl
    admins: list[Admin] = Field(min_length=2, max_length=20)
    # The platform's own id of the account (Facebook Page id, Instagram
    # professional account id): how webhooks name it. None on manual platforms.
    platform_account_id: str | None = Field(None, max_length=200, pattern=r"^[A-Za-z0-9_.-]+$")


class AddAdmin(_Command):
    person: PersonId
    two_factor: bool = False


class RemoveAdmin(_Command):
    person: PersonId
    reason: str | None = Field(None, max_length=4000)


class ConfirmTwoFactor(_Command):
    person: PersonId


class AppointPublisher(_Command):
    """R-52: the manager appoints a publisher beside the admins."""

    person: PersonId


class RemovePublisher(_Command):
    person: PersonId


class ChangeMessageSettings(_Command):
    policy: MessagePolicy


class RequestClosure(_Command):
    reason: Text


class UpdateAuthorities(_Command):
    authorities: Authorities


class FireDueDeadlines(_Command):
    """The workflow's timer fired: record every step that is now due.
    `skip_superseded`: a check-in reminder whose day's escalation is due too
    is not sent (the day is over; see domain.monitoring.superseded_by). False
    only for workflows recorded before this rule (workflow.patched)."""

    skip_superseded: bool = False


class RecordFinalSnapshot(_Command):
    package: ArchivePackageRef


class RecordCheckIn(_Command):
    """R-15, R-16: the account was checked, by one of its admins. A moderation
    decision implies one (`source`, `case_id`, `checked_at` its time)."""

    source: mon.CheckInSource = mon.CheckInSource.MANUAL
    case_id: str | None = Field(None, max_length=300)
    checked_at: datetime | None = None  # None: now


PostId = Annotated[str, Field(min_length=1, max_length=200, pattern=r"^[A-Za-z0-9_.:$=-]+$")]


class RecordPost(_Command):
    """R-18: a staff post as published, by an admin or a connector (the system)."""

    post_id: PostId
    published_at: datetime
    # in a crisis whose communication goes through crisis management,
    # the member of it who approved the post.
    approved_by: PersonId | None = None
    # the post's text, where it is recorded through Kanalvakt: screened
    # before it counts as published (not kept on the record).
    text: str | None = Field(None, min_length=1, max_length=8000)


class ConfirmPost(_Command):
    """R-44: the manager, the deputy or the communications unit (never the
    writer) confirms a post held for confidential information."""

    post_id: PostId


class SendBackPost(_Command):
    """R-44: ... or sends it back to its writer, saying why."""

    post_id: PostId
    comment: Text


class KeepAccount(_Command):
    """R-19: the communications unit keeps an account proposed for closure."""

    reason: Text


class ReportWatchItem(_Command):
    """R-20: criticism or an error seen about the unit, for its manager.
    `in_unit` is the directory's word (checked by the web app) that the actor
    works in the account's unit."""

    summary: Annotated[str, Field(min_length=1, max_length=2000)]
    link: HttpsUrl | None = None
    seen_at: datetime
    in_unit: bool = False


class ResolveWatchItem(_Command):
    item_id: Annotated[str, Field(pattern=r"^W-[0-9]+$")]
    note: Text


class ChangeMonitoringSettings(_Command):
    policy: mon.MonitoringPolicy


class RecordProfileChange(_Command):
    """R-37: record that the account's public face changed on the platform:
    its name, handle (with its address), profile picture, about text, or its
    owner (the platform's account id). Only what changed is given."""

    name: ShortText | None = None
    handle: ShortText | None = None
    url: HttpsUrl | None = None
    picture_changed: bool = False
    about: str | None = Field(None, min_length=1, max_length=4000)
    platform_account_id: str | None = Field(None, max_length=200,
                                            pattern=r"^[A-Za-z0-9_.-]+$")
    note: str | None = Field(None, max_length=4000)


Command = (
    RequestAccount | ApproveRequest | RejectRequest | RecordRiskAssessment | SignOff
    | AmendRequest | ActivateAccount | AddAdmin | RemoveAdmin | ConfirmTwoFactor
    | RequestClosure | UpdateAuthorities | FireDueDeadlines | RecordFinalSnapshot
    | AppointPublisher | RemovePublisher
    | ChangeMessageSettings | RecordCheckIn | RecordPost | ConfirmPost | SendBackPost
    | KeepAccount | ReportWatchItem
    | ResolveWatchItem | ChangeMonitoringSettings | RecordProfileChange
)

# --------------------------------------------------------------------------- state


class HeldPost(BaseModel):
    """R-44: a staff post held for confidential information, and by whom."""

    model_config = ConfigDict(frozen=True)

    post_id: str
    published_at: datetime
    approved_by: str | None = None
    written_by: str
    found: list[str]
    approvers: list[str]
    since: datetime


class AccountState(BaseModel):
    """Everything the workflow knows, carried across continue-as-new."""

    account_id: str
    municipality_id: str
    slug: str
    country: Country
    timezone: str
    policy: LifecyclePolicy
    authorities: Authorities
    request: AccountRequest
    requester: str
    requested_at: datetime
    stage: Stage = Stage.AWAITING_MANAGER
    stage_entered_at: datetime
    version: int = 0
    approved_by: str | None = None
    risk_assessments: dict[RiskAssessmentKind, RiskAssessment] = {}
    sign_off: SignOffChecklist | None = None
    signed_off_by: str | None = None
    times_sent_back: int = 0
    rejection_reason: str | None = None
    handle: str | None = None
    url: str | None = None
    platform_account_id: str | None = None
    admins: dict[str, Admin] = {}
    coverage_lost_at: datetime | None = None
    escalated: bool = False
    fired_steps: list[str] = []
    listed: bool = False
    message_policy: MessagePolicy | None = None  # None: the municipality's default
    closure_reason: str | None = None
    closure_requested_by: str | None = None
    final_package: ArchivePackageRef | None = None
    closed_at: datetime | None = None
    # set by the municipality's crisis workflow (signal crisis_changed);
    # the switch itself is on the record in the crisis stream.
    crisis: CrisisStatus | None = None
    monitoring: mon.MonitoringState = mon.MonitoringState()  # R-15..R-20
    # the public face as last recorded (ProfileChanged); None: as requested.
    profile_name: str | None = None
    profile_about: str | None = None
    profile_changed_at: datetime | None = None
    # Issue 16. `legacy_rules`: set by the workflow for a run recorded before
    # these rules (workflow.patched), which replays as it was decided.
    legacy_rules: bool = False
    approved_admins: list[str] = []  # appointed by the manager
    approved_as: str | None = None  # manager, deputy or next_level
    terms_delegate: str | None = None
    platform_may_change: bool = False  # sent back for another platform
    admins_without_2fa: dict[str, datetime] = {}  # added without 2FA, since
    publishers: list[str] = []  # publish beside the admins
    held_posts: list[HeldPost] = []  # staff posts held for confidential information
    breach_proposed_at: datetime | None = None
    breach: str | None = None
    breach_kept_at: datetime | None = None

    @property
    def admins_with_two_factor(self) -> int:
        return sum(1 for a in self.admins.values() if a.two_factor)

    @property
    def name(self) -> str:
        """The account's name as the public sees it now: the requested one
        until a profile change renames it (R-37)."""
        return self.profile_name or self.request.account_name


# --------------------------------------------------------------------------- rules


def account_slug(account_name: str, platform: Platform) -> str:
    """A readable, stable case name for workflow ids: no personal data, only
    the account's public name and platform."""
    folded = unicodedata.normalize("NFKD", account_name.lower())
    ascii_only = folded.encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:60].strip("-")
    return f"{words or 'konto'}-{platform.value}"


def workflow_id_for(municipality_id: str, slug: str) -> str:
    return f"account:{municipality_id}:{slug}"


def deadline_plan(state: AccountState) -> list[DeadlineStep]:
    """Every step that can fall due: the stage's own and, while the account
    is active, its monitoring duties."""
    return lifecycle_plan(state) + monitoring_plan(state)


def lifecycle_plan(state: AccountState) -> list[DeadlineStep]:
    """The reminders, escalations and lapses that run in the current stage,
    counted in working days of the municipality's country from the moment
    the stage was entered (or the admin coverage was lost, R-12)."""
    p, a = state.policy, state.authorities
    managers = tuple(x for x in (a.manager, a.deputy) if x)
    comms = tuple(sorted(a.communications))
    requester = (state.requester,)

    def steps(
        start: datetime, *spec: tuple[str, Literal["remind", "escalate", "lapse"], int,
                                      tuple[str, ...]]
    ) -> list[DeadlineStep]:
        return [
            DeadlineStep(
                key=f"{state.stage.value}@{start.isoformat()}:{name}",
                name=name,
                kind=kind,
                due=add_working_days(start, days, state.country, state.timezone),
                recipients=recipients,
            )
            for name, kind, days, recipients in spec
        ]

    def chase(start: datetime, name: str, after_days: int,
              recipients: tuple[str, ...]) -> list[DeadlineStep]:
        # Issue 16: the chain never goes silent. After its last escalation
        # the obligation is escalated again every `chase_every_days` working
        # days, one step at a time, until someone acts.
        if state.legacy_rules:
            return []
        prefix = f"{state.stage.value}@{start.isoformat()}:{name}:"
        n = sum(1 for key in state.fired_steps if key.startswith(prefix))
        return [DeadlineStep(
            key=f"{prefix}{n + 1}", name=name, kind="escalate",
            due=add_working_days(start, after_days + p.chase_every_days * (n + 1),
                                 state.country, state.timezone),
            recipients=recipients)]

    entered = state.stage_entered_at
    match state.stage:
        case Stage.AWAITING_MANAGER:
            return steps(
                entered,
                ("manager_reminder", "remind", p.manager_reminder_days, managers),
                ("manager_escalation", "escalate", p.manager_escalation_days, comms),
                ("manager_lapse", "lapse", p.manager_lapse_days, requester + managers),
            )
        case Stage.RISK_ASSESSMENT:
            return steps(
                entered,
                ("risk_reminder", "remind", p.risk_reminder_days, requester + managers),
                ("risk_escalation", "escalate", p.risk_escalation_days, managers + comms),
            ) + chase(entered, "risk_chase", p.risk_escalation_days, managers + comms)
        case Stage.AWAITING_SIGNOFF:
            return steps(
                entered,
                ("signoff_reminder", "remind", p.signoff_reminder_days, comms),
                ("signoff_escalation", "escalate", p.signoff_escalation_days, managers + comms),
            ) + chase(entered, "signoff_chase", p.signoff_escalation_days, managers + comms)
        case Stage.AMENDING:
            return steps(
                entered,
                ("amend_reminder", "remind", p.amend_reminder_days, requester),
                ("amend_lapse", "lapse", p.amend_lapse_days, requester + managers),
            )
        case Stage.AWAITING_ACTIVATION:
            return steps(
                entered,
                ("activation_reminder", "remind", p.activation_reminder_days,
                 requester + comms),
                ("activation_escalation", "escalate", p.activation_escalation_days,
                 managers + comms),
            ) + chase(entered, "activation_chase", p.activation_escalation_days,
                      managers + comms)
        case Stage.ACTIVE:
            return active_plan(state, steps, chase)
        case Stage.CLOSING if not state.legacy_rules and not final_package_receivers(state):
            # no registrar to hand the final package to: the closure
            # waits, and the communications unit and the manager are told
            # until the directory names one (or a fallback is set).
            return chase(entered, "closure_no_registrar", 0, comms + managers)
        case _:
            return []


def active_plan(state: AccountState, steps: Any, chase: Any) -> list[DeadlineStep]:
    """R-12, R-13, R-19 on an active account: restoring two admins with 2FA,
    each admin's missing 2FA, and closure proposed for a lasting breach, all
    chased until someone acts."""
    p, a = state.policy, state.authorities
    managers = tuple(x for x in (a.manager, a.deputy) if x)
    comms = tuple(sorted(a.communications))
    admins = tuple(sorted(state.admins))
    plan: list[DeadlineStep] = []
    if state.coverage_lost_at is not None:
        plan += steps(
            state.coverage_lost_at,
            ("admin_restore_reminder", "remind", p.admin_restore_reminder_days,
             admins + managers),
            ("admin_restore_deadline", "escalate", p.admin_restore_days, managers),
            ("admin_restore_escalation", "escalate", p.admin_restore_escalation_days,
             managers + comms),
        )
        plan += chase(state.coverage_lost_at, "admin_restore_chase",
                      p.admin_restore_escalation_days, managers + comms)
    if state.legacy_rules:
        return plan
    for person, since in sorted(state.admins_without_2fa.items()):
        if person not in state.admins or state.admins[person].two_factor:
            continue
        plan += [DeadlineStep(
            key=f"two_factor:{person}@{since.isoformat()}:remind", name="two_factor_reminder",
            kind="remind", due=add_working_days(since, p.admin_restore_reminder_days,
                                                state.country, state.timezone),
            recipients=(person, *managers), subject=person)]
        plan += chase(since, f"two_factor_chase:{person}", p.admin_restore_reminder_days,
                      (person, *managers, *comms))
    for held in state.held_posts:
        # R-44, chains that never go silent: a held post's approvers are
        # reminded, then the manager and the unit chased, until one decides.
        plan += [DeadlineStep(
            key=f"held_post:{held.post_id}@{held.since.isoformat()}:remind",
            name="held_post_reminder", kind="remind",
            due=add_working_days(held.since, p.chase_every_days, state.country, state.timezone),
            recipients=tuple(held.approvers), subject=held.post_id)]
        plan += chase(held.since, f"held_post_chase:{held.post_id}", p.chase_every_days,
                      tuple(dict.fromkeys((*held.approvers, *managers, *comms))))
    return plan


def breach_plan(state: AccountState) -> list[DeadlineStep]:
    """R-19: an account that keeps breaking the rules is proposed for
    closure, and a proposal nobody answers is raised again on the rhythm
    (`chase_every_days`) until the communications unit keeps the account
    or it is closed."""
    if state.stage is not Stage.ACTIVE or state.legacy_rules:
        return []
    p, a = state.policy, state.authorities
    managers = tuple(x for x in (a.manager, a.deputy) if x)
    comms = tuple(sorted(a.communications))
    plan: list[DeadlineStep] = []
    breach = breach_since(state)
    if state.breach_proposed_at is None and breach is not None:
        kind, since, due = breach
        plan.append(DeadlineStep(
            key=f"breach:{kind}@{since.isoformat()}", name="breach_closure",
            kind="propose_breach", due=due, recipients=comms or managers, subject=kind))
    proposed = state.breach_proposed_at or state.monitoring.closure_proposed_at
    if proposed is not None:
        prefix = f"{state.stage.value}@{proposed.isoformat()}:closure_proposal_again:"
        n = sum(1 for key in state.fired_steps if key.startswith(prefix))
        plan.append(DeadlineStep(
            key=f"{prefix}{n + 1}", name="closure_proposal_again", kind="escalate",
            due=add_working_days(proposed, p.chase_every_days * (n + 1), state.country,
                                 state.timezone),
            recipients=comms + managers))
    return plan


def breach_since(state: AccountState) -> tuple[str, datetime, datetime] | None:
    """R-19: the rule the account keeps breaking, since when, and when its
    closure is proposed: fewer than two admins with 2FA for
    `admin_closure_days` working days (R-12), or no check-in for
    `no_check_in_closure_days` days (R-15, R-16). A decision to keep the
    account starts the clock again."""
    p, m = state.policy, state.monitoring
    found: list[tuple[datetime, str, datetime]] = []
    if state.coverage_lost_at is not None:
        since = max(state.coverage_lost_at, state.breach_kept_at or state.coverage_lost_at)
        found.append((add_working_days(since, p.admin_closure_days, state.country,
                                       state.timezone), "admins", since))
    last = m.last_check_in or m.since
    if last is not None:
        since = max(last, state.breach_kept_at or last)
        found.append((since + timedelta(days=p.no_check_in_closure_days), "check_ins", since))
    if not found:
        return None
    due, kind, since = min(found)
    return kind, since, due


def final_package_receivers(state: AccountState) -> list[str]:
    """R-38: who receives a closing account's final package: the registrars,
    else the municipality's named fallback (a setting); none: it waits."""
    if state.authorities.registrars:
        return sorted(state.authorities.registrars)
    fallback = state.policy.registrar_fallback
    return [fallback] if fallback else []


def case_answerers(state: AccountState) -> list[str]:
    """R-13, R-22: who answers the account's open message cases: its admins;
    with none left, the manager (and deputy), who keeps the editorial
    responsibility, steps in."""
    if state.admins:
        return sorted(state.admins)
    a = state.authorities
    return [x for x in (a.manager, a.deputy) if x]


def monitoring_duty(state: AccountState) -> mon.Duty:
    """The calendar, office hours, settings and recipients of the account's
    monitoring duties: the account's own message office hours if it has set
    them, else its published monitoring hours (R-17); its own monitoring
    settings if set, else the municipality's (R-43)."""
    a = state.authorities
    office = (state.message_policy.office_hours if state.message_policy is not None
              else state.request.monitoring_hours)
    return mon.Duty(
        country=state.country, timezone=state.timezone, office=office,
        policy=state.monitoring.policy or state.policy.monitoring,
        admins=tuple(sorted(state.admins)),
        managers=tuple(x for x in (a.manager, a.deputy) if x),
        communications=tuple(sorted(a.communications)),
    )


def monitoring_plan(state: AccountState) -> list[DeadlineStep]:
    """R-15, R-16, R-18, R-19, R-20: the monitoring steps not yet recorded;
    already filtered, so their keys never enter `fired_steps`."""
    if state.stage is not Stage.ACTIVE:
        return []
    return [DeadlineStep(key=s.key, name=s.name, kind=s.kind, due=s.due,
                         recipients=s.recipients, subject=s.subject)
            for s in mon.due_steps(state.monitoring, monitoring_duty(state),
                                   crisis_check_ins(state))] + breach_plan(state)


def crisis_check_ins(state: AccountState) -> mon.CrisisCheckIns | None:
    """R-39: the tighter check-in interval while a crisis covers the account."""
    every = checkin_interval(state.request.unit_id, state.crisis)
    if every is None or state.crisis is None or state.crisis.mode is None:
        return None
    return mon.CrisisCheckIns(every=every, declared_at=state.crisis.mode.declared_at)


def is_escalated(state: AccountState) -> bool:
    """Escalated in the current stage, or an active account's monitoring
    escalation is still open (check-ins, an inactivity proposal, a watch item)."""
    return state.escalated or (state.stage is Stage.ACTIVE
                               and bool(state.monitoring.open_escalations))


def pending_steps(state: AccountState) -> list[DeadlineStep]:
    fired = set(state.fired_steps)
    return [s for s in deadline_plan(state) if s.key not in fired]


def next_deadline(state: AccountState) -> datetime | None:
    """When the next reminder, escalation or lapse falls due, if any."""
    pending = pending_steps(state)
    return min(s.due for s in pending) if pending else None


def _require_stage(state: AccountState, *stages: Stage) -> None:
    if state.stage not in stages:
        wanted = " or ".join(s.value for s in stages)
        raise WrongStage(f"the account is {state.stage.value}, not {wanted}",
                         key="account.wrong_stage", params={"stage": state.stage.value})


def _require_manager(state: AccountState, actor: str, what: str) -> None:
    if not state.authorities.is_manager(actor):
        raise NotAuthorised(
            f"only the unit's manager or deputy may {what} (R-01, R-13); {actor} is neither",
            key="account.manager_only",
        )


def _require_communications(state: AccountState, actor: str, what: str) -> None:
    if not state.authorities.is_communications(actor):
        raise NotAuthorised(
            f"only the communications unit may {what} (R-03); {actor} is not a member",
            key="account.communications_only",
        )


def approver_role(state: AccountState, actor: str) -> str:
    """R-01, R-53: who approves a request, and as what. The unit's manager
    or the deputy (the directory's named stand-in, docs/decisions.md) decide;
    no one decides on their own request: the manager's own goes to the next
    level above the manager, the deputy's own to the manager."""
    a = state.authorities
    if actor == state.requester:
        raise NotAuthorised(
            f"{actor} made this request: no one decides on their own request; the manager "
            "or deputy decides (R-01, R-53)",
            key="approve.own_request")
    if state.requester == a.manager:
        if a.next_level is not None and actor == a.next_level:
            return "next_level"
        raise NotAuthorised(
            "the manager's own request is decided at the next level (R-53)"
            + (f": {a.next_level}" if a.next_level else "; the directory names none yet"),
            key="approve.next_level", params={"person": a.next_level or "-"})
    if actor == a.manager:
        return "manager"
    if a.deputy is not None and actor == a.deputy:
        return "deputy"
    raise NotAuthorised(
        f"only the unit's manager or deputy may approve the account (R-01, R-13); {actor} is "
        "neither", key="account.manager_only")


def _require_signer(state: AccountState, actor: str) -> bool:
    """R-03, R-48, R-53: who signs a new account off. The communications
    unit approves (the stricter value), or, where a new page only informs it
    (`new_page: inform`, Kristiansand), the unit's manager may, and the
    communications unit is informed (True). No one on their own request."""
    if state.legacy_rules:
        _require_communications(state, actor, "sign off a new account")
        return False
    if actor == state.requester:
        raise NotAuthorised(
            f"{actor} made this request: a colleague signs it off (R-03, R-53)",
            key="signoff.own_request")
    if state.authorities.is_communications(actor):
        return False
    if state.policy.new_page == "inform" and state.authorities.is_manager(actor):
        return True
    _require_communications(state, actor, "sign off a new account")
    return False


def _coverage_events(state: AccountState, after: AccountState, at: datetime,
                     actor: str) -> list[AccountEvent]:
    """R-12: losing or regaining two admins with 2FA is itself on the record."""
    if after.stage is not Stage.ACTIVE:
        return []
    covered = after.admins_with_two_factor >= 2
    if not covered and after.coverage_lost_at is None:
        return [AdminCoverageLost(at=at, actor=actor,
                                  admins_with_two_factor=after.admins_with_two_factor)]
    if covered and after.coverage_lost_at is not None:
        return [AdminCoverageRestored(at=at, actor=actor)]
    return []


def decide(state: AccountState | None, command: Command, *, now: datetime) -> list[AccountEvent]:
    """The events `command` causes at `now`, or a DomainError."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    actor = command.actor
    if isinstance(command, RequestAccount):
        if state is not None:
            raise WrongStage("this account has already been requested",
                             key="account.already_requested")
        if (command.request.unit_id != command.authorities.unit_id
                or command.municipality_id != command.authorities.municipality_id):
            raise RuleViolation("the authorities given are not those of the requesting unit",
                                key="request.authorities_unit")
        if (command.request.main_account
                and command.request.unit_id != command.authorities.communications_unit):
            raise RuleViolation(
                "a municipality-wide main account is owned by the communications unit, which "
                "bears its editorial responsibility (R-49)", key="request.main_account_unit")
        return [AccountRequested(
            at=now, actor=actor, account_id=command.account_id,
            municipality_id=command.municipality_id,
            slug=account_slug(command.request.account_name, command.request.platform),
            country=command.country, timezone=command.timezone, request=command.request,
            authorities=command.authorities, policy=command.policy,
        )]
    if state is None:
        raise WrongStage("no account has been requested", key="account.not_requested")
    if state.stage.terminal and not isinstance(command, FireDueDeadlines):
        raise WrongStage(f"the account is {state.stage.value}; nothing more can be decided",
                         key="account.ended", params={"stage": state.stage.value})

    match command:
        case ApproveRequest():
            _require_stage(state, Stage.AWAITING_MANAGER)
            if state.legacy_rules:
                _require_manager(state, actor, "approve the account")
                return [ManagerApproved(at=now, actor=actor, comment=command.comment)]
            role = approver_role(state, actor)
            if not command.admins_equipped:
                raise RuleViolation(
                    "confirm that the appointed admins have working time, resources and "
                    "knowledge for the account (R-52)", key="approve.admins_equipped")
            return [ManagerApproved(at=now, actor=actor, comment=command.comment,
                                    approved_as=role, admins_equipped=True,
                                    admins=list(state.request.proposed_admins),
                                    terms_delegate=command.terms_delegate)]
        case RejectRequest():
            if state.stage is Stage.AWAITING_MANAGER:
                _require_manager(state, actor, "reject the request")
            else:
                _require_stage(state, Stage.AWAITING_SIGNOFF, Stage.AMENDING,
                               Stage.RISK_ASSESSMENT, Stage.AWAITING_ACTIVATION)
                if not (state.authorities.is_manager(actor)
                        or state.authorities.is_communications(actor)):
                    raise NotAuthorised(
                        f"{actor} may not reject: only the manager (R-01) or the "
                        "communications unit (R-03)", key="account.reject_who"
                    )
            return [RequestRejected(at=now, actor=actor, stage=state.stage,
                                    reason=command.reason)]
        case RecordRiskAssessment():
            _require_stage(state, Stage.RISK_ASSESSMENT)
            allowed = {state.requester, *state.request.proposed_admins}
            if actor not in allowed and not state.authorities.is_manager(actor):
                raise NotAuthorised(
                    f"{actor} may not record the unit's ROS or DPIA: the requester, the "
                    "proposed admins or the manager may", key="risk.who"
                )
            if command.completed_on > now.astimezone(ZoneInfo(state.timezone)).date():
                raise RuleViolation("an assessment cannot be completed in the future (R-04)",
                                    key="risk.future")
            return [RiskAssessmentRecorded(at=now, actor=actor, assessment=RiskAssessment(
                kind=command.kind, document_ref=command.document_ref,
                completed_on=command.completed_on, completed_by=command.completed_by,
                recorded_by=actor,
            ))]
        case SignOff():
            _require_stage(state, Stage.AWAITING_SIGNOFF)
            informs = _require_signer(state, actor)
            if command.decision is SignOffDecision.APPROVE:
                gaps = command.checklist.gaps(
                    state.authorities, terms_delegate=state.terms_delegate,
                    routines=None if state.legacy_rules else state.request.routines,
                    legacy=state.legacy_rules)
                if gaps:
                    raise RuleViolation("cannot approve yet: " + "; ".join(g.text for g in gaps),
                                        key="signoff.incomplete", parts=gaps)
                return [SignOffApproved(at=now, actor=actor, checklist=command.checklist,
                                        comment=command.comment,
                                        informed=sorted(state.authorities.communications)
                                        if informs else [])]
            if not (command.comment or "").strip():
                raise RuleViolation("say what must change, or why the request is rejected",
                                key="signoff.comment")
            if command.decision is SignOffDecision.SEND_BACK:
                return [SentBackForChanges(at=now, actor=actor, checklist=command.checklist,
                                           comment=command.comment or "",
                                           platform_may_change=command.platform_may_change)]
            return [RequestRejected(at=now, actor=actor, stage=state.stage,
                                    reason=command.comment or "")]
        case AmendRequest():
            _require_stage(state, Stage.AMENDING)
            if actor != state.requester and not state.authorities.is_manager(actor):
                raise NotAuthorised(f"{actor} may not amend: the requester or the manager may",
                                    key="amend.who")
            platform_changes = command.request.platform != state.request.platform
            if (command.request.unit_id != state.request.unit_id
                    or (platform_changes and (state.legacy_rules
                                              or not state.platform_may_change))):
                raise RuleViolation(
                    "the unit and platform were decided by the manager (R-01); "
                    "request a new account to change them", key="amend.unit_platform"
                )
            if platform_changes and not state.authorities.is_manager(actor):
                # sent back for another platform, the manager
                # decides the new one.
                raise NotAuthorised(
                    "the communications unit asked for another platform: the unit's manager "
                    "decides it (R-01, R-03)", key="amend.platform_by_manager")
            return [RequestAmended(at=now, actor=actor, request=command.request,
                                   comment=command.comment)]
        case ActivateAccount():
            _require_stage(state, Stage.AWAITING_ACTIVATION)
            _require_communications(state, actor, "activate the account and list it")
            people = [a.person for a in command.admins]
            if len(set(people)) != len(people):
                raise RuleViolation("an admin is listed twice", key="activate.admin_twice")
            without = [a.person for a in command.admins if not a.two_factor]
            if without:
                raise RuleViolation(
                    "R-12: every admin needs two-factor authentication confirmed; missing for "
                    + ", ".join(without),
                    key="activate.two_factor", params={"people": ", ".join(without)},
                )
            if not state.legacy_rules:
                appointed = set(state.approved_admins or state.request.proposed_admins)
                strangers = [p for p in people if p not in appointed]
                if strangers:
                    raise RuleViolation(
                        "R-13: the manager appoints the admins; not appointed: "
                        + ", ".join(strangers) + " (the manager adds them after activation, "
                        "or amends the request)",
                        key="activate.not_appointed", params={"people": ", ".join(strangers)})
            return [
                AccountActivated(at=now, actor=actor, handle=command.handle, url=command.url,
                                 admins=list(command.admins),
                                 platform_account_id=command.platform_account_id),
                ListedInRegister(at=now, actor=actor),
            ]
        case AddAdmin() | RemoveAdmin() | ConfirmTwoFactor():
            return _decide_admins(state, command, now)
        case AppointPublisher():
            _require_stage(state, Stage.AWAITING_ACTIVATION, Stage.ACTIVE)
            _require_manager(state, actor, "appoint a publisher")
            if command.person in state.publishers or command.person in state.admins:
                raise RuleViolation(f"{command.person} already publishes on the account (R-52)",
                                    key="publisher.already", params={"person": command.person})
            return [PublisherAppointed(at=now, actor=actor, person=command.person)]
        case RemovePublisher():
            _require_stage(state, Stage.AWAITING_ACTIVATION, Stage.ACTIVE)
            _require_manager(state, actor, "remove a publisher")
            if command.person not in state.publishers:
                raise RuleViolation(f"{command.person} is not a publisher (R-52)",
                                    key="publisher.not", params={"person": command.person})
            return [PublisherRemoved(at=now, actor=actor, person=command.person)]
        case RequestClosure():
            _require_stage(state, Stage.ACTIVE)
            if not (state.authorities.is_manager(actor)
                    or state.authorities.is_communications(actor)):
                raise NotAuthorised(
                    f"{actor} may not close the account: the manager or the communications "
                    "unit may (R-19)", key="closure.who"
                )
            return [ClosureRequested(at=now, actor=actor, reason=command.reason)]
        case ChangeMessageSettings():
            _require_stage(state, Stage.AWAITING_ACTIVATION, Stage.ACTIVE)
            if not (state.authorities.is_manager(actor)
                    or state.authorities.is_communications(actor)):
                raise NotAuthorised(
                    f"{actor} may not change how messages are answered: the manager (R-13) "
                    "or the communications unit may", key="settings.messages_who"
                )
            if command.policy == state.message_policy:
                return []
            return [MessageSettingsChanged(at=now, actor=actor, policy=command.policy)]
        case RecordFinalSnapshot():
            _require_stage(state, Stage.CLOSING)
            receivers = sorted(state.authorities.registrars)
            if not state.legacy_rules:
                receivers = final_package_receivers(state)
                if not receivers:
                    raise RuleViolation(
                        "R-38: no registrar in the directory to hand the final package to; "
                        "the closure waits until one is named", key="closure.no_registrar")
            return [
                FinalSnapshotArchived(at=now, actor=actor, package=command.package,
                                      registrars=receivers),
                RemovedFromRegister(at=now, actor=actor),
                AccountClosed(at=now, actor=actor),
            ]
        case UpdateAuthorities():
            if command.authorities == state.authorities:
                return []
            if command.authorities.unit_id != state.authorities.unit_id:
                raise RuleViolation("authorities of another unit", key="account.authorities_unit")
            return [AuthoritiesUpdated(at=now, actor=actor, authorities=command.authorities)]
        case FireDueDeadlines():
            return _fire_due(state, now, actor, skip_superseded=command.skip_superseded)
        case RecordCheckIn() | RecordPost() | KeepAccount() | ReportWatchItem() \
                | ResolveWatchItem() | ChangeMonitoringSettings():
            return _decide_monitoring(state, command, now)
        case ConfirmPost() | SendBackPost():
            return _decide_held_post(state, command, now)
        case RecordProfileChange():
            return _decide_profile_change(state, command, now)
    raise TypeError(f"unknown command {type(command).__name__}")


def may_record_profile_change(state: AccountState, person: str) -> bool:
    """R-37: the account's admins watch its face, the communications unit
    keeps the list of channels; either records a change of it."""
    return person in state.admins or state.authorities.is_communications(person)


def snapshot_labels(event: AccountEvent, label: str, version: int) -> list[str]:
    """R-37: the labels a snapshot after `event` (recorded as `version` of
    the account's stream) is named by, to try in order. A change is named by
    its day (domain.snapshot.snapshot_key), so a retried or replayed start
    finds the snapshot it started; a further profile change on the same day
    is a change of its own and gets its own snapshot, named by its version."""
    if isinstance(event, ProfileChanged):
        return [label, f"{label}-v{version}"]
    return [label]


def _decide_profile_change(state: AccountState, command: RecordProfileChange,
                           now: datetime) -> list[AccountEvent]:
    _require_stage(state, Stage.ACTIVE)
    actor = command.actor
    if not may_record_profile_change(state, actor):
        raise NotAuthorised(
            f"{actor} may not record a change of the account's profile: its admins or the "
            "communications unit may (R-37)", key="profile.who")
    if (command.platform_account_id is not None
            and command.platform_account_id != state.platform_account_id
            and not state.authorities.is_communications(actor)):
        raise NotAuthorised(
            "a new owner or platform account is recorded by the communications unit "
            "(R-03, R-37)", key="profile.owner_who")
    current: dict[str, str | None] = {
        "name": state.name, "handle": state.handle, "url": state.url,
        "about": state.profile_about, "platform_account_id": state.platform_account_id}
    given: dict[str, str | None] = {
        "name": command.name, "handle": command.handle, "url": command.url,
        "about": command.about, "platform_account_id": command.platform_account_id}
    changed = {k: v for k, v in given.items() if v is not None and v != current[k]}
    if not changed and not command.picture_changed:
        raise RuleViolation(
            "nothing changed: give the new name, handle, address, about text or owner, or "
            "say the profile picture changed (R-37)", key="profile.nothing")
    return [ProfileChanged(
        at=now, actor=actor, name=changed.get("name"), handle=changed.get("handle"),
        url=changed.get("url"), picture_changed=command.picture_changed,
        about=changed.get("about"), platform_account_id=changed.get("platform_account_id"),
        note=command.note or None, previous={k: current[k] for k in sorted(changed)})]


def _decide_admins(state: AccountState,
                   command: AddAdmin | RemoveAdmin | ConfirmTwoFactor,
                   now: datetime) -> list[AccountEvent]:
    _require_stage(state, Stage.ACTIVE)
    actor = command.actor
    events: list[AccountEvent]
    match command:
        case AddAdmin():
            _require_manager(state, actor, "appoint an admin")
            if command.person in state.admins:
                raise RuleViolation(f"{command.person} is already an admin",
                                    key="admin.already", params={"person": command.person})
            events = [AdminAdded(at=now, actor=actor,
                                 admin=Admin(person=command.person,
                                             two_factor=command.two_factor))]
        case RemoveAdmin():
            _require_manager(state, actor, "remove an admin")
            if command.person not in state.admins:
                raise RuleViolation(f"{command.person} is not an admin",
                                    key="admin.not_admin", params={"person": command.person})
            events = [AdminRemoved(at=now, actor=actor, person=command.person,
                                   reason=command.reason)]
        case ConfirmTwoFactor():
            if actor != command.person and not state.authorities.is_communications(actor):
                raise NotAuthorised("an admin confirms their own 2FA, or the communications unit",
                                    key="admin.two_factor_who")
            admin = state.admins.get(command.person)
            if admin is None:
                raise RuleViolation(f"{command.person} is not an admin",
                                    key="admin.not_admin", params={"person": command.person})
            if admin.two_factor:
                raise RuleViolation(f"{command.person} already has 2FA confirmed",
                                    key="admin.two_factor_already",
                                    params={"person": command.person})
            events = [AdminTwoFactorConfirmed(at=now, actor=actor, person=command.person)]
    after = state
    for event in events:
        after = evolve(after, event)
    return events + _coverage_events(state, after, now, actor)


def _decide_monitoring(state: AccountState,
                       command: RecordCheckIn | RecordPost | KeepAccount | ReportWatchItem
                       | ResolveWatchItem | ChangeMonitoringSettings,
                       now: datetime) -> list[AccountEvent]:
    actor, m, a = command.actor, state.monitoring, state.authorities
    match command:
        case RecordCheckIn():
            _require_stage(state, Stage.ACTIVE)
            if actor not in state.admins:
                raise NotAuthorised(
                    f"{actor} is not an admin of this account: its admins check it (R-15)",
                    key="checkin.who")
            checked = command.checked_at or now
            _require_aware(checked, "checked_at")
            if checked > now + _CLOCK_SKEW:
                raise RuleViolation("a check-in cannot be recorded ahead of time (R-15)",
                                    key="checkin.future")
            if checked < now - timedelta(days=1):
                raise RuleViolation("a check-in is recorded when it is made, within a day (R-15)",
                                    key="checkin.too_old")
            return [CheckInRecorded(at=now, actor=actor, checked_at=checked,
                                    source=command.source, case_id=command.case_id)]
        case RecordPost():
            _require_stage(state, Stage.ACTIVE)
            crisis_publisher = _require_crisis_publishing(state, command)
            if (actor != SYSTEM and actor not in state.admins and actor not in state.publishers
                    and not crisis_publisher):
                raise NotAuthorised(
                    f"{actor} may not record a post: the account's admins or its platform "
                    "connector do (R-18)", key="post.who")
            _require_aware(command.published_at, "published_at")
            if command.published_at > now + _CLOCK_SKEW:
                raise RuleViolation("a post cannot be published in the future (R-18)",
                                    key="post.future")
            if any(p.post_id == command.post_id for p in m.posts):
                return []  # reported again (a connector's retry): recorded once
            if any(h.post_id == command.post_id for h in state.held_posts):
                return []  # held; it waits for its decision
            if held := _held_for_confidential(state, command, now):
                return held
            return [PostRecorded(at=now, actor=actor, post_id=command.post_id,
                                 published_at=command.published_at,
                                 approved_by=command.approved_by)]
        case KeepAccount():
            _require_stage(state, Stage.ACTIVE)
            if not a.is_communications(actor):
                raise NotAuthorised(
                    f"{actor} may not keep the account: the communications unit decides on "
                    "a closure proposal (R-19)", key="keep.who")
            if m.closure_proposed_at is None and state.breach_proposed_at is None:
                raise RuleViolation("no closure has been proposed for this account (R-19)",
                                    key="keep.not_proposed")
            return [AccountKept(at=now, actor=actor, reason=command.reason)]
        case ReportWatchItem():
            _require_stage(state, Stage.ACTIVE)
            if not (actor in state.admins or a.is_manager(actor) or a.is_communications(actor)
                    or command.in_unit):
                raise NotAuthorised(
                    f"{actor} may not raise a watch item for this unit: the account's admins "
                    "and the unit's staff do, for their manager (R-20)", key="watch.who")
            _require_aware(command.seen_at, "seen_at")
            if command.seen_at > now + _CLOCK_SKEW:
                raise RuleViolation("seen_at cannot be in the future (R-20)", key="watch.future")
            return [WatchItemReported(at=now, actor=actor, item_id=mon.next_watch_id(m),
                                      summary=command.summary, link=command.link,
                                      seen_at=command.seen_at)]
        case ResolveWatchItem():
            _require_stage(state, Stage.ACTIVE, Stage.CLOSING)
            _require_manager(state, actor, "resolve a watch item")
            item = m.watch_item(command.item_id)
            if item is None:
                raise RuleViolation(f"no watch item {command.item_id} on this account (R-20)",
                                    key="watch.unknown", params={"item": str(command.item_id)})
            if not item.open:
                raise RuleViolation(f"watch item {command.item_id} is already resolved (R-20)",
                                    key="watch.resolved", params={"item": str(command.item_id)})
            return [WatchItemResolved(at=now, actor=actor, item_id=command.item_id,
                                      note=command.note)]
        case ChangeMonitoringSettings():
            _require_stage(state, Stage.AWAITING_ACTIVATION, Stage.ACTIVE)
            if not (a.is_manager(actor) or a.is_communications(actor)):
                raise NotAuthorised(
                    f"{actor} may not change how the account is monitored: the manager (R-13) "
                    "or the communications unit may (R-43)", key="settings.monitoring_who")
            if command.policy == m.policy:
                return []
            return [MonitoringSettingsChanged(at=now, actor=actor, policy=command.policy)]


def post_approvers(state: AccountState, writer: str) -> list[str]:
    """R-44, R-53: who confirms a held post: the unit's manager and deputy
    and the communications unit, never the post's own writer."""
    a = state.authorities
    return sorted({x for x in (a.manager, a.deputy) if x} | set(a.communications) - {writer})


def _held_for_confidential(state: AccountState, command: RecordPost, now: datetime
                           ) -> list[AccountEvent]:
    """R-44: a post recorded through Kanalvakt with its text is screened as a
    reply is (domain.screening.confidential_in_outgoing); an identity number
    or a confidential marker holds it for a person with the right."""
    if state.legacy_rules or command.text is None:
        return []
    found = confidential_in_outgoing(command.text)
    if not found:
        return []
    approvers = post_approvers(state, command.actor)
    if not approvers:
        raise RuleViolation("R-44: the post contains confidential information and no one else "
                            "may confirm it; change the text", key="outgoing.confidential")
    return [PostHeld(at=now, actor=command.actor, post_id=command.post_id,
                     published_at=command.published_at, approved_by=command.approved_by,
                     found=found, approvers=approvers)]


def _decide_held_post(state: AccountState, command: ConfirmPost | SendBackPost,
                      now: datetime) -> list[AccountEvent]:
    """R-44: a held post is confirmed (then recorded as published, with who
    confirmed it) or sent back, by one of its approvers, never its writer."""
    _require_stage(state, Stage.ACTIVE, Stage.CLOSING)
    held = next((h for h in state.held_posts if h.post_id == command.post_id), None)
    if held is None:
        raise RuleViolation(f"no post {command.post_id} is held on this account (R-44)",
                            key="post.not_held", params={"post": command.post_id})
    if command.actor == held.written_by or command.actor not in post_approvers(
            state, held.written_by):
        raise NotAuthorised(
            f"R-44: only {', '.join(held.approvers)} may decide on a post held for "
            f"confidential information, never its writer; {command.actor} may not",
            key="post.confidential_who", params={"approvers": ", ".join(held.approvers)})
    if isinstance(command, SendBackPost):
        return [PostSentBack(at=now, actor=command.actor, post_id=held.post_id,
                             comment=command.comment, written_by=held.written_by)]
    return [PostRecorded(at=now, actor=held.written_by, post_id=held.post_id,
                         published_at=held.published_at, approved_by=held.approved_by,
                         confirmed_by=command.actor)]


def _require_crisis_publishing(state: AccountState, command: RecordPost) -> bool:
    """R-39, R-47: while a crisis covers the account, a staff post recorded
    through Kanalvakt is published by the communications unit (R-47, where
    crisis mode says so) and approved by crisis management where all
    communication goes through it (R-39, Kristiansand). True: the actor
    publishes for the communications unit. A connector's report of what the
    platform shows is a fact, recorded as it is."""
    mode = state.crisis.mode if state.crisis is not None else None
    actor = command.actor
    if (state.legacy_rules or mode is None or actor == SYSTEM
            or not mode.covers(state.request.unit_id)):
        return False
    comms = state.authorities.is_communications(actor) or actor in mode.communications
    if mode.communications_publish and not comms:
        raise NotAuthorised(
            f"{actor} may not publish during the crisis: the communications unit publishes "
            "(R-47)", key="post.crisis_communications")
    if mode.through_crisis_management and not (
            actor in mode.crisis_management or command.approved_by in mode.crisis_management):
        raise NotAuthorised(
            "during the crisis all communication goes through crisis management: name the "
            "member who approved the post (R-39)", key="post.crisis_approval")
    return comms


def _require_aware(moment: datetime, name: str) -> None:
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise RuleViolation(f"{name} must say its time zone")


# A worker that was down for weeks catches up in one batch, bounded.
_MAX_FIRED = 500


def _fire_due(state: AccountState, now: datetime, actor: str, *,
              skip_superseded: bool = False) -> list[AccountEvent]:
    """Every step due by `now`, earliest first. One at a time, because a
    monitoring step can reveal the next (a day's escalation settles the day,
    and the next working day's reminders come into the plan). With
    `skip_superseded`, a step another due step makes pointless is passed
    over (it leaves the plan when that one is recorded): after a long
    outage the people told get each missed day's escalation, not also the
    reminders for days long over."""
    events: list[AccountEvent] = []
    current = state
    for _ in range(_MAX_FIRED):
        due = [s for s in pending_steps(current) if s.due <= now]
        if skip_superseded:
            keys = {s.key for s in due}
            due = [s for s in due if mon.superseded_by(s.name, s.subject) not in keys]
        if not due:
            break
        step = min(due, key=lambda s: (s.due, s.key))
        event = _step_event(current, step, now, actor)
        events.append(event)
        if isinstance(event, RequestLapsed):
            break
        current = evolve(current, event)
    return events


def _step_event(state: AccountState, step: DeadlineStep, now: datetime,
                actor: str) -> AccountEvent:
    common = {"at": now, "actor": actor, "step": step.key, "stage": state.stage,
              "due": step.due}
    who = {"recipients": list(step.recipients)}
    subject = step.subject or ""
    match step.name:
        case "breach_closure":
            since = datetime.fromisoformat(step.key.split("@", 1)[1])
            return ClosureProposedForBreach(**common, **who, breach=subject, since=since)
        case mon.MIDDAY | mon.AFTERNOON:
            return CheckInReminderSent(**common, **who, day=date.fromisoformat(subject))
        case mon.DAY_MISSED:
            return CheckInEscalated(**common, **who, day=date.fromisoformat(subject))
        case mon.WEEKLY_FLOOR:
            return CheckInEscalated(**common, **who, since=datetime.fromisoformat(subject))
        case mon.POSTING_RHYTHM:
            monday = date.fromisoformat(subject)
            duty = monitoring_duty(state)
            return PostingRhythmWarned(**common, **who, week_starting=monday,
                                       posts=mon.posts_in_week(state.monitoring, monday, duty),
                                       expected=duty.policy.posts_per_week)
        case mon.INACTIVITY:
            return ClosureProposed(**common, **who, inactive_since=datetime.fromisoformat(subject))
        case mon.WATCH_REMINDER:
            return WatchItemReminderSent(**common, **who, item_id=subject)
        case mon.WATCH_ESCALATION:
            return WatchItemEscalated(**common, **who, item_id=subject)
        case mon.CRISIS_CHECK_IN if step.kind == "remind":
            return CheckInReminderSent(**common, **who, day=mon.local_day(
                step.due, monitoring_duty(state)))
        case mon.CRISIS_CHECK_IN:
            return CheckInEscalated(**common, **who, since=datetime.fromisoformat(subject))
    if step.kind == "remind":
        return DeadlineReminderSent(**common, **who)
    if step.kind == "escalate":
        return DeadlineEscalated(**common, **who)
    return RequestLapsed(**common)


# --------------------------------------------------------------------------- evolve


def _enter(state: AccountState, stage: Stage, at: datetime) -> dict[str, object]:
    return {"stage": stage, "stage_entered_at": at, "escalated": False}


def evolve(state: AccountState | None, event: AccountEvent) -> AccountState:
    """Fold one event into the state. Total: it never refuses an event that
    `decide` produced."""
    if isinstance(event, AccountRequested):
        return AccountState(
            account_id=event.account_id, municipality_id=event.municipality_id,
            slug=event.slug, country=event.country, timezone=event.timezone,
            policy=event.policy, authorities=event.authorities, request=event.request,
            requester=event.actor or "", requested_at=event.at, stage_entered_at=event.at,
            version=1,
        )
    if state is None:
        raise ValueError(f"{event.type} before AccountRequested")
    changes: dict[str, object] = {"version": state.version + 1}
    match event:
        case ManagerApproved():
            changes |= _enter(state, Stage.RISK_ASSESSMENT, event.at)
            changes |= {"approved_by": event.actor, "approved_as": event.approved_as,
                        "terms_delegate": event.terms_delegate,
                        "approved_admins": list(event.admins or state.request.proposed_admins)}
        case RequestRejected():
            changes |= _enter(state, Stage.REJECTED, event.at)
            changes["rejection_reason"] = event.reason
        case RiskAssessmentRecorded():
            done = dict(state.risk_assessments)
            done[event.assessment.kind] = event.assessment
            changes["risk_assessments"] = done
            if set(done) == set(RiskAssessmentKind):
                changes |= _enter(state, Stage.AWAITING_SIGNOFF, event.at)
        case SignOffApproved():
            changes |= _enter(state, Stage.AWAITING_ACTIVATION, event.at)
            changes |= {"sign_off": event.checklist, "signed_off_by": event.actor}
        case SentBackForChanges():
            changes |= _enter(state, Stage.AMENDING, event.at)
            changes["times_sent_back"] = state.times_sent_back + 1
            changes["platform_may_change"] = event.platform_may_change
        case RequestAmended():
            changes |= _enter(state, Stage.AWAITING_SIGNOFF, event.at)
            changes |= {"request": event.request, "platform_may_change": False}
            if event.actor and state.authorities.is_manager(event.actor):
                # the manager's own amendment appoints its admins.
                changes["approved_admins"] = list(event.request.proposed_admins)
        case AccountActivated():
            changes |= _enter(state, Stage.ACTIVE, event.at)
            changes |= {"handle": event.handle, "url": event.url,
                        "platform_account_id": event.platform_account_id,
                        "admins": {a.person: a for a in event.admins},
                        # R-15..R-20: monitoring duties run from activation.
                        "monitoring": mon.started(event.at, monitoring_duty(state),
                                                  state.monitoring)}
        case ListedInRegister():
            changes["listed"] = True
        case AdminAdded():
            changes["admins"] = {**state.admins, event.admin.person: event.admin}
            changes["approved_admins"] = sorted({*state.approved_admins, event.admin.person})
            if not event.admin.two_factor:  # a deficiency, chased until confirmed
                changes["admins_without_2fa"] = {**state.admins_without_2fa,
                                                 event.admin.person: event.at}
        case AdminRemoved():
            changes["admins"] = {k: v for k, v in state.admins.items() if k != event.person}
            changes["admins_without_2fa"] = {k: v for k, v in state.admins_without_2fa.items()
                                             if k != event.person}
        case AdminTwoFactorConfirmed():
            changes["admins"] = {**state.admins,
                                 event.person: Admin(person=event.person, two_factor=True)}
            changes["admins_without_2fa"] = {k: v for k, v in state.admins_without_2fa.items()
                                             if k != event.person}
        case PublisherAppointed():
            changes["publishers"] = sorted({*state.publishers, event.person})
        case PublisherRemoved():
            changes["publishers"] = [p for p in state.publishers if p != event.person]
        case ClosureProposedForBreach():
            changes |= {"breach_proposed_at": event.at, "breach": event.breach,
                        "fired_steps": [*state.fired_steps, event.step]}
        case AccountKept():
            changes |= {"breach_proposed_at": None, "breach": None, "breach_kept_at": event.at,
                        "monitoring": mon.with_kept(state.monitoring, event.at, event.reason)}
        case AdminCoverageLost():
            changes |= {"coverage_lost_at": event.at, "escalated": False}
        case AdminCoverageRestored():
            changes |= {"coverage_lost_at": None, "escalated": False}
        case DeadlineReminderSent():
            changes["fired_steps"] = [*state.fired_steps, event.step]
        case DeadlineEscalated():
            changes |= {"fired_steps": [*state.fired_steps, event.step], "escalated": True}
        case RequestLapsed():
            changes |= _enter(state, Stage.LAPSED, event.at)
            changes["fired_steps"] = [*state.fired_steps, event.step]
        case AuthoritiesUpdated():
            changes["authorities"] = event.authorities
        case MessageSettingsChanged():
            changes["message_policy"] = event.policy
        case ClosureRequested():
            changes |= _enter(state, Stage.CLOSING, event.at)
            changes |= {"closure_reason": event.reason, "closure_requested_by": event.actor,
                        "coverage_lost_at": None}
        case FinalSnapshotArchived():
            changes["final_package"] = event.package
        case RemovedFromRegister():
            changes["listed"] = False
        case AccountClosed():
            changes |= _enter(state, Stage.CLOSED, event.at)
            changes["closed_at"] = event.at
        case ProfileChanged():
            changes["profile_changed_at"] = event.at
            for field_name, value in (("profile_name", event.name), ("handle", event.handle),
                                      ("url", event.url), ("profile_about", event.about),
                                      ("platform_account_id", event.platform_account_id)):
                if value is not None:
                    changes[field_name] = value
        case PostHeld():
            changes["held_posts"] = [*state.held_posts, HeldPost(
                post_id=event.post_id, published_at=event.published_at,
                approved_by=event.approved_by, written_by=event.actor or SYSTEM,
                found=event.found, approvers=event.approvers, since=event.at)]
        case PostSentBack():
            changes["held_posts"] = [h for h in state.held_posts if h.post_id != event.post_id]
        case _:
            if isinstance(event, PostRecorded) and state.held_posts:
                changes["held_posts"] = [h for h in state.held_posts
                                         if h.post_id != event.post_id]
            changes["monitoring"] = _evolve_monitoring(state, event)
    return state.model_copy(update=changes)


def _evolve_monitoring(state: AccountState, event: AccountEvent) -> mon.MonitoringState:
    m, duty = state.monitoring, monitoring_duty(state)
    match event:
        case CheckInRecorded():
            return mon.with_check_in(m, mon.CheckIn(
                checked_at=event.checked_at, by=event.actor or SYSTEM, source=event.source,
                case_id=event.case_id), duty, event.at)
        case PostRecorded():
            return mon.with_post(m, mon.PublishedPost(
                post_id=event.post_id, published_at=event.published_at,
                recorded_by=event.actor or SYSTEM), duty, event.at)
        case WatchItemReported():
            return mon.with_watch_item(m, mon.WatchItem(
                item_id=event.item_id, summary=event.summary, link=event.link,
                seen_at=event.seen_at, reported_by=event.actor or SYSTEM,
                reported_at=event.at))
        case WatchItemResolved():
            return mon.with_watch_resolved(m, event.item_id, event.actor or SYSTEM, event.note,
                                           event.at)
        case MonitoringSettingsChanged():
            return m.model_copy(update={"policy": event.policy})
        case CheckInReminderSent() | CheckInEscalated() if _step_name(
                event.step) == mon.CRISIS_CHECK_IN:
            return mon.with_crisis_step_fired(m, event.step,
                                              isinstance(event, CheckInEscalated))
        case CheckInReminderSent():
            return mon.with_step_fired(m, _step_name(event.step), event.day.isoformat(), duty,
                                       event.at)
        case CheckInEscalated():
            subject = event.day.isoformat() if event.day else (
                event.since.isoformat() if event.since else "")
            return mon.with_step_fired(m, _step_name(event.step), subject, duty, event.at)
        case PostingRhythmWarned():
            return mon.with_step_fired(m, mon.POSTING_RHYTHM, event.week_starting.isoformat(),
                                       duty, event.at)
        case ClosureProposed():
            return mon.with_step_fired(m, mon.INACTIVITY, event.inactive_since.isoformat(),
                                       duty, event.at)
        case WatchItemReminderSent() | WatchItemEscalated():
            return mon.with_step_fired(m, _step_name(event.step), event.item_id, duty, event.at)
    raise TypeError(f"unknown event {event.type}")


def _step_name(key: str) -> str:
    return key.split("@", 1)[0]


def fold(events: list[AccountEvent]) -> AccountState:
    state: AccountState | None = None
    for event in events:
        state = evolve(state, event)
    if state is None:
        raise ValueError("no events")
    return state


def monitoring_hours_text(hours: OfficeHours) -> str:
    """R-17: the published monitoring hours, e.g. 'vardagar 08:00–16:30'."""
    return f"vardagar {hours.opens:%H:%M}–{hours.closes:%H:%M}"

