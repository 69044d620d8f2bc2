"""Meta's webhook deliveries (Facebook Pages, Messenger, Instagram) read into
`InboundMessage`s: signature check and parsing, no I/O and no clock.

Shapes read, as Meta documents them (Webhooks reference: Page `feed`,
Instagram `comments`; Messenger Platform: `messages`, `message_echoes`;
Instagram Messaging webhooks):

    {"object": "page" | "instagram",
     "entry": [{"id": <our Page id / IG professional account id>,
                "time": <when Meta sent it; seconds for changes, ms for messaging>,
                "changes":   [{"field": "feed" | "comments" | ..., "value": {...}}],
                "messaging": [{"sender": {"id"}, "recipient": {"id"},
                               "timestamp": <ms>, "message": {"mid", "text", ...}}],
                "standby":   [<as messaging>]}]}

What becomes a message (R-21: staff posts are records too, kept apart by
`from_staff`):

* Page `feed` change with `item: "comment"`, `verb: "add"`: a comment;
  staff when `from.id` is the Page itself (`entry.id`).
* Page `feed` change with `item` `status`, `post`, `photo` or `video`,
  `verb: "add"`, by the Page itself (`from.id` is `entry.id`) and not an
  unpublished (scheduled) one: the account's own post (`MessageKind.POST`,
  `from_staff`, id `post_id`). R-21 records it as a staff post; the feeder
  also records it on the account for the posting rhythm (R-18). A visitor's
  post on the Page is skipped, as before.
* Instagram `comments` / `live_comments` change: a comment; staff when
  `from.id` is our account. The value carries no time, so `entry.time` is
  used as the publication time.
* A `messaging` (or `standby`) event with a `message`: a private message;
  staff when `message.is_echo` is true (sent by our Page/account, from
  Kanalvakt or from Meta's own inbox alike). `standby` events are messages
  that arrived while another app had the thread (handover protocol): they
  are still messages to the municipality, so they are taken too.
* A `changes` item with `field: "messages"` is read like a messaging event:
  it is the form of the App Dashboard's "Test" button.

A message with attachments and no text (a photo, a voice clip, a shared
post, an Instagram `is_unsupported` message) is kept with `text=""`: it is a
message that must be answered and recorded (R-21, R-22), and
`InboundMessage` has no field for attachments; the connector's capture
fetches the content (`attachments`) from the Graph API. The text field stays
the sender's own words, never a placeholder of ours.

What is skipped (valid events, but not a new message): reactions and likes,
other feed items (visitors' posts, shares, albums...), edits (`verb: "edited"`,
`message_edit`), removals and hides (`verb: "remove" | "hide" | ...`), an
unsent message (`is_deleted`), deliveries, reads, postbacks, referrals,
mentions and any field we do not subscribe to.

Errors are per event (`entry[i].changes[j]`), so one bad event costs only
itself; `MalformedDelivery` is raised only when the whole body is unusable.
Reasons name fields and types, never values: message texts and ids of
people are personal data and reasons are logged and returned.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from domain.core import Platform
from domain.inbound import InboundMessage, MessageKind

SIGNATURE_HEADER = "X-Hub-Signature-256"

_PLATFORM_FOR_OBJECT = {"page": Platform.FACEBOOK, "instagram": Platform.INSTAGRAM}
_EVENT_LISTS = ("changes", "messaging", "standby")
_HEX_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# Meta sends Unix time in seconds in some places (feed `created_time`, the
# `time` of `changes` entries) and in milliseconds in others (messaging
# `timestamp`, the `time` of `messaging` entries). 10**11 seconds is the year
# 5138 and 10**11 milliseconds is 1973, so the magnitude tells them apart.
_MILLISECONDS_FROM = 10**11


# --------------------------------------------------------------------------- signature


def verify_signature(app_secret: str, raw_body: bytes, header: str | None) -> bool:
    """True when `header` is `sha256=<hex HMAC-SHA256 of raw_body keyed by app_secret>`.

    Computed over the bytes as received (Meta signs its escaped JSON, so a
    re-serialised body would not match). An empty secret verifies nothing:
    unsigned input is never accepted. The digest comparison is constant-time.
    """
    if not app_secret or not header:
        return False
    algorithm, sep, given = header.strip().partition("=")
    if sep != "=" or algorithm.lower() != "sha256" or not _HEX_SHA256.fullmatch(given):
        return False
    expected = hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, given.lower())


def sign(app_secret: str, raw_body: bytes) -> str:
    """The header value Meta would send for `raw_body` (for tests and tools)."""
    return "sha256=" + hmac.new(app_secret.encode(), raw_body, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- results


class SkippedEntry(BaseModel):
    """A well-formed event that is not a new message for us (a reaction, an edit...)."""

    model_config = ConfigDict(frozen=True)

    path: str
    reason: str


class EntryError(BaseModel):
    """A malformed event: reported and logged; the rest of the delivery stands."""

    model_config = ConfigDict(frozen=True)

    path: str
    reason: str


class ParsedDelivery(BaseModel):
    model_config = ConfigDict(frozen=True)

    platform: Platform
    messages: list[InboundMessage]
    skipped: list[SkippedEntry]
    errors: list[EntryError]


class MalformedDelivery(ValueError):
    """The body as a whole is unusable (not a Meta delivery at all)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class _Bad(Exception):
    """One event is malformed; carries the reason for its `EntryError`."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class _Skip:
    reason: str


@dataclass(frozen=True)
class _Entry:
    """What every event of one entry shares."""

    platform: Platform
    account_ref: str
    time: datetime | None  # None when absent or unreadable; only needed as a fallback


# --------------------------------------------------------------------------- parsing


def parse_delivery(payload: Any) -> ParsedDelivery:
    """Read one webhook body (already JSON-decoded) into messages, skips and errors."""
    if not isinstance(payload, dict):
        raise MalformedDelivery("body is not a JSON object")
    if "object" not in payload:
        raise MalformedDelivery("`object` is missing")
    obj = payload["object"]
    platform = _PLATFORM_FOR_OBJECT.get(obj) if isinstance(obj, str) else None
    if platform is None:
        raise MalformedDelivery("`object` must be \"page\" or \"instagram\"")
    entries = payload.get("entry")
    if not isinstance(entries, list):
        raise MalformedDelivery("`entry` must be a list")

    messages: list[InboundMessage] = []
    skipped: list[SkippedEntry] = []
    errors: list[EntryError] = []
    for i, raw_entry in enumerate(entries):
        path = f"entry[{i}]"
        try:
            entry, event_lists = _entry(platform, raw_entry)
        except _Bad as bad:
            errors.append(EntryError(path=path, reason=bad.reason))
            continue
        for key, events in event_lists:
            if not isinstance(events, list):  # costs this list only, not its siblings
                errors.append(EntryError(path=f"{path}.{key}", reason=f"`{key}` is not a list"))
                continue
            read_event = _change if key == "changes" else _messaging
            for j, event in enumerate(events):
                event_path = f"{path}.{key}[{j}]"
                try:
                    outcome = read_event(entry, event)
                except _Bad as bad:
                    errors.append(EntryError(path=event_path, reason=bad.reason))
                    continue
                if isinstance(outcome, _Skip):
                    skipped.append(SkippedEntry(path=event_path, reason=outcome.reason))
                else:
                    messages.append(outcome)
    return ParsedDelivery(platform=platform, messages=messages, skipped=skipped, errors=errors)


def _entry(platform: Platform, raw: Any) -> tuple[_Entry, list[tuple[str, Any]]]:
    if not isinstance(raw, dict):
        raise _Bad("entry is not an object")
    account_ref = _id(raw.get("id"), "entry `id`")
    try:
        time = _instant(raw.get("time"), "entry `time`")
    except _Bad:
        time = None  # only a fallback; an event that needs it says so
    lists = [(key, raw[key]) for key in _EVENT_LISTS if key in raw]
    if not lists:
        raise _Bad("entry has none of `changes`, `messaging`, `standby`")
    return _Entry(platform, account_ref, time), lists


def _change(entry: _Entry, change: Any) -> InboundMessage | _Skip:
    if not isinstance(change, dict):
        raise _Bad("change is not an object")
    field = change.get("field")
    if not isinstance(field, str) or not field:
        raise _Bad("change has no `field`")
    value = change.get("value")
    if not isinstance(value, dict):
        raise _Bad(f"`{field}` change has no `value` object")
    if field == "messages":
        return _messaging(entry, value)
    if entry.platform is Platform.FACEBOOK and field == "feed":
        return _facebook_feed(entry, value)
    if entry.platform is Platform.INSTAGRAM and field in ("comments", "live_comments"):
        return _instagram_comment(entry, value)
    return _Skip(f"field `{field}` is not a comment or a message")


def _facebook_feed(entry: _Entry, value: dict[str, Any]) -> InboundMessage | _Skip:
    """Page feed: only a new comment is a message; posts, reactions, edits,
    removals and hides of comments are events about other things."""
    item = value.get("item")
    if not isinstance(item, str):
        raise _Bad("feed change has no `item`")
    if item in _POST_ITEMS:
        return _own_post(entry, item, value)
    if item != "comment":
        return _Skip(f"feed item `{item}` is not a comment")
    verb = value.get("verb")
    if not isinstance(verb, str):
        raise _Bad("feed comment has no `verb`")
    if verb != "add":
        return _Skip(f"comment `{verb}` is not a new comment")
    author_id, author_name = _author(value.get("from"), name_key="name")
    post = value.get("post")
    permalink = post.get("permalink_url") if isinstance(post, dict) else None
    return _message(
        entry,
        external_id=_id(value.get("comment_id"), "`comment_id`"),
        kind=MessageKind.COMMENT,
        parent_id=_optional_id(value.get("parent_id"), "`parent_id`"),
        thread_id=_optional_id(value.get("post_id"), "`post_id`"),
        author_id=author_id,
        author_name=author_name,
        from_staff=author_id == entry.account_ref,
        text=_text(value.get("message"), "`message`"),
        published_at=_published(entry, value.get("created_time"), "`created_time`"),
        permalink=_optional_str(permalink, "`post.permalink_url`"),
    )


_POST_ITEMS = frozenset({"status", "post", "photo", "video"})


def _own_post(entry: _Entry, item: str, value: dict[str, Any]) -> InboundMessage | _Skip:
    """R-18, R-21: a post the Page published on its own feed. Edits,
    removals, a scheduled (unpublished) post and a visitor's post are not."""
    verb = value.get("verb")
    if not isinstance(verb, str):
        raise _Bad(f"feed {item} has no `verb`")
    if verb != "add":
        return _Skip(f"{item} `{verb}` is not a new post")
    author_id, author_name = _author(value.get("from"), name_key="name")
    if author_id != entry.account_ref:
        return _Skip(f"feed item `{item}` by a visitor is not the account's own post")
    if value.get("published") in (0, False, "0"):
        return _Skip(f"feed item `{item}` is not published yet")
    post_id = _id(value.get("post_id"), "`post_id`")
    return _message(
        entry,
        external_id=post_id,
        kind=MessageKind.POST,
        parent_id=None,
        thread_id=post_id,
        author_id=author_id,
        author_name=author_name,
        from_staff=True,
        text=_text(value.get("message"), "`message`"),
        published_at=_published(entry, value.get("created_time"), "`created_time`"),
    )


def _instagram_comment(entry: _Entry, value: dict[str, Any]) -> InboundMessage:
    author_id, author_name = _author(value.get("from"), name_key="username")
    media = value.get("media")
    if media is not None and not isinstance(media, dict):
        raise _Bad("`media` is not an object")
    return _message(
        entry,
        external_id=_id(value.get("id"), "comment `id`"),
        kind=MessageKind.COMMENT,
        parent_id=_optional_id(value.get("parent_id"), "`parent_id`"),
        thread_id=_optional_id(media.get("id"), "`media.id`") if media else None,
        author_id=author_id,
        author_name=author_name,
        from_staff=author_id == entry.account_ref,
        text=_text(value.get("text"), "`text`"),
        # The comments field carries no time of its own.
        published_at=_published(entry, None, "comment time"),
    )


def _messaging(entry: _Entry, event: Any) -> InboundMessage | _Skip:
    """Messenger and Instagram Direct: an event with a `message` is one, unless
    it reports an unsend; other events (read, delivery, reaction, postback,
    message_edit...) are about messages, not messages."""
    if not isinstance(event, dict):
        raise _Bad("messaging event is not an object")
    message = event.get("message")
    if message is None:
        others = sorted(set(event) - {"sender", "recipient", "timestamp"})
        if not others:
            raise _Bad("messaging event has no `message`")
        return _Skip(f"messaging event `{others[0]}` is not a message")
    if not isinstance(message, dict):
        raise _Bad("`message` is not an object")
    if message.get("is_deleted") is True:
        return _Skip("message was unsent by its sender (`is_deleted`)")
    sender = _participant(event.get("sender"), "sender")
    if sender is None:
        raise _Bad("messaging event has no `sender.id`")
    recipient = _participant(event.get("recipient"), "recipient")
    # An echo is a message our own Page/account sent (R-21: a staff post).
    from_staff = message.get("is_echo") is True or sender == entry.account_ref
    return _message(
        entry,
        external_id=_id(message.get("mid"), "`message.mid`"),
        kind=MessageKind.PRIVATE_MESSAGE,
        parent_id=_reply_to(message.get("reply_to")),
        # The conversation is named by the other party: the citizen's PSID/IGSID.
        thread_id=recipient if from_staff else sender,
        author_id=sender,
        author_name=None,  # messaging events carry ids only
        from_staff=from_staff,
        text=_text(message.get("text"), "`message.text`"),
        published_at=_published(entry, event.get("timestamp"), "`timestamp`"),
    )


# --------------------------------------------------------------------------- fields


def _message(entry: _Entry, **fields: Any) -> InboundMessage:
    try:
        return InboundMessage(platform=entry.platform, account_ref=entry.account_ref, **fields)
    except ValidationError as invalid:
        # Reasons without input values: they may be a citizen's words.
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}"
            for e in invalid.errors(include_input=False, include_url=False)
        )
        raise _Bad(f"not a valid message ({problems})") from None


def _id(value: Any, what: str) -> str:
    """Meta's ids are strings, but some payloads carry them as JSON numbers."""
    if isinstance(value, str) and value:
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    raise _Bad(f"{what} is missing or not an id")


def _optional_id(value: Any, what: str) -> str | None:
    return None if value is None else _id(value, what)


def _optional_str(value: Any, what: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise _Bad(f"{what} is not a string")


def _text(value: Any, what: str) -> str:
    if value is None:
        return ""  # an attachment, a sticker, a photo comment: see the module docstring
    if isinstance(value, str):
        return value
    raise _Bad(f"{what} is not a string")


def _author(value: Any, *, name_key: str) -> tuple[str | None, str | None]:
    """`from` may be absent (Meta withholds it for some users); then the
    author is unknown and the message counts as a citizen's."""
    if value is None:
        return None, None
    if not isinstance(value, dict):
        raise _Bad("`from` is not an object")
    return (_optional_id(value.get("id"), "`from.id`"),
            _optional_str(value.get(name_key), f"`from.{name_key}`"))


def _participant(value: Any, name: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Bad(f"`{name}` is not an object")
    return _optional_id(value.get("id"), f"`{name}.id`")


def _reply_to(value: Any) -> str | None:
    """Messenger `reply_to.mid`, or the story an Instagram story reply answers."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise _Bad("`message.reply_to` is not an object")
    if "mid" in value:
        return _id(value["mid"], "`reply_to.mid`")
    story = value.get("story")
    if isinstance(story, dict) and story.get("id") is not None:
        return _id(story["id"], "`reply_to.story.id`")
    return None


def _published(entry: _Entry, value: Any, what: str) -> datetime:
    """The event's own time when it has one, else the entry's (when Meta sent it)."""
    instant = _instant(value, what)
    if instant is not None:
        return instant
    if entry.time is None:
        raise _Bad(f"no time: neither {what} nor a readable entry `time`")
    return entry.time


def _instant(value: Any, what: str) -> datetime | None:
    """Unix seconds or milliseconds (number or digit string), or an ISO 8601
    string with an offset (Graph's `2021-04-12T10:00:00+0000`); aware UTC."""
    if value is None:
        return None
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value.strip())
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            raise _Bad(f"{what} is not a time") from None
        if parsed.tzinfo is None:
            raise _Bad(f"{what} has no UTC offset")
        return parsed.astimezone(UTC)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise _Bad(f"{what} is not a Unix time")
    try:
        if value >= _MILLISECONDS_FROM:
            return _EPOCH + timedelta(milliseconds=value)
        return _EPOCH + timedelta(seconds=value)
    except (OverflowError, ValueError):  # inf, nan, beyond year 9999
        raise _Bad(f"{what} is out of range") from None
