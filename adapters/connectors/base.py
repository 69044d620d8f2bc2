"""What Kanalvakt asks of a platform, whichever platform it is.

A connector replies to, hides, unhides and deletes one comment or private
message on a platform, and captures a copy of it first (R-30: unpublishing
keeps a copy). Connectors do the talking only; recording what was done (the
reply's platform id as a staff post, R-21; the capture with its category and
decision, R-30) is the activity layer's job, and so is deciding whether an
uncertain outcome may be retried.

Two kinds exist: `MetaGraphConnector` calls Meta's Graph API, and
`ManualConnector` asks a person to act on platforms without an API and to
confirm in Kanalvakt (`ActionResult.status == "awaiting_person"`).

Errors come out as `PlatformError`, classified once here as retryable or not;
`as_activity_error` turns one into the `ApplicationError` an activity raises,
so a permanent failure stops Temporal's retries at once.

Nothing here reads the clock: `capture` is given `now`.

`capture_account` is the snapshot capability (R-37, R-38): the account's
profile and its recent posts with their comments and the replies to those,
as the platform shows them.
Connectors that cannot read the platform refuse it with a non-retryable
`PlatformError` (`SCREENSHOTS_NEEDED`): the snapshot is then made from
uploaded screenshots.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

from pydantic import AwareDatetime, BaseModel, ConfigDict
from temporalio.exceptions import ApplicationError

ActionName = Literal["reply", "hide", "unhide", "delete"]

PERMANENT_ERROR_TYPE = "PlatformPermanentError"
TRANSIENT_ERROR_TYPE = "PlatformTransientError"


class PlatformTarget(BaseModel):
    """One comment or private message on a platform."""

    model_config = ConfigDict(frozen=True)

    platform: str  # "facebook", "instagram", "tiktok", "linkedin", "x", "youtube", ...
    object_id: str  # the comment's or message's id on the platform
    kind: Literal["comment", "private_message"]
    # The account the object lives on: the Page id or the Instagram professional
    # account id for comments. For private messages it is the account the
    # conversation is addressed to; on Meta that is the Page (for Instagram
    # messaging through Facebook Login, the Page linked to the Instagram account).
    account_ref: str
    thread_id: str | None = None  # the post a comment is on, or the conversation id
    # The platform-scoped id of the object's author (PSID / IGSID for messages).
    # Replying to a private message is addressed to this person; when it is
    # unknown the Meta connector looks it up from the message.
    author_id: str | None = None


class KnownContent(BaseModel):
    """What Kanalvakt already holds of an object (from the webhook or the
    inbox), for connectors that cannot read the platform themselves."""

    text: str
    author_id: str | None = None
    author_name: str | None = None
    created_time: AwareDatetime
    permalink: str | None = None


class Capture(BaseModel):
    """A preserved copy of an object, taken before it is unpublished (R-30)."""

    object_id: str
    text: str
    author_id: str | None = None
    author_name: str | None = None
    created_time: AwareDatetime
    permalink: str | None = None
    raw: dict[str, Any]  # the platform's JSON as received, or what Kanalvakt held
    captured_at: AwareDatetime
    # "platform": read back from the platform just now; "kanalvakt": built from
    # what Kanalvakt already held (a manual platform), so the copy is only as
    # good as the intake was, and a screenshot should back it.
    source: Literal["platform", "kanalvakt"] = "platform"


class CapturedReply(BaseModel):
    """A reply to a comment (R-37): the platforms nest replies one level deep."""

    id: str
    text: str
    author_name: str | None = None
    created_time: AwareDatetime
    hidden: bool = False


class CapturedComment(BaseModel):
    id: str
    text: str
    author_name: str | None = None
    created_time: AwareDatetime
    hidden: bool = False
    replies: list[CapturedReply] = []  # the conversation under the comment
    replies_truncated: bool = False  # more replies than the capture's limit


class CapturedPost(BaseModel):
    id: str
    text: str
    created_time: AwareDatetime
    permalink: str | None = None
    media_type: str | None = None
    comments: list[CapturedComment] = []
    comments_truncated: bool = False  # more comments than the capture's limit


class AccountProfile(BaseModel):
    id: str
    name: str
    handle: str | None = None
    about: str | None = None
    link: str | None = None
    website: str | None = None
    category: str | None = None
    followers: int | None = None


class AccountCapture(BaseModel):
    """R-37, R-38: what the public sees of an account: the profile and the
    most recent posts with their top-level comments and the replies to
    those, as read just now."""

    platform: str
    account_ref: str
    profile: AccountProfile
    posts: list[CapturedPost]
    posts_truncated: bool = False  # the account has more posts than were captured
    captured_at: AwareDatetime
    raw: dict[str, Any] = {}  # the platform's answers as received

    @property
    def comment_count(self) -> int:
        """Comments and the replies to them (the SnapshotTaken count, R-37)."""
        return sum(len(p.comments) for p in self.posts) + self.reply_count

    @property
    def reply_count(self) -> int:
        """Replies to those comments."""
        return sum(len(c.replies) for p in self.posts for c in p.comments)


SCREENSHOTS_NEEDED = "ScreenshotsNeeded"


class ActionResult(BaseModel):
    action: ActionName
    status: Literal["done", "awaiting_person"]
    platform_object_id: str | None = None  # e.g. the id of the reply the platform created
    detail: str  # what happened, or (manual) what to do now: for the API and the log
    # (manual) what to do now, language-neutral: a text key of
    # texts/locale/ (`manual.*`) and its params, which the case
    # records and the intranet renders in the reader's language.
    detail_key: str | None = None
    detail_params: dict[str, str] = {}


class PlatformError(Exception):
    """A platform refused or failed an action.

    `retryable` says whether trying again later can succeed (rate limits,
    outages); `outcome_unknown` says the request may have taken effect before
    it failed (a read timeout or a 5xx answer to a write), which matters for a
    reply: retrying it may publish it twice.
    """

    def __init__(
        self,
        message: str,
        *,
        retryable: bool,
        status: int | None = None,
        code: int | None = None,
        subcode: int | None = None,
        fbtrace_id: str | None = None,
        retry_after: timedelta | None = None,
        outcome_unknown: bool = False,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable
        self.status = status
        self.code = code
        self.subcode = subcode
        self.fbtrace_id = fbtrace_id
        self.retry_after = retry_after
        self.outcome_unknown = outcome_unknown

    @property
    def object_missing(self) -> bool:
        """Graph's "object does not exist, cannot be loaded due to missing
        permissions, or does not support this operation" (code 100, subcode 33).

        After a delete whose answer was lost this means the delete took effect;
        the activity layer may treat it so on a retry, never on a first attempt
        (it can also mean the token lost access)."""
        return self.code == 100 and self.subcode == 33

    def __repr__(self) -> str:
        return (
            f"PlatformError({self.message!r}, retryable={self.retryable}, "
            f"status={self.status}, code={self.code}, subcode={self.subcode})"
        )


# Graph API error codes (developers.facebook.com/docs/graph-api/guides/error-handling
# and /overview/rate-limiting). Throttling and temporary outages: wait and retry.
RATE_LIMIT_CODES = frozenset({4, 17, 32, 613})
BUSINESS_USE_CASE_RATE_LIMITS = range(80000, 80100)  # 80001 Pages, 80002 Instagram, 80006 ...
TRANSIENT_CODES = frozenset({1, 2, 341})  # unknown error, service down, app limit reached
# Retrying cannot mend these: bad parameter or unknown object (100), method or
# permission missing (3, 10, 200-299), session/token invalid or expired (102,
# 190), blocked for policy violations (368: a person must look at it first),
# duplicate post (506).
PERMANENT_CODES = frozenset({3, 10, 100, 102, 190, 368, 506})


def is_retryable(status: int | None, code: int | None, *, transient: bool = False) -> bool:
    """Whether a failed Graph call may succeed later.

    The Graph error code decides first, because Graph reports throttling with
    HTTP 400 or 403 as often as with 429; the HTTP status decides only when the
    code says nothing we know. `transient` is Graph's own `is_transient` flag."""
    if transient:
        return True
    if code is not None:
        if code in RATE_LIMIT_CODES or code in TRANSIENT_CODES:
            return True
        if code in BUSINESS_USE_CASE_RATE_LIMITS:
            return True
        if code in PERMANENT_CODES or 200 <= code <= 299:
            return False
    if status is None:  # no answer at all: the network failed
        return True
    return status == 429 or status >= 500


def as_activity_error(err: PlatformError) -> ApplicationError:
    """The error an activity raises for `err`: non-retryable when retrying
    cannot help, so the workflow hears at once and can ask a person."""
    details = {
        "status": err.status,
        "code": err.code,
        "subcode": err.subcode,
        "fbtrace_id": err.fbtrace_id,
        "outcome_unknown": err.outcome_unknown,
    }
    if err.retryable:
        return ApplicationError(
            err.message,
            details,
            type=TRANSIENT_ERROR_TYPE,
            non_retryable=False,
            next_retry_delay=err.retry_after,
        )
    return ApplicationError(err.message, details, type=PERMANENT_ERROR_TYPE, non_retryable=True)


def not_for_private_messages(action: ActionName, target: PlatformTarget) -> PlatformError:
    """Private messages cannot be hidden or deleted for the sender; deleting
    one from our inbox would unpublish nothing and lose the record."""
    return PlatformError(
        f"{action} is not supported for private messages on {target.platform} "
        f"(message {target.object_id}): a private message is not public, so "
        "there is nothing to unpublish; register or dispose of it in Kanalvakt instead",
        retryable=False,
    )


class PlatformConnector(Protocol):
    """The actions Kanalvakt takes on a platform.

    `reply` is not idempotent on any platform: the caller records the returned
    `platform_object_id` before anything else, and must not resend a reply
    whose earlier attempt may have taken effect (`PlatformError.outcome_unknown`).
    `idempotency_key` is passed along where a platform can carry it (see the
    connector) and logged; it does not make a platform deduplicate.

    `capture` reads the object as it stands; `known` is what Kanalvakt already
    holds, used by connectors that cannot read the platform (the manual one)
    and ignored by those that can, whose own copy is the authoritative one."""

    async def reply(
        self, target: PlatformTarget, text: str, *, idempotency_key: str | None = None
    ) -> ActionResult: ...

    async def hide(self, target: PlatformTarget) -> ActionResult: ...

    async def unhide(self, target: PlatformTarget) -> ActionResult: ...

    async def delete(self, target: PlatformTarget) -> ActionResult: ...

    async def capture(
        self, target: PlatformTarget, *, now: datetime, known: KnownContent | None = None
    ) -> Capture: ...

    async def capture_account(
        self, platform: str, account_ref: str, *, now: datetime, max_posts: int = 25,
        max_comments: int = 100, max_replies: int = 100,
    ) -> AccountCapture: ...
