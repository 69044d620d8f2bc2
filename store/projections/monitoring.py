"""Read models of the monitoring duties (R-15..R-20), projected from the
account events inside the append's transaction, like every projection here.

Registered after `AccountsProjection` (store.projections.all_projections):
it reads the account row that projection has just written.
"""

from __future__ import annotations

import json

import asyncpg

from domain import account as acc
from store.eventstore import RecordedEvent

_ACCOUNT_STREAM = "account-"


async def _account(conn: asyncpg.Connection, stream_id: str) -> tuple[str, acc.AccountState]:
    row = await conn.fetchrow("SELECT account_id, state FROM accounts WHERE stream_id = $1",
                              stream_id)
    if row is None:
        raise LookupError(f"no account row for {stream_id}")
    raw = row["state"]
    state = acc.AccountState.model_validate(raw if isinstance(raw, dict) else json.loads(raw))
    return str(row["account_id"]), state


class MonitoringProjection:
    """Check-ins, published posts, watch items and closure proposals."""

    tables = ("check_ins", "published_posts", "watch_items", "monitoring_tasks")

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if not event.stream_id.startswith(_ACCOUNT_STREAM):
            return
        if event.event_type not in _HANDLED:
            return
        typed = acc.parse_event(event.data)
        account_id, state = await _account(conn, event.stream_id)
        muni = state.municipality_id
        match typed:
            case acc.CheckInRecorded():
                await conn.execute(
                    """
                    INSERT INTO check_ins (event_id, account_id, municipality_id, checked_at,
                        checked_by, source, case_id, recorded_at)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT DO NOTHING
                    """,
                    event.event_id, account_id, muni, typed.checked_at, typed.actor or "",
                    typed.source.value, typed.case_id, typed.at)
            case acc.PostRecorded():
                await conn.execute(
                    """
                    INSERT INTO published_posts (account_id, post_id, municipality_id,
                        published_at, recorded_by, recorded_at)
                    VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING
                    """,
                    account_id, typed.post_id, muni, typed.published_at, typed.actor or "",
                    typed.at)
                if state.monitoring.closure_proposed_at is None:  # active again
                    await self._close_tasks(conn, account_id, event, "post", None)
            case acc.WatchItemReported():
                await conn.execute(
                    """
                    INSERT INTO watch_items (account_id, item_id, municipality_id, unit_id,
                        summary, link, seen_at, reported_by, reported_at, status)
                    VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'open') ON CONFLICT DO NOTHING
                    """,
                    account_id, typed.item_id, muni, state.request.unit_id, typed.summary,
                    typed.link, typed.seen_at, typed.actor or "", typed.at)
            case acc.WatchItemReminderSent():
                await conn.execute(
                    "UPDATE watch_items SET reminded_at = $3 WHERE account_id = $1 "
                    "AND item_id = $2", account_id, typed.item_id, typed.at)
            case acc.WatchItemEscalated():
                await conn.execute(
                    "UPDATE watch_items SET escalated_at = $3 WHERE account_id = $1 "
                    "AND item_id = $2", account_id, typed.item_id, typed.at)
            case acc.WatchItemResolved():
                await conn.execute(
                    """
                    UPDATE watch_items SET status = 'resolved', resolved_by = $3,
                        resolved_at = $4, resolution_note = $5
                    WHERE account_id = $1 AND item_id = $2
                    """,
                    account_id, typed.item_id, typed.actor, typed.at, typed.note)
            case acc.ClosureProposed():
                await conn.execute(
                    """
                    INSERT INTO monitoring_tasks (task_id, account_id, municipality_id, kind,
                        assignees, inactive_since, opened_at)
                    VALUES ($1, $2, $3, 'closure_proposal', $4, $5, $6) ON CONFLICT DO NOTHING
                    """,
                    event.event_id, account_id, muni, typed.recipients, typed.inactive_since,
                    typed.at)
            case acc.ClosureProposedForBreach():  # a lasting breach
                await conn.execute(
                    """
                    INSERT INTO monitoring_tasks (task_id, account_id, municipality_id, kind,
                        assignees, inactive_since, opened_at)
                    VALUES ($1, $2, $3, 'closure_proposal', $4, $5, $6) ON CONFLICT DO NOTHING
                    """,
                    event.event_id, account_id, muni, typed.recipients, typed.since, typed.at)
            case acc.AccountKept():
                await self._close_tasks(conn, account_id, event, "kept", typed.reason)
            case acc.ClosureRequested():
                await self._close_tasks(conn, account_id, event, "closed", typed.reason)

    async def _close_tasks(self, conn: asyncpg.Connection, account_id: str,
                           event: RecordedEvent, outcome: str, reason: str | None) -> None:
        await conn.execute(
            """
            UPDATE monitoring_tasks SET closed_at = $2, closed_by = $3, outcome = $4, reason = $5
            WHERE account_id = $1 AND closed_at IS NULL
            """,
            account_id, event.occurred_at, event.actor, outcome, reason)


_HANDLED = frozenset({
    "CheckInRecorded", "PostRecorded", "WatchItemReported", "WatchItemReminderSent",
    "WatchItemEscalated", "WatchItemResolved", "ClosureProposed", "AccountKept",
    "ClosureProposedForBreach",
    "ClosureRequested",
})
