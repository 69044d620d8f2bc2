"""Issue 11: the decision forms a person is offered on a message case
(domain.message.available_decisions) agree with `decide`.

The oracle is what the case page did before (web/message_pages.py
`allowed_decisions`): it ran `decide` on a real command of each kind
("probe" commands) and offered the form unless the person was refused for
who they are or for the stage (NotAuthorised, WrongStage), or the refusal
was one no input can help (R-46: watching not allowed, or screening
flagged the message). Every stage, the people around a case (admins, the
case officer, the manager and deputy, the communications unit, a
registrar, crisis management, a stranger, Kanalvakt itself), old and new
rules, crisis modes (R-39, R-47), what waits for approval (R-39, R-44,
R-47), the R-50 records chase, a platform action awaited by hand, and the
settings that decide a form (R-46 watching, disposal decisions, signatures).

One difference is intended and named: on a case acknowledged and then
forwarded, the probe reached the rule's "already acknowledged" before its
"only the admins", so the officer, the manager and the communications unit
were offered an acknowledgement the rule refuses them (ACKNOWLEDGE_AHEAD)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from domain import message as msg
from domain.account import DomainError
from domain.crisis_mode import CrisisMode
from domain.message.actions import DECISIONS
from domain.redaction import RemovalCategory
from domain.screening import screen
from tests.domain.test_message import (
    ADMIN,
    ADMINS,
    AFTER_EASTER,
    COMMS,
    DEPUTY,
    KRISLEDNING,
    MANAGER,
    OFFICER,
    REGISTRAR,
    STRANGER,
    SYSTEM,
    Case,
    acknowledge,
    case_at,
    crisis_through_management,
    forward,
    redact,
    respond,
)

PEOPLE = (*ADMINS, OFFICER, MANAGER, DEPUTY, *COMMS, REGISTRAR, KRISLEDNING, STRANGER, SYSTEM)
CONFIDENTIAL_REPLY = "Din ansökan för 19121212-1212 är beviljad."
PERSONNUMMER = "Min son 19121212-1212 fick inte plats på förskolan!"


# --------------------------------------------------------------------------- the former rule

_NO_INPUT_HELPS = frozenset({"watch.not_allowed", "watch.flagged"})


def _probes(person: str, state: msg.MessageState) -> dict[str, msg.Command]:
    """The case page's probe commands before issue 11, as they were."""
    first_decision = (state.policy.disposal_decisions[0].id
                      if state.policy.disposal_decisions else "probe")
    return {
        "acknowledge": msg.Acknowledge(actor=person, text="probe"),
        "respond": msg.Respond(actor=person, text="probe", signed=True, signature="probe"),
        "forward": msg.Forward(actor=person, officer="probe", note="probe"),
        "draft": msg.SubmitDraft(actor=person, text="probe"),
        "register": msg.Register(actor=person, diarium_number="probe", record_class="probe"),
        "redact": msg.Redact(actor=person, category=RemovalCategory.DEFAMATION_OR_INSULT,
                             law="probe", reason="probe", preserved_copy=True),
        "dispose": msg.Dispose(actor=person, decision_id=first_decision),
        "confirm": msg.ConfirmManualAction(actor=person),
        "approve": msg.ApproveReply(actor=person),
        "send-back": msg.SendBackReply(actor=person, comment="probe"),
        "watch": msg.Watch(actor=person, reason="probe"),
        "close": msg.CloseCase(actor=person, reason="probe"),
    }


def probed_decisions(state: msg.MessageState, person: str) -> set[str]:
    """web/message_pages.py `allowed_decisions` before issue 11."""
    allowed = set()
    for name, command in _probes(person, state).items():
        try:
            msg.decide(state, command, now=AFTER_EASTER)
        except DomainError as error:
            if error.code != "RuleViolation" or error.key in _NO_INPUT_HELPS:
                continue
        allowed.add(name)
    return allowed


def acknowledge_ahead(state: msg.MessageState, person: str) -> bool:
    """The intended difference: an acknowledgement offered by the probe only
    because "already acknowledged" was checked before "only the admins"."""
    return (state.fidelity_rules and state.citizen_stage is msg.Stage.ACKNOWLEDGED
            and state.stage in (msg.Stage.OPEN, msg.Stage.FORWARDED, msg.Stage.DRAFTED)
            and (state.authorities is None or person not in state.authorities.admins))


# --------------------------------------------------------------------------- the states


def _crisis_case(mode: CrisisMode, stage: msg.Stage = msg.Stage.OPEN) -> Case:
    case = case_at(stage)
    case.do(msg.ApplyCrisis(actor=SYSTEM, crisis=mode))
    return case


def _communications_publish(through: bool = False) -> CrisisMode:
    """R-47: the communications unit publishes in the crisis."""
    base = crisis_through_management()
    if not through:
        base = base.model_copy(update={"through_crisis_management": False,
                                       "crisis_management": frozenset()})
    return base.model_copy(update={"communications_publish": True,
                                   "communications": frozenset(COMMS)})


def _walked() -> Iterator[tuple[str, Case]]:
    """Cases walked through `decide`: every stage, and what waits for approval."""
    for stage in msg.Stage:
        yield stage.value, case_at(stage)
    ack_then_forwarded = case_at(msg.Stage.ACKNOWLEDGED)
    ack_then_forwarded.do(forward())
    yield "acknowledged, then forwarded (R-24)", ack_then_forwarded
    by_hand = case_at(msg.Stage.OPEN)
    by_hand.do(msg.RequestManualAction(actor=SYSTEM, action="reply", instruction="Posta svaret"))
    yield "a platform action awaited by hand", by_hand
    answered_by_hand = case_at(msg.Stage.ANSWERED)
    answered_by_hand.do(msg.RequestManualAction(actor=SYSTEM, action="reply",
                                                instruction="Posta svaret"))
    yield "answered, its action awaited by hand", answered_by_hand
    registered = case_at(msg.Stage.ANSWERED)
    registered.do(msg.Register(actor=REGISTRAR, diarium_number="KS 2026/311",
                               record_class="3.1.2"))
    yield "answered and registered (R-50)", registered
    open_registered = case_at(msg.Stage.OPEN)
    open_registered.do(msg.Register(actor=ADMIN, diarium_number="KS 2026/312",
                                    record_class="3.1.2"))
    yield "open, registered", open_registered

    # crisis management approves what an admin does.
    for stage in (msg.Stage.OPEN, msg.Stage.FORWARDED, msg.Stage.DRAFTED):
        yield f"{stage.value} in a crisis through crisis management", _crisis_case(
            crisis_through_management(), stage)
    held_answer = _crisis_case(crisis_through_management())
    held_answer.do(respond())
    yield "answer held for crisis management (R-39)", held_answer
    lifted = _crisis_case(crisis_through_management())
    lifted.do(respond())
    lifted.do(msg.ApplyCrisis(actor=SYSTEM, crisis=None))
    yield "answer held, the crisis over (R-39)", lifted
    for label, command in (("removal", redact()), ("forward", forward()),
                           ("hide", msg.Hide(actor=ADMIN, reason="Hot", preserved_copy=True)),
                           ("acknowledgement", acknowledge())):
        held = _crisis_case(crisis_through_management())
        held.do(command)
        yield f"{label} held for crisis management (R-39)", held
    # the communications unit publishes.
    for through in (False, True):
        comms = _crisis_case(_communications_publish(through))
        comms.do(respond())
        if through:
            comms.do(msg.ApproveReply(actor=KRISLEDNING))
        yield f"answer held for the communications unit (R-47, through={through})", comms
    comms_over = _crisis_case(_communications_publish())
    comms_over.do(respond())
    comms_over.do(msg.ApplyCrisis(actor=SYSTEM, crisis=None))
    yield "answer held for the communications unit, the crisis over (R-47)", comms_over
    # a confidential text waits for the manager, deputy or communications unit.
    confidential = case_at(msg.Stage.OPEN)
    confidential.do(respond(text=CONFIDENTIAL_REPLY))
    yield "answer held for confidential text (R-44)", confidential
    manager_writes = case_at(msg.Stage.OPEN, authorities=msg.MessageAuthorities(
        admins=frozenset({*ADMINS, MANAGER}), manager=MANAGER, deputy=DEPUTY,
        communications=frozenset(COMMS), registrars=frozenset({REGISTRAR})))
    manager_writes.do(respond(actor=MANAGER, text=CONFIDENTIAL_REPLY))
    yield "the manager's own confidential answer held (R-44, R-53)", manager_writes
    in_crisis = _crisis_case(crisis_through_management())
    in_crisis.do(respond(text=CONFIDENTIAL_REPLY))
    yield "confidential answer held in a crisis (R-44, R-39)", in_crisis


def _variants(state: msg.MessageState) -> Iterator[tuple[str, msg.MessageState]]:
    """The state as walked, and as it would be under other rules and settings."""
    yield "as walked", state
    yield "old rules", state.model_copy(update={"fidelity_rules": False})
    yield "before the crisis covered all", state.model_copy(update={"crisis_covers_all": False})
    yield "before the records chase", state.model_copy(update={"records_chase": False})
    policy = state.policy
    yield "watching allowed (R-46)", state.model_copy(
        update={"policy": policy.model_copy(update={"watched_allowed": True})})
    yield "watching allowed, flagged (R-46, R-31)", state.model_copy(update={
        "policy": policy.model_copy(update={"watched_allowed": True}),
        "flags": screen(PERSONNUMMER).flags})
    yield "no disposal decisions (R-33)", state.model_copy(
        update={"policy": policy.model_copy(update={"disposal_decisions": []})})
    for rule in msg.SignatureRule:
        yield f"signature {rule.value} (R-26)", state.model_copy(
            update={"policy": policy.model_copy(update={"signature": rule})})


@pytest.fixture(scope="module")
def states() -> list[tuple[str, msg.MessageState]]:
    found = []
    for walked, case in _walked():
        for label, state in _variants(case.current):
            found.append((f"{walked}, {label}", state))
    return found


# --------------------------------------------------------------------------- the proofs


def test_r22_r24_r28_r33_r39_r44_r46_r47_r50_available_decisions_agree_with_decide(
        states: list[tuple[str, msg.MessageState]]) -> None:
    """Issue 11: a decision form is offered iff `decide` on a real command of
    its kind does not refuse the person for who they are or the stage (nor
    for something no input changes, R-46), but for ACKNOWLEDGE_AHEAD."""
    offered_somewhere: set[str] = set()
    refused_somewhere: set[str] = set()
    ahead = 0
    for label, state in states:
        for person in PEOPLE:
            offered = msg.available_decisions(state, person, AFTER_EASTER)
            probed = probed_decisions(state, person)
            if acknowledge_ahead(state, person):
                ahead += 1
                assert probed - offered == {"acknowledge"}, (label, person)
                probed.discard("acknowledge")
            assert offered == probed, (label, person)
            offered_somewhere |= offered
            refused_somewhere |= set(DECISIONS) - offered
    # The table reaches every form, offered and refused, so no predicate is
    # left unproved; and the named difference does occur in it.
    assert offered_somewhere == set(DECISIONS)
    assert refused_somewhere == set(DECISIONS)
    assert ahead > 0


def test_r24_an_acknowledged_forwarded_case_offers_the_acknowledgement_only_to_admins() -> None:
    """R-23, R-24 (ACKNOWLEDGE_AHEAD): the acknowledgement is the admins'
    (a non-admin is refused for who they are on a case not yet acknowledged),
    so once the case is acknowledged and forwarded, no one else is offered
    one; an admin still is, and the rule says it was done."""
    fresh = case_at(msg.Stage.FORWARDED)
    with pytest.raises(msg.NotAuthorised):
        fresh.decide(acknowledge(actor=OFFICER))
    case = case_at(msg.Stage.ACKNOWLEDGED)
    case.do(forward())
    for person in (OFFICER, MANAGER, COMMS[0], REGISTRAR):
        assert "acknowledge" not in msg.available_decisions(case.current, person, AFTER_EASTER)
    assert "acknowledge" in msg.available_decisions(case.current, ADMIN, AFTER_EASTER)
    with pytest.raises(msg.RuleViolation) as refused:
        case.decide(acknowledge())
    assert refused.value.key == "acknowledge.already"


def test_r39_r44_r47_held_text_is_offered_to_its_approvers_only() -> None:
    """R-39, R-44, R-47: what waits for approval is offered to approve or
    send back only to its approvers (crisis management; the communications
    unit; for confidential text the manager, deputy or communications unit,
    never its writer); the writer may not, and the case's other forms are
    those of a live case."""
    crisis = _crisis_case(crisis_through_management())
    crisis.do(respond())
    assert {"approve", "send-back"} <= msg.available_decisions(
        crisis.current, KRISLEDNING, AFTER_EASTER)
    for person in (ADMIN, MANAGER, COMMS[0]):
        assert "approve" not in msg.available_decisions(crisis.current, person, AFTER_EASTER)
    confidential = case_at(msg.Stage.OPEN)
    confidential.do(respond(text=CONFIDENTIAL_REPLY))
    for person in (MANAGER, DEPUTY, *COMMS):
        assert "approve" in msg.available_decisions(confidential.current, person, AFTER_EASTER)
    for person in (ADMIN, KRISLEDNING, STRANGER):
        assert "approve" not in msg.available_decisions(
            confidential.current, person, AFTER_EASTER)


def test_r50_an_answered_case_owed_to_the_records_offers_register_dispose_close() -> None:
    """R-50 (and R-22): an answered case not yet registered or disposed of
    offers the admins registering and disposal, a registrar registering, the
    manager and the communications unit closing with a reason; once it is
    registered, none of them."""
    case = case_at(msg.Stage.ANSWERED)
    assert msg.available_decisions(case.current, ADMIN, AFTER_EASTER) == {"register", "dispose"}
    assert msg.available_decisions(case.current, REGISTRAR, AFTER_EASTER) == {"register"}
    assert msg.available_decisions(case.current, MANAGER, AFTER_EASTER) == {"close"}
    case.do(msg.Register(actor=REGISTRAR, diarium_number="KS 2026/311", record_class="3.1.2"))
    for person in PEOPLE:
        assert msg.available_decisions(case.current, person, AFTER_EASTER) == frozenset()
