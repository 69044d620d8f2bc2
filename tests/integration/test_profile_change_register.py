"""R-07, R-37: a recorded profile change renames the account in the public
register and the accounts read model, and a rebuild from the events gives
the same rows (the listing keeps the name it had, the change updates it)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import asyncpg

from cli import rebuild_read_models
from domain import account as acc
from store.directory import DirectoryRepository, parse_directory_yaml
from store.eventstore import EventStore, NewEvent
from store.projections import all_projections
from tests.support import COMMS, EXEMPELBY, REQUESTER
from tests.workflows.test_snapshot_workflow import put_active_account


async def test_r37_r07_a_rename_reaches_the_register_and_survives_a_rebuild(
        pool: asyncpg.Pool, database_url: str) -> None:
    directory = parse_directory_yaml(EXEMPELBY.read_text(encoding="utf-8"))
    await DirectoryRepository(pool).load(directory)
    at = datetime(2026, 3, 16, 9, 0, tzinfo=UTC)
    state = await put_active_account(SimpleNamespace(pool=pool, directory=directory),  # type: ignore[arg-type]
                                     name="Kulturhuset Ängen", platform="facebook",
                                     platform_account_id=None, at=at)
    store = EventStore(pool, all_projections())
    for n, command in enumerate([
            acc.RecordProfileChange(actor=REQUESTER, name="Ängens kulturhus",
                                    handle="@angenskulturhus",
                                    url="https://www.facebook.com/angenskulturhus"),
            acc.RecordProfileChange(actor=COMMS, picture_changed=True, note="Ny logotyp")],
            start=1):
        events = acc.decide(state, command, now=at + timedelta(hours=n))
        await store.append(f"account-{state.account_id}", state.version, [
            NewEvent(event_id=uuid.uuid4(), event_type=e.type, data=e.model_dump(mode="json"),
                     occurred_at=e.at, actor=e.actor) for e in events], str(uuid.uuid4()))
        for e in events:
            state = acc.evolve(state, e)

    async def rows() -> tuple[dict[str, object], dict[str, object]]:
        listed = await pool.fetchrow(
            "SELECT account_name, handle, url, listed_at FROM public_register "
            "WHERE account_id = $1::uuid", state.account_id)
        account = await pool.fetchrow(
            "SELECT account_name, handle, url, state FROM accounts WHERE account_id = $1::uuid",
            state.account_id)
        return dict(listed), dict(account)

    listed, account = await rows()
    assert (listed["account_name"], listed["handle"], listed["url"]) == (
        "Ängens kulturhus", "@angenskulturhus", "https://www.facebook.com/angenskulturhus")
    assert listed["listed_at"] == at  # still the day it was listed
    assert (account["account_name"], account["handle"]) == ("Ängens kulturhus",
                                                            "@angenskulturhus")
    folded = acc.AccountState.model_validate(account["state"])
    assert folded == state and folded.profile_changed_at == at + timedelta(hours=2)

    await rebuild_read_models(database_url)
    assert await rows() == (listed, account)
