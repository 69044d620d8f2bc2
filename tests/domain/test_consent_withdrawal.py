"""R-41 (issue 14): "children under 15 need written consent from a guardian
(recorded with a post)", and a consent can end: the guardian withdraws it, or
it is disposed of. The account's admins or the communications unit record it
(an event naming the upload, who, when and why); the post's consent is then
shown as ended and the admins are told at once to take the image down."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from domain.account import (
    ConsentUpload,
    ConsentWithdrawn,
    DeadlineReminderSent,
    FireDueDeadlines,
    NotAuthorised,
    PostImage,
    RecordPost,
    RuleViolation,
    Stage,
    WithdrawConsent,
    next_deadline,
)
from tests.domain.conftest import COMMS, MANAGER, REGISTRAR, REQUESTER, STRANGER, SYSTEM, Journey

Walk = Callable[..., Journey]
UPLOAD = "5b1c0d4e-0000-4000-8000-000000000041"
SIGNED = ConsentUpload(upload_id=UPLOAD, sha256="c0" * 32, file_name="samtycke.pdf")
CHILD = PostImage(rights="Foto: Lisa Berg", shows_people=True, child_under_15=True,
                  guardian_consent_upload=SIGNED)


@pytest.fixture
def posted(walk: Walk) -> Journey:
    journey = walk(Stage.ACTIVE)
    journey.do(RecordPost(actor=REQUESTER, post_id="p-41", published_at=journey.now,
                          images=(CHILD,)))
    return journey


def withdraw(actor: str, upload_id: str = UPLOAD, end: str = "withdrawn") -> WithdrawConsent:
    return WithdrawConsent.model_validate({"actor": actor, "upload_id": upload_id,
                                           "reason": "Vårdnadshavaren ringde 2026-12-06",
                                           "end": end})


def test_r41_the_uploaded_consent_is_known_to_the_accounts_record(posted: Journey) -> None:
    """R-41: the post's uploaded consent is on the account's state, not ended."""
    [consent] = posted.current.consents
    assert (consent.upload_id, consent.post_id, consent.ended) == (UPLOAD, "p-41", None)


@pytest.mark.parametrize("who", [REQUESTER, COMMS[0]])
def test_r41_the_admins_or_communications_withdraw_a_consent_on_the_record(
        posted: Journey, who: str) -> None:
    """R-41: recorded with the upload, who, when and why; the consent then
    shows as withdrawn (`ended`)."""
    [event] = posted.do(withdraw(who))
    assert isinstance(event, ConsentWithdrawn)
    assert (event.upload_id, event.post_id, event.actor, event.at, event.end) == (
        UPLOAD, "p-41", who, posted.now, "withdrawn")
    assert event.reason == "Vårdnadshavaren ringde 2026-12-06"
    [consent] = posted.current.consents
    assert (consent.ended, consent.ended_by, consent.ended_at) == ("withdrawn", who, posted.now)


@pytest.mark.parametrize("who", [MANAGER, REGISTRAR, STRANGER, SYSTEM])
def test_r41_nobody_else_withdraws_a_consent(posted: Journey, who: str) -> None:
    with pytest.raises(NotAuthorised) as refused:
        posted.decide(withdraw(who))
    assert refused.value.key == "consent.who"


def test_r41_an_unknown_consent_is_refused_and_a_second_withdrawal_is_nothing_new(
        posted: Journey) -> None:
    with pytest.raises(RuleViolation) as refused:
        posted.decide(withdraw(REQUESTER, upload_id="00000000-0000-4000-8000-000000000000"))
    assert refused.value.key == "consent.unknown"
    posted.do(withdraw(REQUESTER, end="disposed"))
    assert posted.decide(withdraw(COMMS[0])) == []  # a retry: the file's destruction finishes
    assert posted.current.consents[0].ended == "disposed"


def test_r41_the_admins_are_told_at_once_to_take_the_image_down(posted: Journey) -> None:
    """R-41: the withdrawal is due at once in the account's plan; firing it
    tells the admins (a reminder naming the consent), once."""
    before = next_deadline(posted.current)
    posted.do(withdraw(COMMS[0]))
    assert next_deadline(posted.current) == posted.now != before
    fired = posted.do(FireDueDeadlines(actor=SYSTEM))
    [told] = [e for e in fired if isinstance(e, DeadlineReminderSent)
              and e.step.startswith("consent_take_down")]
    assert told.recipients == sorted(posted.current.admins) and UPLOAD in told.step
    assert not [e for e in posted.decide(FireDueDeadlines(actor=SYSTEM))
                if isinstance(e, DeadlineReminderSent) and e.step.startswith("consent_take")]
