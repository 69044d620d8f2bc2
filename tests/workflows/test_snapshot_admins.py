# ruff: noqa: F811  (the `s` fixture, imported from test_snapshot_workflow, is each test's argument)
"""R-12, R-13, R-37: an admin change reaches a snapshot waiting for
screenshots at once, not at its next reminder. Time-skipping test server,
the real activities and read models; one snapshot workflow under test (the
`s` fixture of test_snapshot_workflow). The account's changes are recorded
on its stream with the lifecycle's own rules (as its workflow would), and
the account workflow's step, `inform_snapshot_admins`, runs as an activity
with the test server's client: it finds the waiting snapshot in the read
model and signals it."""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime

from temporalio.testing import ActivityEnvironment

from activities.snapshot_admins import (
    InformSnapshotAdminsInput,
    InformSnapshotAdminsResult,
    SnapshotAdminActivities,
    waiting_snapshot_ids,
)
from domain import account as acc
from domain import snapshot as snap
from store.eventstore import EventStore, NewEvent
from store.projections import all_projections
from store.snapshots import store_upload
from tests.support import COMMS, DEPUTY, MANAGER, REQUESTER, keep_history
from tests.workflows.snapshot_waits import waiting
from tests.workflows.test_manual_snapshot import refused, start_manual, stream
from tests.workflows.test_snapshot_workflow import (  # noqa: F401  (s: the fixture)
    Env,
    _tiny_png,
    s,
)
from workflows.snapshot import SnapshotWorkflow
from workflows.snapshot_models import SnapshotResult


async def change_on_record(s: Env, account_id: str, command: acc.Command, at: datetime
                           ) -> list[str]:
    """`command` decided and recorded on the account's stream (projections
    included), as the account's workflow would; the admins afterwards."""
    raw = await s.pool.fetchval("SELECT state FROM accounts WHERE account_id = $1::uuid",
                                account_id)
    state = acc.AccountState.model_validate(raw)
    events = acc.decide(state, command, now=at)
    await EventStore(s.pool, all_projections()).append(
        f"account-{account_id}", state.version,
        [NewEvent(event_id=uuid.uuid4(), event_type=e.type, data=e.model_dump(mode="json"),
                  occurred_at=e.at, actor=e.actor) for e in events], str(uuid.uuid4()))
    raw = await s.pool.fetchval("SELECT state FROM accounts WHERE account_id = $1::uuid",
                                account_id)
    return sorted(acc.AccountState.model_validate(raw).admins)


async def inform(s: Env, account_id: str, admins: list[str]) -> InformSnapshotAdminsResult:
    """The account workflow's step after AdminAdded/AdminRemoved."""
    result: InformSnapshotAdminsResult = await ActivityEnvironment(client=s.client).run(
        SnapshotAdminActivities(s.pool).inform,
        InformSnapshotAdminsInput(account_id=account_id, admins=admins))
    return result


async def test_r12_r13_r37_admin_added_while_a_snapshot_waits_says_done_at_once_removed_admin_refused(  # noqa: E501
        s: Env) -> None:
    """R-12, R-13, R-37: the manager makes anna.lind an admin while a TikTok
    snapshot waits for screenshots: refused before, she says done right
    after the change reaches the snapshot (SnapshotAdminsUpdated on its
    stream), days before the first reminder would have re-read the account.
    elin.strand, removed meanwhile, is refused from then on; nothing is
    recorded for a refusal, and the same list told twice is recorded once."""
    now = await s.env.get_current_time()
    handle, account_id = await start_manual(s, now)
    sid = handle.id
    wait = await waiting(handle, lambda w: True)
    assert wait.people.admins == tuple(sorted((REQUESTER, DEPUTY)))
    reminder = next(st.due for st in wait.steps if st.key == "screenshots_reminder")
    assert await waiting_snapshot_ids(s.pool, account_id) == [sid]
    await store_upload(s.pool, account_id=account_id,
                       file_name="profil.png", mime_type="image/png", content=_tiny_png(),
                       caption=None, uploaded_by=REQUESTER, uploaded_at=now)

    before = await refused(handle, SnapshotWorkflow.screenshots_done,
                           snap.ScreenshotsDone(actor=MANAGER))
    assert before.type == "NotAuthorised"

    # Added on the account's record; the account workflow's step tells the snapshot.
    admins = await change_on_record(
        s, account_id, acc.AddAdmin(actor=DEPUTY, person=MANAGER, two_factor=True), now)
    assert admins == sorted((REQUESTER, DEPUTY, MANAGER))
    assert await inform(s, account_id, admins) == InformSnapshotAdminsResult(
        snapshots=1, not_running=0)
    wait = await waiting(handle, lambda w: MANAGER in w.people.admins)
    assert wait.people.admins == tuple(admins) and wait.fired == [] and wait.outcome is None
    events = await stream(s, sid)
    assert [e["event_type"] for e in events] == ["SnapshotScreenshotsRequested",
                                                 "SnapshotAdminsUpdated"]
    assert (events[1]["actor"], events[1]["data"]["admins"]) == ("kanalvakt", admins)

    # elin.strand is removed (two admins with 2FA remain): refused from now on.
    admins = await change_on_record(
        s, account_id, acc.RemoveAdmin(actor=MANAGER, person=REQUESTER, reason="Byter tjänst"),
        now)
    assert admins == sorted((DEPUTY, MANAGER))
    await inform(s, account_id, admins)
    await inform(s, account_id, admins)  # told twice (an activity retried): recorded once
    await waiting(handle, lambda w: REQUESTER not in w.people.admins)
    removed = await refused(handle, SnapshotWorkflow.screenshots_done,
                            snap.ScreenshotsDone(actor=REQUESTER))
    assert removed.type == "NotAuthorised"
    assert len(await stream(s, sid)) == 3

    # The added admin says done, still before the first reminder was due.
    assert await s.env.get_current_time() < reminder
    done = snap.ScreenshotWait.model_validate(await handle.execute_update(
        SnapshotWorkflow.screenshots_done, snap.ScreenshotsDone(actor=MANAGER)))
    assert done.outcome == "done"
    result = SnapshotResult.model_validate(await handle.result())
    assert (result.source, result.screenshots) == ("screenshots", 1)
    assert [e["event_type"] for e in await stream(s, sid)] == [
        "SnapshotScreenshotsRequested", "SnapshotAdminsUpdated", "SnapshotAdminsUpdated",
        "SnapshotScreenshotsDone", "SnapshotTaken", "SnapshotRegistered", "SnapshotDelivered"]
    row = await s.pool.fetchrow(
        "SELECT * FROM snapshot_screenshot_requests WHERE snapshot_id = $1", sid)
    assert (row["outcome"], row["decided_by"], row["reminded_at"]) == ("done", MANAGER, None)
    # Ended: no longer among the account's waiting snapshots, so not told again.
    assert await waiting_snapshot_ids(s.pool, account_id) == []
    assert await inform(s, account_id, admins) == InformSnapshotAdminsResult(
        snapshots=0, not_running=0)
    # Kept for tests/workflows/test_replay.py (KANALVAKT_RECORD_HISTORIES=1).
    keep_history(await handle.fetch_history(), "snapshot_admins_changed")


async def test_r12_r37_admin_added_before_the_request_is_on_the_record_is_read_after_it(
        s: Env) -> None:
    """R-12, R-37: the account's workflow tells only the snapshots whose
    request is in the read model; an admin added after a snapshot read the
    account but before its request was on the record is read once more
    right after the request (SnapshotAdminsUpdated), so she says done at
    once too. The snapshot is held between the two by a lock on the diarium
    series (its next step allocates a number) while the admin is added."""
    from temporalio.api.enums.v1 import EventType

    from tests.workflows.test_manual_snapshot import TZ, add_admin_on_record
    from tests.workflows.test_snapshot_workflow import put_active_account
    from workflows.snapshot_starter import start_snapshot

    now = await s.env.get_current_time()
    state = await put_active_account(s, name="Kulturhuset Ängen", platform="tiktok",
                                     platform_account_id=None, at=now)
    async with s.pool.acquire() as conn:
        held = conn.transaction()
        await held.start()
        await conn.execute("LOCK TABLE diarium_series IN EXCLUSIVE MODE")
        handle = await start_snapshot(
            s.client, account_id=state.account_id, municipality_id="exempelby",
            slug=state.slug, reason=snap.SnapshotReason.ON_DEMAND,
            day=snap.local_date(now, TZ), task_queue=s.task_queue, requested_by=COMMS,
            label="110000")

        async def account_read() -> bool:
            history = await handle.fetch_history()
            return any(e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_COMPLETED
                       for e in history.events)
        deadline = asyncio.get_running_loop().time() + 30
        while not await account_read():
            assert asyncio.get_running_loop().time() < deadline, "the account was not read"
            await asyncio.sleep(0.1)
        await add_admin_on_record(s, state.account_id, MANAGER, now)
        await held.rollback()

    wait = await waiting(handle, lambda w: MANAGER in w.people.admins)
    assert wait.people.admins == tuple(sorted((REQUESTER, DEPUTY, MANAGER)))
    events = await stream(s, handle.id)
    assert [e["event_type"] for e in events] == ["SnapshotScreenshotsRequested",
                                                 "SnapshotAdminsUpdated"]
    assert MANAGER not in events[0]["data"]["recipients"]  # read before she was added
    await store_upload(s.pool, account_id=state.account_id,
                       file_name="profil.png", mime_type="image/png", content=_tiny_png(),
                       caption=None, uploaded_by=MANAGER, uploaded_at=now)
    done = snap.ScreenshotWait.model_validate(await handle.execute_update(
        SnapshotWorkflow.screenshots_done, snap.ScreenshotsDone(actor=MANAGER)))
    assert done.outcome == "done" and done.fired == []
    result = SnapshotResult.model_validate(await handle.result())
    assert (result.source, result.screenshots) == ("screenshots", 1)
