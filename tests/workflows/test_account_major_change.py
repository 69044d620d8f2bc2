"""The account workflow on its own initiative: a snapshot after a major change
(R-37) and the crisis in force read when the account becomes active or a run
continues (R-39). Time-skipping test server, real activities, PostgreSQL;
the snapshot is a child of the account workflow under test."""

from __future__ import annotations

import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import bagit
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import WorkflowUpdateFailedError
from temporalio.exceptions import ApplicationError
from temporalio.worker import Replayer

import worker as app_worker
from domain import account as acc
from domain import crisis as cr
from domain import snapshot as snap
from domain.crisis_mode import CrisisMode
from readviews.crisis import crisis_settings
from store.eventstore import EventStore, NewEvent
from store.projections import all_projections
from tests.fakes.meta_graph import seed_page
from tests.support import COMMS, MANAGER, REGISTRARS, REQUESTER, eventually, keep_history
from tests.workflows.conftest import Harness
from tests.workflows.test_account_lifecycle import (
    activation_snapshot_id,
    start,
    state_of,
    wait_for_search_attribute,
    walk_to_active,
)
from tests.workflows.test_snapshot_workflow import (
    PAGE,
    TOKEN,
    Env,
    check_package,
    put_active_account,
)
from tests.workflows.test_snapshot_workflow import s as s  # noqa: F401 - the fixture
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


async def children_started(handle: Any) -> list[str]:
    """The children that did start (a start refused as a duplicate is not)."""
    history = await handle.fetch_history()
    return [e.child_workflow_execution_started_event_attributes.workflow_execution.workflow_id
            for e in history.events
            if e.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_STARTED]


async def test_r37_activation_is_a_major_change_and_snapshots_the_account_once(
        h: Harness) -> None:
    """R-37 "after a major change": activating the account starts one
    SnapshotWorkflow (its child, abandoned) that packages the account into
    the archive, registers and delivers it; routine administration (an admin
    added) starts none; the history (with its patch markers) replays."""
    handle = await start(h)
    state = await walk_to_active(h, handle)
    sid = await activation_snapshot_id(h, state)
    # Instagram without a Page token: screenshots or a decision.
    from tests.workflows.snapshot_waits import record_only_when_waiting

    await record_only_when_waiting(h.client, sid)
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
    state = await eventually(lambda: state_of(handle), lambda s: s.crisis is not None)
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
    carried = await eventually(lambda: state_of(handle), lambda s: s.crisis is not None)
    assert carried.crisis is not None and carried.crisis.mode == mode
    await wait_for_search_attribute(handle, sa.CRISIS, True)
    # Nothing else changed: the carried state is the one it was given.
    assert carried.model_copy(update={"crisis": None}) == state


async def test_r37_a_recorded_profile_change_snapshots_the_new_face(s: Env) -> None:  # noqa: F811
    """R-37 "after a major change": an admin records that the account was
    renamed and got a new handle; the account's case records ProfileChanged,
    the register and the accounts read model show the new name and handle,
    and a SnapshotWorkflow child (the same pipeline) captures the account
    through the Graph API into a valid package that names it by its new name.
    A second change the same day (the communications unit: a new profile
    picture) gets a snapshot of its own. Someone else (a registrar, the
    unit's manager) is refused by the Update's validator: nothing recorded,
    no snapshot. The history replays."""
    now = await s.env.get_current_time()
    seed_page(s.graph, PAGE, TOKEN, posts=1, comments_per_post=1, replies_per_comment=1)
    state = await put_active_account(s, name="Kulturhuset Ängen", platform="facebook",
                                     platform_account_id=PAGE, at=now)
    handle = await s.client.start_workflow(
        W.run, AccountWorkflowInput(state=state),
        id=acc.workflow_id_for(state.municipality_id, state.slug), task_queue=s.task_queue)
    stream = f"account-{state.account_id}"

    async def events() -> list[str]:
        return [r["event_type"] for r in await s.pool.fetch(
            "SELECT event_type FROM events WHERE stream_id = $1 ORDER BY version", stream)]

    before = await events()
    for outsider in (REGISTRARS[0], MANAGER):
        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(W.record_profile_change, acc.RecordProfileChange(
                actor=outsider, name="Fel namn"))
        cause = refused.value.cause
        assert isinstance(cause, ApplicationError) and cause.type == "NotAuthorised"
        assert cause.details[0]["key"] == "profile.who"
    assert await events() == before and await child_starts(handle) == []

    renamed = await handle.execute_update(W.record_profile_change, acc.RecordProfileChange(
        actor=REQUESTER, name="Kulturhuset Ängen och Biblioteket", handle="@angenkultur",
        url="https://www.facebook.com/angenkultur", note="Biblioteket flyttade in"))
    assert isinstance(renamed, acc.AccountState)
    assert (renamed.name, renamed.handle) == ("Kulturhuset Ängen och Biblioteket", "@angenkultur")
    pictured = await handle.execute_update(W.record_profile_change, acc.RecordProfileChange(
        actor=COMMS, picture_changed=True, note="Ny logotyp"))
    assert await events() == [*before, "ProfileChanged", "ProfileChanged"]

    day = snap.local_date(now, state.timezone).isoformat()
    first = f"snapshot:exempelby:{state.slug}:{day}-profile-changed"
    second = f"{first}-v{pictured.version}"
    assert await children_started(handle) == [first, second]
    # The second change tried the day's name first and was told it exists.
    assert await child_starts(handle) == [first, first, second]

    # The public register and the accounts read model follow the rename.
    listed = await s.pool.fetchrow(
        "SELECT account_name, handle, url FROM public_register WHERE account_id = $1::uuid",
        state.account_id)
    assert dict(listed) == {"account_name": "Kulturhuset Ängen och Biblioteket",
                            "handle": "@angenkultur",
                            "url": "https://www.facebook.com/angenkultur"}
    assert await s.pool.fetchval("SELECT account_name FROM accounts WHERE account_id = "
                                 "$1::uuid", state.account_id) == listed["account_name"]

    for sid in (first, second):
        taken = SnapshotResult.model_validate(
            await s.client.get_workflow_handle(sid).result())
        assert (taken.snapshot_id, taken.source) == (sid, "platform")
        bag = check_package(taken.package.path)
        assert bag.info["Kanalvakt-Reason"] == "major_change"
        page = (Path(taken.package.path) / "data/content/snapshot.html").read_text("utf-8")
        assert "Ögonblicksbild av Kulturhuset Ängen och Biblioteket" in page
        assert "efter en större ändring" in page
        recorded = (Path(taken.package.path) / "data/metadata/account-events.jsonl").read_text()
        assert recorded.count('"ProfileChanged"') >= 1
        row = await s.pool.fetchrow("SELECT reason FROM snapshots WHERE snapshot_id = $1", sid)
        assert row["reason"] == "major_change"

    history = await handle.fetch_history()
    await Replayer(workflows=[W], workflow_runner=app_worker.sandbox_runner(),
                   data_converter=s.client.data_converter).replay_workflow(history)
