"""R-30, R-45 on a platform without an API (issue 14): "Unpublishing keeps a
copy elsewhere (a screenshot or capture before deletion)"; "Før et innlegg
slettes, ta skjermdump av innlegget". The instruction to delete a comment by
hand asks for a screenshot: the case records the upload (its digest, who,
when) and the deletion is confirmed only once it is there. R-32: advertising
is removed and not kept, so its deletion asks for none."""

from __future__ import annotations

import pytest

from domain.account import NotAuthorised, RuleViolation, WrongStage
from domain.core import SYSTEM
from domain.message import (
    AttachScreenshot,
    ConfirmManualAction,
    ManualActionConfirmed,
    MessagePolicy,
    RequestManualAction,
    ScreenshotAttached,
    Stage,
    available_decisions,
    screenshot_needed,
)
from tests.domain.test_message import ADMIN, MANAGER, Case, case_at, redact

DIGEST = "3f" * 32


def deleted_by_hand(policy: MessagePolicy | None = None, **redaction: object) -> Case:
    """A comment an admin removed on TikTok: Kanalvakt asks them to delete it by hand."""
    case = case_at(Stage.OPEN, policy=policy or MessagePolicy())
    case.do(redact(**redaction))
    case.do(RequestManualAction(actor=SYSTEM, action="delete", instruction="Ta bort den",
                                instruction_key="manual.delete"))
    return case


def screenshot(actor: str = ADMIN, sha256: str = DIGEST) -> AttachScreenshot:
    return AttachScreenshot(actor=actor, upload_id="0b9e-upload", sha256=sha256,
                            file_name="kommentar.png")


def test_r30_r45_a_deletion_by_hand_is_not_confirmed_without_the_screenshot() -> None:
    """R-30, R-45: "Klar" before the upload is refused with the reason, and
    nothing is recorded."""
    case = deleted_by_hand()
    assert screenshot_needed(case.current)
    with pytest.raises(RuleViolation) as refused:
        case.decide(ConfirmManualAction(actor=ADMIN))
    assert refused.value.key == "manual.screenshot_needed"
    assert "screenshot" in refused.value.message and "R-30" in refused.value.message


def test_r30_r45_the_screenshot_is_on_the_record_then_the_deletion_is_confirmed() -> None:
    """R-30, R-45: the upload is an event naming its digest, who and when;
    then "Klar" is accepted and the action by hand ends."""
    case = deleted_by_hand()
    [attached] = case.do(screenshot())
    assert isinstance(attached, ScreenshotAttached)
    assert (attached.sha256, attached.actor, attached.at, attached.action) == (
        DIGEST, ADMIN, case.now, "delete")
    assert case.current.pending_screenshot == DIGEST and not screenshot_needed(case.current)
    [confirmed] = case.do(ConfirmManualAction(actor=ADMIN))
    assert isinstance(confirmed, ManualActionConfirmed)
    assert case.current.pending_action is None and case.current.pending_screenshot is None


def test_r30_only_the_accounts_admins_upload_the_screenshot() -> None:
    case = deleted_by_hand()
    assert "screenshot" in available_decisions(case.current, ADMIN, case.now)
    assert "screenshot" not in available_decisions(case.current, MANAGER, case.now)
    with pytest.raises(NotAuthorised):
        case.decide(screenshot(actor=MANAGER))


def test_r32_advertising_removed_without_a_copy_asks_for_no_screenshot() -> None:
    """R-32: advertising is removed and not kept: its deletion by hand is
    confirmed without a screenshot, and none is taken."""
    case = deleted_by_hand(MessagePolicy(copy_before_every_deletion=False),
                           category="advertising", law="–", preserved_copy=False,
                           decision_id="SM-1")
    assert not screenshot_needed(case.current)
    with pytest.raises(WrongStage):
        case.decide(screenshot())
    assert isinstance(case.decide(ConfirmManualAction(actor=ADMIN))[0], ManualActionConfirmed)


def test_r45_where_a_copy_precedes_every_deletion_advertising_asks_for_one_too() -> None:
    """R-45 (Kristiansand, the default): "Før et innlegg slettes, ta
    skjermdump av innlegget", advertising too."""
    case = deleted_by_hand(category="advertising", law="–", preserved_copy=True,
                           decision_id="SM-1")
    assert screenshot_needed(case.current)
    with pytest.raises(RuleViolation):
        case.decide(ConfirmManualAction(actor=ADMIN))


def test_r30_a_reply_by_hand_asks_for_no_screenshot() -> None:
    """Only a deletion asks for one: an answer posted by hand is confirmed as before."""
    case = case_at(Stage.OPEN)
    case.do(RequestManualAction(actor=SYSTEM, action="reply", instruction="Svara"))
    with pytest.raises(WrongStage):
        case.decide(screenshot())
    assert case.decide(ConfirmManualAction(actor=ADMIN)) != []


def test_r30_a_run_recorded_before_the_rule_confirms_as_it_did() -> None:
    """workflow.patched("uploads14_screenshot_before_delete"): a case begun
    before it (screenshot_rule False) confirms a deletion without one."""
    case = deleted_by_hand()
    case.state = case.current.model_copy(update={"screenshot_rule": False})
    assert not screenshot_needed(case.current)
    assert case.decide(ConfirmManualAction(actor=ADMIN)) != []
