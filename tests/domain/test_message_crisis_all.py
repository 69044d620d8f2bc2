"""Issue 16, message side of R-39 and R-47: where all communication goes
through crisis management (Kristiansand, "skal all kommunikasjon gå via
kriseledelsen"; Fjordvik), a removal and a forward wait for its approval as
a reply does, except a removal of confidential data (R-31); and where the
communications unit publishes in a crisis (R-47, "kommunikasjonsenheten
[har] ansvaret for å publisere"), an admin's reply waits for the unit."""

from __future__ import annotations

from datetime import timedelta

import pytest

from domain import message as msg
from domain.account import NotAuthorised
from domain.crisis_mode import CrisisMode
from tests.domain.test_message import (
    ADMIN,
    ADMINS,
    AFTER_EASTER,
    COMMS,
    IDENTITY_NUMBER_TEXT,
    KRISLEDNING,
    OFFICER,
    SYSTEM,
    Case,
    crisis_through_management,
    forward,
    inbound,
    receive_command,
    redact,
    respond,
)
from tests.domain.test_message_crisis import in_crisis, names, plain_crisis

AT = AFTER_EASTER


def communications_publish(through: bool = False) -> CrisisMode:
    """R-47: a crisis in which the communications unit publishes (Fjordvik's
    setting); with `through`, communication also goes through crisis management."""
    base = crisis_through_management() if through else plain_crisis()
    return base.model_copy(update={"communications_publish": True,
                                   "communications": frozenset(COMMS)})


# --------------------------------------------------------------------------- R-39 removal


def test_r39_a_removal_waits_for_crisis_management_and_is_carried_out_once_approved() -> None:
    """R-39: an admin's removal is not carried out: it waits, listed for
    crisis management (its approvers), who approves; then it is the admin's
    removal with its category and law, on the record with who approved."""
    case = in_crisis()
    [held] = case.do(redact())
    assert isinstance(held, msg.ReplySubmittedForApproval)
    assert (held.kind, held.held_for, held.approvers) == ("removal", "crisis", [KRISLEDNING])
    assert held.removal is not None and held.removal.law == "BrB 5 kap. 1 §"
    s = case.current
    assert s.stage is msg.Stage.AWAITING_APPROVAL and s.redaction_category is None
    assert s.pending_reply is not None and s.pending_reply.approvers == {KRISLEDNING}
    for who in (ADMIN, COMMS[0]):
        with pytest.raises(NotAuthorised, match="R-39"):
            case.decide(msg.ApproveReply(actor=who))
    events = case.do(msg.ApproveReply(actor=KRISLEDNING), at=AT + timedelta(minutes=15))
    # the insult screening did not find still goes to the unit to look at.
    assert names(events) == ["ReplyApproved", "MessageRedacted", "MessageEscalated"]
    assert events[0].actor == KRISLEDNING
    redacted = events[1]
    assert isinstance(redacted, msg.MessageRedacted)
    assert (redacted.actor, redacted.category, redacted.preserved_copy) == (
        ADMIN, "defamation_or_insult", True)
    s = case.current
    assert s.stage is msg.Stage.REDACTED and s.pending_reply is None


def test_r39_a_removal_sent_back_with_a_comment_leaves_the_message_up() -> None:
    """R-39: crisis management sends the removal back saying why; the case is
    open as before, the comment on it, nothing removed."""
    case = in_crisis()
    case.do(redact())
    [back] = case.do(msg.SendBackReply(actor=KRISLEDNING, comment="Svara i stället, lugnt"))
    assert isinstance(back, msg.ReplySentBack)
    s = case.current
    assert s.stage is msg.Stage.OPEN and s.sent_back == "Svara i stället, lugnt"
    assert s.redaction_category is None and s.pending_reply is None


def test_r31_r39_the_automatic_hide_of_an_identity_number_never_waits() -> None:
    """R-31 with R-39: received during such a crisis, an identity number is
    hidden at once by Kanalvakt, and the admin's removal for confidential
    data (registered first) is carried out without waiting: it protects the
    person; it is not the municipality communicating."""
    case = Case(now=AT)
    case.do(receive_command(AT - timedelta(minutes=5)).model_copy(update={
        "message": inbound(text=IDENTITY_NUMBER_TEXT), "crisis": crisis_through_management()}))
    assert case.current.auto_hide and case.current.crisis is not None
    hidden = case.do(msg.Hide(actor=SYSTEM, reason="identity number", preserved_copy=True))
    assert names(hidden) == ["MessageHidden"] and case.current.hidden
    case.do(msg.Register(actor=ADMIN, diarium_number="KS 2026/7", record_class="Sekretess",
                         confidential=True))
    removal = redact(category="confidential_information", law="OSL 21 kap. 7 §")
    assert names(case.do(removal)) == ["MessageRedacted"]
    assert case.current.stage is msg.Stage.REDACTED


# --------------------------------------------------------------------------- R-39 forward


def test_r39_a_forward_waits_for_crisis_management_then_goes_to_the_officer() -> None:
    """R-39: handing the message to a case officer is decided by crisis
    management too; approved, the officer has it and the citizen's own
    deadline is kept (R-24)."""
    case = in_crisis()
    [held] = case.do(forward())
    assert isinstance(held, msg.ReplySubmittedForApproval) and held.kind == "forward"
    assert held.forward is not None and held.forward.officer == OFFICER
    assert case.current.officer is None
    with pytest.raises(NotAuthorised, match="R-39"):
        case.decide(msg.ApproveReply(actor=ADMIN))
    events = case.do(msg.ApproveReply(actor=KRISLEDNING))
    assert names(events) == ["ReplyApproved", "MessageForwarded"]
    assert events[1].actor == ADMIN
    s = case.current
    assert (s.stage, s.officer, s.citizen_stage) == (msg.Stage.FORWARDED, OFFICER,
                                                     msg.Stage.OPEN)


@pytest.mark.parametrize("held", ["forward", "removal"])
def test_r39_an_approval_carries_out_what_an_admin_removed_since_asked_for(held: str) -> None:
    """R-39 with R-13 (found by the property test of issue 9): an admin's
    forward or removal waits for crisis management; the admin is removed
    from the account meanwhile. The approval is the decision now: it is
    carried out, recorded as the admin's request approved by crisis
    management; the case never waits on a person who may no longer act. A
    case begun before (the workflow's patch) keeps refusing it, as recorded."""
    case = in_crisis()
    case.do(forward() if held == "forward" else redact())
    others = frozenset(a for a in ADMINS if a != ADMIN)
    case.do(msg.UpdateAdmins(actor=SYSTEM, admins=others))
    assert ADMIN not in case.current.authorities.admins  # type: ignore[union-attr]
    before = case.current.model_copy(update={"approval_outlives_the_admin": False})
    with pytest.raises(NotAuthorised):
        msg.decide(before, msg.ApproveReply(actor=KRISLEDNING), now=AT)
    events = case.do(msg.ApproveReply(actor=KRISLEDNING))
    assert names(events)[:2] == ["ReplyApproved",
                                 "MessageForwarded" if held == "forward" else "MessageRedacted"]
    assert events[0].actor == KRISLEDNING and events[1].actor == ADMIN
    assert case.current.stage is (msg.Stage.FORWARDED if held == "forward"
                                  else msg.Stage.REDACTED)


def test_r39_r43_without_the_setting_a_removal_and_a_forward_go_through() -> None:
    """R-43: where the municipality's communication does not go through
    crisis management (Exempelby), or for a case begun before these rules
    (its history replays as recorded), nothing waits."""
    case = in_crisis(plain_crisis())
    assert names(case.decide(redact()))[0] == "MessageRedacted"
    assert names(case.decide(forward())) == ["MessageForwarded"]
    before = in_crisis()
    before.state = before.current.model_copy(update={"crisis_covers_all": False})
    assert names(before.decide(redact()))[0] == "MessageRedacted"
    assert names(before.decide(forward())) == ["MessageForwarded"]
    assert names(before.decide(respond())) == ["ReplySubmittedForApproval"]  # as before


# ---------------------------------------------------------------------------


def test_r47_an_admins_reply_waits_for_the_communications_unit_to_publish_it() -> None:
    """R-47: in a crisis the communications unit publishes; an admin's
    answer waits for a member of it (not crisis management, not another
    admin), who publishes it as the admin wrote it."""
    case = in_crisis(communications_publish())
    [held] = case.do(respond())
    assert isinstance(held, msg.ReplySubmittedForApproval)
    assert (held.held_for, held.approvers) == ("communications", sorted(COMMS))
    for who in (ADMINS[1], KRISLEDNING):
        with pytest.raises(NotAuthorised, match="R-47") as refused:
            case.decide(msg.ApproveReply(actor=who))
        assert refused.value.key == "approval.communications_only"
        assert COMMS[0] in str(refused.value)  # names who publishes
    events = case.do(msg.ApproveReply(actor=COMMS[1], reply_id="fb-7"))
    assert names(events) == ["ReplyApproved", "MessageAnswered"]
    assert (events[0].actor, events[1].actor) == (COMMS[1], ADMIN)
    assert case.current.stage is msg.Stage.ANSWERED


def test_r47_the_communications_unit_publishes_directly_and_removals_are_not_held() -> None:
    """R-47 is about publishing: an admin who is in the unit replies at
    once; a removal or a forward is no publication and is not held for it."""
    mode = communications_publish()
    case = in_crisis(mode.model_copy(update={"communications": mode.communications
                                             | {ADMINS[1]}}))
    assert names(case.decide(respond(actor=ADMINS[1]))) == ["MessageAnswered"]
    assert names(case.decide(respond())) == ["ReplySubmittedForApproval"]
    assert names(case.decide(redact()))[0] == "MessageRedacted"
    assert names(case.decide(forward())) == ["MessageForwarded"]


def test_r39_r47_fjordvik_crisis_management_approves_then_the_unit_publishes() -> None:
    """R-39 and R-47 together (Fjordvik): crisis management approves the
    admin's reply first, then the communications unit publishes it."""
    case = in_crisis(communications_publish(through=True))
    [held] = case.do(respond())
    assert isinstance(held, msg.ReplySubmittedForApproval) and held.held_for == "crisis"
    events = case.do(msg.ApproveReply(actor=KRISLEDNING))
    assert names(events) == ["ReplyApproved", "ReplySubmittedForApproval"]
    onward = events[1]
    assert isinstance(onward, msg.ReplySubmittedForApproval)
    assert (onward.held_for, onward.actor) == ("communications", ADMIN)
    assert case.current.stage is msg.Stage.AWAITING_APPROVAL
    events = case.do(msg.ApproveReply(actor=COMMS[0]))
    assert names(events) == ["ReplyApproved", "MessageAnswered"]
    assert case.current.answer == "Simhallen öppnar 1 maj."


def test_r47_after_the_crisis_a_reply_waiting_for_the_unit_may_be_published_by_the_admins(
) -> None:
    """R-47 while the crisis lasts only: ended, the reply is not stuck."""
    case = in_crisis(communications_publish())
    case.do(respond())
    case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=None))
    assert names(case.do(msg.ApproveReply(actor=ADMINS[1]))) == ["ReplyApproved",
                                                                 "MessageAnswered"]


# --------------------------------------------------------------------------- R-39 hide


def admin_hide(**overrides: object) -> msg.Hide:
    return msg.Hide(**({"actor": ADMIN, "reason": "Kränkande mot en anställd",
                        "preserved_copy": True} | overrides))


def test_r39_an_admins_hide_waits_for_crisis_management_then_is_carried_out() -> None:
    """R-39, "skal all kommunikasjon gå via kriseledelsen": an admin's hide
    takes the citizen's message out of view as a removal does, so it waits,
    listed for crisis management; the admin cannot approve it; approved, it
    is the admin's hide, with a copy kept (R-30)."""
    case = in_crisis()
    [held] = case.do(admin_hide())
    assert isinstance(held, msg.ReplySubmittedForApproval)
    assert (held.kind, held.held_for, held.approvers) == ("hide", "crisis", [KRISLEDNING])
    assert held.hide is not None and held.hide.preserved_copy
    s = case.current
    assert s.stage is msg.Stage.AWAITING_APPROVAL and not s.hidden
    for who in (ADMIN, COMMS[0]):
        with pytest.raises(NotAuthorised, match="R-39"):
            case.decide(msg.ApproveReply(actor=who))
    events = case.do(msg.ApproveReply(actor=KRISLEDNING), at=AT + timedelta(minutes=10))
    assert names(events) == ["ReplyApproved", "MessageHidden"]
    hidden = events[1]
    assert isinstance(hidden, msg.MessageHidden)
    assert (hidden.actor, hidden.preserved_copy, hidden.confidential) == (ADMIN, True, False)
    s = case.current
    assert s.hidden and s.stage is msg.Stage.OPEN and s.pending_reply is None


def test_r39_a_hide_sent_back_leaves_the_message_in_view() -> None:
    """R-39: crisis management sends the hide back with a comment; the
    message stays in view, the case open with its deadlines as before."""
    case = in_crisis()
    case.do(admin_hide())
    case.do(msg.SendBackReply(actor=KRISLEDNING, comment="Låt den stå, svara sakligt"))
    s = case.current
    assert s.stage is msg.Stage.OPEN and not s.hidden and s.sent_back


def test_r31_r39_a_hide_of_confidential_data_never_waits() -> None:
    """R-31 with R-39: a hide of confidential data (said by the admin, or an
    identity number screening found) protects the person: at once, on the
    record as such; Kanalvakt's own hide on receipt never waits either."""
    case = in_crisis()
    [hidden] = case.do(admin_hide(reason="Uppgifter om en elevs hälsa", confidential=True))
    assert isinstance(hidden, msg.MessageHidden) and hidden.confidential
    found = Case(now=AT)
    found.do(receive_command(AT - timedelta(minutes=5)).model_copy(update={
        "message": inbound(text=IDENTITY_NUMBER_TEXT), "crisis": crisis_through_management()}))
    assert names(found.decide(admin_hide())) == ["MessageHidden"]
    assert names(found.decide(msg.Hide(actor=SYSTEM, reason="identity number",
                                       preserved_copy=True))) == ["MessageHidden"]


def test_r39_r43_a_hide_goes_through_without_the_setting_or_for_an_earlier_case() -> None:
    """R-43: where communication does not go through crisis management, or
    for a case begun before (workflow.patched), the admin's hide is at once."""
    assert names(in_crisis(plain_crisis()).decide(admin_hide())) == ["MessageHidden"]
    before = in_crisis()
    before.state = before.current.model_copy(update={"crisis_covers_all": False})
    assert names(before.decide(admin_hide())) == ["MessageHidden"]
