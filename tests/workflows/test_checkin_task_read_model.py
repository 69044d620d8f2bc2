"""R-15 (issue 14): the check-in task of "Mina uppgifter" as it is built,
from the read model's state (readviews.people.live_accounts, then
web.account_pages.check_in_task_for), on the time-skipping test server with
the real activities and projections on a real PostgreSQL: on the first
working day's morning each admin owes "0 av 2", after one check-in "1 av 2",
after the second none; the manager, not an admin, never has it."""

from __future__ import annotations

from datetime import datetime

from domain import account as acc
from domain.calendar import next_working_day
from domain.directory import Country
from readviews import people as people_views
from tests.support import DEPUTY, MANAGER, REQUESTER, eventually
from tests.workflows.conftest import Harness
from tests.workflows.test_account_lifecycle import W, today
from tests.workflows.test_monitoring import STOCKHOLM, active, local_moment, sleep_until
from web.account_pages import check_in_task_for


async def _owed(h: Harness, account_id: str, person: str, now: datetime) -> tuple[int, int] | None:
    """What "Mina uppgifter" lists for `person` on the account, as of `now`."""
    for row, state in await people_views.live_accounts(h.pool, "exempelby"):
        if str(row["account_id"]) == account_id:
            task = check_in_task_for(state, person, now)
            return None if task is None else (task.made, task.required)
    raise AssertionError(f"{account_id} is not among the live accounts")


async def test_r15_the_read_models_check_in_task_goes_after_two_check_ins(h: Harness) -> None:
    handle, state = await active(h)
    assert state.monitoring.since is not None
    first_day = next_working_day(state.monitoring.since.astimezone(STOCKHOLM).date(),
                                 Country.SE)
    await sleep_until(h, local_moment(first_day, 9, 0))
    now = await today(h)
    assert await _owed(h, state.account_id, REQUESTER, now) == (0, 2)
    assert await _owed(h, state.account_id, DEPUTY, now) == (0, 2)
    assert await _owed(h, state.account_id, MANAGER, now) is None

    await handle.execute_update(W.record_check_in, acc.RecordCheckIn(actor=REQUESTER))
    now = await today(h)

    async def owed() -> tuple[int, int] | None:
        return await _owed(h, state.account_id, DEPUTY, now)
    assert await eventually(owed, lambda o: o == (1, 2)) == (1, 2)
    await handle.execute_update(W.record_check_in, acc.RecordCheckIn(actor=DEPUTY))
    now = await today(h)
    assert await eventually(owed, lambda o: o is None) is None
    assert await _owed(h, state.account_id, REQUESTER, now) is None
