"""Fixtures for the account lifecycle: the unit's authorities, a valid request,
and a `Journey` that walks an account to any stage through `decide`/`evolve`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import pytest

from domain.account import (
    AccountEvent,
    AccountRequest,
    AccountState,
    ActivateAccount,
    Admin,
    ApproveRequest,
    ArchivePackageRef,
    Command,
    FireDueDeadlines,
    LifecyclePolicy,
    RecordFinalSnapshot,
    RecordRiskAssessment,
    RejectRequest,
    RequestAccount,
    RequestClosure,
    RiskAssessmentKind,
    SignOff,
    SignOffChecklist,
    SignOffDecision,
    Stage,
    decide,
    evolve,
)
from domain.directory import Authorities, Country
from tests import support

# Monday 30 March 2026, 11:00 in Stockholm: the week before Easter.
T0 = datetime(2026, 3, 30, 9, 0, tzinfo=UTC)

MUNICIPALITY = "norrkoping"
UNIT = "kultur"
MANAGER = "anna.chef"
DEPUTY = "bo.vice"
COMMS = ("cecilia.komm", "david.komm")
REGISTRAR = "erik.arkiv"
REQUESTER = "frida.handl"
ADMIN_2 = "gustav.adm"
STRANGER = "harald.annan"
SYSTEM = "kanalvakt"


@pytest.fixture
def authorities() -> Authorities:
    return Authorities(
        municipality_id=MUNICIPALITY,
        unit_id=UNIT,
        manager=MANAGER,
        deputy=DEPUTY,
        communications=frozenset(COMMS),
        registrars=frozenset({REGISTRAR}),
    )


@pytest.fixture
def request_fields() -> dict[str, Any]:
    """Every field the intranet form asks for (R-02), filled in."""
    return {
        "unit_id": UNIT,
        "platform": "facebook",
        "account_name": "Kulturhuset Ängen",
        "purpose": "Tell residents what is on at the culture house",
        "target_audience": "Residents of all ages, visitors",
        "goals": "More visitors to events; questions answered the same day",
        "message": "Culture is for everyone in Norrköping",
        "dialogue_wanted": True,
        "resources": "Two programme producers, 4 hours a week each",
        "hours_per_week": 8,
        "channel_rationale": "Our audience is on Facebook; events are shared there",
        "proposed_admins": [REQUESTER, ADMIN_2],
        "contact_email": "kulturhuset@norrkoping.se",
        "routines": support.ALL_ROUTINES,
    }


@pytest.fixture
def account_request(request_fields: dict[str, Any]) -> AccountRequest:
    return AccountRequest(**request_fields)


@pytest.fixture
def request_command(
    authorities: Authorities, account_request: AccountRequest
) -> Callable[..., RequestAccount]:
    """A `RequestAccount` by the requester; keyword arguments override fields."""

    def make(**overrides: Any) -> RequestAccount:
        fields: dict[str, Any] = {
            "actor": REQUESTER,
            "account_id": "acc-1",
            "municipality_id": MUNICIPALITY,
            "country": Country.SE,
            "timezone": "Europe/Stockholm",
            "request": account_request,
            "authorities": authorities,
            "policy": LifecyclePolicy(),
        }
        return RequestAccount(**(fields | overrides))

    return make


def full_checklist(**overrides: Any) -> SignOffChecklist:
    """A checklist with every item done (R-05, R-06, R-08..R-11), the terms
    accepted by this file's manager."""
    done = support.full_checklist() | {"terms_read_and_accepted_by": MANAGER}
    return SignOffChecklist(**(done | overrides))


def package() -> ArchivePackageRef:
    return ArchivePackageRef(
        package_id="pkg-1",
        path="archive/norrkoping/kulturhuset-angen-facebook/final",
        manifest_sha256="0" * 64,
        payload_oxum="1024.3",
    )


@dataclass
class Journey:
    """An account's history: `do` decides a command at `now`, folds the events
    into `state` and keeps them in `events`."""

    now: datetime = T0
    state: AccountState | None = None
    events: list[AccountEvent] = field(default_factory=list)

    @property
    def current(self) -> AccountState:
        assert self.state is not None
        return self.state

    def decide(self, command: Command, *, at: datetime | None = None) -> list[AccountEvent]:
        """The events without applying them."""
        return decide(self.state, command, now=at or self.now)

    def do(self, command: Command, *, at: datetime | None = None) -> list[AccountEvent]:
        if at is not None:
            self.now = at
        new = decide(self.state, command, now=self.now)
        for event in new:
            self.state = evolve(self.state, event)
        self.events.extend(new)
        return new

    def later(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


# The happy path, one command per stage it leaves.
HAPPY_PATH: dict[Stage, Callable[[], list[Command]]] = {
    Stage.AWAITING_MANAGER: lambda: [ApproveRequest(actor=MANAGER, admins_equipped=True)],
    Stage.RISK_ASSESSMENT: lambda: [
        RecordRiskAssessment(
            actor=REQUESTER,
            kind=kind,
            document_ref=f"KS 2026/{n}",
            completed_on=date(2026, 3, 27),
            completed_by=REQUESTER,
        )
        for n, kind in enumerate(RiskAssessmentKind, start=17)
    ],
    Stage.AWAITING_SIGNOFF: lambda: [
        SignOff(actor=COMMS[0], decision=SignOffDecision.APPROVE, checklist=full_checklist())
    ],
    Stage.AWAITING_ACTIVATION: lambda: [
        ActivateAccount(
            actor=COMMS[0],
            handle="kulturhusetangen",
            url="https://www.facebook.com/kulturhusetangen",
            admins=[
                Admin(person=REQUESTER, two_factor=True),
                Admin(person=ADMIN_2, two_factor=True),
            ],
        )
    ],
    Stage.ACTIVE: lambda: [RequestClosure(actor=MANAGER, reason="No longer needed")],
    Stage.CLOSING: lambda: [RecordFinalSnapshot(actor=SYSTEM, package=package())],
}

# Stages off the happy path: (the stage to branch from, the command that leads there).
BRANCHES: dict[Stage, tuple[Stage, Callable[[], Command]]] = {
    Stage.AMENDING: (
        Stage.AWAITING_SIGNOFF,
        lambda: SignOff(
            actor=COMMS[0],
            decision=SignOffDecision.SEND_BACK,
            checklist=full_checklist(profile_names_municipality=False),
            comment="Put the municipality's name in the profile (R-08)",
        ),
    ),
    Stage.REJECTED: (
        Stage.AWAITING_MANAGER,
        lambda: RejectRequest(actor=MANAGER, reason="Use the main account"),
    ),
    Stage.LAPSED: (Stage.AWAITING_MANAGER, lambda: FireDueDeadlines(actor=SYSTEM)),
}


@pytest.fixture
def walk(request_command: Callable[..., RequestAccount]) -> Callable[..., Journey]:
    """`walk(stage)` is a Journey whose account has just reached `stage`;
    `start=` replaces the RequestAccount command (another policy or country)."""

    def to(stage: Stage, *, start: RequestAccount | None = None) -> Journey:
        if stage in BRANCHES:
            base, step = BRANCHES[stage]
            journey = to(base, start=start)
            at = journey.now + timedelta(days=400) if stage is Stage.LAPSED else None
            journey.do(step(), at=at)
        else:
            journey = Journey()
            journey.do(start or request_command())
            while journey.current.stage is not stage:
                assert journey.current.stage in HAPPY_PATH, f"cannot walk to {stage}"
                for command in HAPPY_PATH[journey.current.stage]():
                    journey.do(command)
        assert journey.current.stage is stage
        return journey

    return to
