"""R-14, holiday cover: admins record absences with a cover; while one is
away their reminders and escalations go to the cover, on the record
("cover for X"); an account whose admins are all away is escalated to the
unit's manager at once, and stays escalated until one is back.

T0 is Monday 30 March 2026, 11:00 in Stockholm (conftest.py); the account's
admins are REQUESTER and ADMIN_2.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime

import pytest

from domain import account as acc
from tests.domain.conftest import ADMIN_2, COMMS, DEPUTY, MANAGER, REQUESTER, STRANGER, Journey

Walk = Callable[..., Journey]
COLLEAGUE = "olle.kollega"  # in the directory, not an admin


def away(person: str, first: date, last: date, cover: str, *, actor: str | None = None,
         in_directory: bool = False) -> acc.RecordAbsence:
    return acc.RecordAbsence(actor=actor or person, person=person, starts_on=first,
                             ends_on=last, cover=cover, cover_in_directory=in_directory)


@pytest.fixture
def journey(walk: Walk) -> Journey:
    return walk(acc.Stage.ACTIVE)


def test_r14_an_admin_records_an_absence_with_a_cover(journey: Journey) -> None:
    """R-14: the absence is on the record, from the first day's local midnight
    to the midnight after the last (Stockholm: UTC+2 in April)."""
    [event] = journey.do(away(REQUESTER, date(2026, 4, 6), date(2026, 4, 10), ADMIN_2))
    assert isinstance(event, acc.AbsenceRecorded)
    a = event.absence
    assert (a.absence_id, a.person, a.cover) == ("A-1", REQUESTER, ADMIN_2)
    assert a.starts_at == datetime(2026, 4, 5, 22, tzinfo=UTC)
    assert a.ends_at == datetime(2026, 4, 10, 22, tzinfo=UTC)
    assert journey.current.absences == [a]
    assert acc.parse_event(event.model_dump(mode="json")) == event


def test_r14_who_records_an_absence(journey: Journey) -> None:
    """R-14: an admin records their own absence, the manager or deputy anyone's;
    nobody else, and only for the account's admins."""
    for actor in (ADMIN_2, COMMS[0], STRANGER):
        with pytest.raises(acc.NotAuthorised):
            journey.decide(away(REQUESTER, date(2026, 4, 6), date(2026, 4, 7), ADMIN_2,
                                actor=actor))
    for actor in (MANAGER, DEPUTY):
        assert journey.decide(away(REQUESTER, date(2026, 4, 6), date(2026, 4, 7), ADMIN_2,
                                   actor=actor))
    with pytest.raises(acc.RuleViolation) as refused:
        journey.decide(away(STRANGER, date(2026, 4, 6), date(2026, 4, 7), ADMIN_2,
                            actor=MANAGER))
    assert refused.value.key == "absence.not_admin"


@pytest.mark.parametrize(("first", "last", "cover", "in_directory", "key"), [
    (date(2026, 4, 7), date(2026, 4, 6), ADMIN_2, False, "absence.dates"),
    (date(2026, 3, 20), date(2026, 3, 27), ADMIN_2, False, "absence.past"),
    (date(2026, 4, 6), date(2027, 4, 7), ADMIN_2, False, "absence.too_long"),
    (date(2026, 4, 6), date(2026, 4, 7), REQUESTER, False, "absence.cover_self"),
    (date(2026, 4, 6), date(2026, 4, 7), COLLEAGUE, False, "absence.cover_unknown"),
])
def test_r14_an_absence_that_cannot_be_is_refused(journey: Journey, first: date, last: date,
                                                  cover: str, in_directory: bool,
                                                  key: str) -> None:
    with pytest.raises(acc.RuleViolation) as refused:
        journey.decide(away(REQUESTER, first, last, cover, in_directory=in_directory))
    assert refused.value.key == key


def test_r14_a_colleague_from_the_directory_may_cover(journey: Journey) -> None:
    [event] = journey.do(away(REQUESTER, date(2026, 4, 6), date(2026, 4, 7), COLLEAGUE,
                              in_directory=True))
    assert isinstance(event, acc.AbsenceRecorded) and event.absence.cover == COLLEAGUE


def test_r14_no_overlapping_absences_and_no_cover_who_is_away(journey: Journey) -> None:
    journey.do(away(REQUESTER, date(2026, 4, 6), date(2026, 4, 10), ADMIN_2))
    with pytest.raises(acc.RuleViolation) as overlap:
        journey.decide(away(REQUESTER, date(2026, 4, 10), date(2026, 4, 14), ADMIN_2))
    assert overlap.value.key == "absence.overlap"
    journey.do(away(ADMIN_2, date(2026, 4, 13), date(2026, 4, 14), COLLEAGUE,
                    in_directory=True))
    with pytest.raises(acc.RuleViolation) as cover_away:
        journey.decide(away(REQUESTER, date(2026, 4, 14), date(2026, 4, 15), ADMIN_2))
    assert cover_away.value.key == "absence.cover_away"
    # The days between are free for both.
    assert journey.decide(away(REQUESTER, date(2026, 4, 11), date(2026, 4, 12), ADMIN_2))


def test_r14_the_covers_recipients_instead_of_the_absent(journey: Journey) -> None:
    """R-14: a recipient away at the moment is replaced by their cover, who is
    told for them; an absent cover passes it to their own cover; a chain back
    to someone away ends with the unit's manager and deputy."""
    journey.do(away(REQUESTER, date(2026, 4, 6), date(2026, 4, 10), COLLEAGUE,
                    in_directory=True))
    state = journey.current
    during = datetime(2026, 4, 7, 8, tzinfo=UTC)
    assert acc.cover_recipients(state, (REQUESTER, ADMIN_2, MANAGER), during) == (
        [COLLEAGUE, ADMIN_2, MANAGER], {COLLEAGUE: [REQUESTER]})
    before = datetime(2026, 4, 5, 21, tzinfo=UTC)  # 23:00 on Sunday, still at work
    assert acc.cover_recipients(state, (REQUESTER, ADMIN_2), before) == (
        [REQUESTER, ADMIN_2], {})
    after = datetime(2026, 4, 10, 22, tzinfo=UTC)  # midnight after the last day: back
    assert acc.cover_recipients(state, (REQUESTER, ADMIN_2), after)[1] == {}
    # ADMIN_2 away later in the week too, covered by REQUESTER, who is away.
    journey.do(away(ADMIN_2, date(2026, 4, 12), date(2026, 4, 12), MANAGER, actor=MANAGER,
                    in_directory=True))
    state = journey.current
    chained = state.model_copy(update={"absences": [
        state.absences[0],
        state.absences[1].model_copy(update={"cover": REQUESTER,
                                             "starts_at": state.absences[0].starts_at})]})
    assert acc.cover_recipients(chained, (ADMIN_2,), during) == (
        [COLLEAGUE], {COLLEAGUE: [ADMIN_2]})
    looped = chained.model_copy(update={"absences": [
        chained.absences[0].model_copy(update={"cover": ADMIN_2}), chained.absences[1]]})
    assert acc.cover_recipients(looped, (REQUESTER,), during) == (
        [MANAGER, DEPUTY], {MANAGER: [REQUESTER], DEPUTY: [REQUESTER]})


def test_r14_a_check_in_reminder_goes_to_the_cover_on_the_record(journey: Journey) -> None:
    """R-14: the midday check-in reminder of a day REQUESTER is away goes to
    ADMIN_2 and the colleague covering, and the event says for whom."""
    journey.do(away(REQUESTER, date(2026, 3, 31), date(2026, 4, 2), COLLEAGUE,
                    in_directory=True))
    # Tuesday 31 March, 12:30 in Stockholm: no check-in by midday.
    fired = journey.do(acc.FireDueDeadlines(actor="kanalvakt", skip_superseded=True),
                       at=datetime(2026, 3, 31, 10, 30, tzinfo=UTC))
    reminders = [e for e in fired if isinstance(e, acc.CheckInReminderSent)]
    assert reminders, fired
    for reminder in reminders:
        assert REQUESTER not in reminder.recipients
        assert COLLEAGUE in reminder.recipients and ADMIN_2 in reminder.recipients
        assert reminder.covering == {COLLEAGUE: [REQUESTER]}
    assert acc.parse_event(reminders[0].model_dump(mode="json")).covering == {  # type: ignore[union-attr]
        COLLEAGUE: [REQUESTER]}


def test_r14_the_cover_may_check_in_while_covering(journey: Journey) -> None:
    """R-14, R-15: the colleague covering checks the account for the absent
    admin; before and after the absence they may not."""
    journey.do(away(REQUESTER, date(2026, 3, 31), date(2026, 4, 2), COLLEAGUE,
                    in_directory=True))
    with pytest.raises(acc.NotAuthorised):
        journey.decide(acc.RecordCheckIn(actor=COLLEAGUE))  # Monday: not yet
    during = datetime(2026, 4, 1, 9, tzinfo=UTC)
    [checked] = journey.do(acc.RecordCheckIn(actor=COLLEAGUE), at=during)
    assert isinstance(checked, acc.CheckInRecorded) and checked.actor == COLLEAGUE
    with pytest.raises(acc.NotAuthorised):
        journey.decide(acc.RecordCheckIn(actor=COLLEAGUE),
                       at=datetime(2026, 4, 3, 9, tzinfo=UTC))


def test_r14_all_admins_away_is_escalated_to_the_manager_when_it_begins(
        walk: Walk) -> None:
    """R-14: the plan holds an escalation to the manager and deputy at the
    moment the last admin leaves; fired, it is on the record with who is
    away and until when, and the account is escalated until one is back."""
    journey = walk(acc.Stage.ACTIVE)
    journey.do(away(REQUESTER, date(2026, 4, 6), date(2026, 4, 10), COLLEAGUE,
                    in_directory=True))
    journey.do(away(ADMIN_2, date(2026, 4, 8), date(2026, 4, 14), MANAGER, actor=MANAGER,
                    in_directory=True))
    begins = datetime(2026, 4, 7, 22, tzinfo=UTC)
    ends = datetime(2026, 4, 10, 22, tzinfo=UTC)
    assert acc.all_away_periods(journey.current) == [(begins, ends)]
    step = next(s for s in acc.pending_steps(journey.current) if s.name == "all_admins_away")
    assert (step.due, step.kind, step.recipients) == (begins, "escalate", (MANAGER, DEPUTY))
    assert not acc.is_escalated(journey.current)

    fired = journey.do(acc.FireDueDeadlines(actor="kanalvakt", skip_superseded=True), at=begins)
    [escalated] = [e for e in fired if isinstance(e, acc.AllAdminsAwayEscalated)]
    assert escalated.recipients == [MANAGER, DEPUTY]
    assert escalated.away == sorted([REQUESTER, ADMIN_2]) and escalated.until == ends
    assert journey.current.all_away_since == begins
    assert acc.is_escalated(journey.current)
    assert acc.next_deadline(journey.current) is not None

    # Saturday 00:00: REQUESTER is back; the escalation ends on the record.
    back = journey.do(acc.FireDueDeadlines(actor="kanalvakt", skip_superseded=True), at=ends)
    assert any(isinstance(e, acc.AdminBackFromAbsence) for e in back)
    assert journey.current.all_away_since is None
    assert not any(s.name == "all_admins_away" for s in acc.pending_steps(journey.current))


def test_r14_an_absence_recorded_when_the_others_are_away_escalates_at_once(
        walk: Walk) -> None:
    """R-14: the last admin records an absence beginning today: the manager is
    told at once (the step is due now), not at the next midnight."""
    journey = walk(acc.Stage.ACTIVE)
    journey.do(away(ADMIN_2, date(2026, 3, 30), date(2026, 4, 3), COLLEAGUE,
                    in_directory=True))
    now = journey.later(hours=1)
    journey.do(away(REQUESTER, date(2026, 3, 30), date(2026, 3, 31), COLLEAGUE,
                    in_directory=True))
    assert acc.next_deadline(journey.current) == now
    fired = journey.do(acc.FireDueDeadlines(actor="kanalvakt", skip_superseded=True))
    assert [type(e) for e in fired][:1] == [acc.AllAdminsAwayEscalated]


def test_r14_calling_an_absence_off_ends_the_escalation(walk: Walk) -> None:
    journey = walk(acc.Stage.ACTIVE)
    journey.do(away(ADMIN_2, date(2026, 3, 30), date(2026, 4, 3), COLLEAGUE,
                    in_directory=True))
    journey.do(away(REQUESTER, date(2026, 3, 30), date(2026, 4, 3), COLLEAGUE,
                    in_directory=True))
    journey.do(acc.FireDueDeadlines(actor="kanalvakt", skip_superseded=True))
    assert journey.current.all_away_since is not None
    with pytest.raises(acc.NotAuthorised):
        journey.decide(acc.CancelAbsence(actor=ADMIN_2, absence_id="A-2"))
    later = journey.later(hours=2)
    [cancelled] = journey.do(acc.CancelAbsence(actor=REQUESTER, absence_id="A-2"))
    assert isinstance(cancelled, acc.AbsenceCancelled)
    assert journey.current.absences[1].ends_at == later  # back early, on the record
    fired = journey.do(acc.FireDueDeadlines(actor="kanalvakt", skip_superseded=True))
    assert any(isinstance(e, acc.AdminBackFromAbsence) for e in fired)
    assert not acc.is_escalated(journey.current)
    with pytest.raises(acc.RuleViolation):
        journey.decide(acc.CancelAbsence(actor=REQUESTER, absence_id="A-2"))


def test_r14_absences_are_not_recorded_on_an_account_not_active(walk: Walk) -> None:
    journey = walk(acc.Stage.AWAITING_ACTIVATION)
    with pytest.raises(acc.WrongStage):
        journey.decide(away(REQUESTER, date(2026, 4, 6), date(2026, 4, 7), ADMIN_2))


def test_r14_without_absences_the_plan_and_events_are_as_before(journey: Journey) -> None:
    """Recorded histories replay: with no absence the plan and the fired
    events are those of before R-14 (no `covering`, no new step)."""
    assert not any(s.name in ("all_admins_away", "admins_back")
                   for s in acc.pending_steps(journey.current))
    fired = journey.do(acc.FireDueDeadlines(actor="kanalvakt", skip_superseded=True),
                       at=datetime(2026, 3, 31, 10, 30, tzinfo=UTC))
    assert fired and all("covering" not in e.model_dump(exclude_defaults=True) for e in fired)
