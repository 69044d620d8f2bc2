"""Issue 11: the forms a person is offered (domain.account.available_actions,
available_monitoring_actions) agree with `decide`.

The oracle is what the account page did before: it ran `decide` on a real
command of each kind ("probe" commands) and offered the form unless the
person was refused for who they are or for the stage (NotAuthorised,
WrongStage). Every stage, every person of the unit and a stranger, old and
new rules, a manager's own request (R-53), a new page that only informs
(R-48), crisis modes (R-39, R-47), open watch items and closure proposals."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, date, datetime, timedelta

import pytest

from domain import account as acc
from domain.crisis_mode import CrisisMode, CrisisStatus
from domain.message_policy import MessagePolicy
from tests.domain.conftest import (
    ADMIN_2,
    COMMS,
    DEPUTY,
    MANAGER,
    REGISTRAR,
    REQUESTER,
    STRANGER,
    T0,
    Journey,
)

PUBLISHER = "pia.publ"
NEXT_LEVEL = "nils.overst"
CRISIS_LEAD = "kim.kris"
PEOPLE = (MANAGER, DEPUTY, COMMS[0], REGISTRAR, REQUESTER, ADMIN_2, STRANGER, PUBLISHER,
          NEXT_LEVEL, CRISIS_LEAD)
STAGES = (acc.Stage.AWAITING_MANAGER, acc.Stage.RISK_ASSESSMENT, acc.Stage.AWAITING_SIGNOFF,
          acc.Stage.AMENDING, acc.Stage.AWAITING_ACTIVATION, acc.Stage.ACTIVE,
          acc.Stage.CLOSING, acc.Stage.CLOSED, acc.Stage.REJECTED, acc.Stage.LAPSED)


def _permits(state: acc.AccountState, command: acc.Command, now: datetime) -> bool:
    try:
        acc.decide(state, command, now=now)
    except (acc.NotAuthorised, acc.WrongStage):
        return False
    except acc.DomainError:
        return True
    return True


def probed_actions(state: acc.AccountState, person: str, now: datetime) -> set[str]:
    """The account page's former rule (web/account_pages.py before issue 11)."""
    admins = list(state.admins)
    probes: dict[str, acc.Command] = {
        "approve": acc.ApproveRequest(actor=person),
        "reject": acc.RejectRequest(actor=person, reason="probe"),
        "risk": acc.RecordRiskAssessment(actor=person, kind=acc.RiskAssessmentKind.ROS,
                                         document_ref="probe", completed_on=date(2000, 1, 1),
                                         completed_by=person),
        "sign_off": acc.SignOff(actor=person, decision=acc.SignOffDecision.SEND_BACK,
                                comment="probe"),
        "amend": acc.AmendRequest(actor=person, request=state.request),
        "activate": acc.ActivateAccount(
            actor=person, handle="probe", url="https://probe.invalid",
            admins=[acc.Admin(person="probe.a", two_factor=True),
                    acc.Admin(person="probe.b", two_factor=True)]),
        "add_admin": acc.AddAdmin(actor=person, person="probe.person"),
        "remove_admin": acc.RemoveAdmin(actor=person, person=admins[0] if admins else "probe"),
        "message_settings": acc.ChangeMessageSettings(
            actor=person, policy=state.message_policy or MessagePolicy()),
        "closure": acc.RequestClosure(actor=person, reason="probe"),
        "profile_change": acc.RecordProfileChange(actor=person, picture_changed=True),
        "appoint_publisher": acc.AppointPublisher(actor=person, person="probe.person"),
        "remove_publisher": acc.RemovePublisher(
            actor=person, person=state.publishers[0] if state.publishers else "probe.person"),
    }
    allowed = {name for name, command in probes.items() if _permits(state, command, now)}
    if probed_two_factor(state, person, now):
        allowed.add("two_factor")
    return allowed


def probed_two_factor(state: acc.AccountState, person: str, now: datetime) -> list[str]:
    return [admin.person for admin in state.admins.values() if not admin.two_factor
            and _permits(state, acc.ConfirmTwoFactor(actor=person, person=admin.person), now)]


def probed_monitoring(state: acc.AccountState, person: str, now: datetime, *,
                      in_unit: bool) -> set[str]:
    open_items = state.monitoring.open_watch_items
    probes: dict[str, acc.Command] = {
        "check_in": acc.RecordCheckIn(actor=person),
        "post": acc.RecordPost(actor=person, post_id="probe", published_at=now),
        "keep": acc.KeepAccount(actor=person, reason="probe"),
        "watch": acc.ReportWatchItem(actor=person, summary="probe", seen_at=now,
                                     in_unit=in_unit),
        "resolve": acc.ResolveWatchItem(
            actor=person, item_id=open_items[0].item_id if open_items else "W-1",
            note="probe"),
    }
    allowed = {name for name, command in probes.items() if _permits(state, command, now)}
    if state.monitoring.closure_proposed_at is None:
        allowed.discard("keep")
    if not open_items:
        allowed.discard("resolve")
    return allowed


def _crisis(state: acc.AccountState, **rules: object) -> acc.AccountState:
    mode = CrisisMode(crisis_id="c-1", municipality_id=state.municipality_id,
                      declared_at=datetime(2026, 3, 30, tzinfo=UTC),
                      answer_within=timedelta(hours=2), checkin_every=timedelta(hours=1),
                      notice="Se kommunens webbplats", crisis_management=frozenset({CRISIS_LEAD}),
                      communications=frozenset({PUBLISHER}), **rules)  # type: ignore[arg-type]
    return state.model_copy(update={"crisis": CrisisStatus(mode=mode)})


def _variants(journey: Journey) -> Iterator[tuple[str, acc.AccountState]]:
    """The state as walked, and as it would be under other settings."""
    state = journey.current
    a = state.authorities
    yield "as walked", state
    yield "old rules", state.model_copy(update={"legacy_rules": True})
    yield "new page informs (R-48)", state.model_copy(
        update={"policy": state.policy.model_copy(update={"new_page": "inform"})})
    yield "manager's own request (R-53)", state.model_copy(update={
        "requester": MANAGER, "authorities": a.model_copy(update={"next_level": NEXT_LEVEL})})
    yield "deputy's own request (R-53)", state.model_copy(update={"requester": DEPUTY})
    if state.stage is acc.Stage.ACTIVE:
        with_people = state.model_copy(update={
            "admins": {**state.admins, STRANGER: acc.Admin(person=STRANGER, two_factor=False)},
            "publishers": [PUBLISHER]})
        yield "an admin without 2FA, a publisher", with_people
        yield "closure proposed (R-19)", state.model_copy(update={
            "monitoring": state.monitoring.model_copy(
                update={"closure_proposed_at": journey.now})})
        for rules in ({}, {"communications_publish": True},
                      {"through_crisis_management": True},
                      {"communications_publish": True, "through_crisis_management": True}):
            yield f"crisis {sorted(rules)}", _crisis(with_people, **rules)
            yield f"crisis {sorted(rules)}, old rules", _crisis(
                with_people.model_copy(update={"legacy_rules": True}), **rules)
        watched = Journey(now=journey.now, state=state)
        watched.do(acc.ReportWatchItem(actor=ADMIN_2, summary="Felaktiga öppettider",
                                       seen_at=journey.now))
        yield "a watch item open (R-20)", watched.current


@pytest.fixture
def states(walk: Callable[..., Journey]) -> list[tuple[str, acc.AccountState, datetime]]:
    found = []
    for stage in STAGES:
        journey = walk(stage)
        for label, state in _variants(journey):
            found.append((f"{stage.value}, {label}", state, journey.now))
    return found


def test_r01_r03_r12_r13_r19_r37_r52_r53_available_actions_agree_with_decide(
        states: list[tuple[str, acc.AccountState, datetime]]) -> None:
    """Issue 11: a lifecycle form is offered iff `decide` on a real command of
    its kind does not refuse the person for who they are or the stage."""
    offered_somewhere: set[str] = set()
    for label, state, now in states:
        for person in PEOPLE:
            offered = acc.available_actions(state, person, now)
            assert offered == probed_actions(state, person, now), (label, person)
            assert acc.two_factor_confirmable(state, person) == probed_two_factor(
                state, person, now), (label, person)
            offered_somewhere |= offered
    # The table reaches every form, so no predicate is left unproved.
    assert offered_somewhere == set(acc.actions.ACTIONS)


def test_r15_r18_r19_r20_r39_r47_monitoring_actions_agree_with_decide(
        states: list[tuple[str, acc.AccountState, datetime]]) -> None:
    """Issue 11: a monitoring form is offered iff `decide` would let the person
    use it (keeping only while a closure is proposed, resolving only while a
    watch item is open)."""
    offered_somewhere: set[str] = set()
    refused_somewhere: set[str] = set()
    for label, state, now in states:
        for person in PEOPLE:
            for in_unit in (False, True):
                offered = acc.available_monitoring_actions(state, person, now, in_unit=in_unit)
                assert offered == probed_monitoring(state, person, now, in_unit=in_unit), (
                    label, person, in_unit)
                offered_somewhere |= offered
                if state.stage is acc.Stage.ACTIVE:
                    refused_somewhere |= set(acc.actions.MONITORING_ACTIONS) - offered
    assert offered_somewhere == set(acc.actions.MONITORING_ACTIONS)
    assert refused_somewhere == set(acc.actions.MONITORING_ACTIONS)


def test_r53_no_one_is_offered_to_approve_their_own_request(
        walk: Callable[..., Journey]) -> None:
    """R-53: the requester, even as manager, is not offered the approval."""
    state = walk(acc.Stage.AWAITING_MANAGER).current
    own = state.model_copy(update={"requester": MANAGER})
    assert "approve" not in acc.available_actions(own, MANAGER, T0)
    assert "approve" in acc.available_actions(state, MANAGER, T0)


STEP_ACTIONS = {acc.Stage.AWAITING_MANAGER: "approve", acc.Stage.RISK_ASSESSMENT: "risk",
                acc.Stage.AWAITING_SIGNOFF: "sign_off", acc.Stage.AMENDING: "amend",
                acc.Stage.AWAITING_ACTIVATION: "activate"}


def test_r01_r03_r04_r07_r53_who_acts_next_is_who_decide_lets_take_the_step(
        states: list[tuple[str, acc.AccountState, datetime]]) -> None:
    """Issue 14: the account page's "next step" names exactly the people
    `decide` lets take the step the account waits for: approval (R-01), the
    risk assessments (R-04), sign-off (R-03), activation (R-07), never the
    requester on their own request (R-53); nobody once no step waits."""
    named_somewhere = False
    for label, state, now in states:
        step = STEP_ACTIONS.get(state.stage)
        named = acc.who_acts_next(state)
        assert len(named) == len(set(named)), label
        expected = {p for p in PEOPLE if step and step in probed_actions(state, p, now)}
        assert set(named) & set(PEOPLE) == expected, (label, named, expected)
        if step is None:
            assert named == [], label
        else:
            named_somewhere = True
            assert all(step in probed_actions(state, p, now) for p in named), (label, named)
    assert named_somewhere
