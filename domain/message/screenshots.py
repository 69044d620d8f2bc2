"""R-30, R-45 on a platform without an API (issue 14): "Unpublishing keeps a
copy elsewhere (a screenshot or capture before deletion)"; "Før et innlegg
slettes, ta skjermdump av innlegget". Kanalvakt cannot read such a platform,
so the instruction to delete a comment by hand asks the admin for a
screenshot first; the case records the upload (its id and SHA-256 digest,
who, when) and the deletion is confirmed only once it is there.

A deletion that keeps no copy (advertising, R-32: "removed and not kept")
asks for none."""

from __future__ import annotations

from datetime import datetime

from domain.core import NotAuthorised, RuleViolation, WrongStage
from domain.message.actions import is_admin
from domain.message.commands import AttachScreenshot
from domain.message.events import MessageEvent, ScreenshotAttached
from domain.message.state import MessageState

# The actions by hand whose instruction asks for a screenshot (manual.delete).
ASKS_FOR_A_SCREENSHOT = frozenset({"delete"})


def screenshot_needed(state: MessageState) -> bool:
    """R-30, R-45: the action by hand now awaited is a deletion of a comment
    whose copy is kept, and its screenshot is not uploaded yet."""
    return (state.screenshot_rule and state.pending_action in ASKS_FOR_A_SCREENSHOT
            and state.removal_copy_kept and state.pending_screenshot is None)


def may_attach_screenshot(state: MessageState, person: str) -> bool:
    """An admin of the account uploads the screenshot an awaited deletion asks for."""
    return (state.screenshot_rule and state.pending_action in ASKS_FOR_A_SCREENSHOT
            and state.removal_copy_kept and is_admin(state, person))


def attach_screenshot(state: MessageState, command: AttachScreenshot,
                      now: datetime) -> list[MessageEvent]:
    """R-30, R-45: the screenshot of the comment, on the record before the
    deletion is confirmed. A second upload replaces the first (a clearer one)."""
    if not (state.screenshot_rule and state.pending_action in ASKS_FOR_A_SCREENSHOT
            and state.removal_copy_kept):
        raise WrongStage("no deletion by hand is waiting for a screenshot",
                         key="manual.screenshot_not_awaited")
    if not is_admin(state, command.actor):
        raise NotAuthorised(f"only the account's admins upload the screenshot of what they "
                            f"delete; {command.actor} is not one", key="manual.confirm_who")
    return [ScreenshotAttached(at=now, actor=command.actor, action=state.pending_action or "",
                               upload_id=command.upload_id, sha256=command.sha256,
                               file_name=command.file_name)]


def require_screenshot(state: MessageState) -> None:
    """R-30, R-45: a deletion by hand is confirmed only once the screenshot
    of the comment is uploaded: a copy is kept before anything is removed."""
    if screenshot_needed(state):
        raise RuleViolation(
            "R-30, R-45: upload a screenshot of the comment (its text, sender and time) "
            "before you confirm that it is deleted: a copy is kept before anything is removed",
            key="manual.screenshot_needed")
