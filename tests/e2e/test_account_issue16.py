"""End to end, issue 16, R-13 with R-22: when the manager removes the last
admin of an account with an open message, the case is not left to the
removed admin: the manager (and deputy), who keeps the editorial
responsibility, steps in and answers it; the removed admin is refused."""

from __future__ import annotations

from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_crisis_messages import _state
from tests.e2e.test_messages_api import ADMIN, as_, case, decide, received
from tests.support import DEPUTY, MANAGER, eventually


async def test_r13_r22_with_the_last_admin_removed_the_manager_answers_the_open_case(
        stack: Stack) -> None:
    account_id = await active_account(stack)  # admins: elin.strand, johan.berg
    asked = await received(stack, account_id, "Har simhallen öppet på lördag?")
    for person in (DEPUTY, ADMIN):
        r = await stack.http.post(f"/api/accounts/{account_id}/admins/{person}/remove",
                                  json={"reason": "Slutat"}, headers=as_(MANAGER))
        assert r.status_code == 200, r.text
    # The case is told who answers now: the manager and the deputy.
    told = await eventually(lambda: _state(stack, asked),
                            lambda s: s.authorities is not None
                            and sorted(s.authorities.admins) == sorted([MANAGER, DEPUTY]))
    assert told.authorities is not None
    assert sorted(told.authorities.admins) == sorted([MANAGER, DEPUTY])
    r = await decide(stack, asked, "respond", ADMIN, {"text": "Ja."})
    assert r.status_code == 403  # the removed admin no longer decides
    r = await decide(stack, asked, "respond", MANAGER, {"text": "Ja, klockan 10-16."})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["stage"] == "answered"
    view = await case(stack, asked, MANAGER)
    assert ("MessageAnswered", MANAGER) in [(e["event_type"], e["actor"])
                                            for e in view["timeline"]]
