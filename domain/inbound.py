"""An inbound comment or private message as Kanalvakt receives it, from a
platform webhook or entered by hand (R-21: a citizen's message is received
the moment it is published; staff posts are kept apart from citizens')."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from enum import StrEnum

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from domain.core import Platform
from domain.text import CleanText


class MessageKind(StrEnum):
    COMMENT = "comment"
    PRIVATE_MESSAGE = "private_message"
    # A top-level post on the account's own feed. Only staff posts are read
    # as such (R-18: they count towards the posting rhythm; R-21: a staff post
    # is drawn up when published and recorded apart from citizens').
    POST = "post"


class Source(StrEnum):
    WEBHOOK = "webhook"
    MANUAL = "manual"


class InboundMessage(BaseModel):
    """One message, identified by its platform and the platform's own id, so
    a redelivered webhook is the same message."""

    model_config = ConfigDict(frozen=True)

    platform: Platform
    # Meta message ids may hold `$` (mid.$c…) and base64 `=`; Temporal ids accept both.
    external_id: str = Field(min_length=1, max_length=300, pattern=r"^[A-Za-z0-9_.:$=-]+$")
    kind: MessageKind
    account_ref: str = Field(min_length=1, max_length=200,
                             description="The platform's id of our account (Page id, IG id)")
    parent_id: str | None = Field(None, max_length=200)
    thread_id: str | None = Field(None, max_length=200)
    author_id: str | None = Field(None, max_length=200)
    # Free text is normalised (domain.text): a NUL or a lone surrogate in a
    # comment must not make its delivery or its record unwritable.
    author_name: CleanText | None = Field(None, max_length=300)
    from_staff: bool = False
    text: CleanText = Field("", max_length=20_000)
    published_at: AwareDatetime
    permalink: str | None = Field(None, max_length=1000)
    source: Source = Source.WEBHOOK


def message_workflow_id(platform: Platform, external_id: str) -> str:
    """`message:<platform>:<external id>`: a redelivery maps to the same case."""
    return f"message:{platform.value}:{external_id}"


def received(message: InboundMessage) -> datetime:
    """R-21: a citizen's message counts as received when it was published."""
    return message.published_at


# No platform Kanalvakt serves carried messages before this; the office-time
# calendars start in 1990, so an earlier date cannot even be given a deadline.
EARLIEST_PUBLISHED = datetime(2000, 1, 1, tzinfo=UTC)
# A platform's clock may run a little ahead of ours, not by days.
CLOCK_SKEW = timedelta(days=1)


def impossible_date(message: InboundMessage, *, now: datetime) -> str | None:
    """Why the message's publication date cannot be true, or None. Checked
    at the door (manual entry answers 422) and by the feeder, which parks a
    webhook's message with this reason instead of failing on it."""
    if message.published_at < EARLIEST_PUBLISHED:
        return (f"published_at {message.published_at.isoformat()} "
                f"is before {EARLIEST_PUBLISHED.date()}")
    if message.published_at > now + CLOCK_SKEW:
        return f"published_at {message.published_at.isoformat()} is more than a day ahead"
    return None
