"""End to end over HTTP on the dev server (R-39): crisis management declares
a crisis for the culture unit; its active account and an open case take the
crisis rules, a new message's case starts with them; the crisis ends and
the rules are lifted. A refused person records nothing."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from domain import account as acc
from domain import message as msg
from tests.e2e.conftest import Stack, active_account
from tests.e2e.test_messages_api import as_, received
from tests.support import COMMS, eventually
from workflows import search_attributes as sa

KRISLEDNING = "eva.marklund"
BASE = "/api/municipalities/exempelby/crisis"


async def _account_state(stack: Stack, account_id: str) -> acc.AccountState:
    row = await stack.pool.fetchrow("SELECT workflow_id FROM accounts WHERE account_id = $1::uuid",
                                    account_id)
    handle = stack.client.get_workflow_handle(row["workflow_id"])
    return acc.AccountState.model_validate(await handle.query("state"))


async def _case_state(stack: Stack, case_id: str) -> msg.MessageState:
    handle = stack.client.get_workflow_handle(case_id)
    return msg.MessageState.model_validate(await handle.query("state"))


async def test_r39_a_declared_crisis_reaches_accounts_and_cases_and_ends(stack: Stack) -> None:
    account_id = await active_account(stack)
    open_case = await received(stack, account_id, "Hur dags öppnar biblioteket?")

    refused = await stack.http.post(BASE, json={"reason": "Storm"}, headers=as_(COMMS))
    assert refused.status_code == 403, refused.text
    assert "R-39" in refused.text
    assert await stack.pool.fetchval("SELECT count(*) FROM crisis_modes") == 0

    r = await stack.http.post(BASE, json={"reason": "Stormen Gudrun", "units": ["kultur"]},
                              headers=as_(KRISLEDNING))
    assert r.status_code == 200, r.text
    declared = r.json()
    crisis_id = declared["active"]["crisis_id"]
    assert declared["accounts_informed"] >= 1 and declared["cases_informed"] >= 1

    state = await eventually(lambda: _account_state(stack, account_id),
                             lambda s: s.crisis is not None and s.crisis.mode is not None)
    assert state.crisis is not None and state.crisis.notice is not None
    assert "krisinformation" in state.crisis.notice  # the account points to the website
    case = await eventually(lambda: _case_state(stack, open_case),
                            lambda s: s.crisis is not None)
    assert case.crisis_id == crisis_id
    assert case.crisis_since is not None
    due = {s.name: s.due for s in msg.deadline_plan(case)}["answer_deadline"]
    assert due == case.crisis_since + timedelta(hours=2)

    new_case = await received(stack, account_id, "Är skolan stängd i morgon?")
    started = await _case_state(stack, new_case)
    assert started.crisis is not None and started.crisis.crisis_id == crisis_id
    assert {s.name: s.due for s in msg.deadline_plan(started)}["answer_deadline"] \
        == started.received_at + timedelta(hours=2)
    tagged: Any = await stack.pool.fetchval(
        "SELECT count(*) FROM message_cases WHERE crisis_id = $1", crisis_id)
    assert tagged == 2

    public = await stack.http.get("/api/crisis/notices", params={"municipality": "exempelby"})
    assert public.status_code == 200 and "krisinformation" in public.json()[0]["notice"]
    workflows = await eventually(
        lambda: _list(stack, f'{sa.CRISIS.name}=true AND {sa.ACCOUNT.name}="{account_id}"'),
        lambda ids: len(ids) >= 3)
    assert {open_case, new_case} <= set(workflows)

    r = await stack.http.post(f"{BASE}/end", json={"reason": "Över"}, headers=as_(KRISLEDNING))
    assert r.status_code == 200, r.text
    assert r.json()["active"] is None
    state = await eventually(lambda: _account_state(stack, account_id),
                             lambda s: s.crisis is not None and s.crisis.mode is None)
    assert state.crisis is not None and state.crisis.mode is None
    case = await eventually(lambda: _case_state(stack, open_case), lambda s: s.crisis is None)
    assert case.crisis is None and case.crisis_id == crisis_id  # the tag stays
    digests = await stack.http.get(f"{BASE}/digests", headers=as_(KRISLEDNING))
    assert digests.status_code == 200
    assert digests.json()[0]["questions"] == 1  # the question asked during the crisis
    assert (await stack.http.get(f"{BASE}/digests", headers=as_("anna.lind"))).status_code == 403


async def _list(stack: Stack, query: str) -> list[str]:
    return [w.id async for w in stack.client.list_workflows(query)]
