"""Issue 9, property-based (hypothesis): no order of decisions on an
account, by allowed and refused people, with any text (NUL, lone
surrogates, RTL and zero-width characters, 100 KB), wedges its lifecycle.

For every sequence: `decide` raises nothing but the domain's refusal
(DomainError) or, at the door, the command's validation error; every event
can be put on the record (no NUL, valid UTF-8, bounded); and from every
state reached the account can still be ended by an allowed sequence:
rejected before activation (R-01, R-03), closed with a final snapshot after
(R-19). R-12/R-13: admins added and removed on the way.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import event as tally
from hypothesis import strategies as st
from pydantic import ValidationError

from domain.account import (
    AccountEvent,
    AccountRequest,
    AccountState,
    ActivateAccount,
    AddAdmin,
    Admin,
    AmendRequest,
    ApproveRequest,
    Command,
    ConfirmTwoFactor,
    DomainError,
    FireDueDeadlines,
    KeepAccount,
    LifecyclePolicy,
    RecordCheckIn,
    RecordFinalSnapshot,
    RecordPost,
    RecordProfileChange,
    RecordRiskAssessment,
    RejectRequest,
    RemoveAdmin,
    ReportWatchItem,
    RequestAccount,
    RequestClosure,
    ResolveWatchItem,
    RiskAssessmentKind,
    SignOff,
    SignOffChecklist,
    SignOffDecision,
    Stage,
    decide,
    evolve,
)
from domain.directory import Authorities, Country
from domain.records import StoredEvent
from tests import support
from tests.domain.conftest import (
    ADMIN_2,
    COMMS,
    DEPUTY,
    MANAGER,
    MUNICIPALITY,
    REGISTRAR,
    REQUESTER,
    STRANGER,
    SYSTEM,
    T0,
    UNIT,
    package,
)
from tests.domain.test_message_properties import MAX_EVENT_BYTES, TEXTS

NEW_ADMIN = "ida.adm"
PEOPLE = [MANAGER, DEPUTY, COMMS[0], REGISTRAR, REQUESTER, ADMIN_2, NEW_ADMIN, STRANGER, SYSTEM]
ACTORS = st.sampled_from([MANAGER, COMMS[0], REQUESTER, SYSTEM, *PEOPLE])
ACTIONS = ["approve", "reject", "assess", "sign_off", "amend", "activate", "add_admin",
           "remove_admin", "two_factor", "close", "keep", "watch", "resolve", "check_in",
           "post", "profile", "fire_due"]


def account_request(text: str = "") -> AccountRequest:
    fields = {
        "unit_id": UNIT, "platform": "facebook", "account_name": "Kulturhuset Ängen",
        "purpose": "Tell residents what is on" + text[:100], "target_audience": "Residents",
        "goals": "More visitors", "message": "Culture is for everyone",
        "dialogue_wanted": True, "resources": "Two producers", "hours_per_week": 8,
        "channel_rationale": "Our audience is on Facebook",
        "proposed_admins": [REQUESTER, ADMIN_2], "contact_email": "kultur@norrkoping.se",
        "routines": support.ALL_ROUTINES,
    }
    return AccountRequest(**fields)


def start() -> RequestAccount:
    return RequestAccount(
        actor=REQUESTER, account_id="acc-1", municipality_id=MUNICIPALITY, country=Country.SE,
        timezone="Europe/Stockholm", request=account_request(),
        authorities=Authorities(municipality_id=MUNICIPALITY, unit_id=UNIT, manager=MANAGER,
                                deputy=DEPUTY, communications=frozenset(COMMS),
                                registrars=frozenset({REGISTRAR})),
        policy=LifecyclePolicy())


def build(action: str, actor: str, text: str, n: int) -> Command:  # noqa: PLR0911
    """The command for `action`; it may be refused at the door (ValidationError)."""
    match action:
        case "approve":
            return ApproveRequest(actor=actor, comment=text[:4000] or None,
                                  admins_equipped=True)
        case "reject":
            return RejectRequest(actor=actor, reason=text)
        case "assess":
            return RecordRiskAssessment(
                actor=actor, kind=list(RiskAssessmentKind)[n % 2], document_ref=text[:200] or "x",
                completed_on=date(2026, 3, 27), completed_by=REQUESTER)
        case "sign_off":
            decision = list(SignOffDecision)[n % 3]
            checklist = SignOffChecklist(**(support.full_checklist()
                                            | {"terms_read_and_accepted_by": MANAGER}))
            return SignOff(actor=actor, decision=decision, checklist=checklist,
                           comment=text[:4000] or None)
        case "amend":
            return AmendRequest(actor=actor, request=account_request(text),
                                comment=text[:4000] or None)
        case "activate":
            return ActivateAccount(
                actor=actor, handle=text[:200] or "kultur",
                url="https://www.facebook.com/kultur",
                admins=[Admin(person=REQUESTER, two_factor=True),
                        Admin(person=ADMIN_2, two_factor=n % 2 == 0)])
        case "add_admin":
            return AddAdmin(actor=actor, person=NEW_ADMIN, two_factor=n % 2 == 0)
        case "remove_admin":
            return RemoveAdmin(actor=actor, person=[NEW_ADMIN, ADMIN_2][n % 2],
                               reason=text[:4000] or None)
        case "two_factor":
            return ConfirmTwoFactor(actor=actor, person=[NEW_ADMIN, ADMIN_2][n % 2])
        case "close":
            return RequestClosure(actor=actor, reason=text)
        case "keep":
            return KeepAccount(actor=actor, reason=text)
        case "watch":
            return ReportWatchItem(actor=actor, summary=text[:2000], seen_at=T0,
                                   in_unit=n % 2 == 0)
        case "resolve":
            return ResolveWatchItem(actor=actor, item_id=f"W-{n % 3 + 1}", note=text)
        case "check_in":
            return RecordCheckIn(actor=actor, case_id=text[:300] or None)
        case "post":
            return RecordPost(actor=actor, post_id=f"p-{n}", published_at=T0)
        case "profile":
            return RecordProfileChange(actor=actor, about=text[:4000] or None,
                                       note=text[:4000] or None, picture_changed=True)
        case _:
            return FireDueDeadlines(actor=SYSTEM, skip_superseded=True)


def recordable(event: AccountEvent) -> None:
    data = StoredEvent.of("id", event).data
    dumped = json.dumps(data, ensure_ascii=False)
    assert "\\u0000" not in dumped, event.type
    assert len(dumped.encode("utf-8")) < MAX_EVENT_BYTES, event.type


@dataclass
class Lifecycle:
    state: AccountState
    now: object = T0
    recorded: list[str] = field(default_factory=list)

    def attempt(self, make: Callable[[], Command]) -> bool:
        try:
            command = make()
        except ValidationError:
            return False
        try:
            events = decide(self.state, command, now=self.now)  # type: ignore[arg-type]
        except DomainError:
            return False
        for event in events:
            recordable(event)
            self.state = evolve(self.state, event)
            self.recorded.append(event.type)
        return True

    def finish(self) -> None:
        """An allowed way to the end: rejected before activation (R-01,
        R-03), closed with its final snapshot after (R-19)."""
        for _ in range(4):
            stage = self.state.stage
            if stage.terminal:
                return
            if stage is Stage.ACTIVE:
                assert self.attempt(lambda: RequestClosure(actor=MANAGER, reason="Slut.")), stage
            elif stage is Stage.CLOSING:
                assert self.attempt(lambda: RecordFinalSnapshot(actor=SYSTEM, package=package()))
            else:
                assert self.attempt(lambda: RejectRequest(actor=MANAGER, reason="Nej.")), stage
        raise AssertionError(f"not finished: {self.state.stage} {self.recorded}")


# Mostly the happy path's commands by their people, so sequences get far.
HAPPY = [("approve", MANAGER, 0), ("assess", REQUESTER, 0), ("assess", REQUESTER, 1),
         ("sign_off", COMMS[0], 0), ("activate", COMMS[0], 0)]
STEPS = st.lists(st.tuples(st.sampled_from(ACTIONS), ACTORS, TEXTS,
                           st.integers(0, 11), st.integers(0, 20 * 24 * 60)), max_size=14)


@settings(max_examples=300, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(steps=STEPS, happy=st.one_of(st.just(len(HAPPY)), st.integers(0, len(HAPPY))))
def test_issue9_r01_r19_no_order_of_account_decisions_wedges_an_account(
        steps: list[tuple[str, str, str, int, int]], happy: int) -> None:
    events = decide(None, start(), now=T0)
    state = evolve(None, events[0])
    for event in events[1:]:
        state = evolve(state, event)
    life = Lifecycle(state=state)
    for action, actor, n in HAPPY[:happy]:
        assert life.attempt(lambda a=action, p=actor, k=n: build(a, p, "Ok", k)), action
    for action, actor, text, n, minutes in steps:
        life.now = life.now + timedelta(minutes=minutes)  # type: ignore[operator]
        life.attempt(lambda a=action, p=actor, t=text, k=n: build(a, p, t, k))
        probe = Lifecycle(state=life.state, now=life.now)
        probe.finish()
    tally(f"reached {life.state.stage.value}")
    life.finish()
    assert life.state.stage.terminal
