"""A case's commands: what people, the platform and the system ask of a case."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import ConfigDict, Field

from domain.core import (
    TimeZoneName,
)
from domain.country import Country
from domain.cover import Absence
from domain.crisis_mode import CrisisMode
from domain.inbound import InboundMessage
from domain.message.values import Correction, MessageAuthorities
from domain.message_policy import (
    MessagePolicy,
)
from domain.redaction import RemovalCategory
from domain.text import CleanStrings

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


class UpdateAbsences(_Command):
    """R-14: the admins' absences and covers as the account has them now
    (the whole list), from the account's workflow after one was recorded or
    ended."""

    absences: list[Absence] = Field(max_length=1000)


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
    correction: Correction | None = None  # it corrects a factual error


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


class AttachScreenshot(_Command):
    """R-30, R-45: the screenshot a manual removal asks for, uploaded (the
    bytes are kept in PostgreSQL, store/record_uploads.py; the case records
    the upload's id and digest)."""

    upload_id: str = Field(min_length=1, max_length=64)
    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    file_name: str = Field(min_length=1, max_length=200)


Command = (ReceiveMessage | Hide | Acknowledge | Respond | Forward | SubmitDraft | Register | Redact
           | Dispose | FireDue | RequestManualAction | ConfirmManualAction | ApplyCrisis
           | AttachScreenshot
           | ApproveReply | SendBackReply | UpdateAdmins | Watch | CloseCase
           | UpdateAbsences)
