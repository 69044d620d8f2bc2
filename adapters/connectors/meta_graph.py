"""Facebook Pages, Instagram professional accounts and their private messages
through Meta's Graph API (`https://graph.facebook.com/v21.0` by default).

Endpoints called, as Meta documents them (Graph API reference: Comment,
IG Comment, IG Comment Replies, Message; Messenger Platform Send API):

Facebook comment (`platform="facebook"`, `kind="comment"`)
  reply    POST   /{comment-id}/comments   form `message`      -> {"id": <new comment id>}
  hide     POST   /{comment-id}            form `is_hidden=true`  -> {"success": true}
  unhide   POST   /{comment-id}            form `is_hidden=false` -> {"success": true}
  delete   DELETE /{comment-id}                                -> {"success": true}
  capture  GET    /{comment-id}?fields=id,message,from,created_time,permalink_url,parent,attachment
Instagram comment (`platform="instagram"`, `kind="comment"`)
  reply    POST   /{ig-comment-id}/replies form `message`      -> {"id": <new comment id>}
  hide     POST   /{ig-comment-id}         form `hide=true`    -> {"success": true}
  unhide   POST   /{ig-comment-id}         form `hide=false`   -> {"success": true}
  delete   DELETE /{ig-comment-id}                             -> {"success": true}
  capture  GET    /{ig-comment-id}?fields=id,text,username,timestamp,from,like_count,parent_id
Private message, Messenger or Instagram (`kind="private_message"`)
  reply    POST   /{page-id}/messages      JSON {"recipient": {"id": <PSID/IGSID>},
                                                 "messaging_type": "RESPONSE",
                                                 "message": {"text": ...}}
                                           -> {"recipient_id": ..., "message_id": ...}
  capture  GET    /{message-id}?fields=id,message,from,created_time,attachments
  (recipient unknown: GET /{message-id}?fields=from first)
  hide, unhide, delete: not offered by Meta for messages; PlatformError, not retryable.
Account snapshot (`capture_account`, R-37, R-38), newest first, paged by `after` cursor
  Facebook Page  GET /{page-id}?fields=id,name,username,about,category,link,followers_count,website
                 GET /{page-id}/posts?fields=id,message,created_time,permalink_url,status_type
                 GET /{post-id}/comments?fields=id,message,from,created_time,is_hidden,
                                                comment_count
                 GET /{comment-id}/comments?fields=id,message,from,created_time,is_hidden
                     (replies; asked only of comments whose comment_count is > 0)
  Instagram      GET /{ig-user-id}?fields=id,username,name,biography,website,followers_count
                 GET /{ig-user-id}/media?fields=id,caption,media_type,permalink,timestamp
                 GET /{ig-media-id}/comments?fields=id,text,username,timestamp,hidden
                 GET /{ig-comment-id}/replies?fields=id,text,username,timestamp,hidden
  A post's comments edge gives the top-level comments (Graph's default
  `filter=toplevel`); the replies to each come from the comment's own edge
  ("Comments on comments are called replies. You get replies by querying for
  the comments on a comment id"; Instagram: IG Comment Replies), paged the
  same way, up to `max_replies` per comment. Replies are one level deep on
  both platforms (a reply to a reply is added to the top-level comment).

Every call carries the Page access token as `Authorization: Bearer <token>`,
never as the `access_token` query parameter, so tokens stay out of URLs and
so out of httpx's and proxies' request logs; with an app secret configured,
`appsecret_proof` (HMAC-SHA256 of the token) goes in the query. The token
comes from `tokens(account_ref)`, so settings or a secret store own it; for an
Instagram account it is the token of the Page linked to it (Instagram API with
Facebook Login).

Errors: Graph's envelope `{"error": {"message", "type", "code",
"error_subcode", "is_transient", "fbtrace_id"}}` becomes a `PlatformError`,
classified by `base.is_retryable` (the code first, then the HTTP status); a
rate limit's wait comes from `Retry-After` or from `X-Business-Use-Case-Usage`'s
`estimated_time_to_regain_access` (minutes). Network failures are retryable.

Replies are not idempotent on Meta's side and this connector cannot make
them so: the activity layer records the returned platform id at once, so a
retry after a success is not sent twice, and treats `outcome_unknown` errors
(a read timeout or a 5xx after the request went out) as "maybe published" for
a person or a reconciliation to settle. `idempotency_key` is logged and, on
Messenger, sent as `message.metadata`, which Meta echoes back in the
`message_echoes` webhook, so a lost answer can be reconciled from the echo.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, Literal
from urllib.parse import quote

import httpx
import structlog

from adapters.connectors.base import (
    AccountCapture,
    AccountProfile,
    ActionName,
    ActionResult,
    Capture,
    CapturedComment,
    CapturedPost,
    CapturedReply,
    KnownContent,
    PlatformError,
    PlatformTarget,
    is_retryable,
    not_for_private_messages,
)

DEFAULT_BASE_URL = "https://graph.facebook.com/v21.0"

FACEBOOK_COMMENT_FIELDS = "id,message,from,created_time,permalink_url,parent,attachment"
INSTAGRAM_COMMENT_FIELDS = "id,text,username,timestamp,from,like_count,parent_id"
MESSAGE_FIELDS = "id,message,from,created_time,attachments"
PAGE_FIELDS = "id,name,username,about,category,link,followers_count,website"
IG_USER_FIELDS = "id,username,name,biography,website,followers_count"
POST_FIELDS = "id,message,created_time,permalink_url,status_type"
IG_MEDIA_FIELDS = "id,caption,media_type,permalink,timestamp"
FB_POST_COMMENT_FIELDS = "id,message,from,created_time,is_hidden,comment_count"
IG_MEDIA_COMMENT_FIELDS = "id,text,username,timestamp,hidden"
FB_REPLY_FIELDS = "id,message,from,created_time,is_hidden"
IG_REPLY_FIELDS = "id,text,username,timestamp,hidden"
_PAGE_SIZE = 25

# account_ref -> its Page access token. An account without a token is a
# configuration error the provider reports as PlatformError(retryable=False).
TokenProvider = Callable[[str], Awaitable[str]]
Route = Literal["facebook_comment", "instagram_comment", "private_message"]

# What capture asks for, and where the text, the creation time and the link are.
_CAPTURE_FIELDS: dict[Route, tuple[str, str, str, str | None]] = {
    "facebook_comment": (FACEBOOK_COMMENT_FIELDS, "message", "created_time", "permalink_url"),
    "instagram_comment": (INSTAGRAM_COMMENT_FIELDS, "text", "timestamp", None),
    "private_message": (MESSAGE_FIELDS, "message", "created_time", None),
}

log = structlog.get_logger("kanalvakt.connectors.meta_graph")


class MetaGraphConnector:
    """`PlatformConnector` for Facebook and Instagram through the Graph API.

    `http` is owned by the caller (worker.py builds one per process, with its
    timeouts); `base_url` includes the API version."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        tokens: TokenProvider,
        *,
        base_url: str = DEFAULT_BASE_URL,
        app_secret: str | None = None,
    ) -> None:
        self._http = http
        self._tokens = tokens
        self._base_url = base_url.rstrip("/")
        self._app_secret = app_secret

    async def reply(
        self, target: PlatformTarget, text: str, *, idempotency_key: str | None = None
    ) -> ActionResult:
        if not text.strip():
            raise PlatformError("refusing to publish an empty reply", retryable=False)
        route = _route(target)
        if route == "private_message":
            return await self._send_message(target, text, idempotency_key)
        edge = "comments" if route == "facebook_comment" else "replies"
        body = await self._call(
            "POST", [target.object_id, edge], target.account_ref, data={"message": text}
        )
        reply_id = _required_str(body, "id")
        log.info(
            "graph reply published",
            platform=target.platform,
            object_id=target.object_id,
            reply_id=reply_id,
            idempotency_key=idempotency_key,
        )
        return ActionResult(
            action="reply",
            status="done",
            platform_object_id=reply_id,
            detail=f"Svaret är publicerat som kommentar {reply_id}.",
        )

    async def hide(self, target: PlatformTarget) -> ActionResult:
        return await self._set_hidden(target, True)

    async def unhide(self, target: PlatformTarget) -> ActionResult:
        return await self._set_hidden(target, False)

    async def delete(self, target: PlatformTarget) -> ActionResult:
        if _route(target) == "private_message":
            raise not_for_private_messages("delete", target)
        body = await self._call("DELETE", [target.object_id], target.account_ref)
        _require_success(body, "delete", target)
        log.info("graph comment deleted", platform=target.platform, object_id=target.object_id)
        return ActionResult(
            action="delete",
            status="done",
            platform_object_id=target.object_id,
            detail=f"Kommentaren {target.object_id} är borttagen.",
        )

    async def capture(
        self, target: PlatformTarget, *, now: datetime, known: KnownContent | None = None
    ) -> Capture:
        # `known` is deliberately unused: what the platform shows now (an
        # edited text, say) is what is about to be unpublished, so it is the copy.
        fields, text_key, time_key, link_key = _CAPTURE_FIELDS[_route(target)]
        body = await self._get(target, fields)
        sender = body.get("from")
        author: dict[str, Any] = sender if isinstance(sender, dict) else {}
        author_name = author.get("name") or author.get("username") or body.get("username")
        text, created = body.get(text_key), body.get(time_key)
        permalink = body.get(link_key) if link_key else None
        return Capture(
            object_id=str(body.get("id") or target.object_id),
            text=str(text or ""),  # a photo- or sticker-only comment has no text; raw keeps it
            author_id=_opt_str(author.get("id")),
            author_name=_opt_str(author_name),
            created_time=_parse_time(created, target),
            permalink=_opt_str(permalink),
            raw=body,
            captured_at=now,
            source="platform",
        )

    async def capture_account(
        self, platform: str, account_ref: str, *, now: datetime, max_posts: int = 25,
        max_comments: int = 100, max_replies: int = 100,
    ) -> AccountCapture:
        if platform not in ("facebook", "instagram"):
            raise PlatformError(
                f"the Graph API connector does not serve {platform!r}", retryable=False)
        fb = platform == "facebook"
        profile_fields = (PAGE_FIELDS if fb else IG_USER_FIELDS)
        body = await self._call("GET", [account_ref], account_ref,
                                params={"fields": profile_fields})
        if fb:
            profile = AccountProfile(
                id=str(body.get("id") or account_ref), name=str(body.get("name") or ""),
                handle=_opt_str(body.get("username")), about=_opt_str(body.get("about")),
                link=_opt_str(body.get("link")), website=_opt_str(body.get("website")),
                category=_opt_str(body.get("category")),
                followers=_opt_int(body.get("followers_count")))
        else:
            username = _opt_str(body.get("username"))
            profile = AccountProfile(
                id=str(body.get("id") or account_ref),
                name=str(body.get("name") or username or ""), handle=username,
                about=_opt_str(body.get("biography")),
                link=f"https://www.instagram.com/{username}/" if username else None,
                website=_opt_str(body.get("website")),
                followers=_opt_int(body.get("followers_count")))
        raw: dict[str, Any] = {"profile": body, "posts": {}}
        edge, fields = ("posts", POST_FIELDS) if fb else ("media", IG_MEDIA_FIELDS)
        items, more = await self._list(account_ref, [account_ref, edge], fields, max_posts)
        posts: list[CapturedPost] = []
        for item in items:
            post_id = str(item.get("id"))
            comment_fields = FB_POST_COMMENT_FIELDS if fb else IG_MEDIA_COMMENT_FIELDS
            comments_raw, more_comments = await self._list(
                account_ref, [post_id, "comments"], comment_fields, max_comments)
            replies_raw: dict[str, list[dict[str, Any]]] = {}
            raw["posts"][post_id] = {"post": item, "comments": comments_raw,
                                     "replies": replies_raw}
            target = PlatformTarget(platform=platform, object_id=post_id, kind="comment",
                                    account_ref=account_ref)
            comments = []
            for c in comments_raw:
                comment = _captured_comment(c, fb, target)
                # Facebook says how many replies a comment has, so only those
                # with replies cost a request; Instagram does not say.
                if max_replies > 0 and (not fb or (_opt_int(c.get("comment_count")) or 0) > 0):
                    found, more_replies = await self._list(
                        account_ref, [comment.id, "comments" if fb else "replies"],
                        FB_REPLY_FIELDS if fb else IG_REPLY_FIELDS, max_replies)
                    if found:
                        replies_raw[comment.id] = found
                    comment = comment.model_copy(update={
                        "replies": [_captured_reply(r, fb, target) for r in found],
                        "replies_truncated": more_replies})
                comments.append(comment)
            posts.append(CapturedPost(
                id=post_id,
                text=str(item.get("message" if fb else "caption") or ""),
                created_time=_parse_time(item.get("created_time" if fb else "timestamp"), target),
                permalink=_opt_str(item.get("permalink_url" if fb else "permalink")),
                media_type=_opt_str(item.get("status_type" if fb else "media_type")),
                comments=comments, comments_truncated=more_comments,
            ))
        captured = AccountCapture(platform=platform, account_ref=account_ref, profile=profile,
                                  posts=posts, posts_truncated=more, captured_at=now, raw=raw)
        log.info("graph account captured", platform=platform, account_ref=account_ref,
                 posts=len(posts), comments=captured.comment_count - captured.reply_count,
                 replies=captured.reply_count)
        return captured

    async def _list(self, account_ref: str, path: list[str], fields: str, most: int
                    ) -> tuple[list[dict[str, Any]], bool]:
        """Up to `most` items of an edge, following Graph's `after` cursors;
        and whether more were left."""
        items: list[dict[str, Any]] = []
        after: str | None = None
        while len(items) < most:
            params = {"fields": fields, "limit": str(min(_PAGE_SIZE, most - len(items)))}
            if after:
                params["after"] = after
            body = await self._call("GET", path, account_ref, params=params)
            data = body.get("data")
            if not isinstance(data, list):
                raise PlatformError(f"Graph API GET /{'/'.join(path)}: no data list",
                                    retryable=False)
            items.extend(d for d in data if isinstance(d, dict))
            paging_raw = body.get("paging")
            paging: dict[str, Any] = paging_raw if isinstance(paging_raw, dict) else {}
            cursors_raw = paging.get("cursors")
            cursors: dict[str, Any] = cursors_raw if isinstance(cursors_raw, dict) else {}
            after = _opt_str(cursors.get("after")) if paging.get("next") else None
            if not data or after is None:
                return items[:most], False
        return items[:most], after is not None

    # -- the calls --------------------------------------------------------

    async def _set_hidden(self, target: PlatformTarget, hidden: bool) -> ActionResult:
        action: ActionName = "hide" if hidden else "unhide"
        route = _route(target)
        if route == "private_message":
            raise not_for_private_messages(action, target)
        flag = "is_hidden" if route == "facebook_comment" else "hide"
        body = await self._call(
            "POST",
            [target.object_id],
            target.account_ref,
            data={flag: "true" if hidden else "false"},
        )
        _require_success(body, action, target)
        log.info(
            "graph comment visibility set",
            platform=target.platform,
            object_id=target.object_id,
            hidden=hidden,
        )
        what = "dold" if hidden else "synlig igen"
        return ActionResult(
            action=action,
            status="done",
            platform_object_id=target.object_id,
            detail=f"Kommentaren {target.object_id} är {what}.",
        )

    async def _send_message(
        self, target: PlatformTarget, text: str, idempotency_key: str | None
    ) -> ActionResult:
        recipient = target.author_id or await self._message_author(target)
        message: dict[str, str] = {"text": text}
        if idempotency_key and target.platform == "facebook":
            message["metadata"] = idempotency_key
        body = await self._call(
            "POST",
            [target.account_ref, "messages"],
            target.account_ref,
            json_body={
                "recipient": {"id": recipient},
                "messaging_type": "RESPONSE",
                "message": message,
            },
        )
        message_id = _required_str(body, "message_id")
        log.info(
            "graph message sent",
            platform=target.platform,
            object_id=target.object_id,
            message_id=message_id,
            idempotency_key=idempotency_key,
        )
        return ActionResult(
            action="reply",
            status="done",
            platform_object_id=message_id,
            detail=f"Svaret är skickat som meddelande {message_id}.",
        )

    async def _message_author(self, target: PlatformTarget) -> str:
        body = await self._get(target, "from")
        author = body.get("from")
        if not isinstance(author, dict) or not author.get("id"):
            raise PlatformError(
                f"message {target.object_id} has no sender to reply to", retryable=False
            )
        return str(author["id"])

    async def _get(self, target: PlatformTarget, fields: str) -> dict[str, Any]:
        return await self._call(
            "GET", [target.object_id], target.account_ref, params={"fields": fields}
        )

    async def _call(
        self,
        method: str,
        path: list[str],
        account_ref: str,
        *,
        params: Mapping[str, str] | None = None,
        data: Mapping[str, str] | None = None,
        json_body: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        token = await self._tokens(account_ref)
        query = dict(params or {})
        if self._app_secret:
            query["appsecret_proof"] = hmac.new(
                self._app_secret.encode(), token.encode(), hashlib.sha256
            ).hexdigest()
        url = self._base_url + "/" + "/".join(quote(part, safe="") for part in path)
        where = f"{method} /{'/'.join(path)}"
        write = method != "GET"
        try:
            response = await self._http.request(
                method,
                url,
                params=query,
                data=data,
                json=json_body,
                headers={"Authorization": f"Bearer {token}"},
            )
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            # Nothing reached Meta: safe to retry, even a reply.
            raise PlatformError(
                f"Graph API {where}: could not connect ({exc!r})", retryable=True
            ) from exc
        except httpx.TransportError as exc:
            raise PlatformError(
                f"Graph API {where}: no answer ({exc!r})", retryable=True, outcome_unknown=write
            ) from exc
        if response.is_success:
            try:
                body = response.json()
            except ValueError:
                body = None
            if isinstance(body, dict) and "error" not in body:
                return body
        raise _error_from(response, where, write=write)


def _route(target: PlatformTarget) -> Route:
    if target.platform not in ("facebook", "instagram"):
        raise PlatformError(
            f"the Graph API connector does not serve {target.platform!r}", retryable=False
        )
    if target.kind == "private_message":
        return "private_message"
    return "facebook_comment" if target.platform == "facebook" else "instagram_comment"


def _error_from(response: httpx.Response, where: str, *, write: bool) -> PlatformError:
    status = response.status_code
    try:
        body = response.json()
    except ValueError:
        body = None
    envelope = body.get("error") if isinstance(body, dict) else None
    if isinstance(envelope, dict):
        code = _opt_int(envelope.get("code"))
        subcode = _opt_int(envelope.get("error_subcode"))
        trace = _opt_str(envelope.get("fbtrace_id"))
        transient = envelope.get("is_transient") is True
        said = str(envelope.get("message") or envelope.get("type") or "error")
    else:
        code = subcode = trace = None
        transient = False
        said = f"unexpected answer {response.text[:200]!r}"
    retryable = is_retryable(status, code, transient=transient)
    return PlatformError(
        f"Graph API {where}: {said} (HTTP {status}, code {code}, subcode {subcode}, "
        f"fbtrace_id {trace})",
        retryable=retryable,
        status=status,
        code=code,
        subcode=subcode,
        fbtrace_id=trace,
        retry_after=_retry_after(response.headers) if retryable else None,
        # A 5xx (or a 2xx we cannot read) after a write: it may have been done.
        outcome_unknown=write and (status >= 500 or response.is_success),
    )


def _retry_after(headers: httpx.Headers) -> timedelta | None:
    seconds = headers.get("retry-after", "")
    if seconds.isdigit() and int(seconds) > 0:
        return timedelta(seconds=int(seconds))
    usage = headers.get("x-business-use-case-usage")
    if not usage:
        return None
    try:
        parsed = json.loads(usage)
    except ValueError:
        return None
    minutes = [
        entry.get("estimated_time_to_regain_access", 0)
        for entries in (parsed.values() if isinstance(parsed, dict) else [])
        if isinstance(entries, list)
        for entry in entries
        if isinstance(entry, dict)
    ]
    longest = max((m for m in minutes if isinstance(m, int | float)), default=0)
    return timedelta(minutes=longest) if longest > 0 else None


def _require_success(body: dict[str, Any], action: ActionName, target: PlatformTarget) -> None:
    if body.get("success") is not True:
        raise PlatformError(
            f"Graph API did not confirm {action} of {target.object_id}: {body!r}",
            retryable=False,
        )


def _captured_comment(body: dict[str, Any], facebook: bool,
                      target: PlatformTarget) -> CapturedComment:
    sender = body.get("from")
    author: dict[str, Any] = sender if isinstance(sender, dict) else {}
    return CapturedComment(
        id=str(body.get("id")),
        text=str(body.get("message" if facebook else "text") or ""),
        author_name=_opt_str(author.get("name") or body.get("username")),
        created_time=_parse_time(body.get("created_time" if facebook else "timestamp"), target),
        hidden=bool(body.get("is_hidden" if facebook else "hidden")),
    )


def _captured_reply(body: dict[str, Any], facebook: bool,
                    target: PlatformTarget) -> CapturedReply:
    comment = _captured_comment(body, facebook, target)
    return CapturedReply(id=comment.id, text=comment.text, author_name=comment.author_name,
                         created_time=comment.created_time, hidden=comment.hidden)


def _required_str(body: dict[str, Any], key: str) -> str:
    value = body.get(key)
    if not value:
        # It answered 2xx, so the write most likely happened: never blindly resend.
        raise PlatformError(
            f"Graph API answer without {key!r}: {body!r}", retryable=False, outcome_unknown=True
        )
    return str(value)


def _parse_time(value: object, target: PlatformTarget) -> datetime:
    # Graph writes "2024-05-01T12:34:56+0000", which fromisoformat reads (3.11+).
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
        if parsed is not None and parsed.tzinfo is not None:
            return parsed
    raise PlatformError(
        f"Graph API gave no usable creation time for {target.object_id}: {value!r}", retryable=False
    )


def _opt_str(value: object) -> str | None:
    return None if value is None or value == "" else str(value)


def _opt_int(value: object) -> int | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str) and value.isdigit():
        return int(value)
    return None
