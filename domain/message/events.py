"""A case's events: what the record holds, as recorded (R-21..R-47)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from domain.core import (
    TimeZoneName,
)
from domain.country import Country
from domain.cover import Absence
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
    # the answer corrects a factual error: what was wrong, and the source.
    correction: Correction | None = None


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
    render it in the reader's language (adapters.connectors.manual.render_instruction)."""

    type: Literal["ManualActionRequested"] = "ManualActionRequested"
    action: str
    instruction: str
    instruction_key: str | None = None
    instruction_params: dict[str, str] = {}


class ManualActionConfirmed(_Event):
    type: Literal["ManualActionConfirmed"] = "ManualActionConfirmed"
    action: str
    platform_object_id: str | None = None


class ScreenshotAttached(_Event):
    """R-30, R-45: the screenshot of the comment a manual removal asks for,
    uploaded by `actor`: its upload id and SHA-256 digest (the bytes are in
    `record_uploads`, sealed under the case's data key)."""

    type: Literal["ScreenshotAttached"] = "ScreenshotAttached"
    action: str
    upload_id: str
    sha256: str
    file_name: str


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
    correction: Correction | None = None  # the answer's correction, when it goes out


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


class AbsencesUpdated(_Event):
    """R-14: the account's admins' absences and covers as they are now; an
    absent admin's reminders and escalations go to their cover."""

    type: Literal["AbsencesUpdated"] = "AbsencesUpdated"
    absences: list[Absence]


class _StepFired(_Event):
    """A reminder or escalation of the deadline plan, to its recipients."""

    step: str
    stage: Stage
    due: datetime
    recipients: list[str]
    # recipient -> the absent admins they were told for ("cover for X").
    covering: dict[str, list[str]] = {}


class MessageReminderSent(_StepFired):
    type: Literal["MessageReminderSent"] = "MessageReminderSent"


class MessageEscalated(_StepFired):
    type: Literal["MessageEscalated"] = "MessageEscalated"


MessageEvent = Annotated[
    MessageReceived | StaffPostRecorded | MessageHidden | AcknowledgementSent | MessageAnswered
    | MessageForwarded | DraftSubmitted | MessageRegistered | MessageRedacted
    | DisposalScheduled | MessageDisposed | ManualActionRequested | ManualActionConfirmed
    | MessageReminderSent | MessageEscalated | CrisisRulesApplied | CrisisRulesLifted
    | ReplySubmittedForApproval | ReplyApproved | ReplySentBack | AdminsUpdated | AbsencesUpdated
    | MessageWatched | CaseClosed | ScreenshotAttached,
    Field(discriminator="type"),
]


_EVENTS: TypeAdapter[MessageEvent] = TypeAdapter(MessageEvent)


def parse_event(data: object) -> MessageEvent:
    return _EVENTS.validate_python(data)


def parse_event_json(text: bytes | str) -> MessageEvent:
    """parse_event of the stored JSON text itself, not decoded first (the
    fast rebuild of the read models, issue 15)."""
    return _EVENTS.validate_json(text)


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
