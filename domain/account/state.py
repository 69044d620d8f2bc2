"""The account's state, folded from its events, and the names it goes by."""

from __future__ import annotations

import re
import unicodedata
from datetime import datetime
from typing import Any

from pydantic import (
    BaseModel,
    ConfigDict,
)

from domain import monitoring as mon
from domain.account.images import PostImage, RecordedConsent
from domain.account.values import (
    Absence,
    AccountRequest,
    Admin,
    ArchivePackageRef,
    RiskAssessment,
    RiskAssessmentKind,
    SignOffChecklist,
    Stage,
)
from domain.core import (
    Platform,
)
from domain.crisis_mode import CrisisStatus
from domain.directory import Authorities, Country
from domain.message_policy import MessagePolicy
from domain.policy import LifecyclePolicy


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
    images: tuple[PostImage, ...] = ()


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
    # Issue 14 (item 8): deadlines of N working days fall at the end of the
    # office day (domain.calendar.working_days_end). Not an event: the
    # workflow sets it False for a run recorded before (workflow.patched
    # "usability_end_of_day"), whose timers keep the clock time of the start.
    end_of_day_deadlines: bool = True
    approved_admins: list[str] = []  # appointed by the manager
    approved_as: str | None = None  # manager, deputy or next_level
    terms_delegate: str | None = None
    platform_may_change: bool = False  # sent back for another platform
    admins_without_2fa: dict[str, datetime] = {}  # added without 2FA, since
    publishers: list[str] = []  # publish beside the admins
    held_posts: list[HeldPost] = []  # staff posts held for confidential information
    consents: list[RecordedConsent] = []  # R-41: guardians' uploaded consents (issue 14)
    breach_proposed_at: datetime | None = None
    breach: str | None = None
    breach_kept_at: datetime | None = None
    # R-14: the admins' absences (ended ones are dropped after a while), how
    # many were ever recorded (their ids), and since when all admins are away
    # (escalated to the manager) if they are.
    absences: list[Absence] = []
    absences_recorded: int = 0
    all_away_since: datetime | None = None
    absences_known_at: datetime | None = None  # the last change of absences or admins

    @property
    def admins_with_two_factor(self) -> int:
        return sum(1 for a in self.admins.values() if a.two_factor)

    @property
    def name(self) -> str:
        """The account's name as the public sees it now: the requested one
        until a profile change renames it (R-37)."""
        return self.profile_name or self.request.account_name


def account_slug(account_name: str, platform: Platform) -> str:
    """A readable, stable case name for workflow ids: no personal data, only
    the account's public name and platform."""
    folded = unicodedata.normalize("NFKD", account_name.lower())
    ascii_only = folded.encode("ascii", "ignore").decode()
    words = re.sub(r"[^a-z0-9]+", "-", ascii_only).strip("-")[:60].strip("-")
    return f"{words or 'konto'}-{platform.value}"


def workflow_id_for(municipality_id: str, slug: str) -> str:
    return f"account:{municipality_id}:{slug}"


def answering_policy(state: AccountState, municipality_policy: dict[str, Any] | None
                     ) -> MessagePolicy:
    """R-23, R-43: how the account's messages are answered: its own settings
    once the manager or the communications unit changed them, else the
    municipality's (`municipality_policy`, as the directory gives it) with
    the account's published monitoring hours as its office hours (R-17), so
    an answer deadline counts the hours someone watches the account."""
    if state.message_policy is not None:
        return state.message_policy
    office_hours = state.request.monitoring_hours.model_dump()
    return MessagePolicy.model_validate({**(municipality_policy or {}),
                                         "office_hours": office_hours})
