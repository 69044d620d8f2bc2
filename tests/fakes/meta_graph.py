"""A local fake of the parts of Meta's Graph API (v21.0) Kanalvakt calls.

Meta is an external third party, so it is faked; our own PostgreSQL and
Temporal never are. The fake is a FastAPI app served by uvicorn on loopback
(`serve`), so the connector's real HTTP client code runs unchanged.

It imitates, as Meta documents them:

  GET    /v21.0/{id}?fields=a,b      a Comment, IG Comment or Message node; only
                                     the node type's fields, else error #100
  POST   /v21.0/{comment-id}/comments  Facebook reply (`message`)   -> {"id"}
  POST   /v21.0/{ig-comment-id}/replies  Instagram reply (`message`) -> {"id"}
  POST   /v21.0/{comment-id}         `is_hidden` (Facebook) / `hide` (Instagram)
                                     -> {"success": true}
  DELETE /v21.0/{comment-id}         -> {"success": true}
  POST   /v21.0/{page-id}/messages   Send API, JSON or form body
                                     -> {"recipient_id", "message_id"}
  GET    /v21.0/{page-id}/posts      a Page's posts, newest first   } {"data": [...],
  GET    /v21.0/{ig-user-id}/media   an IG account's media          }  "paging": {"cursors":
  GET    /v21.0/{post-or-media-id}/comments  top-level comments     }  {"after"}, "next"}}
  GET    /v21.0/{comment-id}/comments  replies to a Facebook comment }
  GET    /v21.0/{ig-comment-id}/replies  replies to an IG comment    }
                                     (`limit`, `after`; Page, IG User, Post and
                                     IG Media nodes for the account snapshot;
                                     replies oldest first, the rest newest first;
                                     a Facebook comment's `comment_count` is its
                                     number of replies)

with token checking (`Authorization: Bearer`/`OAuth` or `access_token`; an
object answers only to its owner's token), optional `appsecret_proof`, Graph's
error envelope, an in-memory store, a log of every request received, and
`fail_next` / `delay_next` to inject failures and slow answers.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import parse_qsl

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, PlainTextResponse, Response

from tests.servers import serve_app

VERSION = "v21.0"

Node = Literal["comment", "ig_comment", "message", "page", "post", "ig_user", "ig_media"]

# The fields each node type has (a subset of Meta's reference): asking for
# another one is Graph's error #100, which catches a misspelt field.
NODE_FIELDS: dict[Node, frozenset[str]] = {
    "comment": frozenset(
        {
            "id",
            "message",
            "from",
            "created_time",
            "permalink_url",
            "parent",
            "attachment",
            "is_hidden",
            "can_hide",
            "like_count",
            "comment_count",
            "object",
        }
    ),
    "ig_comment": frozenset(
        {
            "id",
            "text",
            "username",
            "timestamp",
            "from",
            "like_count",
            "parent_id",
            "hidden",
            "media",
            "user",
            "legacy_instagram_comment_id",
        }
    ),
    "message": frozenset(
        {"id", "message", "from", "to", "created_time", "attachments", "shares", "sticker", "tags"}
    ),
    "page": frozenset(
        {"id", "name", "username", "about", "category", "link", "followers_count", "fan_count",
         "website", "description", "emails", "phone"}
    ),
    "post": frozenset(
        {"id", "message", "created_time", "permalink_url", "full_picture", "status_type",
         "story", "from"}
    ),
    "ig_user": frozenset(
        {"id", "username", "name", "biography", "website", "followers_count", "follows_count",
         "media_count", "profile_picture_url"}
    ),
    "ig_media": frozenset(
        {"id", "caption", "media_type", "media_url", "permalink", "timestamp", "comments_count",
         "like_count", "username"}
    ),
}
# The edges a node lists, and which children belong to it.
EDGES: dict[tuple[Node, str], Node] = {
    ("page", "posts"): "post",
    ("ig_user", "media"): "ig_media",
    ("post", "comments"): "comment",
    ("ig_media", "comments"): "ig_comment",
    # Replies: "comments on comments" on Facebook, IG Comment Replies.
    ("comment", "comments"): "comment",
    ("ig_comment", "replies"): "ig_comment",
}
NODE_TYPE_NAMES: dict[Node, str] = {
    "comment": "Comment",
    "ig_comment": "IGComment",
    "message": "Message",
    "page": "Page",
    "post": "PagePost",
    "ig_user": "IGUser",
    "ig_media": "IGMedia",
}

FailureKind = Literal[
    "rate_limit",
    "page_rate_limit",
    "server_error",
    "bad_gateway",
    "unknown_object",
    "expired_token",
    "permission_denied",
    "outside_window",
]


@dataclass
class RecordedRequest:
    method: str
    path: str  # as received, e.g. "/v21.0/123_456/comments"
    query: dict[str, str]
    form: dict[str, str]  # an application/x-www-form-urlencoded body
    json: Any  # an application/json body, else None
    authorization: str | None

    @property
    def token(self) -> str | None:
        """The access token, from the Authorization header or the query/body."""
        if self.authorization:
            scheme, _, value = self.authorization.partition(" ")
            if scheme.lower() in ("bearer", "oauth") and value:
                return value
        return self.query.get("access_token") or self.form.get("access_token")


@dataclass
class GraphObject:
    id: str
    node: Node
    owner: str  # the account (Page or Instagram account) whose token may act on it
    fields: dict[str, Any]
    deleted: bool = False
    replies: list[str] = field(default_factory=list)

    @property
    def hidden(self) -> bool:
        return bool(self.fields.get("is_hidden") or self.fields.get("hidden"))


@dataclass
class _Injection:
    kind: FailureKind | None
    delay: float
    method: str | None
    path_suffix: str | None
    times: int

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method == method) and (
            self.path_suffix is None or path.endswith(self.path_suffix)
        )


class FakeGraph:
    """The fake's state and its app. One per test module; `reset()` between tests."""

    def __init__(self, *, app_secret: str | None = None) -> None:
        self.app_secret = app_secret
        self.tokens: dict[str, str] = {}  # account id -> its (Page) access token
        self.objects: dict[str, GraphObject] = {}
        self.contacts: dict[str, set[str]] = {}  # page id -> PSIDs/IGSIDs that wrote to it
        self.requests: list[RecordedRequest] = []
        self._injections: list[_Injection] = []
        self._ids = itertools.count(1)
        self.app = self._build_app()

    # -- set-up and inspection (tests) ---------------------------------------

    def reset(self) -> None:
        self.tokens.clear()
        self.objects.clear()
        self.contacts.clear()
        self.requests.clear()
        self._injections.clear()
        self.app_secret = None

    def grant(self, account_id: str, token: str) -> None:
        self.tokens[account_id] = token

    def add_facebook_comment(
        self,
        page_id: str,
        comment_id: str,
        *,
        message: str,
        from_id: str,
        from_name: str,
        created_time: str,
        post_id: str,
    ) -> GraphObject:
        return self._add(
            GraphObject(
                comment_id,
                "comment",
                page_id,
                {
                    "id": comment_id,
                    "message": message,
                    "from": {"name": from_name, "id": from_id},
                    "created_time": created_time,
                    "permalink_url": f"https://www.facebook.com/{post_id}?comment_id={comment_id}",
                    "object": {"id": post_id},
                    "is_hidden": False,
                    "can_hide": True,
                    "like_count": 0,
                    "comment_count": 0,
                },
            )
        )

    def add_instagram_comment(
        self,
        ig_account_id: str,
        comment_id: str,
        *,
        text: str,
        from_id: str,
        username: str,
        timestamp: str,
        media_id: str,
    ) -> GraphObject:
        return self._add(
            GraphObject(
                comment_id,
                "ig_comment",
                ig_account_id,
                {
                    "id": comment_id,
                    "text": text,
                    "username": username,
                    "timestamp": timestamp,
                    "from": {"id": from_id, "username": username},
                    "like_count": 0,
                    "hidden": False,
                    "media": {"id": media_id},
                },
            )
        )

    def add_facebook_reply(self, page_id: str, comment_id: str, reply_id: str, *,
                           message: str, from_id: str, from_name: str,
                           created_time: str) -> GraphObject:
        """A reply to a Facebook comment (a comment whose `parent` is it)."""
        parent = self.objects[comment_id]
        parent.fields["comment_count"] = parent.fields.get("comment_count", 0) + 1
        parent.replies.append(reply_id)
        post = parent.fields.get("object") or {}
        return self._add(GraphObject(reply_id, "comment", page_id, {
            "id": reply_id, "message": message, "from": {"name": from_name, "id": from_id},
            "created_time": created_time, "parent": {"id": comment_id}, "object": post,
            "permalink_url": f"https://www.facebook.com/{post.get('id', '')}?comment_id="
                             f"{comment_id}&reply_comment_id={reply_id}",
            "is_hidden": False, "can_hide": True, "like_count": 0, "comment_count": 0,
        }))

    def add_instagram_reply(self, ig_account_id: str, comment_id: str, reply_id: str, *,
                            text: str, from_id: str, username: str,
                            timestamp: str) -> GraphObject:
        """A reply to an IG comment (an IG Comment whose `parent_id` is it)."""
        parent = self.objects[comment_id]
        parent.replies.append(reply_id)
        return self._add(GraphObject(reply_id, "ig_comment", ig_account_id, {
            "id": reply_id, "text": text, "username": username, "timestamp": timestamp,
            "from": {"id": from_id, "username": username}, "like_count": 0, "hidden": False,
            "media": parent.fields.get("media"), "parent_id": comment_id,
        }))

    def add_page(self, page_id: str, *, name: str, username: str, about: str,
                 followers: int = 0, website: str | None = None) -> GraphObject:
        fields: dict[str, Any] = {
            "id": page_id, "name": name, "username": username, "about": about,
            "category": "Government organization",
            "link": f"https://www.facebook.com/{username}", "followers_count": followers,
            "fan_count": followers,
        }
        if website:
            fields["website"] = website
        return self._add(GraphObject(page_id, "page", page_id, fields))

    def add_facebook_post(self, page_id: str, post_id: str, *, message: str,
                          created_time: str) -> GraphObject:
        return self._add(GraphObject(post_id, "post", page_id, {
            "id": post_id, "message": message, "created_time": created_time,
            "permalink_url": f"https://www.facebook.com/{post_id.replace('_', '/posts/')}",
            "status_type": "mobile_status_update", "from": {"id": page_id},
        }))

    def add_instagram_account(self, ig_id: str, *, username: str, name: str, biography: str,
                              followers: int = 0, website: str | None = None) -> GraphObject:
        fields: dict[str, Any] = {
            "id": ig_id, "username": username, "name": name, "biography": biography,
            "followers_count": followers, "follows_count": 3, "media_count": 0,
        }
        if website:
            fields["website"] = website
        return self._add(GraphObject(ig_id, "ig_user", ig_id, fields))

    def add_instagram_media(self, ig_id: str, media_id: str, *, caption: str,
                            timestamp: str) -> GraphObject:
        account = self.objects.get(ig_id)
        if account is not None:
            account.fields["media_count"] = account.fields.get("media_count", 0) + 1
        return self._add(GraphObject(media_id, "ig_media", ig_id, {
            "id": media_id, "caption": caption, "media_type": "IMAGE",
            "permalink": f"https://www.instagram.com/p/{media_id}/", "timestamp": timestamp,
            "comments_count": 0, "like_count": 0, "username": account.fields["username"]
            if account is not None else "",
        }))

    def add_message(
        self,
        page_id: str,
        message_id: str,
        *,
        text: str,
        from_id: str,
        from_name: str | None = None,
        from_username: str | None = None,
        created_time: str,
    ) -> GraphObject:
        sender: dict[str, str] = {"id": from_id}
        if from_name:
            sender["name"] = from_name
        if from_username:
            sender["username"] = from_username
        self.contacts.setdefault(page_id, set()).add(from_id)
        return self._add(
            GraphObject(
                message_id,
                "message",
                page_id,
                {
                    "id": message_id,
                    "message": text,
                    "from": sender,
                    "created_time": created_time,
                    "to": {"data": [{"id": page_id}]},
                },
            )
        )

    def fail_next(
        self,
        kind: FailureKind,
        *,
        times: int = 1,
        method: str | None = None,
        path_suffix: str | None = None,
    ) -> None:
        """The next `times` matching requests fail as `kind` and change nothing."""
        self._injections.append(_Injection(kind, 0.0, method, path_suffix, times))

    def delay_next(
        self, seconds: float, *, method: str | None = None, path_suffix: str | None = None
    ) -> None:
        """The next matching request is carried out, but answered `seconds` late."""
        self._injections.append(_Injection(None, seconds, method, path_suffix, 1))

    def requests_to(self, method: str, path: str) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method == method and r.path == path]

    # -- the app ---------------------------------------------------------------

    def _build_app(self) -> FastAPI:
        app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
        prefix = f"/{VERSION}"

        @app.get(prefix + "/{object_id}")
        async def read(object_id: str, request: Request) -> Response:
            return await self._serve(request, lambda rec: self._read(object_id, rec))

        @app.get(prefix + "/{object_id}/{edge}")
        async def list_edge(object_id: str, edge: str, request: Request) -> Response:
            return await self._serve(request, lambda rec: self._list(object_id, edge, rec))

        @app.post(prefix + "/{object_id}")
        async def update(object_id: str, request: Request) -> Response:
            return await self._serve(request, lambda rec: self._update(object_id, rec))

        @app.delete(prefix + "/{object_id}")
        async def delete(object_id: str, request: Request) -> Response:
            return await self._serve(request, lambda rec: self._delete(object_id, rec))

        @app.post(prefix + "/{object_id}/{edge}")
        async def create(object_id: str, edge: str, request: Request) -> Response:
            return await self._serve(request, lambda rec: self._create(object_id, edge, rec))

        return app

    async def _serve(self, request: Request, handle: Any) -> Response:
        body = await request.body()
        content_type = request.headers.get("content-type", "")
        form: dict[str, str] = {}
        payload: Any = None
        if body and content_type.startswith("application/json"):
            payload = json.loads(body)
        elif body:
            form = dict(parse_qsl(body.decode(), keep_blank_values=True))
        recorded = RecordedRequest(
            method=request.method,
            path=request.url.path,
            query=dict(request.query_params),
            form=form,
            json=payload,
            authorization=request.headers.get("authorization"),
        )
        self.requests.append(recorded)
        injection = self._take_injection(recorded)
        if injection is not None and injection.kind is not None:
            return _failure(injection.kind)
        refused = self._check_token(recorded)
        if refused is not None:
            return refused
        response: Response = handle(recorded)
        if injection is not None and injection.delay:
            await asyncio.sleep(injection.delay)  # done already; only the answer is late
        return response

    def _take_injection(self, rec: RecordedRequest) -> _Injection | None:
        for injection in self._injections:
            if injection.matches(rec.method, rec.path):
                injection.times -= 1
                if injection.times <= 0:
                    self._injections.remove(injection)
                return injection
        return None

    def _check_token(self, rec: RecordedRequest) -> Response | None:
        token = rec.token
        if not token:
            return _error(
                400, "An access token is required to request this resource.", "OAuthException", 104
            )
        if token not in self.tokens.values():
            return _error(
                400, "Invalid OAuth access token - Cannot parse access token", "OAuthException", 190
            )
        if self.app_secret is not None:
            expected = hmac.new(
                self.app_secret.encode(), token.encode(), hashlib.sha256
            ).hexdigest()
            if rec.query.get("appsecret_proof") != expected:
                return _error(
                    400,
                    "Invalid appsecret_proof provided in the API argument",
                    "GraphMethodException",
                    100,
                )
        return None

    def _owned(self, object_id: str, rec: RecordedRequest, verb: str) -> GraphObject | Response:
        obj = self.objects.get(object_id)
        if obj is None or obj.deleted or self.tokens.get(obj.owner) != rec.token:
            return _missing(verb, object_id)
        return obj

    def _read(self, object_id: str, rec: RecordedRequest) -> Response:
        obj = self._owned(object_id, rec, "get")
        if isinstance(obj, Response):
            return obj
        wanted = [f for f in rec.query.get("fields", "id").split(",") if f]
        for name in wanted:
            if name not in NODE_FIELDS[obj.node]:
                return _error(
                    400,
                    f"(#100) Tried accessing nonexisting field ({name}) on node "
                    f"type ({NODE_TYPE_NAMES[obj.node]})",
                    "OAuthException",
                    100,
                )
        # As Graph does: a field without data is left out of the answer.
        return JSONResponse({name: obj.fields[name] for name in wanted if name in obj.fields})

    def _list(self, object_id: str, edge: str, rec: RecordedRequest) -> Response:
        """An edge as Graph pages it: newest first, `limit` (default 25) per
        page, `after` the cursor of the last item seen."""
        parent = self._owned(object_id, rec, "get")
        if isinstance(parent, Response):
            return parent
        child = EDGES.get((parent.node, edge))
        if child is None:
            return _error(400, f"(#100) Tried accessing nonexisting field ({edge}) on node type "
                          f"({NODE_TYPE_NAMES[parent.node]})", "OAuthException", 100)
        wanted = [f for f in rec.query.get("fields", "id").split(",") if f]
        for name in wanted:
            if name not in NODE_FIELDS[child]:
                return _error(400, f"(#100) Tried accessing nonexisting field ({name}) on node "
                              f"type ({NODE_TYPE_NAMES[child]})", "OAuthException", 100)
        link = {"post": "from", "ig_media": "", "comment": "object", "ig_comment": "media"}[child]

        replies = parent.node in ("comment", "ig_comment")

        def belongs(obj: GraphObject) -> bool:
            if obj.node != child or obj.deleted:
                return False
            if child == "ig_media":
                return obj.owner == parent.id
            if child == "post":
                return obj.owner == parent.id
            if replies:
                ref = obj.fields.get("parent") if child == "comment" else \
                    {"id": obj.fields.get("parent_id")}
                return isinstance(ref, dict) and ref.get("id") == parent.id
            ref = obj.fields.get(link)
            return isinstance(ref, dict) and ref.get("id") == parent.id and \
                not obj.fields.get("parent") and not obj.fields.get("parent_id")

        time_key = "timestamp" if child in ("ig_media", "ig_comment") else "created_time"
        items = sorted((o for o in self.objects.values() if belongs(o)),
                       key=lambda o: (str(o.fields.get(time_key, "")), o.id),
                       reverse=not replies)
        limit = int(rec.query.get("limit", "25"))
        start = int(rec.query["after"]) if rec.query.get("after", "").isdigit() else 0
        page = items[start:start + limit]
        body: dict[str, Any] = {
            "data": [{n: o.fields[n] for n in wanted if n in o.fields} for o in page]}
        if page:
            body["paging"] = {"cursors": {"before": str(start), "after": str(start + len(page))}}
            if start + len(page) < len(items):
                body["paging"]["next"] = (
                    f"{rec.path}?fields={','.join(wanted)}&limit={limit}&after={start + len(page)}")
        return JSONResponse(body)

    def _update(self, object_id: str, rec: RecordedRequest) -> Response:
        obj = self._owned(object_id, rec, "post")
        if isinstance(obj, Response):
            return obj
        params = {**rec.query, **rec.form}
        flag = {"comment": "is_hidden", "ig_comment": "hide"}.get(obj.node)
        if flag is None:
            return _missing("post", object_id)
        if params.get(flag) not in ("true", "false"):
            return _error(400, f"(#100) The parameter {flag} is required", "OAuthException", 100)
        obj.fields["is_hidden" if obj.node == "comment" else "hidden"] = params[flag] == "true"
        return JSONResponse({"success": True})

    def _delete(self, object_id: str, rec: RecordedRequest) -> Response:
        obj = self._owned(object_id, rec, "delete")
        if isinstance(obj, Response):
            return obj
        if obj.node == "message":
            return _missing("delete", object_id)
        obj.deleted = True
        return JSONResponse({"success": True})

    def _create(self, object_id: str, edge: str, rec: RecordedRequest) -> Response:
        if edge == "messages":
            return self._send(object_id, rec)
        obj = self._owned(object_id, rec, "post")
        if isinstance(obj, Response):
            return obj
        expected = {"comment": "comments", "ig_comment": "replies"}.get(obj.node)
        if edge != expected:
            return _missing("post", f"{object_id}/{edge}")
        message = {**rec.query, **rec.form}.get("message", "")
        if not message.strip():
            return _error(400, "(#100) The parameter message is required", "OAuthException", 100)
        new_id = f"{object_id.split('_')[0]}_{900000 + next(self._ids)}"
        if obj.node == "comment":
            fields: dict[str, Any] = {
                "id": new_id,
                "message": message,
                "from": {"name": "Sidan", "id": obj.owner},
                "created_time": "2026-03-02T09:00:00+0000",
                "parent": {"id": object_id},
            }
        else:
            new_id = str(17900000000000000 + next(self._ids))
            fields = {
                "id": new_id,
                "text": message,
                "username": "sidan",
                "from": {"id": obj.owner, "username": "sidan"},
                "timestamp": "2026-03-02T09:00:00+0000",
                "parent_id": object_id,
            }
        self._add(GraphObject(new_id, obj.node, obj.owner, fields))
        obj.replies.append(new_id)
        if obj.node == "comment":
            obj.fields["comment_count"] = obj.fields.get("comment_count", 0) + 1
        return JSONResponse({"id": new_id})

    def _send(self, page_id: str, rec: RecordedRequest) -> Response:
        if self.tokens.get(page_id) != rec.token:
            return _missing("post", f"{page_id}/messages")
        if rec.json is not None:
            payload = rec.json
        else:  # form-encoded, with JSON-encoded objects, as in Meta's curl examples
            payload = {
                k: json.loads(v) if k in ("recipient", "message") else v
                for k, v in {**rec.query, **rec.form}.items()
            }
        recipient = (payload.get("recipient") or {}).get("id")
        message = payload.get("message") or {}
        if payload.get("messaging_type") not in ("RESPONSE", "UPDATE", "MESSAGE_TAG"):
            return _error(400, "(#100) Param messaging_type is invalid", "OAuthException", 100)
        if recipient not in self.contacts.get(page_id, set()):
            return _error(400, "(#100) No matching user found", "OAuthException", 100, 2018001)
        if not str(message.get("text") or "").strip():
            return _error(400, "(#100) Message cannot be empty", "OAuthException", 100)
        message_id = f"m_sent{next(self._ids)}"
        self._add(
            GraphObject(
                message_id,
                "message",
                page_id,
                {
                    "id": message_id,
                    "message": message["text"],
                    "from": {"id": page_id},
                    "to": {"data": [{"id": recipient}]},
                    "created_time": "2026-03-02T09:00:00+0000",
                },
            )
        )
        return JSONResponse({"recipient_id": recipient, "message_id": message_id})

    def _add(self, obj: GraphObject) -> GraphObject:
        self.objects[obj.id] = obj
        return obj


def _error(
    status: int,
    message: str,
    type_: str,
    code: int,
    subcode: int | None = None,
    *,
    headers: dict[str, str] | None = None,
    transient: bool | None = None,
) -> Response:
    error: dict[str, Any] = {
        "message": message,
        "type": type_,
        "code": code,
        "fbtrace_id": "AbCdEfFakeTrace",
    }
    if subcode is not None:
        error["error_subcode"] = subcode
    if transient is not None:
        error["is_transient"] = transient
    return JSONResponse({"error": error}, status_code=status, headers=headers)


def _missing(verb: str, object_id: str) -> Response:
    return _error(
        400,
        f"Unsupported {verb} request. Object with ID '{object_id}' does not "
        "exist, cannot be loaded due to missing permissions, or does not support "
        "this operation.",
        "GraphMethodException",
        100,
        33,
    )


def _failure(kind: FailureKind) -> Response:
    if kind == "rate_limit":
        return _error(
            429,
            "(#4) Application request limit reached",
            "OAuthException",
            4,
            headers={
                "X-App-Usage": json.dumps(
                    {"call_count": 100, "total_cputime": 20, "total_time": 30}
                )
            },
        )
    if kind == "page_rate_limit":
        usage = {
            "104000000000001": [
                {
                    "type": "pages",
                    "call_count": 100,
                    "total_cputime": 12,
                    "total_time": 14,
                    "estimated_time_to_regain_access": 3,
                }
            ]
        }
        return _error(
            400,
            "(#80001) There have been too many calls to this Page account.",
            "OAuthException",
            80001,
            headers={"X-Business-Use-Case-Usage": json.dumps(usage)},
        )
    if kind == "server_error":
        return _error(500, "An unknown error has occurred.", "OAuthException", 1)
    if kind == "bad_gateway":
        return PlainTextResponse("<html><body>502 Bad Gateway</body></html>", status_code=502)
    if kind == "unknown_object":
        return _missing("post", "the object")
    if kind == "expired_token":
        return _error(
            400, "Error validating access token: Session has expired.", "OAuthException", 190, 463
        )
    if kind == "permission_denied":
        return _error(
            403,
            "(#200) Requires pages_manage_engagement permission to manage the object",
            "OAuthException",
            200,
        )
    if kind == "outside_window":
        return _error(
            400,
            "(#10) This message is sent outside of allowed window.",
            "OAuthException",
            10,
            2018278,
        )
    raise ValueError(kind)


@asynccontextmanager
async def serve(fake: FakeGraph) -> AsyncIterator[str]:
    """Serve `fake` with uvicorn on 127.0.0.1 and a free port; yields the base
    URL including the version, e.g. "http://127.0.0.1:54321/v21.0"."""
    async with serve_app(fake.app, lifespan="off") as base_url:
        yield f"{base_url}/{VERSION}"


def seed_page(fake: FakeGraph, page_id: str, token: str, *, posts: int = 3,
              comments_per_post: int = 2, replies_per_comment: int = 0) -> None:
    """A Facebook Page with `posts` posts, their comments and (R-37) the
    replies to each comment, for snapshots."""
    fake.grant(page_id, token)
    fake.add_page(page_id, name="Kulturhuset Ängen", username="kulturhusetangen",
                  about="Kulturhuset Ängen är en verksamhet inom Exempelby kommun. Vi svarar "
                        "vardagar 08.00–16.30.", followers=1234,
                  website="https://www.exempelby.se/kultur-och-fritid")
    names = ["Karin Ek", "Per Holm", "Åsa Öberg", "Lars Nyström"]
    for p in range(1, posts + 1):
        post_id = f"{page_id}_{120000000000000 + p}"
        fake.add_facebook_post(page_id, post_id, message=(
            f"Inlägg {p}: Välkommen till vårens program på Kulturhuset Ängen! "
            "Konserter, teater och bokcirklar – för alla åldrar."),
            created_time=f"2026-03-{p:02d}T09:00:00+0000")
        for c in range(1, comments_per_post + 1):
            fake.add_facebook_comment(
                page_id, f"{120000000000000 + p}_{130000000000000 + c}",
                message=f"Kommentar {c} på inlägg {p}: när börjar det?",
                from_id=f"55500{c}", from_name=names[(p + c) % len(names)],
                created_time=f"2026-03-{p:02d}T1{c}:00:00+0000", post_id=post_id)
            comment_id = f"{120000000000000 + p}_{130000000000000 + c}"
            for r in range(1, replies_per_comment + 1):
                fake.add_facebook_reply(
                    page_id, comment_id, f"{120000000000000 + p}_{140000000000000 + c * 1000 + r}",
                    message=f"Svar {r} på kommentar {c} på inlägg {p}: klockan {17 + r % 3}.",
                    from_id=page_id if r % 2 else f"55600{r}",
                    from_name="Kulturhuset Ängen" if r % 2 else names[r % len(names)],
                    created_time=f"2026-03-{p:02d}T1{c}:{r % 60:02d}:30+0000")
