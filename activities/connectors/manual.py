"""Platforms without an API Kanalvakt may use (TikTok, LinkedIn, X, YouTube,
...): a person acts on the platform and confirms in Kanalvakt.

Every action answers `ActionResult(status="awaiting_person")` whose `detail`
tells the account admin, in Swedish, exactly what to do and to confirm in
Kanalvakt; the workflow waits for that confirmation (an update) before it
records the action as done. Nothing is sent anywhere from here.

`capture` cannot read the platform, so it builds the copy from what Kanalvakt
already holds (`known`, from the intake) and marks it `source="kanalvakt"`.
Without `known` it refuses, non-retryably, asking for a screenshot: a copy
must exist before anything is unpublished (R-30). The Protocol stays the same
for every connector; the Meta connector ignores `known`.

Private messages cannot be hidden or deleted (there is nothing public to
unpublish), as on Meta.
"""

from __future__ import annotations

from datetime import datetime

from activities.connectors.base import (
    SCREENSHOTS_NEEDED,
    AccountCapture,
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

CONFIRM = "Bekräfta sedan i Kanalvakt"


class ManualConnector:
    """`PlatformConnector` whose actions are done by a person."""

    async def reply(
        self, target: PlatformTarget, text: str, *, idempotency_key: str | None = None
    ) -> ActionResult:
        if not text.strip():
            raise PlatformError("refusing to ask for an empty reply", retryable=False)
        name = platform_name(target.platform)
        if target.kind == "private_message":
            how = f"svara avsändaren av {_where(target)} med exakt den här texten"
            proof = "att svaret är skickat"
        else:
            how = f"svara på {_where(target)} med exakt den här texten"
            proof = "att svaret är publicerat och klistra in länken till ditt svar"
        detail = (
            f"Logga in på {name} med kommunens konto och {how}:\n\n{text}\n\n{CONFIRM} {proof}."
        )
        return ActionResult(action="reply", status="awaiting_person", detail=detail)

    async def hide(self, target: PlatformTarget) -> ActionResult:
        if target.kind == "private_message":
            raise not_for_private_messages("hide", target)
        name = platform_name(target.platform)
        detail = (
            f"Logga in på {name} med kommunens konto och dölj {_where(target)}. "
            f"Om det inte går att dölja kommentarer på {name}, ändra ingenting och skriv "
            f"det när du bekräftar. {CONFIRM} att kommentaren är dold."
        )
        return ActionResult(action="hide", status="awaiting_person", detail=detail)

    async def unhide(self, target: PlatformTarget) -> ActionResult:
        if target.kind == "private_message":
            raise not_for_private_messages("unhide", target)
        name = platform_name(target.platform)
        detail = (
            f"Logga in på {name} med kommunens konto och gör {_where(target)} synlig "
            f"igen. {CONFIRM} att kommentaren syns."
        )
        return ActionResult(action="unhide", status="awaiting_person", detail=detail)

    async def delete(self, target: PlatformTarget) -> ActionResult:
        if target.kind == "private_message":
            raise not_for_private_messages("delete", target)
        name = platform_name(target.platform)
        detail = (
            f"Ta först en skärmbild av {_where(target)} på {name} där texten, "
            "avsändaren och tidpunkten syns, och ladda upp den i Kanalvakt: en kopia "
            "ska sparas innan något tas bort. Ta sedan bort kommentaren på "
            f"{name} med kommunens konto. {CONFIRM} att kommentaren är borttagen."
        )
        return ActionResult(action="delete", status="awaiting_person", detail=detail)

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
