"""Issue 16 over HTTP, on the Exempelby sample (the Swedish seeds, Mora's
settings): "watched" as an outcome (R-46), a case closed with a reason by
the communications unit only (R-22), a reply with a personnummer held for
the manager (R-44), a personnummer never disposed of as trivial (R-31)."""

from __future__ import annotations

from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_messages_api import ADMIN, as_, case, decide, received
from tests.support import COMMS, MANAGER


async def test_r46_r22_watched_and_closed_with_a_reason_over_the_api(stack: Stack) -> None:
    account_id = await active_account(stack)
    chat = await received(stack, account_id, "Vilken fin solnedgång över sjön ikväll.")
    r = await decide(stack, chat, "watch", ADMIN, {"reason": "En kommentar utan fråga"})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["stage"] == "watched"
    watched = await case(stack, chat)
    assert [(e["event_type"], e["actor"]) for e in watched["timeline"]][-1] == (
        "MessageWatched", ADMIN)

    asked = await received(stack, account_id, "Varför har ingen svarat om bygglovet?")
    r = await decide(stack, asked, "close", ADMIN, {"reason": "Inget att svara"})
    assert r.status_code == 403 and r.json()["detail"]["key"] == "close.who"
    r = await decide(stack, asked, "close", COMMS, {"reason": "Besvarad per brev"})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["stage"] == "closed"
    assert r.json()["state"]["closed_reason"] == "Besvarad per brev"


async def test_r44_r31_a_personnummer_in_or_out_over_the_api(stack: Stack) -> None:
    account_id = await active_account(stack)
    asked = await received(stack, account_id, "Har min ansökan kommit in?")
    r = await decide(stack, asked, "respond", ADMIN,
                     {"text": "Ansökan för 19121212-1212 har kommit in."})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["stage"] == "awaiting_approval" and r.json()["platform"] is None
    r = await decide(stack, asked, "approve", ADMIN, {})
    assert r.status_code == 403
    r = await decide(stack, asked, "send-back", MANAGER, {"comment": "Inga personnummer"})
    assert r.status_code == 200, r.text
    assert r.json()["state"]["stage"] == "open"

    leaked = await received(stack, account_id, "Min son 19121212-1212 fick inte plats")
    r = await decide(stack, leaked, "dispose", ADMIN, {"decision_id": "SM-1"})
    assert r.status_code == 422 and r.json()["detail"]["key"] == "dispose.confidential"
    r = await stack.http.get(f"/api/messages/{leaked}", headers=as_(ADMIN))
    assert r.json()["stage"] == "open"
