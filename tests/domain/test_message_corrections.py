"""R-27: "Felaktigheter rättas": an answer that corrects a factual error is
recorded as a correction, with what was wrong and the source of the right
fact, on the answer's event; through an approval (R-39, R-44) too."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from domain import message as msg
from tests.domain.test_message import KRISLEDNING, Case, case_at, crisis_through_management
from tests.domain.test_message import respond as answer

CORRECTION = msg.Correction(error="Inlägget säger att simhallen stänger i juni",
                            source="https://www.exempelby.se/simhallen (beslut KFN 2026/12)")


def test_r27_an_answer_that_corrects_a_factual_error_records_its_source() -> None:
    """R-27: the correction and its source are on the recorded answer."""
    case = case_at(msg.Stage.OPEN)
    [answered] = case.do(answer(correction=CORRECTION))
    assert isinstance(answered, msg.MessageAnswered)
    assert answered.correction == CORRECTION
    assert answered.model_dump(mode="json")["correction"]["source"].startswith("https://")
    [plain] = case_at(msg.Stage.OPEN).do(answer())
    assert isinstance(plain, msg.MessageAnswered) and plain.correction is None


def test_r27_a_correction_names_both_the_error_and_its_source() -> None:
    """R-27: a correction without a source (or without the error) is refused."""
    for fields in ({"error": "fel"}, {"source": "https://x"}, {"error": " ", "source": "k"}):
        with pytest.raises(ValidationError):
            msg.Correction(**fields)


def test_r27_r39_the_correction_goes_out_with_the_approved_answer() -> None:
    """R-27 with R-39: held for crisis management, the answer keeps its
    correction until approved, and is recorded with it."""
    case: Case = case_at(msg.Stage.OPEN)
    case.do(msg.ApplyCrisis(actor="kanalvakt", crisis=crisis_through_management()))
    [held] = case.do(answer(correction=CORRECTION))
    assert isinstance(held, msg.ReplySubmittedForApproval) and held.correction == CORRECTION
    events = case.do(msg.ApproveReply(actor=KRISLEDNING))
    answered = events[-1]
    assert isinstance(answered, msg.MessageAnswered) and answered.correction == CORRECTION
