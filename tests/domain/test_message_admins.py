"""R-12, R-13, R-22: the account's admins as they change reach its open
message cases (UpdateAdmins -> AdminsUpdated): a newly appointed admin
decides on a message that arrived before the appointment, a removed admin no
longer does, and nothing is recorded when nothing changed."""

from __future__ import annotations

import pytest

from domain.account import NotAuthorised
from domain.message import (
    AdminsUpdated,
    ConfirmManualAction,
    MessageAnswered,
    MessageState,
    RequestManualAction,
    Stage,
    UpdateAdmins,
    parse_event,
)
from tests.domain.test_message import (
    ADMIN,
    ADMINS,
    SYSTEM,
    case_at,
    received,
    register,
    respond,
)

NEW_ADMIN = "nora.ny"
REMOVED = ADMINS[1]


def update(*admins: str, actor: str = SYSTEM) -> UpdateAdmins:
    return UpdateAdmins(actor=actor, admins=frozenset(admins))


def test_r12_r13_a_new_admin_answers_a_message_received_before_the_appointment() -> None:
    case = received()
    with pytest.raises(NotAuthorised):
        case.decide(respond(actor=NEW_ADMIN))
    events = case.do(update(ADMIN, REMOVED, NEW_ADMIN))
    assert events == [AdminsUpdated(at=case.now, actor=SYSTEM,
                                    admins=sorted([ADMIN, REMOVED, NEW_ADMIN]))]
    assert case.current.authorities is not None
    assert case.current.authorities.admins == {ADMIN, REMOVED, NEW_ADMIN}
    # the rest of the authorities stay as they were
    assert case.current.authorities.manager == "maria.chef"
    answered = case.do(respond(actor=NEW_ADMIN))
    assert isinstance(answered[0], MessageAnswered)
    assert case.current.stage is Stage.ANSWERED


def test_r12_r22_a_removed_admin_no_longer_decides_on_an_open_message() -> None:
    case = received()
    case.do(update(ADMIN, NEW_ADMIN))
    with pytest.raises(NotAuthorised):
        case.decide(respond(actor=REMOVED))
    assert isinstance(case.decide(respond(actor=ADMIN))[0], MessageAnswered)


def test_r13_the_same_list_again_records_nothing() -> None:
    case = received()
    assert case.decide(update(*ADMINS)) == []
    case.do(update(ADMIN, NEW_ADMIN))
    assert case.decide(update(NEW_ADMIN, ADMIN)) == []


@pytest.mark.parametrize("stage", [Stage.REDACTED, Stage.DISPOSED, Stage.STAFF_POST])
def test_r13_an_ended_case_is_not_changed(stage: Stage) -> None:
    case = case_at(stage)
    assert case.decide(update(ADMIN, NEW_ADMIN)) == []


def test_r13_r50_an_answered_case_still_owed_its_records_learns_the_admins() -> None:
    """R-50: answered but neither registered nor disposed of, the case still
    reminds its admins, so it learns who they are now; registered, it ends."""
    case = case_at(Stage.ANSWERED)
    assert case.decide(update(ADMIN, NEW_ADMIN)) != []
    case.do(register(actor=ADMIN))
    assert case.decide(update(ADMIN, NEW_ADMIN)) == []


def test_r13_a_case_awaiting_a_by_hand_action_still_learns_the_admins() -> None:
    """Ended but not done: an admin still confirms what was done by hand."""
    case = received()
    case.do(respond())
    case.do(RequestManualAction(actor=SYSTEM, action="reply", instruction="Publicera svaret"))
    assert case.decide(update(ADMIN, NEW_ADMIN)) != []
    case.do(update(ADMIN, NEW_ADMIN))
    case.do(ConfirmManualAction(actor=NEW_ADMIN))
    case.do(register(actor=NEW_ADMIN))
    assert case.current.done


def test_r13_only_kanalvakt_tells_a_case_its_admins() -> None:
    case = received()
    with pytest.raises(NotAuthorised):
        case.decide(update(ADMIN, NEW_ADMIN, actor=ADMIN))


def test_r13_an_empty_admin_list_is_refused_as_bad_input() -> None:
    with pytest.raises(ValueError):
        UpdateAdmins(actor=SYSTEM, admins=frozenset())


def test_r13_the_event_round_trips_and_old_states_decode() -> None:
    case = received()
    event = case.do(update(ADMIN, NEW_ADMIN))[0]
    assert parse_event(event.model_dump(mode="json")) == event
    back = MessageState.model_validate_json(case.current.model_dump_json())
    assert back == case.current
