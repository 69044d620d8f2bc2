"""CrisisWorkflow (R-39, R-40) and the crisis rules of a message case on the
time-skipping server, with the real activities on PostgreSQL. One workflow
under test per environment: the crisis workflow on its own, the message
case with a crisis at its start, and one with a crisis signalled mid-case."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import pytest
from temporalio.client import WorkflowHandle, WorkflowUpdateFailedError
from temporalio.worker import Replayer

import worker as app_worker
from domain import crisis as cr
from domain import message as msg
from domain.crisis_mode import CrisisMode, CrisisStatus
from domain.directory import Country
from domain.inbound import InboundMessage, message_workflow_id
from readviews.crisis import crisis_settings
from store.eventstore import EventStore
from store.projections import all_projections
from store.receipts import record_receipt
from tests.support import COMMS, DEPUTY, MANAGER, eventually, keep_history
from tests.workflows.conftest import Harness
from workflows import search_attributes as sa
from workflows.crisis import CrisisWorkflow
from workflows.crisis_models import CrisisResult
from workflows.message import InboundMessageWorkflow
from workflows.starter import start_crisis_case, start_message_case

KRISLEDNING = "eva.marklund"
ADMINS = frozenset({"johan.berg", "elin.strand"})
AUTHORITIES = msg.MessageAuthorities(admins=ADMINS, manager=MANAGER, deputy=DEPUTY,
                                     communications=frozenset({COMMS}))


async def _account(pool: asyncpg.Pool, unit: str = "kultur") -> str:
    account_id = str(uuid.uuid4())
    await pool.execute(
        """INSERT INTO accounts (account_id, stream_id, workflow_id, municipality_id, unit_id,
               platform, account_name, stage, requester, requested_at, updated_at, version,
               state)
           VALUES ($1::uuid, 'account-' || $1, 'account:exempelby:x-' || $1, 'exempelby', $2,
                   'facebook', 'Kulturhuset', 'active', 'elin.strand', now(), now(), 1, '{}')""",
        account_id, unit)
    return account_id


def _receive(account_id: str, text: str, published: datetime,
             crisis: CrisisMode | None = None) -> msg.ReceiveMessage:
    external_id = f"104000000000001_{uuid.uuid4().int % 10**12}"
    message = InboundMessage(platform="facebook", external_id=external_id, kind="comment",
                             account_ref="104000000000001", author_id="5551",
                             author_name="Kim Medborgare", text=text, published_at=published)
    return msg.ReceiveMessage(
        actor=msg.SYSTEM, case_id=message_workflow_id(message.platform, external_id),
        account_id=account_id, municipality_id="exempelby", country=Country.SE,
        timezone="Europe/Stockholm", message=message, authorities=AUTHORITIES, crisis=crisis)


async def _events(pool: asyncpg.Pool, stream: str) -> list[str]:
    return [r["event_type"] for r in await pool.fetch(
        "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", stream)]


async def _crisis_result(coro: Any) -> CrisisResult:
    result = await coro
    return result if isinstance(result, CrisisResult) else CrisisResult.model_validate(result)


async def _crisis_state(handle: WorkflowHandle[Any, Any]) -> cr.CrisisState:
    return cr.CrisisState.model_validate(await handle.query(CrisisWorkflow.state))


async def _replays(handle: WorkflowHandle[Any, Any], name: str) -> None:
    """R-39, R-40: the history replays against today's code; recorded for
    tests/workflows/test_replay.py with KANALVAKT_RECORD_HISTORIES=1."""
    history = await handle.fetch_history()
    keep_history(history, name)
    await Replayer(workflows=[CrisisWorkflow], workflow_runner=app_worker.sandbox_runner(),
                   data_converter=handle._client.data_converter).replay_workflow(history)


# --------------------------------------------------------------------------- the crisis workflow


async def test_r39_crisis_management_switches_digests_every_hour_and_ends(h: Harness) -> None:
    """R-39: a person outside crisis management is refused with nothing
    recorded; crisis management declares; a digest of questions and moods is
    compiled every hour across three hours (timers), with a notification to
    crisis management; ending it compiles the last part-hour and records who,
    when and why."""
    settings = await crisis_settings(h.pool, "exempelby")
    assert settings is not None and KRISLEDNING in settings.crisis_management
    handle = await start_crisis_case(h.client, settings, None, task_queue=h.task_queue)
    stream = cr.workflow_id_for("exempelby")

    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(CrisisWorkflow.declare_crisis,
                                    cr.DeclareCrisis(actor=COMMS, reason="Storm"))
    assert refused.value.cause is not None and "R-39" in str(refused.value.cause)
    # The refusal records nothing; the settings' event is run()'s own, written
    # beside the refused update (it may land just after it): wait for it.
    recorded = await eventually(lambda: _events(h.pool, stream), bool)
    assert recorded == ["CrisisSettingsLoaded"]

    declared = await _crisis_result(handle.execute_update(
        CrisisWorkflow.declare_crisis,
        cr.DeclareCrisis(actor=KRISLEDNING, reason="Stormen Gudrun", units=frozenset({"kultur"}))))
    mode = declared.state.active
    assert mode is not None and mode.units == frozenset({"kultur"})
    assert mode.answer_within == timedelta(hours=2)
    assert "krisinformation" in mode.notice
    row = await h.pool.fetchrow("SELECT * FROM crisis_modes WHERE crisis_id = $1", mode.crisis_id)
    assert row["declared_by"] == KRISLEDNING and row["reason"] == "Stormen Gudrun"
    assert row["ended_at"] is None and row["units"] == ["kultur"]

    # Messages of the first hour: a question, a critical one, and one of a unit
    # the crisis does not cover. Received through the feeder's receipt path.
    culture, social = await _account(h.pool), await _account(h.pool, "social")
    store = EventStore(h.pool, all_projections())
    t = mode.declared_at + timedelta(minutes=10)
    received = []
    for account, text, crisis in [(culture, "När öppnar skolan igen?", mode),
                                  (culture, "En skandal, ni är inkompetenta!", mode),
                                  (social, "Vem har ansvaret?", None)]:
        command = _receive(account, text, t, crisis)
        assert await record_receipt(h.pool, store, command, stored_at=t)
        received.append(command.case_id)
    tagged = await h.pool.fetch("SELECT case_id FROM message_cases WHERE crisis_id = $1",
                                mode.crisis_id)
    assert sorted(r["case_id"] for r in tagged) == sorted(received[:2])  # tagged for them

    await h.env.sleep(timedelta(hours=3, minutes=10))
    # The sleep returns once the clock is past the third timer; the worker
    # compiles, writes and folds that digest after it: wait for the fold.
    state = await eventually(lambda: _crisis_state(handle), lambda s: s.digests >= 3)
    assert state.digests == 3
    digests = await h.pool.fetch(
        "SELECT * FROM crisis_digests WHERE crisis_id = $1 ORDER BY period_end", mode.crisis_id)
    assert [(d["period_end"] - d["period_start"]) for d in digests] == [timedelta(hours=1)] * 3
    first = digests[0]
    assert (first["messages"], first["questions"], first["critical"], first["open"]) \
        == (2, 1, 1, 2)
    assert first["digest"]["question_case_ids"] == [received[0]]
    assert first["digest"]["critical_case_ids"] == [received[1]]
    assert "text" not in str(first["digest"])  # counts and ids; the texts stay apart
    assert [d["messages"] for d in digests[1:]] == [0, 0]
    told = await h.pool.fetch("SELECT recipient FROM notifications WHERE kind = 'crisis_digest' "
                              "AND step = $1", first["digest_id"])
    assert sorted(r["recipient"] for r in told) == sorted(settings.crisis_management)

    with pytest.raises(WorkflowUpdateFailedError):
        await handle.execute_update(CrisisWorkflow.end_crisis,
                                    cr.EndCrisis(actor=MANAGER, reason="Över"))
    ended = await _crisis_result(handle.execute_update(
        CrisisWorkflow.end_crisis, cr.EndCrisis(actor="karin.holm", reason="Strömmen är tillbaka")))
    assert ended.state.active is None and ended.state.digests == 4
    row = await h.pool.fetchrow("SELECT * FROM crisis_modes WHERE crisis_id = $1", mode.crisis_id)
    assert row["ended_by"] == "karin.holm" and row["end_reason"] == "Strömmen är tillbaka"
    assert row["ended_at"] - row["declared_at"] >= timedelta(hours=3, minutes=10)
    assert await _events(h.pool, stream) == [
        "CrisisSettingsLoaded", "CrisisDeclared", "CrisisDigestCompiled", "CrisisDigestCompiled",
        "CrisisDigestCompiled", "CrisisDigestCompiled", "CrisisEnded"]
    # No more digests after the end.
    await h.env.sleep(timedelta(hours=2))
    assert await _events(h.pool, stream) == [
        "CrisisSettingsLoaded", "CrisisDeclared", "CrisisDigestCompiled", "CrisisDigestCompiled",
        "CrisisDigestCompiled", "CrisisDigestCompiled", "CrisisEnded"]
    description = await handle.describe()
    assert description.typed_search_attributes.get(sa.CRISIS) is False
    await _replays(handle, "crisis_declared_digested_ended")


async def test_r40_storm_is_flagged_once_and_cools_down(h: Harness) -> None:
    """R-40: reported twice during one storm, flagged once to the
    communications unit (event, notification, KvStorm); after the cool-down
    the flag goes down and a new storm may be flagged."""
    settings = await crisis_settings(h.pool, "exempelby")
    assert settings is not None
    handle = await start_crisis_case(h.client, settings, None, task_queue=h.task_queue)
    account = await _account(h.pool)
    now = await h.env.get_current_time()
    signal = cr.StormSignal(window_start=now - timedelta(hours=1), window_end=now, messages=40,
                            critical=30, critical_share=0.75)
    from workflows.crisis_models import StormReport

    report = StormReport(account_id=account, unit_id="kultur", signal=signal)
    await handle.signal(CrisisWorkflow.storm_detected, report)
    await handle.signal(CrisisWorkflow.storm_detected, report)
    stream = cr.workflow_id_for("exempelby")

    async def crisis_state() -> cr.CrisisState:
        return await _crisis_state(handle)

    async def told() -> list[str]:
        rows = await h.pool.fetch("SELECT recipient FROM notifications WHERE kind = 'storm'")
        return sorted(r["recipient"] for r in rows)

    # The flag's event, its crisis_storms row and its notifications are
    # written in one transaction (CrisisProjection); the workflow folds it
    # into its state and KvStorm after that write, in one workflow task. So
    # the notifications are an early sign: wait for the fold, the last step.
    shown = await eventually(crisis_state, lambda s: bool(s.storms))
    assert list(shown.storms) == [account]
    assert await told() == sorted(settings.communications)
    assert (await _events(h.pool, stream)).count("StormFlagged") == 1
    assert (await handle.describe()).typed_search_attributes.get(sa.STORM) is True
    await h.env.sleep(settings.policy.storm_cooldown + timedelta(minutes=1))
    assert (await eventually(crisis_state, lambda s: not s.storms)).storms == {}
    assert await h.pool.fetchval("SELECT cooled_down_at IS NOT NULL FROM crisis_storms")
    await handle.signal(CrisisWorkflow.storm_detected, report)
    flagged = await eventually(lambda: _events(h.pool, stream),
                               lambda e: e.count("StormFlagged") == 2)
    assert flagged.count("StormFlagged") == 2
    await _replays(handle, "crisis_storm_flagged_twice")


# --------------------------------------------------------------------------- message cases


def _mode(at: datetime) -> CrisisMode:
    return CrisisMode(crisis_id="exempelby-1-test", municipality_id="exempelby", declared_at=at,
                      answer_within=timedelta(hours=2), checkin_every=timedelta(hours=2),
                      notice="Se https://www.exempelby.se/krisinformation, ring 0123-45 67 00")


async def _state(handle: WorkflowHandle[Any, Any]) -> msg.MessageState:
    return msg.MessageState.model_validate(await handle.query(InboundMessageWorkflow.state))


async def test_r39_a_case_received_in_crisis_is_due_within_two_hours_around_the_clock(
        h: Harness) -> None:
    """R-39: started with the crisis (as the feeder does), the case escalates
    to the manager two hours after receipt, whatever the office hours."""
    now = await h.env.get_current_time()
    command = _receive(str(uuid.uuid4()), "Är vattnet drickbart?", now, _mode(now))
    handle = await start_message_case(h.client, command, task_queue=h.task_queue)
    state = await _state(handle)
    assert state.crisis_id == "exempelby-1-test"
    plan = {s.name: s.due for s in msg.deadline_plan(state)}
    assert plan["answer_deadline"] == now + timedelta(hours=2)
    normal = state.model_copy(update={"crisis": None})
    assert msg.answer_due(now, normal) > now + timedelta(hours=2)
    assert (await handle.describe()).typed_search_attributes.get(sa.CRISIS) is True
    await h.env.sleep(timedelta(hours=2, minutes=1))
    # Past the deadline: the worker writes the escalation, then folds it.
    state = await eventually(lambda: _state(handle), lambda s: s.escalated)
    assert state.escalated
    fired = await h.pool.fetch(
        "SELECT data FROM events WHERE stream_id = $1 AND event_type = 'MessageEscalated'",
        command.case_id)
    assert [f["data"]["due"] for f in fired] == [
        (now + timedelta(hours=2)).isoformat().replace("+00:00", "Z")]
    assert await h.pool.fetchval("SELECT crisis_id FROM message_cases WHERE case_id = $1",
                                 command.case_id) == "exempelby-1-test"


async def test_r39_a_crisis_signalled_mid_case_tightens_its_deadline(h: Harness) -> None:
    """R-39: an open case told of a crisis records it, and its deadline runs
    two hours from then; told again, nothing more is recorded."""
    now = await h.env.get_current_time()
    command = _receive(str(uuid.uuid4()), "När kommer strömmen tillbaka?", now)
    handle = await start_message_case(h.client, command, task_queue=h.task_queue)
    before = await _state(handle)
    assert before.crisis is None
    normal_due = {s.name: s.due for s in msg.deadline_plan(before)}["answer_deadline"]
    await h.env.sleep(timedelta(minutes=30))
    told_at = await h.env.get_current_time()
    await handle.signal(InboundMessageWorkflow.crisis_changed, CrisisStatus(mode=_mode(told_at)))
    await handle.signal(InboundMessageWorkflow.crisis_changed, CrisisStatus(mode=_mode(told_at)))
    state = await eventually(lambda: _state(handle), lambda s: s.crisis is not None)
    assert state.crisis_since is not None and state.crisis_since >= told_at
    due = {s.name: s.due for s in msg.deadline_plan(state)}["answer_deadline"]
    assert due == state.crisis_since + timedelta(hours=2) < normal_due
    await h.env.sleep(timedelta(hours=2, minutes=5))
    assert (await eventually(lambda: _state(handle), lambda s: s.escalated)).escalated
    events = await _events(h.pool, command.case_id)
    assert events.count("CrisisRulesApplied") == 1
    assert "MessageEscalated" in events
