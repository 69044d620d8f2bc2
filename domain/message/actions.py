"""Which decisions on a message case a person may take now: the forms the
case page offers (issue 11, the read side of the rules).

A form is offered when `decide` would not refuse the person for who they
are or for the case's stage (NotAuthorised, WrongStage); a form whose input
may still break a rule (RuleViolation: a signature, a category, a disposal
decision, "already registered") is offered, and the rule answers the input.
Where no input can help (R-46: watching only is not allowed here, or
screening flagged the message) the form is not offered.
tests/domain/test_message_actions.py proves these agree with `decide` on
real commands of each kind.

The predicates read like the rules in domain.message.rules and the guards
in domain.message.guards, by the same R-ids.
"""

from __future__ import annotations

from datetime import datetime

from domain.message.guards import _LIVE, _OPEN, may_approve, may_close
from domain.message.state import MessageState, awaits_records
from domain.message.values import Stage

# The case page's decision forms, by the name the pages and the API use.
DECISIONS = ("acknowledge", "respond", "forward", "draft", "register", "redact", "dispose",
             "confirm", "approve", "send-back", "watch", "close")


def is_admin(state: MessageState, person: str) -> bool:
    """R-13: the account's admins decide on its messages."""
    return state.authorities is not None and person in state.authorities.admins


def may_acknowledge(state: MessageState, person: str) -> bool:
    """R-23, R-24: an admin acknowledges an open case, or (issue 16's rules)
    one forwarded to a case officer; that it is done only once is the rule's
    answer to the form."""
    stages = ((Stage.OPEN, Stage.FORWARDED, Stage.DRAFTED) if state.fidelity_rules
              else (Stage.OPEN,))
    return state.stage in stages and is_admin(state, person)


def may_respond(state: MessageState, person: str) -> bool:
    """R-23, R-26, R-27: an admin answers an open, acknowledged, forwarded or
    drafted case (in a crisis or with confidential text the answer may wait
    for approval, R-39, R-44, R-47: the form is the same)."""
    return state.stage in _OPEN and is_admin(state, person)


def may_forward(state: MessageState, person: str) -> bool:
    """R-24, R-25: an admin forwards to a case officer; under issue 16's
    rules a forwarded case goes on to another officer."""
    stages = ((Stage.OPEN, Stage.ACKNOWLEDGED, Stage.FORWARDED) if state.fidelity_rules
              else (Stage.OPEN, Stage.ACKNOWLEDGED))
    return state.stage in stages and is_admin(state, person)


def may_draft(state: MessageState, person: str) -> bool:
    """R-24: the case officer drafts the answer of a case forwarded to them."""
    return state.stage is Stage.FORWARDED and person == state.officer


def may_register(state: MessageState, person: str) -> bool:
    """R-28, R-31, R-50: an admin or a registrar registers a live case, or an
    answered one still owed to the records."""
    a = state.authorities
    return ((state.stage in _LIVE or awaits_records(state)) and a is not None
            and (person in a.admins or person in a.registrars))


def may_redact(state: MessageState, person: str) -> bool:
    """R-29..R-34, R-45: an admin removes a message from a live case."""
    return state.stage in _LIVE and is_admin(state, person)


def may_dispose(state: MessageState, person: str) -> bool:
    """R-33, R-35, R-50: an admin disposes of an open or acknowledged case as
    trivial, or of an answered one still owed to the records as a minor
    record (which decision, and whether screening forbids it, R-31, is the
    rule's answer)."""
    return ((state.stage in (Stage.OPEN, Stage.ACKNOWLEDGED) or awaits_records(state))
            and is_admin(state, person))


def may_confirm_manual_action(state: MessageState, person: str) -> bool:
    """Issue 9: an admin confirms a platform action awaited by hand, at any stage."""
    return state.pending_action is not None and is_admin(state, person)


def may_decide_held(state: MessageState, person: str) -> bool:
    """R-39, R-44, R-47: the approvers of what is held (crisis management, the
    communications unit, or for confidential text the manager, deputy or
    communications unit but never its writer) approve it or send it back."""
    return state.stage is Stage.AWAITING_APPROVAL and may_approve(state, person)


def may_watch(state: MessageState, person: str) -> bool:
    """R-46: an admin marks an open or acknowledged case as only watched,
    where the municipality allows it and screening found nothing."""
    return (state.stage in (Stage.OPEN, Stage.ACKNOWLEDGED) and is_admin(state, person)
            and state.policy.watched_allowed and not state.flags)


def may_close_case(state: MessageState, person: str) -> bool:
    """R-22, R-50: the unit's manager or deputy or the communications unit
    closes a live case with a reason, or an answered one still owed to the
    records."""
    return (state.stage in _LIVE or awaits_records(state)) and may_close(state, person)


def available_decisions(state: MessageState, person: str, now: datetime) -> frozenset[str]:
    """The decision forms (DECISIONS) `person` may use on the case at `now`.
    No rule of who may decide depends on the hour today; `now` is part of
    the question so one that does can be added here."""
    del now  # see the docstring
    offered = {
        "acknowledge": may_acknowledge(state, person),
        "respond": may_respond(state, person),
        "forward": may_forward(state, person),
        "draft": may_draft(state, person),
        "register": may_register(state, person),
        "redact": may_redact(state, person),
        "dispose": may_dispose(state, person),
        "confirm": may_confirm_manual_action(state, person),
        # R-30, R-45 (issue 14): the screenshot a manual deletion asks for.
        "screenshot": (state.screenshot_rule and state.pending_action == "delete"
                       and state.removal_copy_kept and is_admin(state, person)),
        "approve": may_decide_held(state, person),
        "send-back": may_decide_held(state, person),
        "watch": may_watch(state, person),
        "close": may_close_case(state, person),
    }
    return frozenset(name for name, may in offered.items() if may)
