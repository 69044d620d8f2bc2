"""Platforms without an API Kanalvakt may use (TikTok, LinkedIn, X, YouTube,
...): a person acts on the platform and confirms in Kanalvakt.

Every action answers `ActionResult(status="awaiting_person")` that tells the
account admin exactly what to do and to confirm in Kanalvakt: as a key with
params (`detail_key`, `detail_params`; texts `manual.*` in sv, nb and en in
the catalogs, texts/locale/), which the case records and the case page
renders in the reader's language (`render_instruction`), and in Swedish
(`detail`, for the API and the log). The
workflow waits for that confirmation (an update) before it records the
action as done. Nothing is sent anywhere from here.

`capture` cannot read the platform, so it builds the copy from what Kanalvakt
already holds (`known`, from the intake) and marks it `source="kanalvakt"`.
Without `known` it refuses, non-retryably, asking for a screenshot: a copy
must exist before anything is unpublished (R-30). The Protocol stays the same
for every connector; the Meta connector ignores `known`.

Private messages cannot be hidden or deleted (there is nothing public to
unpublish), as on Meta.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime

import texts
from adapters.connectors.base import (
    SCREENSHOTS_NEEDED,
    AccountCapture,
    ActionName,
    ActionResult,
    Capture,
    KnownContent,
    PlatformError,
    PlatformTarget,
    not_for_private_messages,
)

PLATFORM_NAMES = {
    "facebook": "Facebook",
    "instagram": "Instagram",
    "linkedin": "LinkedIn",
    "tiktok": "TikTok",
    "x": "X",
    "youtube": "YouTube",
    "threads": "Threads",
    "snapchat": "Snapchat",
}

class ManualConnector:
    """`PlatformConnector` whose actions are done by a person."""

    async def reply(
        self, target: PlatformTarget, text: str, *, idempotency_key: str | None = None
    ) -> ActionResult:
        if not text.strip():
            raise PlatformError("refusing to ask for an empty reply", retryable=False)
        return _asking("reply", f"manual.reply.{target.kind}", target, text=text)

    async def hide(self, target: PlatformTarget) -> ActionResult:
        if target.kind == "private_message":
            raise not_for_private_messages("hide", target)
        return _asking("hide", "manual.hide", target)

    async def unhide(self, target: PlatformTarget) -> ActionResult:
        if target.kind == "private_message":
            raise not_for_private_messages("unhide", target)
        return _asking("unhide", "manual.unhide", target)

    async def delete(self, target: PlatformTarget) -> ActionResult:
        if target.kind == "private_message":
            raise not_for_private_messages("delete", target)
        return _asking("delete", "manual.delete", target)

    async def capture(
        self, target: PlatformTarget, *, now: datetime, known: KnownContent | None = None
    ) -> Capture:
        if known is None:
            raise PlatformError(
                f"Kanalvakt kan inte läsa {platform_name(target.platform)} och har ingen kopia "
                f"av {_where(target)}: ladda upp en skärmbild där texten, avsändaren och "
                "tidpunkten syns innan något avpubliceras.",
                retryable=False,
            )
        return Capture(
            object_id=target.object_id,
            text=known.text,
            author_id=known.author_id,
            author_name=known.author_name,
            created_time=known.created_time,
            permalink=known.permalink,
            raw={"known": known.model_dump(mode="json"), "target": target.model_dump(mode="json")},
            captured_at=now,
            source="kanalvakt",
        )


    async def capture_account(
        self, platform: str, account_ref: str, *, now: datetime, max_posts: int = 25,
        max_comments: int = 100, max_replies: int = 100,
    ) -> AccountCapture:
        """R-37: Kanalvakt cannot read this platform; the snapshot is made
        from screenshots an admin uploads (web/snapshots_api.py)."""
        raise PlatformError(
            f"{SCREENSHOTS_NEEDED}: Kanalvakt kan inte läsa {platform_name(platform)}. Ladda upp "
            "skärmbilder av profilen och de senaste inläggen med kommentarer.",
            retryable=False,
        )


def platform_name(platform: str) -> str:
    return PLATFORM_NAMES.get(platform, platform.capitalize())


def instruction_params(target: PlatformTarget, text: str | None = None) -> dict[str, str]:
    """What an instruction names, language-neutral (render_instruction)."""
    params = {"platform": platform_name(target.platform), "kind": target.kind,
              "object_id": target.object_id, "account_ref": target.account_ref,
              "thread_id": target.thread_id or ""}
    if text is not None:
        params["text"] = text
    return params


def _asking(action: ActionName, key: str, target: PlatformTarget,
            text: str | None = None) -> ActionResult:
    """A person is to act: the instruction as a key with params (rendered in
    the reader's language on the case page) and in Swedish (`detail`)."""
    params = instruction_params(target, text)
    return ActionResult(action=action, status="awaiting_person",
                        detail=render_instruction(texts.swedish, key, params),
                        detail_key=key, detail_params=params)


def _where(target: PlatformTarget) -> str:
    if target.kind == "private_message":
        where = f"meddelandet med id {target.object_id}"
        if target.thread_id:
            where += f" i konversationen {target.thread_id}"
        return where + f" i inkorgen för kontot {target.account_ref}"
    where = f"kommentaren med id {target.object_id}"
    if target.thread_id:
        where += f" under inlägget {target.thread_id}"
    return where + f" på kontot {target.account_ref}"


Translate = Callable[..., str]


def known(key: str | None) -> bool:
    """Whether `key` is an instruction of this connector's (`manual.*`)."""
    return key is not None and key.startswith("manual.") \
        and texts.for_language(texts.DEFAULT).has(key)


def render_instruction(t: Translate, key: str, params: Mapping[str, str]) -> str:
    """The instruction `key` with `params` in the language of `t` (any
    `t(key, **values)`: texts.swedish for the stored text, a reader's on the
    case page). Params: platform (its name), kind ("comment" or
    "private_message"), object_id, account_ref, thread_id (may be empty)
    and, for a reply, text."""
    kind = params.get("kind", "comment")
    kind = kind if kind in ("comment", "private_message") else "comment"
    if params.get("author") or params.get("quote"):
        # What a person can find on the platform (the case page adds it,
        # issue 14): the author and the start of the text, not the ids.
        where = t(f"manual.where.{kind}.named", author=params.get("author") or t("msg.anonymous"),
                  quote=params.get("quote", ""))
    else:
        where = t(f"manual.where.{kind}", object_id=params.get("object_id", ""))
        if params.get("thread_id"):
            where += t(f"manual.where.{kind}.thread", thread_id=params["thread_id"])
    where += t(f"manual.where.{kind}.account", account_ref=params.get("account_ref", ""))
    said = t(key, platform=params.get("platform", ""), where=where,
             text=params.get("text", ""))
    if params.get("link"):
        said += t("manual.where.link", link=params["link"])
    return said


def page_params(params: Mapping[str, str], *, handle: str | None, author: str | None,
                text: str | None, link: str | None, quote_chars: int = 80) -> dict[str, str]:
    """An instruction's params as a page shows them to a person who may read
    the case: the account's @handle instead of its platform id, the author,
    a short quote of the text and the link (issue 14). What is not known
    stays as recorded (the ids)."""
    out = dict(params)
    if handle:
        out["account_ref"] = handle if handle.startswith("@") else f"@{handle}"
    if text:
        flat = " ".join(text.split())
        out["quote"] = flat if len(flat) <= quote_chars else flat[:quote_chars - 1].rstrip() + "…"
    if author:
        out["author"] = author
    if (author or text) and not out.get("quote"):
        out["quote"] = "…"
    if link and link.startswith(("https://", "http://")):
        out["link"] = link
    return out
