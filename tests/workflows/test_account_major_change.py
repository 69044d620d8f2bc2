"""The account workflow on its own initiative: a snapshot after a major change
(R-37) and the crisis in force read when the account becomes active or a run
continues (R-39). Time-skipping test server, real activities, PostgreSQL;
the snapshot is a child of the account workflow under test."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from typing import Any

import bagit
from temporalio.api.enums.v1 import EventType
from temporalio.worker import Replayer

import worker as app_worker
from activities.crisis import crisis_settings
from activities.eventstore import EventStore, NewEvent
from activities.projections import all_projections
from domain import account as acc
from domain import crisis as cr
from domain.crisis_mode import CrisisMode
from tests.support import MANAGER, keep_history
from tests.workflows.conftest import Harness
from tests.workflows.test_account_lifecycle import (
    activation_snapshot_id,
    start,
    state_of,
    wait_for_search_attribute,
    walk_to_active,
)
from workflows import search_attributes as sa
from workflows.account import AccountLifecycleWorkflow as W
from workflows.models import AccountWorkflowInput
from workflows.snapshot_models import SnapshotResult

KRISLEDNING = "eva.marklund"


async def declare_on_record(h: Harness, *, at: datetime, units: frozenset[str]) -> CrisisMode:
    """A crisis declared on the crisis stream with its projections (the
    crisis_modes read model), by the crisis workflow's own rules, without
    running that workflow (one workflow under test per environment)."""
    settings = await crisis_settings(h.pool, "exempelby")
    assert settings is not None
    state: cr.CrisisState | None = None
    events: list[Any] = []
    for command in (cr.LoadSettings(actor=cr.SYSTEM, settings=settings),
                    cr.DeclareCrisis(actor=KRISLEDNING, reason="Stormen Gudrun", units=units)):
        decided = cr.decide(state, command, now=at)
        for event in decided:
            state = cr.evolve(state, event)
        events += decided
    await EventStore(h.pool, all_projections()).append(
        cr.workflow_id_for("exempelby"), 0,
        [NewEvent(event_id=uuid.uuid4(), event_type=e.type, data=e.model_dump(mode="json"),
                  occurred_at=e.at, actor=e.actor) for e in events], str(uuid.uuid4()))
    assert state is not None and state.active is not None
    return state.active


async def child_starts(handle: Any) -> list[str]:
    history = await handle.fetch_history()
    return [e.start_child_workflow_execution_initiated_event_attributes.workflow_id
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED]


async def test_r37_activation_is_a_major_change_and_snapshots_the_account_once(
        h: Harness) -> None:
    """R-37 "after a major change": activating the account starts one
    SnapshotWorkflow (its child, abandoned) that packages the account into
    the archive, registers and delivers it; routine administration (an admin
    added) starts none; the history (with its patch markers) replays."""
    handle = await start(h)
    state = await walk_to_active(h, handle)
    sid = await activation_snapshot_id(h, state)
    taken = await h.client.get_workflow_handle(sid).result()
    taken = taken if isinstance(taken, SnapshotResult) else SnapshotResult.model_validate(taken)
    assert taken.snapshot_id == sid

    bag = bagit.Bag(taken.package.path)
    bag.validate()
    assert bag.info["Kanalvakt-Reason"] == "major_change"
    assert taken.package.path.startswith(str(h.archive_dir))
    row = await h.pool.fetchrow("SELECT * FROM snapshots WHERE snapshot_id = $1", sid)
    assert row["reason"] == "major_change" and row["diarium_number"] == taken.diarium_number
    assert str(row["account_id"]) == state.account_id

    # Administration is not a major change: no second snapshot.
    await handle.execute_update(W.add_admin, acc.AddAdmin(actor=MANAGER, person="anna.lind",
                                                          two_factor=True))
    assert await child_starts(handle) == [sid]
    assert await h.pool.fetchval("SELECT count(*) FROM snapshots WHERE account_id = $1::uuid",
                                 state.account_id) == 1
    history = await handle.fetch_history()
    keep_history(history, "account_activated_snapshot")
    await Replayer(workflows=[W], workflow_runner=app_worker.sandbox_runner(),
                   data_converter=h.client.data_converter).replay_workflow(history)


async def test_r39_an_account_activated_during_a_crisis_follows_it_from_activation(
        h: Harness) -> None:
    """R-39: crisis management switched the culture unit before this account
    was requested, so no crisis_changed signal ever reached it; when it
    becomes active it reads the crisis in force and carries it (KvCrisis,
    check-ins every crisis interval around the clock)."""
    mode = await declare_on_record(h, at=await h.env.get_current_time(),
                                   units=frozenset({"kultur"}))
    handle = await start(h)
    state = await walk_to_active(h, handle)
    for _ in range(100):
        state = await state_of(handle)
        if state.crisis is not None:
            break
        await asyncio.sleep(0.05)
    assert state.crisis is not None and state.crisis.mode == mode
    assert state.crisis.notice == mode.notice
    await wait_for_search_attribute(handle, sa.CRISIS, True)
    # The crisis check-in rhythm (R-39 with R-15) is now among its deadlines.
    crisis_steps = [step for step in acc.pending_steps(state) if step.name == "crisis_check_in"]
    assert len(crisis_steps) == 1 and state.monitoring.since is not None
    assert crisis_steps[0].due <= state.monitoring.since + mode.checkin_every


async def test_r39_a_continued_run_reads_the_crisis_it_may_have_missed(h: Harness) -> None:
    """R-39: a run that starts from a carried state (continue-as-new) reads
    the crisis in force for its unit; a unit outside the crisis stays out."""
    from tests.workflows.test_snapshot_workflow import put_active_account

    now = await h.env.get_current_time()
    mode = await declare_on_record(h, at=now, units=frozenset({"kultur"}))
    state = await put_active_account(h, name="Kulturhuset Ängen", platform="instagram",  # type: ignore[arg-type]
                                     platform_account_id=None, at=now)
    assert state.crisis is None
    handle = await h.client.start_workflow(
        W.run, AccountWorkflowInput(state=state),
        id=acc.workflow_id_for(state.municipality_id, state.slug), task_queue=h.task_queue)
    for _ in range(100):
        carried = await state_of(handle)
        if carried.crisis is not None:
            break
        await asyncio.sleep(0.05)
    assert carried.crisis is not None and carried.crisis.mode == mode
    await wait_for_search_attribute(handle, sa.CRISIS, True)
    # Nothing else changed: the carried state is the one it was given.
    assert carried.model_copy(update={"crisis": None}) == state
