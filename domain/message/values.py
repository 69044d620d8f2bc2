"""A case's values: its stages, who decides on it, and the shapes of what
waits for approval (payload shapes of the record)."""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from domain.cover import Absence
from domain.redaction import RemovalCategory
from domain.text import CleanStrings

# Case ids are workflow ids, `message:<platform>:<external id>`, and name the
# case's event stream too.
STREAM_PREFIX = "message:"


class MessageAuthorities(BaseModel):
    """Who may decide on the account's messages: its admins (R-13 appoints
    them), the unit's manager and deputy, the communications unit."""

    model_config = ConfigDict(frozen=True)

    admins: frozenset[str]
    manager: str
    deputy: str | None = None
    communications: frozenset[str] = frozenset()
    registrars: frozenset[str] = frozenset()
    # R-14: the admins' absences and covers, as the account has them.
    absences: tuple[Absence, ...] = ()

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


ReplyKind = Literal["answer", "acknowledgement"]


# what waits for crisis management: a reply, and (issue 16) a removal
# or a forward to a case officer.: why it is held.
HeldKind = Literal["answer", "acknowledgement", "removal", "forward", "hide"]


HeldFor = Literal["crisis", "confidential", "communications"]


class Correction(CleanStrings):
    """R-27: "Felaktigheter rättas": an answer that corrects a factual error
    says what was wrong and where the right fact comes from (a link, a
    decision, a document); recorded with the answer."""

    model_config = ConfigDict(frozen=True, str_strip_whitespace=True)

    error: str = Field(min_length=1, max_length=1000)
    source: str = Field(min_length=1, max_length=1000)


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
