"""The account's commands: what people and the system ask of an account."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated

from pydantic import (
    ConfigDict,
    Field,
)

from domain import monitoring as mon
from domain.account.images import ConsentEnd, PostImage
from domain.account.values import (
    AccountRequest,
    Admin,
    ArchivePackageRef,
    RiskAssessmentKind,
    SignOffChecklist,
    SignOffDecision,
)
from domain.core import (
    HttpsUrl,
    PersonId,
    ShortText,
    Text,
    TimeZoneName,
)
from domain.directory import Authorities, Country
from domain.message_policy import MessagePolicy
from domain.policy import LifecyclePolicy
from domain.text import CleanStrings


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
    # each image's rights and consents, recorded with the post.
    images: tuple[PostImage, ...] = ()


class WithdrawConsent(_Command):
    """R-41 (issue 14): a guardian's uploaded consent ends: the guardian
    withdrew it (`withdrawn`), or it is disposed of (`disposed`); its file is
    destroyed and the image is taken down."""

    upload_id: str = Field(pattern=r"^[0-9a-f-]{36}$")
    reason: Text
    end: ConsentEnd = "withdrawn"


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


class RecordAbsence(_Command):
    """R-14: an admin will be away (both days included, the account's local
    dates); `cover` takes their reminders and escalations meanwhile: one of
    the account's admins, or a colleague of the municipality, which the web
    app checks in the directory (`cover_in_directory`)."""

    person: PersonId
    starts_on: date
    ends_on: date
    cover: PersonId
    cover_in_directory: bool = False


AbsenceId = Annotated[str, Field(pattern=r"^A-[0-9]{1,9}$")]


class CancelAbsence(_Command):
    """R-14: an absence is called off (not begun) or ends now (back early)."""

    absence_id: AbsenceId


Command = (
    RequestAccount | ApproveRequest | RejectRequest | RecordRiskAssessment | SignOff
    | AmendRequest | ActivateAccount | AddAdmin | RemoveAdmin | ConfirmTwoFactor
    | RequestClosure | UpdateAuthorities | FireDueDeadlines | RecordFinalSnapshot
    | AppointPublisher | RemovePublisher
    | ChangeMessageSettings | RecordCheckIn | RecordPost | ConfirmPost | SendBackPost
    | KeepAccount | ReportWatchItem
    | ResolveWatchItem | ChangeMonitoringSettings | RecordProfileChange
    | RecordAbsence | CancelAbsence | WithdrawConsent
)
