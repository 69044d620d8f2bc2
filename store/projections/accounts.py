"""The account read models: accounts (folded with the same
`domain.account.evolve` the workflow uses, so stage, next deadline and
escalation are computed by one set of rules), the public register, the
notifications of account steps and the registrar inbox. Order matters: the
register and the registrar inbox read the row the accounts projection just
wrote. The rows are shared with the fast rebuild (store/projections/rebuild.py)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import asyncpg

from domain import account as acc
from domain import message as msg
from store.db import RawJson
from store.eventstore import RecordedEvent

_ACCOUNT_STREAM = "account-"


def _is_account(event: RecordedEvent) -> bool:
    return event.stream_id.startswith(_ACCOUNT_STREAM)


async def _load_state(conn: asyncpg.Connection, stream_id: str) -> acc.AccountState:
    raw = await conn.fetchval("SELECT state FROM accounts WHERE stream_id = $1", stream_id)
    if raw is None:
        raise LookupError(f"no account row for {stream_id}")
    data = raw if isinstance(raw, dict) else json.loads(raw)
    return acc.AccountState.model_validate(data)


# The rows the projections write, shared with the fast rebuild (store/projections/rebuild.py).


def _state(state: acc.AccountState | msg.MessageState, raw: bool) -> Any:
    """The folded state for its jsonb column: a dict, or (raw, for COPY in
    binary) the JSON text pydantic writes, the same value."""
    return RawJson(state.model_dump_json()) if raw else state.model_dump(mode="json")


def account_row(stream_id: str, state: acc.AccountState, occurred_at: datetime, version: int,
                *, raw: bool = False) -> tuple[Any, ...]:
    """The accounts row after the account's event `version`, which occurred
    at `occurred_at`, in the order of the accounts table's columns."""
    return (state.account_id, stream_id,
            acc.workflow_id_for(state.municipality_id, state.slug), state.municipality_id,
            state.request.unit_id, state.request.platform.value, state.name,
            state.stage.value, state.requester, state.handle, state.url,
            # By person: a mapping's order is no part of the record (the
            # state's round trip through jsonb reorders it).
            [a.model_dump(mode="json") for a in sorted(state.admins.values(),
                                                       key=lambda a: a.person)],
            acc.next_deadline(state), acc.is_escalated(state), state.requested_at,
            occurred_at, version, _state(state, raw),
            state.platform_account_id, state.monitoring.last_check_in)


def notification_rows(event: RecordedEvent, kind: str, account_id: str | None,
                      case_id: str | None, due: datetime | None) -> list[tuple[Any, ...]]:
    """One notifications row per recipient of a fired step."""
    data: dict[str, Any] = event.data
    return [(event.event_id, who, account_id, kind, data["step"], data["stage"], due,
             event.occurred_at, case_id) for who in data["recipients"]]



_ACCOUNT_INSERT = """
INSERT INTO accounts (account_id, stream_id, workflow_id, municipality_id, unit_id,
    platform, account_name, stage, requester, handle, url, admins, next_deadline,
    escalated, requested_at, updated_at, version, state, platform_account_id,
    last_check_in)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16,
        $17, $18, $19, $20)
ON CONFLICT (account_id) DO UPDATE SET
    account_name = EXCLUDED.account_name, stage = EXCLUDED.stage,
    handle = EXCLUDED.handle, url = EXCLUDED.url, admins = EXCLUDED.admins,
    platform_account_id = EXCLUDED.platform_account_id,
    next_deadline = EXCLUDED.next_deadline, escalated = EXCLUDED.escalated,
    updated_at = EXCLUDED.updated_at, version = EXCLUDED.version,
    state = EXCLUDED.state, last_check_in = EXCLUDED.last_check_in
"""


class AccountsProjection:
    tables = ("accounts",)

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if not _is_account(event):
            return
        typed = acc.parse_event(event.data)
        before = None if isinstance(typed, acc.AccountRequested) \
            else await _load_state(conn, event.stream_id)
        state = acc.evolve(before, typed)
        await conn.execute(_ACCOUNT_INSERT, *account_row(event.stream_id, state,
                                                         event.occurred_at, event.version))


class PublicRegisterProjection:
    """R-07: an account is listed when activated and leaves at closure; a
    recorded profile change (R-37) renames it or gives it its new handle."""

    tables = ("public_register",)

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if not _is_account(event):
            return
        if event.event_type == "ListedInRegister":
            state = await _load_state(conn, event.stream_id)
            await conn.execute(
                """
                INSERT INTO public_register (account_id, municipality_id, unit_id, platform,
                    account_name, handle, url, purpose, contact_email, monitoring_hours,
                    listed_at)
                VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
                ON CONFLICT (account_id) DO NOTHING
                """,
                state.account_id, state.municipality_id, state.request.unit_id,
                state.request.platform.value, state.name, state.handle,
                state.url, state.request.purpose, state.request.contact_email,
                acc.monitoring_hours_text(state.request.monitoring_hours), event.occurred_at,
            )
        elif event.event_type == "ProfileChanged":
            state = await _load_state(conn, event.stream_id)
            await conn.execute(
                "UPDATE public_register SET account_name = $2, handle = $3, url = $4 "
                "WHERE account_id = $1", state.account_id, state.name, state.handle, state.url)
        elif event.event_type == "RemovedFromRegister":
            account_id = await conn.fetchval(
                "SELECT account_id FROM accounts WHERE stream_id = $1", event.stream_id)
            await conn.execute("DELETE FROM public_register WHERE account_id = $1", account_id)


_NOTIFICATION_KINDS = {
    "DeadlineReminderSent": "reminder", "DeadlineEscalated": "escalation",
    "MessageReminderSent": "reminder", "MessageEscalated": "escalation",
    # R-15..R-20: the monitoring duties of active accounts.
    "CheckInReminderSent": "reminder", "CheckInEscalated": "escalation",
    "PostingRhythmWarned": "warning", "ClosureProposed": "proposal",
    "ClosureProposedForBreach": "proposal",  # R-19, issue 16
    "WatchItemReminderSent": "reminder", "WatchItemEscalated": "escalation",
    "AllAdminsAwayEscalated": "escalation",
}


async def _notify(conn: asyncpg.Connection, event: RecordedEvent, account_id: str,
                  case_id: str | None, due: datetime) -> None:
    await conn.executemany(
        """
        INSERT INTO notifications (event_id, recipient, account_id, kind, step, stage, due,
            created_at, case_id)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT DO NOTHING
        """,
        notification_rows(event, _NOTIFICATION_KINDS[event.event_type], account_id, case_id,
                          due),
    )


class NotificationsProjection:
    """Reminders and escalations of accounts, one row per recipient."""

    tables = ("notifications",)

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.event_type not in _NOTIFICATION_KINDS or not _is_account(event):
            return
        fired = acc.parse_event(event.data)
        assert isinstance(fired, acc.StepFired)
        await _notify(conn, event, event.stream_id.removeprefix(_ACCOUNT_STREAM), None,
                      fired.due)


class RegistrarInboxProjection:
    """R-38: the final snapshot is registered for the registrars."""

    tables = ("registrar_inbox",)

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.event_type != "FinalSnapshotArchived" or not _is_account(event):
            return
        archived = acc.parse_event(event.data)
        assert isinstance(archived, acc.FinalSnapshotArchived)
        state = await _load_state(conn, event.stream_id)
        package = archived.package
        await conn.execute(
            """
            INSERT INTO registrar_inbox (package_id, account_id, municipality_id, kind, path,
                manifest_sha256, payload_oxum, registrars, received_at)
            VALUES ($1, $2, $3, 'final_snapshot', $4, $5, $6, $7, $8)
            ON CONFLICT (package_id) DO NOTHING
            """,
            package.package_id, state.account_id, state.municipality_id, package.path,
            package.manifest_sha256, package.payload_oxum, archived.registrars,
            event.occurred_at,
        )
