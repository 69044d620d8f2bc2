"""Message cases under crisis rules (R-39): Kristiansand's "all communication
goes through crisis management" (a setting, R-43) as an approval step, and
the tighter deadlines of acknowledged and forwarded cases."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from domain import crisis as cr
from domain import message as msg
from domain.account import NotAuthorised, RuleViolation, WrongStage
from domain.crisis_mode import CrisisMode
from store.directory import parse_directory_yaml
from tests.domain.test_crisis import POLICY as CRISIS_POLICY
from tests.domain.test_crisis import Crisis, settings
from tests.domain.test_message import (
    ADMIN,
    ADMINS,
    AFTER_EASTER,
    COMMS,
    DEPUTY,
    KRISLEDNING,
    MANAGER,
    OFFICER,
    SYSTEM,
    Case,
    acknowledge,
    case_at,
    crisis_through_management,
    draft,
    fire,
    forward,
    local,
    redact,
    respond,
)
from tests.support import EXEMPELBY

FJORDVIK = Path(EXEMPELBY).with_name("fjordvik.yaml")
AT = AFTER_EASTER  # Tuesday 7 April 2026, 09:00 in Stockholm


def in_crisis(mode: CrisisMode | None = None) -> Case:
    """An open case that a crisis reached at 09:00 on Tuesday 7 April."""
    case = case_at(msg.Stage.OPEN)
    case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=mode or crisis_through_management()))
    return case


def plain_crisis() -> CrisisMode:
    return crisis_through_management().model_copy(
        update={"through_crisis_management": False, "crisis_management": frozenset()})


def names(events: list[msg.MessageEvent]) -> list[str]:
    return [e.type for e in events]


# --------------------------------------------------------------------------- approval


def test_r39_kristiansand_an_answer_waits_for_crisis_managements_approval() -> None:
    """R-39 (Kristiansand): an admin's answer is not published: it waits for
    crisis management, who approves; then it is the admin's answer, signed
    as written, and the citizen's first response is the approval's time."""
    case = in_crisis()
    submitted = case.do(respond(signed=True, signature="Alva, kommunikation"))
    assert names(submitted) == ["ReplySubmittedForApproval"]
    s = case.current
    assert s.stage is msg.Stage.AWAITING_APPROVAL and s.first_response_at is None
    assert s.pending_reply is not None and s.pending_reply.approvers == {KRISLEDNING}
    assert s.pending_reply.published_text == "Simhallen öppnar 1 maj.\nAlva, kommunikation"
    with pytest.raises(WrongStage):  # one reply at a time
        case.decide(respond(text="Ett till svar"))
    for who in (ADMIN, MANAGER, COMMS[0]):
        with pytest.raises(NotAuthorised, match="R-39"):
            case.decide(msg.ApproveReply(actor=who))
    approved_at = AT + timedelta(minutes=40)
    events = case.do(msg.ApproveReply(actor=KRISLEDNING, reply_id="fb-9"), at=approved_at)
    assert names(events) == ["ReplyApproved", "MessageAnswered"]
    answered = events[1]
    assert isinstance(answered, msg.MessageAnswered)
    assert (answered.actor, answered.reply_id) == (ADMIN, "fb-9")
    assert answered.signature == "Alva, kommunikation"
    assert events[0].actor == KRISLEDNING
    s = case.current
    assert s.stage is msg.Stage.ANSWERED and s.pending_reply is None
    assert s.first_response_at == approved_at and s.answer == "Simhallen öppnar 1 maj."


def test_r39_kristiansand_the_officers_draft_goes_through_crisis_management_too() -> None:
    """R-24 with R-39: publishing a case officer's draft is a reply like any other."""
    case = in_crisis()
    case.do(forward())
    case.do(msg.ApproveReply(actor=KRISLEDNING))  # the forward went through it too
    case.do(draft(), at=AT + timedelta(minutes=30))
    [submitted] = case.do(respond(text=case.current.draft or ""))
    assert isinstance(submitted, msg.ReplySubmittedForApproval)
    assert submitted.drafted_by == OFFICER and submitted.kind == "answer"
    events = case.do(msg.ApproveReply(actor=KRISLEDNING))
    assert isinstance(events[1], msg.MessageAnswered) and events[1].drafted_by == OFFICER


def test_r39_kristiansand_an_acknowledgement_goes_through_crisis_management() -> None:
    """R-39: all communication: a holding reply too; approved, the case is acknowledged."""
    case = in_crisis()
    assert names(case.do(acknowledge())) == ["ReplySubmittedForApproval"]
    events = case.do(msg.ApproveReply(actor=KRISLEDNING))
    assert names(events) == ["ReplyApproved", "AcknowledgementSent"]
    assert events[1].actor == ADMIN
    assert case.current.stage is msg.Stage.ACKNOWLEDGED


def test_r39_kristiansand_sent_back_with_a_comment_returns_with_its_deadlines() -> None:
    """R-39: crisis management sends the reply back saying why; the case is
    where it was (no deadline moves), the admins see the comment, and a step
    that fired while the reply waited does not fire again."""
    case = in_crisis()
    before, entered = msg.deadline_plan(case.current), case.current.stage_entered_at
    case.do(respond())
    with pytest.raises(NotAuthorised):
        case.decide(msg.SendBackReply(actor=ADMIN, comment="Jag ångrar mig"))
    # the reminder (halfway through the two hours) fires while it waits.
    fired = case.do(fire(), at=AT + timedelta(hours=1))
    assert len(fired) == 1 and isinstance(fired[0], msg.MessageReminderSent)
    assert fired[0].step.endswith(":answer_reminder") and KRISLEDNING in fired[0].recipients
    case.do(msg.SendBackReply(actor=KRISLEDNING, comment="Hänvisa till webbplatsen"),
            at=AT + timedelta(hours=1, minutes=5))
    s = case.current
    assert s.stage is msg.Stage.OPEN and s.pending_reply is None
    assert s.sent_back == "Hänvisa till webbplatsen" and s.stage_entered_at == entered
    assert msg.deadline_plan(s) == before
    assert [st.name for st in msg.pending_steps(s)] == ["answer_deadline", "answer_escalation"]
    case.do(respond(text="Se umea.se/kris."))
    assert case.current.sent_back is None  # a new reply, a new review


def test_r39_while_a_reply_waits_the_deadlines_run_on_and_crisis_management_hears() -> None:
    """R-22, R-39: waiting for approval stops no clock: the same steps at the
    same times, and crisis management is told of each with the others."""
    case = in_crisis()
    open_plan = msg.deadline_plan(case.current)
    case.do(respond())
    waiting = msg.deadline_plan(case.current)
    assert [(s.key, s.due) for s in waiting] == [(s.key, s.due) for s in open_plan]
    assert waiting[1].due == AT + timedelta(hours=2)
    for step, orig in zip(waiting, open_plan, strict=True):
        assert step.recipients == (*orig.recipients, KRISLEDNING)


def test_r39_a_member_of_crisis_management_who_is_an_admin_publishes_directly() -> None:
    mode = crisis_through_management().model_copy(
        update={"crisis_management": frozenset({KRISLEDNING, ADMINS[1]})})
    case = in_crisis(mode)
    assert names(case.decide(respond(actor=ADMINS[1]))) == ["MessageAnswered"]
    assert names(case.decide(respond(actor=ADMINS[0]))) == ["ReplySubmittedForApproval"]


def test_r39_r43_without_the_setting_replies_in_a_crisis_are_published_directly() -> None:
    case = in_crisis(plain_crisis())
    assert names(case.decide(respond())) == ["MessageAnswered"]
    assert names(case.decide(acknowledge())) == ["AcknowledgementSent"]


def test_r39_after_the_crisis_a_waiting_reply_may_be_published_by_the_admins() -> None:
    """R-39: the reply written during the crisis is not stuck when it ends:
    crisis management or, now, the account's admins approve or send it back."""
    case = in_crisis()
    case.do(respond())
    with pytest.raises(NotAuthorised):
        case.decide(msg.ApproveReply(actor=ADMINS[1]))
    case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=None), at=AT + timedelta(minutes=30))
    assert case.current.stage is msg.Stage.AWAITING_APPROVAL
    assert names(case.decide(msg.ApproveReply(actor=KRISLEDNING)))[0] == "ReplyApproved"
    assert names(case.do(msg.ApproveReply(actor=ADMINS[1]))) == ["ReplyApproved",
                                                                 "MessageAnswered"]


def test_r29_r31_r39_a_confidential_removal_does_not_wait_for_a_replys_approval() -> None:
    """R-29 (quickly), R-31 with R-39: while a reply waits, an admin removes
    a message with confidential data at once; the reply is moot. Any other
    removal waits its turn: crisis management decides on one thing at a time."""
    case = in_crisis()
    case.do(respond())
    for other in (redact(), msg.Hide(actor=ADMIN, reason="Kränkande", preserved_copy=True)):
        with pytest.raises(RuleViolation, match="R-39") as refused:
            case.decide(other)
        assert refused.value.key == "approval.one_at_a_time"
    case.do(msg.Register(actor=ADMIN, diarium_number="KS 2026/1", record_class="Sekretess",
                         confidential=True))
    assert names(case.do(redact(category="confidential_information", law="OSL"))) == [
        "MessageRedacted"]
    s = case.current
    assert s.stage is msg.Stage.REDACTED and s.pending_reply is None
    with pytest.raises(WrongStage):
        case.decide(msg.ApproveReply(actor=KRISLEDNING))


def test_r39_forward_and_dispose_wait_while_a_reply_is_with_crisis_management() -> None:
    case = in_crisis()
    case.do(respond())
    for command in (forward(), msg.Dispose(actor=ADMIN, decision_id="SM-1"), acknowledge()):
        with pytest.raises(WrongStage):
            case.decide(command)


def test_r39_r43_the_setting_comes_with_the_crisis_from_the_directory() -> None:
    """R-43: Fjordvik (the Norwegian sample, after Kristiansand) routes
    communication through crisis management; Exempelby does not. The crisis
    declared under the setting names who approves."""
    fjordvik = parse_directory_yaml(FJORDVIK.read_text(encoding="utf-8"))
    exempelby = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    assert fjordvik.municipality.crisis.communication_through_crisis_management is True
    assert exempelby.municipality.crisis.communication_through_crisis_management is False
    through = CRISIS_POLICY.model_copy(update={"communication_through_crisis_management": True})
    c = Crisis(settings(policy=through))
    [declared] = c.do(cr.DeclareCrisis(actor="eva.marklund", reason="Flom"), AT)
    assert isinstance(declared, cr.CrisisDeclared)
    assert declared.crisis.through_crisis_management
    assert declared.crisis.crisis_management == {"eva.marklund", "karin.holm"}
    assert cr.parse_event(declared.model_dump(mode="json")) == declared
    [plain] = Crisis().do(cr.DeclareCrisis(actor="eva.marklund", reason="Flom"), AT)
    assert isinstance(plain, cr.CrisisDeclared)
    assert not plain.crisis.through_crisis_management and not plain.crisis.crisis_management


# --------------------------------------------------------------------------- deadlines


def test_r39_an_acknowledged_case_is_due_around_the_clock_in_a_crisis() -> None:
    """R-39 stepped-up monitoring: acknowledged on Tuesday 09:00 (ten working
    days for the final answer), a crisis reaching it at 18:00 makes the final
    answer due at 20:00, the reminder at 19:00, the second escalation at 22:00;
    when the crisis ends the working days are back."""
    case = case_at(msg.Stage.ACKNOWLEDGED)
    normal = {s.name: s.due for s in msg.deadline_plan(case.current)}
    evening = local(2026, 4, 7, 18)
    case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=plain_crisis()), at=evening)
    plan = {s.name: (s.due, list(s.recipients)) for s in msg.deadline_plan(case.current)}
    assert plan == {
        "final_answer_reminder": (local(2026, 4, 7, 19), sorted(ADMINS)),
        "final_answer_deadline": (local(2026, 4, 7, 20), [MANAGER, DEPUTY]),
        "final_answer_escalation": (local(2026, 4, 7, 22), [MANAGER, DEPUTY, *sorted(COMMS)]),
    }
    case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=None), at=local(2026, 4, 7, 18, 30))
    assert {s.name: s.due for s in msg.deadline_plan(case.current)} == normal


def test_r39_a_forwarded_case_officer_is_due_around_the_clock_in_a_crisis() -> None:
    """R-24 with R-39: the officer's draft is due within the crisis period
    (reminder to the officer halfway), not in five working days."""
    case = in_crisis(plain_crisis())
    case.do(forward(), at=local(2026, 4, 7, 15))
    plan = {s.name: (s.due, list(s.recipients)) for s in msg.deadline_plan(case.current)
            if s.name.startswith("officer")}
    assert plan == {
        "officer_reminder": (local(2026, 4, 7, 16), [OFFICER]),
        "officer_deadline": (local(2026, 4, 7, 17), [MANAGER, DEPUTY, *sorted(ADMINS)]),
        # on to the communications unit a crisis period later.
        "officer_escalation": (local(2026, 4, 7, 19),
                               [MANAGER, DEPUTY, *sorted(ADMINS), *sorted(COMMS), OFFICER]),
    }


def test_r39_a_crisis_never_loosens_an_acknowledged_or_forwarded_deadline() -> None:
    """R-39: a crisis period longer than the working days leaves them."""
    slow = plain_crisis().model_copy(update={"answer_within": timedelta(days=30)})
    for stage in (msg.Stage.ACKNOWLEDGED, msg.Stage.FORWARDED):
        case = case_at(stage)
        normal = msg.deadline_plan(case.current)
        case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=slow))
        assert msg.deadline_plan(case.current) == normal


def test_r39_a_waiting_reply_follows_crisis_management_as_the_directory_names_it() -> None:
    """R-39 (Kristiansand): crisis management changes while a reply waits;
    the crisis rules reach the case again (same crisis, new approvers): the
    new member may approve, the one who left may not."""
    case = in_crisis()
    case.do(respond())
    newcomer = "lena.ek"
    changed = crisis_through_management().model_copy(
        update={"crisis_management": frozenset({newcomer})})
    [applied] = case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=changed),
                        at=AT + timedelta(minutes=10))
    assert isinstance(applied, msg.CrisisRulesApplied)
    s = case.current
    assert s.pending_reply is not None and s.pending_reply.approvers == {newcomer}
    assert s.crisis_since == AT  # the same crisis: no deadline moves
    with pytest.raises(NotAuthorised, match="R-39"):
        case.decide(msg.ApproveReply(actor=KRISLEDNING))
    events = case.do(msg.ApproveReply(actor=newcomer), at=AT + timedelta(minutes=20))
    assert names(events) == ["ReplyApproved", "MessageAnswered"]
