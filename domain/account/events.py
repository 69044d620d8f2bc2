"""The account's events: what the record holds, as recorded (R-01..R-53)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    TypeAdapter,
)

from domain import monitoring as mon
from domain.account.images import ConsentEnd, PostImage
from domain.account.values import (
    Absence,
    AccountRequest,
    Admin,
    ArchivePackageRef,
    RiskAssessment,
    SignOffChecklist,
    Stage,
)
from domain.directory import Authorities, Country
from domain.message_policy import MessagePolicy
from domain.policy import LifecyclePolicy


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
    # R-14: recipient -> the absent people they were told for ("cover for
    # X"); the absent are not among the recipients. Empty: nobody away.
    covering: dict[str, list[str]] = {}


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


class AbsenceRecorded(_Event):
    """R-14: an admin will be away, and who covers meanwhile."""

    type: Literal["AbsenceRecorded"] = "AbsenceRecorded"
    absence: Absence


class AbsenceCancelled(_Event):
    """R-14: called off before it began, or ended at `at` (back early)."""

    type: Literal["AbsenceCancelled"] = "AbsenceCancelled"
    absence_id: str
    person: str


class AllAdminsAwayEscalated(_StepFired):
    """R-14: every admin of the account is away from `due` until `until`:
    the unit's manager (and deputy) are told at once; the account is
    escalated until an admin is back."""

    type: Literal["AllAdminsAwayEscalated"] = "AllAdminsAwayEscalated"
    away: list[str]
    until: datetime


class AdminBackFromAbsence(_Event):
    """R-14: an admin of an account whose admins were all away is back (the
    absence ended, was called off, or the admins changed)."""

    type: Literal["AdminBackFromAbsence"] = "AdminBackFromAbsence"
    step: str
    since: datetime


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
    # R-41: its images' rights and consents (a guardian's for a child under 15).
    images: tuple[PostImage, ...] = ()


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
    images: tuple[PostImage, ...] = ()  # R-41, recorded once the post is confirmed


class PostSentBack(_Event):
    """R-44: the held post is sent back to its writer to be changed (or taken
    down), with a comment; it is not recorded as published."""

    type: Literal["PostSentBack"] = "PostSentBack"
    post_id: str
    comment: str
    written_by: str


class ConsentWithdrawn(_Event):
    """R-41 (issue 14): a guardian's uploaded consent ended: withdrawn by the
    guardian or disposed of, by `actor` at `at`, with the reason. Its file is
    destroyed (its own data key, `consent:<upload id>`); the post's image
    is taken down by the account's admins, who are told."""

    type: Literal["ConsentWithdrawn"] = "ConsentWithdrawn"
    upload_id: str
    post_id: str
    end: ConsentEnd = "withdrawn"
    reason: str


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
    | ConsentWithdrawn
    | AccountKept
    | WatchItemReported
    | WatchItemResolved
    | MonitoringSettingsChanged
    | ProfileChanged
    | AbsenceRecorded
    | AbsenceCancelled
    | AllAdminsAwayEscalated
    | AdminBackFromAbsence,
    Field(discriminator="type"),
]


_EVENTS: TypeAdapter[AccountEvent] = TypeAdapter(AccountEvent)


def parse_event(data: object) -> AccountEvent:
    """An event from its stored JSON form (the `type` field picks the class)."""
    return _EVENTS.validate_python(data)


def parse_event_json(text: bytes | str) -> AccountEvent:
    """parse_event of the stored JSON text itself, not decoded first (the
    fast rebuild of the read models, issue 15)."""
    return _EVENTS.validate_json(text)
