"""R-50, the message side of "chains that never go silent" (issue 16): an
answered case is either registered in the diarium ("diarieföras och
arkiveras i ärendeakt") or disposed of as a minor record ("Handlingar av
tillfällig eller ringa betydelse ska gallras vid inaktualitet"); until one of
them, or until a person with the right closes it with a reason, its admins
are reminded, the manager hears, and the chase goes on, on the
municipality's rhythm."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain.account import NotAuthorised, RuleViolation, WrongStage
from domain.message import (
    CaseClosed,
    CloseCase,
    DisposalScheduled,
    FireDue,
    MessageDisposed,
    MessageEscalated,
    MessagePolicy,
    MessageRegistered,
    MessageReminderSent,
    Stage,
    awaits_records,
    deadline_plan,
    next_deadline,
    pending_steps,
)
from tests.domain.test_message import (
    ADMIN,
    ADMINS,
    COMMS,
    DEPUTY,
    IDENTITY_NUMBER_TEXT,
    MANAGER,
    OFFICER,
    REGISTRAR,
    SYSTEM,
    Case,
    dispose,
    inbound,
    local,
    receive_command,
    received,
    register,
    respond,
)

ANSWERED_AT = local(2026, 4, 7, 9, 30)  # Tuesday after Easter
EVERYONE = sorted({MANAGER, DEPUTY, *ADMINS, *COMMS})


def answered(**overrides: object) -> Case:
    case = received(**overrides)  # type: ignore[arg-type]
    case.do(respond(), at=ANSWERED_AT)
    assert case.current.stage is Stage.ANSWERED
    return case


def fire_until(case: Case, until: object) -> list[object]:
    """Fire every step as it falls due, up to `until` (a datetime)."""
    fired: list[object] = []
    while (due := next_deadline(case.current)) is not None and due <= until:  # type: ignore[operator]
        fired += case.do(FireDue(actor=SYSTEM), at=due)
    return fired


def test_r50_an_answered_case_is_owed_its_registration_or_disposal() -> None:
    """R-50: answered, the case is not done: the admins are reminded after
    five working days (the default), the manager and deputy hear after ten."""
    case = answered()
    s = case.current
    assert awaits_records(s) and not s.done
    plan = deadline_plan(s)
    assert [(p.name, p.kind) for p in plan] == [("records_reminder", "remind"),
                                                ("records_escalation", "escalate")]
    # Five and ten working days after Tuesday 7 April 2026.
    assert plan[0].due == local(2026, 4, 14, 16, 30)  # closing time (issue 14)
    assert plan[0].recipients == tuple(sorted(ADMINS))
    assert plan[1].due == local(2026, 4, 21, 16, 30)
    assert set(plan[1].recipients) == {MANAGER, DEPUTY, *ADMINS}


def test_r50_the_chase_never_stops_until_someone_acts() -> None:
    """R-50 with R-22: after the escalation, the chase every working day
    (`chase_every_working_days`) to the manager, the admins and the
    communications unit, for as long as nobody acts: here three months."""
    case = answered()
    fired = fire_until(case, ANSWERED_AT + timedelta(days=92))
    reminders = [e for e in fired if isinstance(e, MessageReminderSent)]
    escalations = [e for e in fired if isinstance(e, MessageEscalated)]
    assert len(reminders) == 1 and reminders[0].step.endswith(":records_reminder")
    chased = [e for e in escalations if ":chase-" in e.step]
    assert len(chased) > 50
    assert all(sorted(c.recipients) == EVERYONE for c in chased)
    assert all(c.stage is Stage.ANSWERED for c in chased)
    assert next_deadline(case.current) is not None and not case.current.done


def test_r50_r43_the_rhythm_is_the_municipalitys_setting() -> None:
    """R-43: a municipality that chases every fifth working day and reminds
    after two gets exactly that."""
    case = answered(policy=MessagePolicy(chase_every_working_days=5,
                                         records_within_working_days=2))
    plan = deadline_plan(case.current)
    assert [p.due for p in plan] == [local(2026, 4, 9, 16, 30), local(2026, 4, 13, 16, 30)]
    fired = fire_until(case, local(2026, 4, 13, 16, 30))
    assert len(fired) == 2
    [chase] = pending_steps(case.current)
    assert chase.name == "chase" and chase.due == local(2026, 4, 20, 16, 30)


def test_r50_registered_after_the_answer_the_chase_stops() -> None:
    """R-50, R-28: a registrar (or an admin) registers the answered case; it
    is done and stays answered."""
    case = answered()
    fire_until(case, ANSWERED_AT + timedelta(days=30))
    with pytest.raises(NotAuthorised):
        case.decide(register(actor=OFFICER))
    [registered] = case.do(register(actor=REGISTRAR))
    assert isinstance(registered, MessageRegistered)
    s = case.current
    assert s.stage is Stage.ANSWERED and s.done and deadline_plan(s) == []
    with pytest.raises(WrongStage):
        case.decide(register())


def test_r50_disposed_of_as_a_minor_record_it_goes_on_its_date() -> None:
    """R-50, R-33, R-35: an admin disposes of the answered case under SM-1;
    the chase stops, and after the decision's 30 days the content is
    disposed of with the decision and who on the log."""
    case = answered()
    with pytest.raises(RuleViolation, match="R-33"):
        case.decide(dispose(decision_id="NO-SUCH"))
    with pytest.raises(NotAuthorised):
        case.decide(dispose(actor=MANAGER))
    [scheduled] = case.do(dispose(), at=ANSWERED_AT + timedelta(days=1))
    assert isinstance(scheduled, DisposalScheduled)
    s = case.current
    assert s.stage is Stage.ANSWERED and not s.done and not awaits_records(s)
    [step] = deadline_plan(s)
    assert (step.kind, step.due) == ("lapse", ANSWERED_AT + timedelta(days=31))
    [disposed] = case.do(FireDue(actor=SYSTEM), at=step.due)
    assert isinstance(disposed, MessageDisposed) and disposed.decided_by == ADMIN
    assert case.current.stage is Stage.DISPOSED and case.current.done


def test_r50_r31_an_answered_case_with_a_personnummer_is_registered_not_disposed_of() -> None:
    """R-31 with R-50: screening found an identity number; the answered case
    is registered, never disposed of as a minor record."""
    case = Case(now=ANSWERED_AT - timedelta(hours=1))
    case.do(receive_command().model_copy(update={"message": inbound(
        text=IDENTITY_NUMBER_TEXT)}))
    case.do(respond(), at=ANSWERED_AT)
    with pytest.raises(RuleViolation, match="R-31"):
        case.decide(dispose())
    case.do(register(confidential=True))
    assert case.current.done


def test_r50_r22_closed_with_a_reason_by_a_person_with_the_right() -> None:
    """R-22, R-50: the admins who let it lie may not close it; the
    communications unit closes it with a reason; still answered, done."""
    case = answered()
    with pytest.raises(NotAuthorised) as refused:
        case.decide(CloseCase(actor=ADMIN, reason="Glömt"))
    assert refused.value.key == "close.who"
    [closed] = case.do(CloseCase(actor=COMMS[0], reason="Svaret diariefördes i dnr KS 2026/9"))
    assert isinstance(closed, CaseClosed)
    s = case.current
    assert s.stage is Stage.ANSWERED and s.done and s.closed_reason
    assert deadline_plan(s) == []


def test_r50_a_case_begun_before_the_rule_ends_when_answered() -> None:
    """workflow.patched: a case whose run began before R-50's chase ends at
    the answer, as its recorded history did."""
    case = received()
    case.state = case.current.model_copy(update={"records_chase": False})
    case.do(respond(), at=ANSWERED_AT)
    assert case.current.done and deadline_plan(case.current) == []
    with pytest.raises(WrongStage):
        case.decide(register())
