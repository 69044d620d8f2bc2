"""Issue 11: who may read what (domain.readers), one rule per read model,
given the person's relations as the directory has them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import time

import pytest

from domain import readers
from domain.account import AccountState, Stage, answering_policy
from domain.message_policy import MessagePolicy
from domain.snapshot import may_end_screenshot_wait
from tests.domain.conftest import (
    ADMIN_2,
    COMMS,
    DEPUTY,
    MANAGER,
    REGISTRAR,
    REQUESTER,
    STRANGER,
    Journey,
)

OFFICER = "olle.handl"
CRISIS_LEAD = "kim.kris"
EVERYONE = (MANAGER, DEPUTY, COMMS[0], REGISTRAR, REQUESTER, ADMIN_2, STRANGER, OFFICER,
            CRISIS_LEAD)


@pytest.fixture
def active(walk: Callable[..., Journey]) -> AccountState:
    state = walk(Stage.ACTIVE).current
    assert set(state.admins) == {REQUESTER, ADMIN_2}
    return state


def test_r15_r20_monitoring_is_read_by_the_admins_the_unit_and_communications(
        active: AccountState) -> None:
    readers_of = {p for p in EVERYONE
                  if readers.may_read_monitoring(active, p, works_in_unit=False)}
    assert readers_of == {REQUESTER, ADMIN_2, MANAGER, DEPUTY, COMMS[0]}
    # the unit's staff, on the directory's word.
    assert readers.may_read_monitoring(active, STRANGER, works_in_unit=True)


def test_r37_snapshots_are_taken_by_the_admins_the_managers_and_communications(
        active: AccountState) -> None:
    takers = {p for p in EVERYONE if readers.may_take_snapshots(active, p)}
    assert takers == {REQUESTER, ADMIN_2, MANAGER, DEPUTY, COMMS[0]}


def test_r37_r38_the_wait_for_screenshots_is_ended_as_the_snapshot_rule_says(
        active: AccountState) -> None:
    """The web app asks domain.snapshot's own rule (no second copy of it)."""
    people = readers.screenshot_people(active)
    for person in EVERYONE:
        assert readers.may_end_wait(active, person) == may_end_screenshot_wait(people, person)
    assert {p for p in EVERYONE if readers.may_end_wait(active, p)} == {
        REQUESTER, ADMIN_2, COMMS[0]}
    assert {p for p in EVERYONE if readers.may_package_without_screenshots(active, p)} == {
        COMMS[0]}


def _roles(person: str) -> frozenset[str]:
    return {COMMS[0]: frozenset({"communications"}), REGISTRAR: frozenset({"registrar"}),
            CRISIS_LEAD: frozenset({"crisis_management"})}.get(person, frozenset())


def test_r21_an_accounts_messages_are_read_only_by_those_who_handle_them(
        active: AccountState) -> None:
    """Personal data: the admins, the unit's manager and deputy and the
    communications unit; not the registrar, not a colleague of the town."""
    allowed = {p for p in EVERYONE if readers.may_read_messages(active, p, _roles(p))}
    assert allowed == {REQUESTER, ADMIN_2, MANAGER, DEPUTY, COMMS[0]}
    # No account (gone from the read model): only the roles.
    assert {p for p in EVERYONE if readers.may_read_messages(None, p, _roles(p))} == {COMMS[0]}


def test_r21_r24_r39_a_case_is_read_by_its_officer_its_approvers_and_the_registrars(
        active: AccountState) -> None:
    allowed = {p for p in EVERYONE if readers.may_read_case(
        active, p, _roles(p), officer=OFFICER, approvers=[CRISIS_LEAD])}
    assert allowed == {REQUESTER, ADMIN_2, MANAGER, DEPUTY, COMMS[0], REGISTRAR, OFFICER,
                       CRISIS_LEAD}
    without = {p for p in EVERYONE if readers.may_read_case(active, p, _roles(p), officer=None)}
    assert without == {REQUESTER, ADMIN_2, MANAGER, DEPUTY, COMMS[0], REGISTRAR}


def test_r28_r35_the_records_are_read_by_registrars_and_communications() -> None:
    assert {p for p in EVERYONE if readers.may_read_records(_roles(p))} == {COMMS[0], REGISTRAR}


def test_r39_r40_the_crisis_is_read_by_crisis_management_and_communications() -> None:
    assert {p for p in EVERYONE if readers.may_read_crisis(_roles(p))} == {COMMS[0], CRISIS_LEAD}
    assert {p for p in EVERYONE if readers.may_open_sealed("crisis:c-1", _roles(p))} == {
        COMMS[0], CRISIS_LEAD}
    assert {p for p in EVERYONE if readers.may_open_sealed("snapshot:x", _roles(p))} == {
        COMMS[0], REGISTRAR}


def test_r17_r23_r43_messages_are_answered_in_the_accounts_monitoring_hours(
        active: AccountState) -> None:
    """The feeder's choice (domain.account.answering_policy): the account's
    own message settings once changed, else the municipality's with the
    account's published monitoring hours as office hours."""
    hours = active.request.monitoring_hours.model_copy(
        update={"opens": time(9, 0), "closes": time(15, 0)})
    state = active.model_copy(update={
        "request": active.request.model_copy(update={"monitoring_hours": hours})})
    chosen = answering_policy(state, {"signature": "required"})
    assert (chosen.office_hours.opens, chosen.office_hours.closes) == (time(9, 0), time(15, 0))
    assert chosen.signature.value == "required"
    own = MessagePolicy()
    assert answering_policy(state.model_copy(update={"message_policy": own}),
                            {"signature": "required"}) is own


def test_r42_a_units_report_is_read_by_its_managers_and_communications() -> None:
    unit = "kultur"
    assert readers.may_read_unit_report(unit, frozenset(), frozenset({unit}))
    assert readers.may_read_unit_report(unit, frozenset({"communications"}), frozenset())
    assert not readers.may_read_unit_report(unit, frozenset({"registrar"}), frozenset({"skola"}))
