"""R-14 on a message case: the account's absences reach its open cases
(UpdateAbsences -> AbsencesUpdated); an absent admin's answer reminder and
escalation go to their cover, and the event says for whom."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from domain.account import NotAuthorised
from domain.cover import Absence
from domain.message import (
    AbsencesUpdated,
    MessageEscalated,
    MessageReminderSent,
    UpdateAbsences,
    parse_event,
)
from tests.domain.test_message import (
    ADMINS,
    ANSWER_DEADLINE,
    ANSWER_REMINDER,
    DEPUTY,
    MANAGER,
    SYSTEM,
    fire,
    received,
)

COLLEAGUE = "olle.kollega"


def away(person: str, cover: str, first: date = date(2026, 4, 7),
         last: date = date(2026, 4, 10), n: int = 1) -> Absence:
    start = datetime(first.year, first.month, first.day, tzinfo=UTC) - timedelta(hours=2)
    end = datetime(last.year, last.month, last.day, tzinfo=UTC) + timedelta(hours=22)
    return Absence(absence_id=f"A-{n}", person=person, starts_on=first, ends_on=last,
                   starts_at=start, ends_at=end, cover=cover)


def test_r14_the_absences_reach_the_case_once() -> None:
    case = received()
    absences = [away(ADMINS[0], COLLEAGUE)]
    [event] = case.do(UpdateAbsences(actor=SYSTEM, absences=absences))
    assert isinstance(event, AbsencesUpdated) and event.absences == absences
    assert case.current.authorities is not None
    assert list(case.current.authorities.absences) == absences
    assert parse_event(event.model_dump(mode="json")) == event
    assert case.decide(UpdateAbsences(actor=SYSTEM, absences=absences)) == []
    with pytest.raises(NotAuthorised):
        case.decide(UpdateAbsences(actor=ADMINS[1], absences=[]))


def test_r14_the_answer_reminder_and_escalation_go_to_the_cover() -> None:
    """R-14, R-23: alva.adm is away on the Tuesday after Easter; the answer
    reminder goes to bertil.adm and her cover, saying for whom."""
    case = received()
    case.do(UpdateAbsences(actor=SYSTEM, absences=[away(ADMINS[0], COLLEAGUE)]))
    [reminder] = case.do(fire(), at=ANSWER_REMINDER)
    assert isinstance(reminder, MessageReminderSent)
    assert ADMINS[0] not in reminder.recipients
    assert sorted(reminder.recipients) == sorted([COLLEAGUE, ADMINS[1]])
    assert reminder.covering == {COLLEAGUE: [ADMINS[0]]}
    # The deadline's escalation goes to the manager and deputy: nobody away.
    [escalated] = [e for e in case.do(fire(), at=ANSWER_DEADLINE)
                   if isinstance(e, MessageEscalated)]
    assert escalated.recipients == [MANAGER, DEPUTY] and escalated.covering == {}

def test_r14_without_absences_the_reminder_is_as_before() -> None:
    case = received()
    [reminder] = case.do(fire(), at=ANSWER_REMINDER)
    assert sorted(reminder.recipients) == sorted(ADMINS)  # type: ignore[union-attr]
    assert "covering" not in reminder.model_dump(exclude_defaults=True)
