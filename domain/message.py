"""One inbound comment or message as a case, as pure decide/evolve functions.

Every citizen's message ends in an outcome the guidelines allow, never
silently (R-22): answered (R-23, R-26, R-27), forwarded to a case officer
whose draft an admin publishes (R-24, R-25), registered in the diarium
(R-28, R-31), redacted with a preserved copy (R-29..R-34), or disposed of as
trivial under a disposal decision (R-33, R-35). Staff posts are recorded as
drawn up by the municipality and need no answer (R-21).

Deadlines run in office time of the account's municipality (R-23) and are a
`MessagePolicy` value carried in the state (R-43). While a crisis covers the
account (R-39) the answer deadline tightens to the crisis setting, counted
around the clock, and the case is tagged for crisis management. Where the
municipality's communication goes through crisis management in a crisis
(Kristiansand, R-39, R-43), an admin's reply waits for crisis management's
approval before it is published (Stage.AWAITING_APPROVAL).
"""

from __future__ import annotations

from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from domain.calendar import add_office_hours, add_working_days, next_working_day_close
from domain.core import (
    DeadlineStep,
    NotAuthorised,
    RuleViolation,
    TimeZoneName,
    WrongStage,
)
from domain.country import Country
from domain.crisis_mode import CrisisMode
from domain.inbound import InboundMessage
from domain.message_policy import (
    DEFAULT_DISPOSAL_DECISIONS,
    AnswerRule,
    DisposalDecision,
    MessagePolicy,
    SignatureRule,
)
from domain.redaction import RemovalCategory
from domain.screening import Flag, FlagKind, auto_actions, confidential_in_outgoing, screen
from domain.text import CleanStrings

__all__ = ["DEFAULT_DISPOSAL_DECISIONS", "AnswerRule", "DisposalDecision", "MessagePolicy",
           "SignatureRule", "confidential_in_outgoing"]

# Case ids are workflow ids, `message:<platform>:<external id>`, and name the
# case's event stream too.
STREAM_PREFIX = "message:"

# --------------------------------------------------------------------------- settings


class MessageAuthorities(BaseModel):
    """Who may decide on the account's messages: its admins (R-13 appoints
    them), the unit's manager and deputy, the communications unit."""

    model_config = ConfigDict(frozen=True)

    admins: frozenset[str]
    manager: str
    deputy: str | None = None
    communications: frozenset[str] = frozenset()
    registrars: frozenset[str] = frozenset()

    @property
    def managers(self) -> tuple[str, ...]:
        return tuple(x for x in (self.manager, self.deputy) if x)


class Stage(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    FORWARDED = "forwarded"
    DRAFTED = "drafted"
    AWAITING_APPROVAL = "awaiting_approval"  # a reply waits for crisis management
    DISPOSAL_PENDING = "disposal_pending"
    ANSWERED = "answered"
    REDACTED = "redacted"
    DISPOSED = "disposed"
    STAFF_POST = "staff_post"
    WATCHED = "watched"  # watched, no reply needed (where the municipality allows it)
    CLOSED = "closed"  # closed with a reason by a person with the right

    @property
    def terminal(self) -> bool:
        return self in {Stage.ANSWERED, Stage.REDACTED, Stage.DISPOSED, Stage.STAFF_POST,
                        Stage.WATCHED, Stage.CLOSED}


# --------------------------------------------------------------------------- events


class _Event(BaseModel):
    model_config = ConfigDict(frozen=True)

    at: datetime
    actor: str | None = None


class MessageReceived(_Event):
    """R-21: a citizen's message, received when it was published."""

    type: Literal["MessageReceived"] = "MessageReceived"
    case_id: str
    account_id: str
    municipality_id: str
    country: Country
    timezone: TimeZoneName
    message: InboundMessage
    policy: MessagePolicy
    authorities: MessageAuthorities
    flags: list[Flag] = []
    mood: str = "neutral"
    auto_hide: bool = False  # the account's policy hides such content at once
    crisis: CrisisMode | None = None  # received while a crisis covers the account


class StaffPostRecorded(_Event):
    """R-21: a staff post is a record drawn up when published; no answer due."""

    type: Literal["StaffPostRecorded"] = "StaffPostRecorded"
    case_id: str
    account_id: str
    municipality_id: str
    message: InboundMessage
    country: Country = Country.SE
    timezone: TimeZoneName = "Europe/Stockholm"


class MessageHidden(_Event):
    """Unpublished pending a decision (R-31 hides identity numbers at once);
    the copy is preserved first (R-30)."""

    type: Literal["MessageHidden"] = "MessageHidden"
    reason: str
    preserved_copy: bool
    # R-31 with R-39: hidden because it holds confidential data (never waits).
    confidential: bool = False


class AcknowledgementSent(_Event):
    type: Literal["AcknowledgementSent"] = "AcknowledgementSent"
    text: str
    reply_id: str | None = None


class MessageAnswered(_Event):
    type: Literal["MessageAnswered"] = "MessageAnswered"
    text: str
    signature: str | None = None
    reply_id: str | None = None
    drafted_by: str | None = None


class MessageForwarded(_Event):
    type: Literal["MessageForwarded"] = "MessageForwarded"
    officer: str
    note: str


class DraftSubmitted(_Event):
    type: Literal["DraftSubmitted"] = "DraftSubmitted"
    text: str


class MessageRegistered(_Event):
    type: Literal["MessageRegistered"] = "MessageRegistered"
    diarium_number: str
    record_class: str
    confidential: bool


class MessageRedacted(_Event):
    type: Literal["MessageRedacted"] = "MessageRedacted"
    category: RemovalCategory
    law: str
    reason: str
    preserved_copy: bool
    action: Literal["hide", "delete"]
    # the disposal decision a deletion without a copy (advertising) is made under.
    decision_id: str | None = None
    # the diarium number the kept copy is filed under, with its case.
    filed_as: str | None = None


class MessageWatched(_Event):
    """R-46: watched, no reply needed ("I vissa fall kan det räcka med att
    bara bevaka flödet", Mora), with who and why."""

    type: Literal["MessageWatched"] = "MessageWatched"
    reason: str
    # a record of minor importance: disposed of under this decision on
    # this date ("ska gallras vid inaktualitet"), without anyone to remember it.
    decision_id: str | None = None
    dispose_on: datetime | None = None


class CaseClosed(_Event):
    """R-22: a person with the right (the unit's manager or deputy, the
    communications unit) closed a case no one acted on, saying why; the
    chain of reminders ends only so or by an outcome."""

    type: Literal["CaseClosed"] = "CaseClosed"
    reason: str


class DisposalScheduled(_Event):
    type: Literal["DisposalScheduled"] = "DisposalScheduled"
    decision_id: str
    dispose_on: datetime


class MessageDisposed(_Event):
    """R-35: the disposal-log entry: decision, date and who."""

    type: Literal["MessageDisposed"] = "MessageDisposed"
    decision_id: str
    decided_by: str


class ManualActionRequested(_Event):
    """On a platform without an API a person acts by hand (ManualConnector).
    `instruction` is the Swedish text; the key and params (newer records)
    render it in the reader's language (activities/connectors/manual_texts)."""

    type: Literal["ManualActionRequested"] = "ManualActionRequested"
    action: str
    instruction: str
    instruction_key: str | None = None
    instruction_params: dict[str, str] = {}


class ManualActionConfirmed(_Event):
    type: Literal["ManualActionConfirmed"] = "ManualActionConfirmed"
    action: str
    platform_object_id: str | None = None


ReplyKind = Literal["answer", "acknowledgement"]
# what waits for crisis management: a reply, and (issue 16) a removal
# or a forward to a case officer.: why it is held.
HeldKind = Literal["answer", "acknowledgement", "removal", "forward", "hide"]
HeldFor = Literal["crisis", "confidential", "communications"]


class HeldRemoval(BaseModel):
    """R-39: a removal (R-29..R-34) waiting for crisis management, as the
    admin decided it; carried out as such once approved."""

    model_config = ConfigDict(frozen=True)

    category: RemovalCategory
    law: str
    reason: str
    preserved_copy: bool
    action: Literal["hide", "delete"] = "delete"
    decision_id: str | None = None
    keep: bool = False


class HeldHide(BaseModel):
    """R-39: an admin's hide (unpublished pending a decision) waiting for
    crisis management; carried out as such once approved."""

    model_config = ConfigDict(frozen=True)

    reason: str
    preserved_copy: bool


class HeldForward(BaseModel):
    """R-39: a forward to a case officer (R-24) waiting for crisis management."""

    model_config = ConfigDict(frozen=True)

    officer: str
    note: str


class ReplySubmittedForApproval(_Event):
    """R-39 (Kristiansand): all communication goes through crisis management.
    An admin's reply (an answer, a published draft or an acknowledgement)
    waits for one of `approvers` to approve it; nothing is published yet."""

    type: Literal["ReplySubmittedForApproval"] = "ReplySubmittedForApproval"
    kind: HeldKind
    text: str
    signature: str | None = None
    drafted_by: str | None = None
    crisis_id: str
    approvers: list[str]
    # "confidential" when screening of the outgoing text held it (an
    # identity number or a confidential marker) for a person with the right;
    # "communications" when the communications unit publishes it.
    held_for: HeldFor = "crisis"
    # R-39 (issue 16): the removal or forward waiting (kind "removal",
    # "forward"); `text` is then its reason or note.
    removal: HeldRemoval | None = None
    forward: HeldForward | None = None
    hide: HeldHide | None = None  # an admin's hide waiting


class ReplyApproved(_Event):
    """R-39: crisis management approved the reply; it is published and
    recorded next (MessageAnswered or AcknowledgementSent, by its writer)."""

    type: Literal["ReplyApproved"] = "ReplyApproved"
    kind: HeldKind
    submitted_by: str


class ReplySentBack(_Event):
    """R-39: crisis management sent the reply back with a comment; the case
    returns to where it was, its deadlines running as before."""

    type: Literal["ReplySentBack"] = "ReplySentBack"
    comment: str
    submitted_by: str


class CrisisRulesApplied(_Event):
    """R-39: a crisis now covers the case's account: the answer deadline
    tightens and the case is tagged for crisis management."""

    type: Literal["CrisisRulesApplied"] = "CrisisRulesApplied"
    crisis: CrisisMode


class CrisisRulesLifted(_Event):
    """R-39: the crisis ended; the normal deadlines apply again (the tag stays)."""

    type: Literal["CrisisRulesLifted"] = "CrisisRulesLifted"
    crisis_id: str


class AdminsUpdated(_Event):
    """R-12, R-13, R-22: the account's manager added or removed an admin after
    the case began; from now on these (the account's full list) decide on it."""

    type: Literal["AdminsUpdated"] = "AdminsUpdated"
    admins: list[str]


class _StepFired(_Event):
    """A reminder or escalation of the deadline plan, to its recipients."""

    step: str
    stage: Stage
    due: datetime
    recipients: list[str]


class MessageReminderSent(_StepFired):
    type: Literal["MessageReminderSent"] = "MessageReminderSent"


class MessageEscalated(_StepFired):
    type: Literal["MessageEscalated"] = "MessageEscalated"


MessageEvent = Annotated[
    MessageReceived | StaffPostRecorded | MessageHidden | AcknowledgementSent | MessageAnswered
    | MessageForwarded | DraftSubmitted | MessageRegistered | MessageRedacted
    | DisposalScheduled | MessageDisposed | ManualActionRequested | ManualActionConfirmed
    | MessageReminderSent | MessageEscalated | CrisisRulesApplied | CrisisRulesLifted
    | ReplySubmittedForApproval | ReplyApproved | ReplySentBack | AdminsUpdated
    | MessageWatched | CaseClosed,
    Field(discriminator="type"),
]
_EVENTS: TypeAdapter[MessageEvent] = TypeAdapter(MessageEvent)


def parse_event(data: object) -> MessageEvent:
    return _EVENTS.validate_python(data)


# --------------------------------------------------------------------------- commands

Text = Annotated[str, Field(min_length=1, max_length=8000)]


class _Command(CleanStrings):
    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    actor: str = Field(min_length=1, max_length=64)


class ReceiveMessage(_Command):
    case_id: str
    account_id: str
    municipality_id: str
    country: Country
    timezone: TimeZoneName
    message: InboundMessage
    policy: MessagePolicy = MessagePolicy()
    authorities: MessageAuthorities
    crisis: CrisisMode | None = None  # the crisis covering the account, if any


class ApplyCrisis(_Command):
    """R-39: the crisis rules that now cover the case's account (None: none)."""

    crisis: CrisisMode | None = None


class UpdateAdmins(_Command):
    """R-12, R-13: the account's admins as they are now (the whole list), from
    the account's workflow after it recorded an AdminAdded or AdminRemoved."""

    admins: frozenset[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1)


class Hide(_Command):
    reason: Text
    preserved_copy: bool
    # hidden because it holds confidential data; in a crisis it does
    # not wait for crisis management, as it protects the person.
    confidential: bool = False


class Acknowledge(_Command):
    text: Text
    reply_id: str | None = None


class Respond(_Command):
    text: Text
    signed: bool = False
    signature: str | None = Field(None, max_length=300)
    reply_id: str | None = None


class Forward(_Command):
    officer: str = Field(min_length=1, max_length=64)
    note: Text


class SubmitDraft(_Command):
    text: Text


class Register(_Command):
    diarium_number: str = Field(min_length=1, max_length=50)
    record_class: str = Field(min_length=1, max_length=100)
    confidential: bool = False


class Redact(_Command):
    category: RemovalCategory
    law: str = Field(max_length=500)
    reason: Text
    preserved_copy: bool
    action: Literal["hide", "delete"] = "delete"
    decision_id: str | None = Field(None, max_length=100)  # R-33, for advertising
    # the removed content is to be kept (bevaras): registered first and
    # its copy filed with the case.
    keep: bool = False


class Watch(_Command):
    """R-46: the admin judges the comment needs only watching."""

    reason: Text


class CloseCase(_Command):
    """R-22: the manager, the deputy or the communications unit closes a case
    that no one acted on, with a reason."""

    reason: Text


class Dispose(_Command):
    decision_id: str = Field(min_length=1, max_length=100)


class FireDue(_Command):
    pass


class ApproveReply(_Command):
    """R-39: crisis management approves the reply waiting for it; `reply_id`
    is the platform's id of what was then published."""

    reply_id: str | None = None


class SendBackReply(_Command):
    """R-39: crisis management sends the reply back to the admins, saying why."""

    comment: Text


class RequestManualAction(_Command):
    action: Literal["reply", "hide", "unhide", "delete"]
    # Kanalvakt's own words around a reply of up to 8000 characters and its
    # signature: longer than any Text, so an accepted reply is never refused here.
    instruction: str = Field(min_length=1, max_length=20_000)
    instruction_key: str | None = Field(None, max_length=100)
    instruction_params: dict[str, str] = {}


class ConfirmManualAction(_Command):
    platform_object_id: str | None = Field(None, max_length=300)


Command = (ReceiveMessage | Hide | Acknowledge | Respond | Forward | SubmitDraft | Register | Redact
           | Dispose | FireDue | RequestManualAction | ConfirmManualAction | ApplyCrisis
           | ApproveReply | SendBackReply | UpdateAdmins | Watch | CloseCase)


# --------------------------------------------------------------------------- state


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


# --------------------------------------------------------------------------- deadlines


def answer_due(start: datetime, state: MessageState) -> datetime:
    """R-23: within the account's answer period in office time; R-39: while a
    crisis covers the account, within the crisis setting counted around the
    clock (outside office hours too) from when it began to apply, whichever
    comes first."""
    p = state.policy
    if p.answer_rule is AnswerRule.NEXT_WORKING_DAY:
        normal = next_working_day_close(start, state.country, state.timezone, p.office_hours)
    else:
        normal = add_office_hours(start, p.answer_office_hours, state.country, state.timezone,
                                  p.office_hours)
    crisis = crisis_answer_due(start, state)
    return normal if crisis is None else min(normal, crisis)


def crisis_answer_due(start: datetime, state: MessageState) -> datetime | None:
    """R-39: the crisis deadline, wall-clock time from the later of `start`
    and the moment the crisis rules reached the case; None outside a crisis."""
    if state.crisis is None:
        return None
    return max(start, state.crisis_since or start) + state.crisis.answer_within


def deadline_plan(state: MessageState, now: datetime | None = None) -> list[DeadlineStep]:
    """Reminders and escalations of the current stage: a reminder to the
    admins before the deadline, the unit's manager at the deadline, the
    communications unit after a second period; then (R-22) the chase, every
    `chase_every_working_days` working days, until someone acts or a person
    with the right closes the case. While forwarded (R-24) the citizen's own
    deadline runs beside the officer's."""
    a = state.authorities
    if a is None:
        return []
    admins = tuple(sorted(a.admins))
    comms = tuple(sorted(a.communications))
    if state.pending_action is not None and state.pending_since is not None:
        steps = _manual_action_plan(state, a, admins)
        return steps + _chase(state, steps, f"manual-{state.pending_action}@"
                              f"{state.pending_since.isoformat()}",
                              a.managers + admins + comms, now)
    if state.stage in (Stage.WATCHED, Stage.ANSWERED) and state.dispose_on is not None:
        return [DeadlineStep(key=f"{state.stage.value}@{state.stage_entered_at.isoformat()}"
                                 ":dispose",
                             name="dispose", kind="lapse", due=state.dispose_on,
                             recipients=())]
    if awaits_records(state):
        steps = _records_plan(state, a, admins)
        return steps + _chase(state, steps, f"records@{state.stage_entered_at.isoformat()}",
                              a.managers + admins + comms, now)
    if state.stage.terminal:
        return []
    if state.stage is Stage.AWAITING_APPROVAL and state.pending_reply is not None:
        return _approval_plan(state)
    steps = _stage_plan(state)
    if not state.fidelity_rules:
        return steps
    if (state.stage in (Stage.FORWARDED, Stage.DRAFTED) and state.citizen_stage is not None
            and state.citizen_since is not None):
        citizen = state.model_copy(update={"stage": state.citizen_stage,
                                           "stage_entered_at": state.citizen_since,
                                           "citizen_stage": None, "citizen_since": None})
        steps = steps + _stage_plan(citizen)
    if state.stage is Stage.DISPOSAL_PENDING:
        return steps
    officer = (state.officer,) if state.officer and state.stage is Stage.FORWARDED else ()
    return steps + _chase(state, steps, f"{state.stage.value}@{state.stage_entered_at.isoformat()}",
                          a.managers + admins + comms + officer, now)


def _chase(state: MessageState, steps: list[DeadlineStep], key: str,
           recipients: tuple[str, ...], now: datetime | None = None) -> list[DeadlineStep]:
    """R-22, "no message is left unanswered": once every step of the plan has
    fired, the k-th chase falls due k times `chase_every_working_days`
    working days after the plan's last step, to the manager, the admins and
    the communications unit, for as long as the case stays open. One step at
    a time, so the plan stays finite; a late wake-up (`now`) chases once,
    for the latest one due, not once for every one missed."""
    if not state.fidelity_rules or not steps:
        return []
    fired = set(state.fired_steps)
    if any(s.key not in fired for s in steps):
        return []
    prefix = f"{key}:chase-"
    done = max((int(k.removeprefix(prefix)) for k in fired if k.startswith(prefix)), default=0)
    every = state.policy.chase_every_working_days
    k = done + 1
    due = add_working_days(max(s.due for s in steps), k * every, state.country, state.timezone)
    while now is not None and k < done + 10_000:
        following = add_working_days(due, every, state.country, state.timezone)
        if following > now:
            break
        k, due = k + 1, following
    unique = tuple(dict.fromkeys(recipients))
    return [DeadlineStep(key=f"{prefix}{k}", name="chase", kind="escalate", due=due,
                         recipients=unique)]


def _records_plan(state: MessageState, a: MessageAuthorities,
                  admins: tuple[str, ...]) -> list[DeadlineStep]:
    """R-50: answered, neither registered nor disposed of: the admins are
    reminded to register it or dispose of it as a minor record after
    `records_within_working_days`, the manager hears after twice as many
    (the chase follows, R-22)."""
    days = state.policy.records_within_working_days
    start = state.stage_entered_at
    key = f"records@{start.isoformat()}"

    def working(n: int) -> datetime:
        return add_working_days(start, n, state.country, state.timezone)

    return [DeadlineStep(key=f"{key}:records_reminder", name="records_reminder", kind="remind",
                         due=working(days), recipients=admins),
            DeadlineStep(key=f"{key}:records_escalation", name="records_escalation",
                         kind="escalate", due=working(2 * days),
                         recipients=a.managers + admins)]


def _stage_plan(state: MessageState) -> list[DeadlineStep]:
    """The steps of the current stage alone (no chase)."""
    a = state.authorities
    assert a is not None
    admins = tuple(sorted(a.admins))
    comms = tuple(sorted(a.communications))
    p, start = state.policy, state.stage_entered_at

    def step(name: str, kind: Literal["remind", "escalate", "lapse"], due: datetime,
             recipients: tuple[str, ...]) -> DeadlineStep:
        return DeadlineStep(key=f"{state.stage.value}@{start.isoformat()}:{name}", name=name,
                            kind=kind, due=due, recipients=recipients)

    def office(hours: float) -> datetime:
        return add_office_hours(start, hours, state.country, state.timezone, p.office_hours)

    def working(days: int) -> datetime:
        return add_working_days(start, days, state.country, state.timezone)

    match state.stage:
        case Stage.OPEN | Stage.DRAFTED:
            due = answer_due(start, state)
            second = answer_due(due, state)
            reminder = min(office(p.reminder_after_office_hours), due)
            crisis_due = crisis_answer_due(start, state)
            if crisis_due is not None and state.crisis is not None:
                # around the clock, halfway through the crisis period.
                reminder = min(reminder, crisis_due - state.crisis.answer_within / 2)
            return [step("answer_reminder", "remind", reminder, admins),
                    step("answer_deadline", "escalate", due, a.managers),
                    step("answer_escalation", "escalate", second, a.managers + comms)]
        case Stage.ACKNOWLEDGED:
            days = p.answer_after_acknowledgement_days
            reminder, due, second = _crisis_tightened(
                state, start, working(max(days - 1, 0)), working(days), working(2 * days))
            return [step("final_answer_reminder", "remind", reminder, admins),
                    step("final_answer_deadline", "escalate", due, a.managers),
                    step("final_answer_escalation", "escalate", second, a.managers + comms)]
        case Stage.FORWARDED:
            officer = (state.officer,) if state.officer else ()
            reminder, due, second = _crisis_tightened(
                state, start, working(max(p.officer_days - 1, 0)), working(p.officer_days),
                working(2 * p.officer_days))
            steps = [step("officer_reminder", "remind", reminder, officer),
                     step("officer_deadline", "escalate", due, a.managers + admins)]
            if state.fidelity_rules:
                # an officer who never answers goes on to the communications unit.
                steps.append(step("officer_escalation", "escalate", second,
                                  a.managers + admins + comms + officer))
            return steps
        case Stage.DISPOSAL_PENDING if state.dispose_on is not None:
            return [step("dispose", "lapse", state.dispose_on, ())]
        case _:
            return []


def _crisis_tightened(state: MessageState, start: datetime, reminder: datetime,
                      due: datetime, second: datetime) -> tuple[datetime, datetime, datetime]:
    """R-39, stepped-up monitoring: while a crisis covers the account, an
    acknowledged or forwarded case is due like an open one, within the
    crisis setting counted around the clock (the reminder halfway, the second
    escalation a period later); never later than in working days."""
    crisis_due = crisis_answer_due(start, state)
    if crisis_due is None or state.crisis is None:
        return reminder, due, second
    within = state.crisis.answer_within
    return (min(reminder, crisis_due - within / 2), min(due, crisis_due),
            min(second, crisis_due + within))


def _approval_plan(state: MessageState) -> list[DeadlineStep]:
    """R-39: while a reply waits for crisis management, the citizen's
    deadlines run on as in the stage the reply was written in (the same
    steps, so none fires twice if it is sent back), and crisis management
    hears of each step too."""
    pending = state.pending_reply
    assert pending is not None
    underlying = state.model_copy(update={"stage": pending.returns_to,
                                          "stage_entered_at": pending.returns_to_since,
                                          "pending_reply": None})
    approvers = tuple(sorted(pending.approvers))
    return [s.model_copy(update={"recipients": s.recipients + tuple(
                x for x in approvers if x not in s.recipients)})
            for s in deadline_plan(underlying)]


def _manual_action_plan(state: MessageState, a: MessageAuthorities,
                        admins: tuple[str, ...]) -> list[DeadlineStep]:
    """Until a person confirms the hand-made platform action, the admins are
    reminded, and the manager hears at the answer deadline (R-22, R-23)."""
    since = state.pending_since
    assert since is not None
    p = state.policy
    key = f"manual-{state.pending_action}@{since.isoformat()}"
    reminder = add_office_hours(since, p.reminder_after_office_hours, state.country,
                                state.timezone, p.office_hours)
    return [
        DeadlineStep(key=f"{key}:reminder", name="manual_action_reminder", kind="remind",
                     due=reminder, recipients=admins),
        DeadlineStep(key=f"{key}:deadline", name="manual_action_deadline", kind="escalate",
                     due=answer_due(since, state), recipients=a.managers + admins),
    ]


def pending_steps(state: MessageState, now: datetime | None = None) -> list[DeadlineStep]:
    fired = set(state.fired_steps)
    return [s for s in deadline_plan(state, now) if s.key not in fired]


def next_deadline(state: MessageState) -> datetime | None:
    pending = pending_steps(state)
    return min(s.due for s in pending) if pending else None


# --------------------------------------------------------------------------- decide


def _require_admin(state: MessageState, actor: str, what: str) -> None:
    a = state.authorities
    if a is None or actor not in a.admins:
        raise NotAuthorised(f"only the account's admins may {what}; {actor} is not one",
                            key="message.admins_only")


def _require_stage(state: MessageState, *stages: Stage) -> None:
    if state.stage not in stages:
        raise WrongStage(f"the message is {state.stage.value}, not "
                         + " or ".join(s.value for s in stages),
                         key="message.wrong_stage", params={"message_stage": state.stage.value})


_OPEN = (Stage.OPEN, Stage.ACKNOWLEDGED, Stage.FORWARDED, Stage.DRAFTED)
# Hiding, registering and removing do not wait for a reply's approval (R-29: quickly).
_LIVE = (*_OPEN, Stage.AWAITING_APPROVAL)
SYSTEM = "kanalvakt"  # the workflow itself, for what the account's policy does unasked


def screening_found_confidential(state: MessageState) -> bool:
    """R-31: screening found an identity number in the message, whatever
    category a person later picks for it."""
    return state.fidelity_rules and any(f.kind is FlagKind.IDENTITY_NUMBER for f in state.flags)


def real_signature(signature: str | None) -> bool:
    """R-26, "Skriv under med navn": a signature names someone; "." or
    punctuation does not (at least two letters)."""
    return sum(ch.isalpha() for ch in signature or "") >= 2


def may_close(state: MessageState, actor: str) -> bool:
    """R-22: who may close a case no one acted on: the unit's manager or
    deputy, or the communications unit (never the admins who let it lie)."""
    a = state.authorities
    return a is not None and (actor in a.managers or actor in a.communications)


def decide(state: MessageState | None, command: Command, *, now: datetime
           ) -> list[MessageEvent]:
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    actor = command.actor
    if isinstance(command, ReceiveMessage):
        if state is not None:
            raise WrongStage("this message has already been received",
                             key="message.already_received")
        m = command.message
        if m.from_staff:
            return [StaffPostRecorded(at=m.published_at, actor=actor, case_id=command.case_id,
                                      account_id=command.account_id,
                                      municipality_id=command.municipality_id, message=m,
                                      country=command.country, timezone=command.timezone)]
        screening = screen(m.text, command.policy.screening)
        return [MessageReceived(
            at=m.published_at, actor=actor, case_id=command.case_id,
            account_id=command.account_id, municipality_id=command.municipality_id,
            country=command.country, timezone=command.timezone, message=m,
            policy=command.policy, authorities=command.authorities, flags=screening.flags,
            mood=screening.mood,
            auto_hide=auto_actions(screening, command.policy.screening).hide,
            crisis=command.crisis)]
    if state is None:
        raise WrongStage("no message has been received", key="message.not_received")
    if isinstance(command, FireDue):
        return _fire_due(state, now, actor)
    if isinstance(command, ApplyCrisis):
        return _apply_crisis(state, command, now)
    if isinstance(command, UpdateAdmins):
        return _update_admins(state, command, now)
    if isinstance(command, RequestManualAction):
        if actor != SYSTEM:
            raise NotAuthorised("a manual platform action is requested by Kanalvakt itself",
                                key="manual.system_only")
        # Issue 9: a second action by hand (the answer after the
        # acknowledgement, a deletion after a hide) waits behind the first;
        # refusing it here wedged the case, as the platform step had run.
        return [ManualActionRequested(at=now, actor=actor, action=command.action,
                                      instruction=command.instruction,
                                      instruction_key=command.instruction_key,
                                      instruction_params=command.instruction_params)]
    if isinstance(command, ConfirmManualAction):
        if state.pending_action is None:
            raise WrongStage("no platform action by hand is awaited", key="manual.none_awaited")
        if state.authorities is None or actor not in state.authorities.admins:
            raise NotAuthorised(f"only the account's admins confirm what was done on the "
                                f"platform; {actor} is not one", key="manual.confirm_who")
        return [ManualActionConfirmed(at=now, actor=actor, action=state.pending_action,
                                      platform_object_id=command.platform_object_id)]
    if awaits_records(state) and isinstance(command, Register | Dispose | CloseCase):
        return _settle_records(state, command, now)
    if state.stage.terminal:
        raise WrongStage(f"the message is {state.stage.value}; nothing more can be decided",
                         key="message.ended", params={"message_stage": state.stage.value})
    authorities = state.authorities
    assert authorities is not None  # only staff posts lack them, and they are terminal

    match command:
        case Hide():
            _require_stage(state, *_LIVE)
            if state.hidden:
                raise RuleViolation("the message is already hidden", key="hide.already")
            if not command.preserved_copy and state.fidelity_rules:
                raise RuleViolation("R-30, R-45: a copy is kept before a message is hidden",
                                    key="hide.copy_needed")
            if actor != SYSTEM and actor not in authorities.admins:
                raise NotAuthorised(f"only the account's admins may hide a message; {actor} "
                                    "is not one", key="message.admins_only")
            if hide_needs_crisis_approval(state, command):
                if state.pending_reply is not None:
                    raise RuleViolation("R-39: crisis management has a decision on this case "
                                        "waiting; it approves or sends that back first",
                                        key="approval.one_at_a_time")
                return [_submitted(state, actor, now, "hide", command.reason, hide=HeldHide(
                    reason=command.reason, preserved_copy=command.preserved_copy))]
            return [MessageHidden(at=now, actor=actor, reason=command.reason,
                                  preserved_copy=command.preserved_copy,
                                  confidential=command.confidential)]
        case Acknowledge():
            if state.fidelity_rules:
                # a forwarded case can be acknowledged too, once.
                _require_stage(state, Stage.OPEN, Stage.FORWARDED, Stage.DRAFTED)
                if state.citizen_stage is Stage.ACKNOWLEDGED:
                    raise RuleViolation("the message has already been acknowledged",
                                        key="acknowledge.already")
            else:
                _require_stage(state, Stage.OPEN)
            _require_admin(state, actor, "acknowledge a message")
            held = _held_if_confidential(state, actor, now, "acknowledgement", command.text)
            if held:
                return held
            if needs_crisis_approval(state, actor):
                return [_submitted(state, actor, now, "acknowledgement", command.text)]
            if publishers := communications_publish(state, actor):
                return [_for_communications(state, actor, now, publishers, "acknowledgement",
                                            command.text)]
            return [AcknowledgementSent(at=now, actor=actor, text=command.text,
                                        reply_id=command.reply_id)]
        case Respond():
            _require_stage(state, *_OPEN)
            _require_admin(state, actor, "answer a message")
            signature = _signature(state, command)
            drafted_by = state.officer if state.draft else None
            held = _held_if_confidential(state, actor, now, "answer", command.text, signature,
                                         drafted_by)
            if held:
                return held
            if needs_crisis_approval(state, actor):
                return [_submitted(state, actor, now, "answer", command.text, signature,
                                   drafted_by)]
            if publishers := communications_publish(state, actor):
                return [_for_communications(state, actor, now, publishers, "answer",
                                            command.text, signature, drafted_by)]
            return [MessageAnswered(at=now, actor=actor, text=command.text, signature=signature,
                                    reply_id=command.reply_id, drafted_by=drafted_by)]
        case ApproveReply():
            pending = _require_approver(state, actor, "approve")
            approved = ReplyApproved(at=now, actor=actor, kind=pending.kind,
                                     submitted_by=pending.submitted_by)
            if pending.removal is not None:  # the removal is carried out now
                return [approved, *_redact(evolve(state, approved), Redact(
                    actor=pending.submitted_by, **pending.removal.model_dump()), now,
                    approved=True)]
            if pending.hide is not None:  # the hide is carried out now
                return [approved, MessageHidden(at=now, actor=pending.submitted_by,
                                                reason=pending.hide.reason,
                                                preserved_copy=pending.hide.preserved_copy)]
            if pending.forward is not None:  # the case goes to the officer now
                return [approved, *_forward(evolve(state, approved), Forward(
                    actor=pending.submitted_by, **pending.forward.model_dump()), now,
                    approved=True)]
            if (pending.held_for == "confidential"
                    and needs_crisis_approval(state, pending.submitted_by)):
                # R-44 then R-39: confirmed, the text still goes through crisis
                # management before it is published.
                return [approved,
                        _submitted(state, pending.submitted_by, now, pending.kind, pending.text,
                                   pending.signature, pending.drafted_by)]
            if pending.held_for != "communications" and (
                    publishers := communications_publish(state, actor)):
                # approved, the communications unit publishes it.
                return [approved,
                        _for_communications(state, pending.submitted_by, now, publishers,
                                            pending.kind, pending.text, pending.signature,
                                            pending.drafted_by)]
            published: MessageEvent
            if pending.kind == "acknowledgement":
                published = AcknowledgementSent(at=now, actor=pending.submitted_by,
                                                text=pending.text, reply_id=command.reply_id)
            else:
                published = MessageAnswered(at=now, actor=pending.submitted_by,
                                            text=pending.text, signature=pending.signature,
                                            reply_id=command.reply_id,
                                            drafted_by=pending.drafted_by)
            return [approved, published]
        case SendBackReply():
            pending = _require_approver(state, actor, "send back")
            return [ReplySentBack(at=now, actor=actor, comment=command.comment,
                                  submitted_by=pending.submitted_by)]
        case Forward():
            return _forward(state, command, now)
        case SubmitDraft():
            _require_stage(state, Stage.FORWARDED)
            if actor != state.officer:
                raise NotAuthorised(f"only the case officer {state.officer} drafts the answer "
                                    f"(R-24); {actor} is not", key="draft.officer_only",
                                    params={"officer": state.officer or ""})
            return [DraftSubmitted(at=now, actor=actor, text=command.text)]
        case Register():
            _require_stage(state, *_LIVE)
            if actor not in authorities.admins and actor not in authorities.registrars:
                raise NotAuthorised(f"{actor} may not register: the admins or a registrar may",
                                    key="register.who")
            if state.diarium_number is not None:
                raise RuleViolation(f"already registered as {state.diarium_number}",
                                    key="register.already",
                                    params={"number": state.diarium_number})
            return [MessageRegistered(at=now, actor=actor, diarium_number=command.diarium_number,
                                      record_class=command.record_class,
                                      confidential=command.confidential)]
        case Redact():
            return _redact(state, command, now)
        case Watch():
            return _watch(state, command, now)
        case CloseCase():
            _require_stage(state, *_LIVE)
            if not may_close(state, actor):
                raise NotAuthorised(f"R-22: only the unit's manager or the communications "
                                    f"unit may close an unanswered case; {actor} may not",
                                    key="close.who")
            return [CaseClosed(at=now, actor=actor, reason=command.reason)]
        case Dispose():
            _require_stage(state, Stage.OPEN, Stage.ACKNOWLEDGED)
            _require_admin(state, actor, "dispose of a message")
            if state.diarium_number is not None:
                raise RuleViolation("a registered message is kept by the diarium's rules, "
                                    "not disposed of as trivial (R-28, R-33)",
                                    key="dispose.registered")
            if screening_found_confidential(state):
                raise RuleViolation("R-31, R-33: screening found an identity number; such a "
                                    "message is registered, never disposed of as trivial",
                                    key="dispose.confidential")
            decision = next((d for d in state.policy.disposal_decisions
                             if d.id == command.decision_id), None)
            if decision is None:
                known = ", ".join(d.id for d in state.policy.disposal_decisions) or "none"
                raise RuleViolation(f"R-33: no disposal decision {command.decision_id!r} in the "
                                    f"records-management plan (known: {known})",
                                    key="dispose.unknown_decision",
                                    params={"decision": command.decision_id, "known": known})
            return [DisposalScheduled(at=now, actor=actor, decision_id=decision.id,
                                      dispose_on=now + timedelta(days=decision.keep_days))]
    raise TypeError(f"unknown command {type(command).__name__}")


def _forward(state: MessageState, command: Forward, now: datetime, *, approved: bool = False
             ) -> list[MessageEvent]:
    """R-24, R-25: to a case officer, who drafts the answer; in a crisis
    where all communication goes through crisis management, only once it
    approves (R-39)."""
    if state.fidelity_rules:
        # handed to another officer when the first does not answer.
        _require_stage(state, Stage.OPEN, Stage.ACKNOWLEDGED, Stage.FORWARDED)
        if state.stage is Stage.FORWARDED and command.officer == state.officer:
            raise RuleViolation(f"the case is already with {state.officer}",
                                key="forward.same_officer",
                                params={"officer": state.officer or ""})
    else:
        _require_stage(state, Stage.OPEN, Stage.ACKNOWLEDGED)
    _require_admin(state, command.actor, "forward a message")
    if not approved and forward_needs_crisis_approval(state, command.actor):
        return [_submitted(state, command.actor, now, "forward", command.note,
                           forward=HeldForward(officer=command.officer, note=command.note))]
    return [MessageForwarded(at=now, actor=command.actor, officer=command.officer,
                             note=command.note)]


def _redact(state: MessageState, command: Redact, now: datetime, *, approved: bool = False
            ) -> list[MessageEvent]:
    """R-29..R-34, R-45: removal with its category and law, a copy first,
    registered first where the content is confidential by its category or
    by what screening found (R-31); advertising deleted under a named
    disposal decision (R-33); criticism answered, not deleted (R-34). In a
    crisis where all communication goes through crisis management, it waits
    for its approval (R-39), unless it removes confidential data."""
    actor = command.actor
    _require_admin(state, actor, "remove a message")
    _require_stage(state, *_LIVE)
    confidential = (command.category is RemovalCategory.CONFIDENTIAL_INFORMATION
                    or screening_found_confidential(state))
    if confidential and state.diarium_number is None:
        raise RuleViolation("R-31: confidential content is registered before deletion",
                            key="redact.register_first")
    advertising = command.category is RemovalCategory.ADVERTISING
    if command.keep and advertising:
        raise RuleViolation("R-32: advertising is removed and not kept",
                            key="redact.advertising_kept")
    if command.keep and state.diarium_number is None:
        raise RuleViolation("R-50: removed content that is to be kept is registered and "
                            "filed with its case first", key="redact.register_first")
    copy_always = state.fidelity_rules and state.policy.copy_before_every_deletion
    if advertising and command.preserved_copy and not copy_always:
        raise RuleViolation("R-32: advertising is removed and not kept",
                            key="redact.advertising_kept")
    if not command.preserved_copy and (copy_always or not advertising):
        raise RuleViolation("R-30, R-45: a copy is kept before deletion; deleting without one "
                            "is only for what a disposal decision covers (R-33)",
                            key="redact.copy_needed")
    decision_id = None
    if advertising and state.fidelity_rules:
        known = {d.id for d in state.policy.disposal_decisions}
        if command.decision_id not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise RuleViolation(f"R-33: advertising is deleted under a disposal decision of the "
                                f"records-management plan (known: {listed})",
                                key="redact.disposal_decision", params={"known": listed})
        decision_id = command.decision_id
    if (command.category is RemovalCategory.DEFAMATION_OR_INSULT and state.fidelity_rules
            and state.mood == "critical"
            and not any(f.category is command.category for f in state.flags)):
        raise RuleViolation("R-34: criticism is answered, not deleted; screening found no "
                            "insult in it", key="redact.criticism")
    if not approved and removal_needs_crisis_approval(state, command, confidential):
        if state.pending_reply is not None:
            raise RuleViolation("R-39: crisis management has a decision on this case waiting; "
                                "it approves or sends that back first",
                                key="approval.one_at_a_time")
        return [_submitted(state, actor, now, "removal", command.reason, removal=HeldRemoval(
            category=command.category, law=command.law, reason=command.reason,
            preserved_copy=command.preserved_copy, action=command.action,
            decision_id=command.decision_id, keep=command.keep))]
    events: list[MessageEvent] = [MessageRedacted(
        at=now, actor=actor, category=command.category, law=command.law,
        reason=command.reason, preserved_copy=command.preserved_copy, action=command.action,
        decision_id=decision_id,
        filed_as=state.diarium_number if state.fidelity_rules and command.preserved_copy
        else None)]
    if (command.category is RemovalCategory.DEFAMATION_OR_INSULT and state.fidelity_rules
            and not any(f.category is command.category for f in state.flags)):
        # removal should be rare; one screening did not support goes
        # to the communications unit (and the manager) to look at.
        a = state.authorities
        assert a is not None
        recipients = list(dict.fromkeys((*a.managers, *sorted(a.communications))))
        events.append(MessageEscalated(
            at=now, actor=actor, step=f"removal_review@{now.isoformat()}", stage=state.stage,
            due=now, recipients=recipients))
    return events


def _settle_records(state: MessageState, command: Register | Dispose | CloseCase,
                    now: datetime) -> list[MessageEvent]:
    """R-50: an answered case is registered (by an admin or a registrar),
    disposed of as a minor record under a decision of the records-management
    plan (by an admin; never one screening found an identity number in,
    R-31), or closed with a reason by the manager, the deputy or the
    communications unit (R-22). The case stays answered."""
    a = state.authorities
    assert a is not None
    actor = command.actor
    match command:
        case Register():
            if actor not in a.admins and actor not in a.registrars:
                raise NotAuthorised(f"{actor} may not register: the admins or a registrar may",
                                    key="register.who")
            return [MessageRegistered(at=now, actor=actor, diarium_number=command.diarium_number,
                                      record_class=command.record_class,
                                      confidential=command.confidential)]
        case Dispose():
            _require_admin(state, actor, "dispose of a message")
            if screening_found_confidential(state):
                raise RuleViolation("R-31, R-33: screening found an identity number; such a "
                                    "message is registered, never disposed of as trivial",
                                    key="dispose.confidential")
            decision = next((d for d in state.policy.disposal_decisions
                             if d.id == command.decision_id), None)
            if decision is None:
                known = ", ".join(d.id for d in state.policy.disposal_decisions) or "none"
                raise RuleViolation(f"R-33: no disposal decision {command.decision_id!r} in the "
                                    f"records-management plan (known: {known})",
                                    key="dispose.unknown_decision",
                                    params={"decision": command.decision_id, "known": known})
            return [DisposalScheduled(at=now, actor=actor, decision_id=decision.id,
                                      dispose_on=now + timedelta(days=decision.keep_days))]
        case CloseCase():
            if not may_close(state, actor):
                raise NotAuthorised(f"R-22, R-50: only the unit's manager or the communications "
                                    f"unit may close a case left unregistered; {actor} may not",
                                    key="close.who")
            return [CaseClosed(at=now, actor=actor, reason=command.reason)]


def _watch(state: MessageState, command: Watch, now: datetime) -> list[MessageEvent]:
    """R-46: "I vissa fall kan det räcka med att bara bevaka flödet" (Mora):
    only where the municipality allows it, only a comment screening found
    nothing in, by an admin who says why."""
    _require_stage(state, Stage.OPEN, Stage.ACKNOWLEDGED)
    _require_admin(state, command.actor, "mark a message as watched")
    if not state.policy.watched_allowed:
        raise RuleViolation("R-46: this municipality answers every message; watching only "
                            "is not an outcome here", key="watch.not_allowed")
    if state.flags:
        raise RuleViolation("R-46: screening flagged the message; it is reviewed, not only "
                            "watched", key="watch.flagged")
    decision = next((d for d in state.policy.disposal_decisions
                     if d.id == state.policy.minor_records_decision), None)
    if decision is None or not state.fidelity_rules:
        return [MessageWatched(at=now, actor=command.actor, reason=command.reason)]
    return [MessageWatched(at=now, actor=command.actor, reason=command.reason,
                           decision_id=decision.id,
                           dispose_on=now + timedelta(days=decision.keep_days))]


def _held_if_confidential(state: MessageState, actor: str, now: datetime, kind: ReplyKind,
                          text: str, signature: str | None = None,
                          drafted_by: str | None = None) -> list[MessageEvent]:
    """R-44: an outgoing text with an identity number or a confidential
    marker is not published; it waits for the unit's manager, deputy or the
    communications unit (never its own writer, R-53) to confirm it, or is
    sent back to be changed; both on the record."""
    if not state.fidelity_rules:
        return []
    found = confidential_in_outgoing(text + "\n" + (signature or ""))
    if not found:
        return []
    a = state.authorities
    assert a is not None
    approvers = sorted({*a.managers, *a.communications} - {actor})
    if not approvers:
        raise RuleViolation("R-44: the text contains confidential information and no one "
                            "else may confirm it; change the text",
                            key="outgoing.confidential")
    return [ReplySubmittedForApproval(
        at=now, actor=actor, kind=kind, text=text, signature=signature, drafted_by=drafted_by,
        crisis_id="", approvers=approvers,
        held_for="confidential")]


def needs_crisis_approval(state: MessageState, actor: str) -> bool:
    """R-39 (Kristiansand, "all communication goes through crisis
    management"; R-43 a setting): while such a crisis covers the account, a
    reply by anyone outside crisis management waits for its approval. A
    member of crisis management who is also the account's admin publishes
    directly: the reply already went through crisis management."""
    c = state.crisis
    return (c is not None and c.through_crisis_management and bool(c.crisis_management)
            and actor not in c.crisis_management)


def removal_needs_crisis_approval(state: MessageState, command: Redact,
                                  confidential: bool) -> bool:
    """R-39, "skal all kommunikasjon gå via kriseledelsen" (Kristiansand): an
    admin's removal of a citizen's message speaks for the municipality as a
    reply does, so in such a crisis it waits for crisis management's approval.

    Not a removal for confidential data (R-31): "Sekretessbelagda uppgifter
    ska inte förekomma på sociala medier" and such a post is to be "raderas"
    once captured and registered (Mora). That protects the person whose data
    it is; it is not the municipality communicating, and it must never wait.
    The automatic hide of an identity number (Hide by Kanalvakt itself on
    receipt, R-31) never waits either (hide_needs_crisis_approval)."""
    return (state.crisis_covers_all and not confidential
            and needs_crisis_approval(state, command.actor))


def hide_needs_crisis_approval(state: MessageState, command: Hide) -> bool:
    """R-39, "skal all kommunikasjon gå via kriseledelsen": an admin's hide
    takes a citizen's message out of public view as a removal does, so in
    such a crisis it waits for crisis management's approval. Never
    Kanalvakt's own hide of an identity number on receipt, nor a hide of
    confidential data (R-31, said by the admin or found by screening): they
    protect the person and must not wait."""
    return (state.crisis_covers_all and command.actor != SYSTEM and not command.confidential
            and not screening_found_confidential(state)
            and needs_crisis_approval(state, command.actor))


def forward_needs_crisis_approval(state: MessageState, actor: str) -> bool:
    """R-39 (Kristiansand, "all kommunikasjon"): in such a crisis, handing a
    citizen's message to a case officer is decided by crisis management too."""
    return state.crisis_covers_all and needs_crisis_approval(state, actor)


def communications_publish(state: MessageState, publisher: str) -> frozenset[str]:
    """R-47, "I krisesituasjon har kommunikasjonsenheten ansvaret for å
    publisere aktuell informasjon i sosiale medier" (Kristiansand; a crisis
    setting): who must publish a reply that `publisher` would otherwise
    publish; empty when they may publish it themselves.

    The reply waits for the communications unit rather than being refused:
    the seed gives the unit the publishing, not the writing, so the admin's
    answer (often the one who knows the facts) is kept and the unit
    publishes it; the citizen's deadlines run on meanwhile and the unit
    hears of them. Where communication also goes through crisis management,
    crisis management approves first (R-39), then the unit publishes."""
    c = state.crisis
    if c is None or not c.communications_publish or not state.crisis_covers_all:
        return frozenset()
    unit = c.communications or (state.authorities.communications if state.authorities
                                else frozenset())
    return frozenset() if publisher in unit else unit


def may_approve(state: MessageState, actor: str) -> bool:
    """R-39: the reply's approvers (crisis management when it was written);
    once no crisis asks for approval any more, the account's admins too, so
    a reply written during the crisis is not stuck after it."""
    pending = state.pending_reply
    if pending is None:
        return False
    if pending.held_for == "confidential":  # not its own writer
        return actor in pending.approvers and actor != pending.submitted_by
    if actor in pending.approvers:
        return True
    still = state.crisis is not None and (
        state.crisis.communications_publish if pending.held_for == "communications"
        else state.crisis.through_crisis_management)
    return not still and state.authorities is not None and actor in state.authorities.admins


def _require_approver(state: MessageState, actor: str, what: str) -> PendingReply:
    _require_stage(state, Stage.AWAITING_APPROVAL)
    pending = state.pending_reply
    assert pending is not None  # the stage is entered only with a pending reply
    if not may_approve(state, actor) and pending.held_for == "confidential":
        raise NotAuthorised(f"R-44: only {', '.join(sorted(pending.approvers))} may {what} a "
                            f"text held for confidential information, never its writer",
                            key="approval.confidential",
                            params={"approvers": ", ".join(sorted(pending.approvers))})
    if not may_approve(state, actor) and pending.held_for == "communications":
        raise NotAuthorised(f"R-47: in the crisis the communications unit "
                            f"({', '.join(sorted(pending.approvers))}) publishes replies; "
                            f"{actor} may not {what} this one",
                            key="approval.communications_only",
                            params={"approvers": ", ".join(sorted(pending.approvers))})
    if not may_approve(state, actor):
        raise NotAuthorised(f"R-39: only crisis management ({', '.join(sorted(pending.approvers))})"
                            f" may {what} this reply; {actor} may not",
                            key="approval.crisis_only",
                            params={"approvers": ", ".join(sorted(pending.approvers))})
    return pending


def _submitted(state: MessageState, actor: str, now: datetime, kind: HeldKind, text: str,
               signature: str | None = None, drafted_by: str | None = None, *,
               removal: HeldRemoval | None = None, forward: HeldForward | None = None,
               hide: HeldHide | None = None) -> ReplySubmittedForApproval:
    assert state.crisis is not None
    return ReplySubmittedForApproval(
        at=now, actor=actor, kind=kind, text=text, signature=signature, drafted_by=drafted_by,
        crisis_id=state.crisis.crisis_id, approvers=sorted(state.crisis.crisis_management),
        removal=removal, forward=forward, hide=hide)


def _for_communications(state: MessageState, actor: str, now: datetime,
                        publishers: frozenset[str], kind: HeldKind, text: str,
                        signature: str | None = None, drafted_by: str | None = None
                        ) -> ReplySubmittedForApproval:
    """R-47: the reply waits for a member of the communications unit to publish it."""
    assert state.crisis is not None
    return ReplySubmittedForApproval(
        at=now, actor=actor, kind=kind, text=text, signature=signature, drafted_by=drafted_by,
        crisis_id=state.crisis.crisis_id, approvers=sorted(publishers),
        held_for="communications")


def _apply_crisis(state: MessageState, command: ApplyCrisis, now: datetime
                  ) -> list[MessageEvent]:
    """R-39: the crisis workflow tells every open case of the accounts in scope;
    telling it twice, or telling an ended case, changes nothing."""
    if command.actor != SYSTEM:
        raise NotAuthorised("crisis rules reach a case from Kanalvakt's crisis workflow",
                            key="crisis.system_only")
    if state.stage.terminal:
        return []
    new, old = command.crisis, state.crisis
    if new is None:
        return [] if old is None else [CrisisRulesLifted(at=now, actor=command.actor,
                                                         crisis_id=old.crisis_id)]
    if old == new:
        return []
    return [CrisisRulesApplied(at=now, actor=command.actor, crisis=new)]


def _update_admins(state: MessageState, command: UpdateAdmins, now: datetime
                   ) -> list[MessageEvent]:
    """R-12, R-13, R-22: the account's current admins reach its open cases, so
    a new admin decides on them and a removed one no longer does. Told twice,
    told the same list, or told after the case is done: nothing is recorded."""
    if command.actor != SYSTEM:
        raise NotAuthorised("the admins reach a case from the account's workflow",
                            key="admins.system_only")
    a = state.authorities
    if a is None or state.done or a.admins == command.admins:
        return []
    return [AdminsUpdated(at=now, actor=command.actor, admins=sorted(command.admins))]


def _signature(state: MessageState, command: Respond) -> str | None:
    """R-26: replies are signed with name and unit where the account requires it."""
    rule = state.policy.signature
    if rule is SignatureRule.REQUIRED and not real_signature(command.signature):
        raise RuleViolation("R-26: this account's replies are signed with name and unit",
                            key="respond.signature")
    if (rule is SignatureRule.OPTIONAL and command.signed
            and not real_signature(command.signature)):
        raise RuleViolation("R-26: a signature names the writer and unit",
                            key="respond.signature")
    if rule is SignatureRule.OFF:
        return None
    return command.signature if (command.signed or rule is SignatureRule.REQUIRED) else None


def _fire_due(state: MessageState, now: datetime, actor: str) -> list[MessageEvent]:
    events: list[MessageEvent] = []
    for step in sorted(pending_steps(state, now), key=lambda s: s.due):
        if step.due > now:
            break
        common = {"at": now, "actor": actor, "step": step.key, "stage": state.stage,
                  "due": step.due, "recipients": list(step.recipients)}
        if step.kind == "remind":
            events.append(MessageReminderSent(**common))
        elif step.kind == "escalate":
            events.append(MessageEscalated(**common))
        else:  # the disposal date has come
            assert state.disposal_decision is not None
            events.append(MessageDisposed(at=now, actor=actor,
                                          decision_id=state.disposal_decision,
                                          decided_by=state.disposal_decided_by or actor))
            break
    return events


def for_the_record(event: MessageEvent) -> MessageEvent:
    """The event as the append-only log keeps it: without the citizen's text,
    name and platform user id, which live in the content store so a disposal
    (R-35) or an erasure can delete them; the case id is the log's pseudonymous
    reference to the author (issue 10). Staff replies stay: they are records
    drawn up by the municipality."""
    if isinstance(event, MessageReceived | StaffPostRecorded):
        bare = event.message.model_copy(update={"text": "", "author_name": None,
                                                "author_id": None})
        return event.model_copy(update={"message": bare})
    return event


# --------------------------------------------------------------------------- evolve


def _awaiting(action: AwaitedAction | None) -> dict[str, object]:
    """The state's fields for the action by hand now awaited (None: none)."""
    if action is None:
        return {"pending_action": None, "pending_instruction": None,
                "pending_instruction_key": None, "pending_instruction_params": {},
                "pending_since": None, "escalated": False}
    return {"pending_action": action.action, "pending_instruction": action.instruction,
            "pending_instruction_key": action.instruction_key,
            "pending_instruction_params": action.instruction_params,
            "pending_since": action.since, "escalated": False}


def _enter(stage: Stage, at: datetime) -> dict[str, object]:
    return {"stage": stage, "stage_entered_at": at, "escalated": False}


def evolve(state: MessageState | None, event: MessageEvent) -> MessageState:
    if isinstance(event, MessageReceived):
        return MessageState(
            case_id=event.case_id, account_id=event.account_id,
            municipality_id=event.municipality_id, country=event.country,
            timezone=event.timezone, message=event.message, policy=event.policy,
            authorities=event.authorities, stage=Stage.OPEN, stage_entered_at=event.at,
            received_at=event.at, version=1, flags=event.flags, mood=event.mood,
            auto_hide=event.auto_hide, crisis=event.crisis,
            crisis_since=event.at if event.crisis else None,
            crisis_id=event.crisis.crisis_id if event.crisis else None)
    if isinstance(event, StaffPostRecorded):
        return MessageState(
            case_id=event.case_id, account_id=event.account_id,
            municipality_id=event.municipality_id, message=event.message,
            country=event.country, timezone=event.timezone, stage=Stage.STAFF_POST,
            stage_entered_at=event.at, received_at=event.at,
            closed_at=event.at, version=1)
    if state is None:
        raise ValueError(f"{event.type} before the message was received")
    changes: dict[str, object] = {"version": state.version + 1}
    first = {"first_response_at": state.first_response_at or event.at}
    match event:
        case MessageHidden():
            changes["hidden"] = True
        case AcknowledgementSent() if state.stage in (Stage.FORWARDED, Stage.DRAFTED):
            # acknowledged while with the officer: the officer's
            # clock runs on; the citizen is now owed the final answer.
            changes |= first | {"citizen_stage": Stage.ACKNOWLEDGED, "citizen_since": event.at}
        case AcknowledgementSent():
            changes |= _enter(Stage.ACKNOWLEDGED, event.at) | first
        case MessageAnswered():
            changes |= _enter(Stage.ANSWERED, event.at) | first
            changes |= {"answer": event.text, "closed_at": event.at}
        case MessageForwarded():
            changes |= _enter(Stage.FORWARDED, event.at) | {"officer": event.officer,
                                                            "draft": None}
            if state.stage in (Stage.OPEN, Stage.ACKNOWLEDGED):
                # forwarding keeps the citizen's own deadline.
                changes |= {"citizen_stage": state.stage,
                            "citizen_since": state.stage_entered_at}
        case DraftSubmitted():
            changes |= _enter(Stage.DRAFTED, event.at) | {"draft": event.text}
        case MessageRegistered():
            changes |= {"diarium_number": event.diarium_number,
                        "confidential": event.confidential}
        case MessageRedacted():
            changes |= _enter(Stage.REDACTED, event.at) | first | {"pending_reply": None}
            changes |= {"redaction_category": event.category, "closed_at": event.at}
        case DisposalScheduled() if state.stage is Stage.ANSWERED:
            # the answered case's records fall due; it stays answered.
            changes |= {"disposal_decision": event.decision_id, "dispose_on": event.dispose_on,
                        "disposal_decided_by": event.actor}
        case CaseClosed() if state.stage is Stage.ANSWERED:
            changes |= {"closed_reason": event.reason}  # closed, still answered
        case DisposalScheduled():
            changes |= _enter(Stage.DISPOSAL_PENDING, event.at) | first
            changes |= {"disposal_decision": event.decision_id, "dispose_on": event.dispose_on,
                        "disposal_decided_by": event.actor}
        case MessageDisposed():
            changes |= _enter(Stage.DISPOSED, event.at) | {"closed_at": event.at}
        case MessageWatched():
            changes |= _enter(Stage.WATCHED, event.at) | first
            changes |= {"closed_at": event.at, "closed_reason": event.reason}
            if event.dispose_on is not None:  # the disposal falls due
                changes |= {"disposal_decision": event.decision_id,
                            "dispose_on": event.dispose_on,
                            "disposal_decided_by": event.actor}
        case CaseClosed():
            changes |= _enter(Stage.CLOSED, event.at) | {"pending_reply": None}
            changes |= {"closed_at": event.at, "closed_reason": event.reason}
        case ManualActionRequested() if state.pending_action is not None:
            # Issue 9: awaited after the one a person is carrying out now.
            changes["queued_actions"] = [*state.queued_actions, AwaitedAction(
                action=event.action, instruction=event.instruction,
                instruction_key=event.instruction_key,
                instruction_params=event.instruction_params, since=event.at)]
        case ManualActionRequested():
            changes |= _awaiting(AwaitedAction(
                action=event.action, instruction=event.instruction,
                instruction_key=event.instruction_key,
                instruction_params=event.instruction_params, since=event.at))
        case ManualActionConfirmed():
            queued = state.queued_actions
            changes |= _awaiting(queued[0] if queued else None)
            changes["queued_actions"] = queued[1:]
        case MessageReminderSent():
            changes["fired_steps"] = [*state.fired_steps, event.step]
        case MessageEscalated():
            changes |= {"fired_steps": [*state.fired_steps, event.step], "escalated": True}
        case ReplySubmittedForApproval():
            assert event.actor is not None
            changes |= {"stage": Stage.AWAITING_APPROVAL, "stage_entered_at": event.at,
                        "sent_back": None, "pending_reply": PendingReply(
                            kind=event.kind, text=event.text, signature=event.signature,
                            drafted_by=event.drafted_by, submitted_by=event.actor,
                            submitted_at=event.at, crisis_id=event.crisis_id,
                            approvers=frozenset(event.approvers), returns_to=state.stage,
                            returns_to_since=state.stage_entered_at, held_for=event.held_for,
                            removal=event.removal, forward=event.forward,
                            hide=event.hide)}
        case ReplyApproved() | ReplySentBack():
            # Back where the reply was written, deadlines as they were; an
            # approved reply's publication (recorded next) then moves it on.
            pending = state.pending_reply
            if pending is not None:
                changes |= {"stage": pending.returns_to,
                            "stage_entered_at": pending.returns_to_since, "pending_reply": None}
            if isinstance(event, ReplySentBack):
                changes["sent_back"] = event.comment
        case CrisisRulesApplied():
            # The same crisis with a changed scope keeps its start: no later deadline.
            same = state.crisis is not None and state.crisis.crisis_id == event.crisis.crisis_id
            changes |= {"crisis": event.crisis,
                        "crisis_since": state.crisis_since if same else event.at,
                        "crisis_id": event.crisis.crisis_id}
            # a reply waiting in this crisis waits for crisis management
            # as the directory names it now, not as it was when it was written.
            pending, crisis = state.pending_reply, event.crisis
            if (pending is not None and pending.crisis_id == crisis.crisis_id
                    and pending.held_for == "crisis"
                    and crisis.through_crisis_management and crisis.crisis_management):
                changes["pending_reply"] = pending.model_copy(
                    update={"approvers": crisis.crisis_management})
            if (pending is not None and pending.crisis_id == crisis.crisis_id
                    and pending.held_for == "communications" and crisis.communications):
                changes["pending_reply"] = pending.model_copy(
                    update={"approvers": crisis.communications})  # R-47, likewise
        case CrisisRulesLifted():
            changes |= {"crisis": None, "crisis_since": None}
        case AdminsUpdated() if state.authorities is not None:
            changes["authorities"] = state.authorities.model_copy(
                update={"admins": frozenset(event.admins)})
    return state.model_copy(update=changes)

