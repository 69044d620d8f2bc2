"""A case's state, folded from its events."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict

from domain.country import Country
from domain.crisis_mode import CrisisMode
from domain.inbound import InboundMessage
from domain.message.values import (
    Correction,
    HeldFor,
    HeldForward,
    HeldHide,
    HeldKind,
    HeldRemoval,
    MessageAuthorities,
    Stage,
)
from domain.message_policy import (
    MessagePolicy,
)
from domain.redaction import RemovalCategory
from domain.screening import Flag


class PendingReply(BaseModel):
    """R-39: a reply waiting for crisis management, and where the case
    returns if it is sent back (the stage and its start, so no deadline
    moves)."""

    model_config = ConfigDict(frozen=True)

    kind: HeldKind
    text: str
    signature: str | None = None
    drafted_by: str | None = None
    submitted_by: str
    submitted_at: datetime
    crisis_id: str
    approvers: frozenset[str]
    returns_to: Stage
    returns_to_since: datetime
    held_for: HeldFor = "crisis"
    removal: HeldRemoval | None = None  # a removal waiting
    forward: HeldForward | None = None  # a forward waiting
    hide: HeldHide | None = None  # a hide waiting
    correction: Correction | None = None

    @property
    def published_text(self) -> str:
        """What goes onto the platform: the text and its signature (R-26)."""
        return self.text + (f"\n{self.signature}" if self.signature else "")


class AwaitedAction(BaseModel):
    """An action a person is to carry out by hand on a platform without an
    API, and since when it is awaited."""

    model_config = ConfigDict(frozen=True)

    action: str
    instruction: str
    instruction_key: str | None = None
    instruction_params: dict[str, str] = {}
    since: datetime


class MessageState(BaseModel):
    """Everything the workflow knows of the case; `done` when it has reached
    its outcome and no one still has to act by hand on the platform."""

    case_id: str
    account_id: str
    municipality_id: str
    country: Country = Country.SE
    timezone: str = "Europe/Stockholm"
    message: InboundMessage
    policy: MessagePolicy = MessagePolicy()
    authorities: MessageAuthorities | None = None
    stage: Stage
    stage_entered_at: datetime
    version: int = 0
    received_at: datetime
    officer: str | None = None
    draft: str | None = None
    diarium_number: str | None = None
    confidential: bool = False
    answer: str | None = None
    correction: Correction | None = None  # the factual error the answer corrected
    redaction_category: RemovalCategory | None = None
    disposal_decision: str | None = None
    disposal_decided_by: str | None = None
    dispose_on: datetime | None = None
    escalated: bool = False
    fired_steps: list[str] = []
    flags: list[Flag] = []
    mood: str = "neutral"
    auto_hide: bool = False
    hidden: bool = False
    pending_action: str | None = None
    pending_instruction: str | None = None
    pending_instruction_key: str | None = None
    pending_instruction_params: dict[str, str] = {}
    pending_since: datetime | None = None
    # the SHA-256 of the screenshot uploaded for the action by
    # hand now awaited (a manual deletion waits for it, screenshot_needed).
    pending_screenshot: str | None = None
    # the last removal keeps a copy (False for advertising, R-32).
    removal_copy_kept: bool = False
    # Issue 9: further actions by hand, awaited in turn once the one above is
    # confirmed (an answer posted by hand after an acknowledgement).
    queued_actions: list[AwaitedAction] = []
    first_response_at: datetime | None = None
    closed_at: datetime | None = None
    crisis: CrisisMode | None = None  # the crisis rules in force
    crisis_since: datetime | None = None  # when they began to apply to this case
    crisis_id: str | None = None  # tagged for crisis management (kept after the end)
    pending_reply: PendingReply | None = None  # waiting for crisis management
    sent_back: str | None = None  # crisis management's comment on the last reply
    # while forwarded, the citizen's own clock: the stage whose
    # deadline the citizen is owed (open or acknowledged) and since when.
    citizen_stage: Stage | None = None
    citizen_since: datetime | None = None
    closed_reason: str | None = None  # why it was closed or only watched
    # Issue 16's rules (the chase, the citizen's clock while forwarded,
    # outgoing screening, what screening found at removal, R-45's copy). Not
    # an event: the workflow sets it False for runs begun before them, so
    # their histories replay as recorded (workflow.patched).
    fidelity_rules: bool = True
    # Issue 16: in a crisis a removal and a forward go through
    # crisis management too, and the communications unit publishes replies.
    # False for runs begun before (workflow.patched "issue16-crisis-messages").
    crisis_covers_all: bool = True
    # an answered case is chased until it is registered, disposed of or
    # closed with a reason. False for runs begun before (workflow.patched
    # "issue16-records-chase"); a run continued as new takes it then.
    records_chase: bool = True
    # crisis management's approval carries out a held removal or
    # forward even when the admin who asked for it has been removed since
    # (their right was checked when they asked; the approval is the decision
    # now), so the case cannot wait on a person who may no longer act. False
    # for runs begun before (workflow.patched "approval-outlives-the-admin").
    approval_outlives_the_admin: bool = True
    # Issue 14 (item 8): deadlines of N working days fall at the end of the
    # office day (domain.calendar.working_days_end). False for runs begun
    # before (workflow.patched "usability_end_of_day"): their timers keep the
    # clock time of the start; a run continued as new takes it then.
    end_of_day_deadlines: bool = True
    # Issue 14: a manual deletion is confirmed only once its
    # screenshot is uploaded. Not an event: False for runs begun before it
    # (workflow.patched "uploads14_screenshot_before_delete").
    screenshot_rule: bool = True

    @property
    def done(self) -> bool:
        # a watched (or answered) message stays until its disposal date
        # has come; an answered one until it is registered or disposed of.
        disposal_due = (self.stage in (Stage.WATCHED, Stage.ANSWERED)
                        and self.dispose_on is not None)
        return (self.stage.terminal and self.pending_action is None and not disposal_due
                and not awaits_records(self))


def awaits_records(state: MessageState) -> bool:
    """R-50, "Handlingar av tillfällig eller ringa betydelse ska gallras vid
    inaktualitet" and "diarieföras och arkiveras i ärendeakt": an answered
    case is either registered in the diarium or disposed of as a minor
    record; until one of them (or a person with the right closes it with a
    reason, R-22) it is owed."""
    return (state.records_chase and state.fidelity_rules and state.stage is Stage.ANSWERED
            and state.diarium_number is None and state.dispose_on is None
            and state.closed_reason is None)
