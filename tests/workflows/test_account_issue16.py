"""Issue 16 on the account workflow, on the time-skipping test server with
the real activities on a real PostgreSQL, across the whole span of the
finding: an account with no admins is escalated for a year and proposed for
closure (R-12, R-13, R-19), a closure with no registrar waits and
escalates until the directory names one (R-38), and a staff post held for
confidential information is chased until someone decides (R-44). One
workflow per test."""

from __future__ import annotations

from datetime import timedelta

import pytest
from temporalio.client import WorkflowUpdateFailedError

from domain import account as acc
from tests.support import COMMS, DEPUTY, MANAGER, REGISTRARS, REQUESTER, eventually
from tests.workflows.conftest import Harness
from tests.workflows.test_account_lifecycle import W, recorded, state_of, today
from tests.workflows.test_monitoring import active, sleep_until
from workflows.models import AccountWorkflowResult


def chased(events: list[dict[str, object]], name: str) -> list[dict[str, object]]:
    return [e for e in events if e["event_type"] == "DeadlineEscalated"
            and f":{name}:" in str(e["data"]["step"])]  # type: ignore[index]


async def test_r12_r19_an_account_without_admins_is_escalated_for_a_year_and_proposed_for_closure(
        h: Harness) -> None:
    """R-12 [003, 004] "minst två administratörer"; R-19 [003]: the finding was
    one reminder, two escalations, then silence to day 400."""
    handle, state = await active(h)
    for person in (DEPUTY, REQUESTER):
        await handle.execute_update(W.remove_admin, acc.RemoveAdmin(
            actor=MANAGER, person=person, reason="Left the unit"))
    emptied = await state_of(handle)
    assert emptied.admins == {} and emptied.coverage_lost_at is not None
    # with no admin left, the manager and deputy answer the open cases.
    assert acc.case_answerers(emptied) == sorted([MANAGER, DEPUTY])
    start = await today(h)
    for quarter in range(1, 5):  # a year and more, a quarter at a time
        await sleep_until(h, start + timedelta(days=100 * quarter))
        now = await today(h)
        await eventually(lambda: state_of(handle),
                         lambda s, n=now: (acc.next_deadline(s) or n) > n, seconds=60)
    events = await recorded(h, state.account_id)
    restore = chased(events, "admin_restore_chase")
    again = chased(events, "closure_proposal_again")
    proposals = [e for e in events if e["event_type"] == "ClosureProposedForBreach"]
    assert len(restore) >= 50 and len(again) >= 45
    # Proposed once (no admins, so no check-ins either: the earlier breach
    # names it), then raised again on the rhythm all year.
    assert len(proposals) == 1
    assert proposals[0]["data"]["breach"] in {"admins", "check_ins"}  # type: ignore[index]
    last = max(e["occurred_at"] for e in restore)
    assert last >= start + timedelta(days=385)  # still escalated at the end of the year
    final = await state_of(handle)
    assert final.stage is acc.Stage.ACTIVE and acc.next_deadline(final) is not None
    notified = await h.pool.fetchval(
        "SELECT count(*) FROM notifications WHERE account_id = $1 AND kind = 'escalation' "
        "AND step LIKE '%admin_restore_chase%'", state.account_id)
    assert notified >= 50 * 2  # each escalation to the manager, deputy and the unit


async def test_r38_with_no_registrar_the_closure_waits_escalating_until_one_is_named(
        h: Harness) -> None:
    """R-38 [002]: the capture is handed to the registrar; with none in the
    directory the account closed and handed its package to nobody."""
    handle, state = await active(h)
    saved = await h.pool.fetch("SELECT * FROM roles WHERE role = 'registrar'")
    assert sorted(r["person_id"] for r in saved) == sorted(REGISTRARS)
    await h.pool.execute("DELETE FROM roles WHERE role = 'registrar'")
    await handle.signal(W.refresh_authorities)
    await eventually(lambda: state_of(handle), lambda s: not s.authorities.registrars)
    await handle.execute_update(W.request_closure, acc.RequestClosure(
        actor=MANAGER, reason="The culture house has moved to the main account"))
    start = await today(h)
    await sleep_until(h, start + timedelta(days=60))
    waiting = await state_of(handle)
    assert waiting.stage is acc.Stage.CLOSING and waiting.final_package is None
    events = await eventually(lambda: recorded(h, state.account_id),
                              lambda ev: len(chased(ev, "closure_no_registrar")) >= 7)
    assert len(chased(events, "closure_no_registrar")) >= 7
    assert not [e for e in events if e["event_type"] == "FinalSnapshotArchived"]

    await h.pool.executemany(
        "INSERT INTO roles (municipality_id, person_id, role) VALUES ($1, $2, $3)",
        [(r["municipality_id"], r["person_id"], r["role"]) for r in saved])
    await handle.signal(W.refresh_authorities)
    from tests.workflows.snapshot_waits import record_only_when_waiting

    await record_only_when_waiting(h.client, f"snapshot:exempelby:{state.slug}:final")
    result = await handle.result()
    result = AccountWorkflowResult.model_validate(result) if isinstance(result, dict) else result
    assert result.stage is acc.Stage.CLOSED
    archived = [e for e in await recorded(h, state.account_id)
                if e["event_type"] == "FinalSnapshotArchived"]
    assert archived[0]["data"]["registrars"] == sorted(REGISTRARS)  # type: ignore[index]


async def test_r44_a_held_staff_post_is_chased_for_a_year_until_the_manager_confirms(
        h: Harness) -> None:
    """R-44 with "chains that never go silent": an admin records a post with
    a personnummer; held, not counted; its approvers are reminded, then the
    manager, deputy and communications unit are chased on the rhythm for a
    year; the writer cannot confirm it; the manager does and the chase ends."""
    handle, state = await active(h)
    now = await today(h)
    held = await handle.execute_update(W.record_post, acc.RecordPost(
        actor=REQUESTER, post_id="104000000000001_900", published_at=now,
        text="Grattis till 19121212-1212!"))
    assert [p.post_id for p in held.held_posts] == ["104000000000001_900"]
    start = await today(h)
    for quarter in range(1, 5):
        await sleep_until(h, start + timedelta(days=92 * quarter))
        at = await today(h)
        await eventually(lambda: state_of(handle),
                         lambda s, n=at: (acc.next_deadline(s) or n) > n, seconds=60)
    events = await recorded(h, state.account_id)
    chase = chased(events, "held_post_chase:104000000000001_900")
    assert len(chase) >= 45, len(chase)
    assert all({MANAGER, COMMS} <= set(e["data"]["recipients"])  # type: ignore[index]
               for e in chase)
    assert max(e["occurred_at"] for e in chase) >= start + timedelta(days=350)
    with pytest.raises(WorkflowUpdateFailedError) as refused:
        await handle.execute_update(W.confirm_post, acc.ConfirmPost(
            actor=REQUESTER, post_id="104000000000001_900"))
    assert "R-44" in str(refused.value.cause)
    confirmed = await handle.execute_update(W.confirm_post, acc.ConfirmPost(
        actor=MANAGER, post_id="104000000000001_900"))
    assert confirmed.held_posts == []
    assert not any("held_post" in s.key for s in acc.pending_steps(confirmed))
    last = (await recorded(h, state.account_id))[-1]
    assert (last["event_type"], last["data"]["confirmed_by"]) == (  # type: ignore[index]
        "PostRecorded", MANAGER)
