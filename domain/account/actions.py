"""Which of the account's commands a person may use now: the forms a page
offers (issue 11, the read side of the rules).

A form is offered when `decide` would not refuse the person for who they
are or for the account's stage (NotAuthorised, WrongStage); a form whose
input may still break a rule (RuleViolation) is offered, and the rule
answers the input. tests/domain/test_account_actions.py proves these agree
with `decide` on real commands of each kind.

The predicates read like the rules in domain.account.rules and
domain.account.monitoring_rules, by the same R-ids.
"""

from __future__ import annotations

from datetime import datetime

from domain.account.rules import approver_role
from domain.account.state import AccountState
from domain.account.values import Stage
from domain.core import SYSTEM, NotAuthorised

# The account's lifecycle forms, by the name the pages use.
ACTIONS = ("approve", "reject", "risk", "sign_off", "amend", "activate", "add_admin",
           "remove_admin", "two_factor", "message_settings", "closure", "profile_change",
           "appoint_publisher", "remove_publisher")
# Its monitoring forms (R-15..R-20).
MONITORING_ACTIONS = ("check_in", "post", "keep", "watch", "resolve")

_BEFORE_ACTIVATION = (Stage.AWAITING_SIGNOFF, Stage.AMENDING, Stage.RISK_ASSESSMENT,
                      Stage.AWAITING_ACTIVATION)


def may_approve(state: AccountState, person: str) -> bool:
    """R-01, R-13, R-53: the unit's manager or deputy, never on their own
    request (the manager's own goes to the next level)."""
    if state.stage is not Stage.AWAITING_MANAGER:
        return False
    if state.legacy_rules:
        return state.authorities.is_manager(person)
    try:
        approver_role(state, person)
    except NotAuthorised:
        return False
    return True


def may_reject(state: AccountState, person: str) -> bool:
    """R-01, R-03: the manager while the request awaits approval; later the
    manager or the communications unit, until the account is active."""
    a = state.authorities
    if state.stage is Stage.AWAITING_MANAGER:
        return a.is_manager(person)
    return state.stage in _BEFORE_ACTIVATION and (a.is_manager(person)
                                                  or a.is_communications(person))


def may_record_risk_assessment(state: AccountState, person: str) -> bool:
    """R-04: the requester, a proposed admin or the manager."""
    return state.stage is Stage.RISK_ASSESSMENT and (
        person in {state.requester, *state.request.proposed_admins}
        or state.authorities.is_manager(person))


def may_sign_off(state: AccountState, person: str) -> bool:
    """R-03, R-48, R-53: the communications unit, or the unit's manager where
    a new page only informs it; never on one's own request."""
    if state.stage is not Stage.AWAITING_SIGNOFF:
        return False
    a = state.authorities
    if state.legacy_rules:
        return a.is_communications(person)
    if person == state.requester:
        return False
    return a.is_communications(person) or (state.policy.new_page == "inform"
                                           and a.is_manager(person))


def may_amend(state: AccountState, person: str) -> bool:
    """R-01, R-03: the requester or the manager amends a request sent back."""
    return state.stage is Stage.AMENDING and (
        person == state.requester or state.authorities.is_manager(person))


def may_activate(state: AccountState, person: str) -> bool:
    """R-07, R-12: the communications unit activates and lists the account."""
    return (state.stage is Stage.AWAITING_ACTIVATION
            and state.authorities.is_communications(person))


def may_appoint_admins(state: AccountState, person: str) -> bool:
    """R-13: the manager appoints and removes the admins of an active account."""
    return state.stage is Stage.ACTIVE and state.authorities.is_manager(person)


def may_appoint_publishers(state: AccountState, person: str) -> bool:
    """R-52: the manager appoints and removes publishers."""
    return (state.stage in (Stage.AWAITING_ACTIVATION, Stage.ACTIVE)
            and state.authorities.is_manager(person))


def may_change_settings(state: AccountState, person: str) -> bool:
    """R-43: the manager or the communications unit changes how the account's
    messages are answered and how it is monitored."""
    a = state.authorities
    return (state.stage in (Stage.AWAITING_ACTIVATION, Stage.ACTIVE)
            and (a.is_manager(person) or a.is_communications(person)))


def may_close(state: AccountState, person: str) -> bool:
    """R-19: the manager or the communications unit closes an active account."""
    a = state.authorities
    return state.stage is Stage.ACTIVE and (a.is_manager(person) or a.is_communications(person))


def may_change_profile(state: AccountState, person: str) -> bool:
    """R-37: the account's admins or the communications unit record a change
    of its public face."""
    return state.stage is Stage.ACTIVE and (person in state.admins
                                            or state.authorities.is_communications(person))


def two_factor_confirmable(state: AccountState, person: str) -> list[str]:
    """R-12: the admins without 2FA whose 2FA `person` may confirm: their
    own, or anyone's for the communications unit."""
    if state.stage is not Stage.ACTIVE:
        return []
    comms = state.authorities.is_communications(person)
    return [admin.person for admin in state.admins.values()
            if not admin.two_factor and (admin.person == person or comms)]


def available_actions(state: AccountState, person: str, now: datetime) -> frozenset[str]:
    """The lifecycle forms (ACTIONS) `person` may use on the account at
    `now`. No rule of who may act depends on the hour today; `now` is part
    of the question so one that does can be added here."""
    del now  # see the docstring
    if state.stage.terminal:
        return frozenset()
    offered = {
        "approve": may_approve(state, person),
        "reject": may_reject(state, person),
        "risk": may_record_risk_assessment(state, person),
        "sign_off": may_sign_off(state, person),
        "amend": may_amend(state, person),
        "activate": may_activate(state, person),
        "add_admin": may_appoint_admins(state, person),
        "remove_admin": may_appoint_admins(state, person),
        "two_factor": bool(two_factor_confirmable(state, person)),
        "message_settings": may_change_settings(state, person),
        "closure": may_close(state, person),
        "profile_change": may_change_profile(state, person),
        "appoint_publisher": may_appoint_publishers(state, person),
        "remove_publisher": may_appoint_publishers(state, person),
    }
    return frozenset(name for name, may in offered.items() if may)


def may_check_in(state: AccountState, person: str) -> bool:
    """R-15: the account's admins check it."""
    return state.stage is Stage.ACTIVE and person in state.admins


def may_record_post(state: AccountState, person: str) -> bool:
    """R-18: the admins, the publishers (R-52) or the platform connector
    record a post; while a crisis covers the account, the communications
    unit publishes where crisis mode says so (R-47), and where all
    communication goes through crisis management, a post names a member who
    approved it (R-39): the form is offered to the members themselves."""
    if state.stage is not Stage.ACTIVE:
        return False
    if person == SYSTEM:
        return True
    a = state.authorities
    mode = state.crisis.mode if state.crisis is not None else None
    crisis_publisher = False
    if not state.legacy_rules and mode is not None and mode.covers(state.request.unit_id):
        crisis_publisher = a.is_communications(person) or person in mode.communications
        if mode.communications_publish and not crisis_publisher:
            return False
        if mode.through_crisis_management and person not in mode.crisis_management:
            return False
    return person in state.admins or person in state.publishers or crisis_publisher


def may_keep(state: AccountState, person: str) -> bool:
    """R-19: the communications unit keeps an account proposed for closure."""
    return (state.stage is Stage.ACTIVE and state.authorities.is_communications(person)
            and state.monitoring.closure_proposed_at is not None)


def may_report_watch_item(state: AccountState, person: str, *, in_unit: bool) -> bool:
    """R-20: the admins and the unit's staff (`in_unit`: the directory's
    word), the manager and the communications unit raise criticism."""
    a = state.authorities
    return state.stage is Stage.ACTIVE and (person in state.admins or a.is_manager(person)
                                            or a.is_communications(person) or in_unit)


def may_resolve_watch_item(state: AccountState, person: str) -> bool:
    """R-20: the manager resolves an open watch item."""
    return (state.stage in (Stage.ACTIVE, Stage.CLOSING) and state.authorities.is_manager(person)
            and bool(state.monitoring.open_watch_items))


def available_monitoring_actions(state: AccountState, person: str, now: datetime, *,
                                 in_unit: bool) -> frozenset[str]:
    """The monitoring forms (MONITORING_ACTIONS) `person` may use at `now`;
    keeping the account only while a closure proposal is open (R-19),
    resolving only while a watch item is open (R-20)."""
    del now  # as in available_actions
    if state.stage.terminal:
        return frozenset()
    offered = {
        "check_in": may_check_in(state, person),
        "post": may_record_post(state, person),
        "keep": may_keep(state, person),
        "watch": may_report_watch_item(state, person, in_unit=in_unit),
        "resolve": may_resolve_watch_item(state, person),
    }
    return frozenset(name for name, may in offered.items() if may)


def who_acts_next(state: AccountState) -> list[str]:
    """Issue 14 (R-01, R-03, R-04, R-07, R-53): the people the account's
    current step waits for, by the same rules that let them act (the
    manager, deputy or next level at approval; the requester, the proposed
    admins or the manager at risk assessment; the communications unit, or
    the manager where a new page only informs it, at sign-off; the requester
    or the manager when sent back; the communications unit at activation).
    Empty when no step of the request waits (active, closed, ...)."""
    a = state.authorities
    step = {Stage.AWAITING_MANAGER: may_approve, Stage.RISK_ASSESSMENT: may_record_risk_assessment,
            Stage.AWAITING_SIGNOFF: may_sign_off, Stage.AMENDING: may_amend,
            Stage.AWAITING_ACTIVATION: may_activate}.get(state.stage)
    if step is None:
        return []
    people = [a.manager, a.deputy, a.next_level, state.requester,
              *state.request.proposed_admins, *sorted(a.communications)]
    return [p for p in dict.fromkeys(p for p in people if p) if step(state, p)]
