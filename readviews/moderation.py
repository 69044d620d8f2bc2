"""Reads for the intranet's moderation, registrar and report pages
(web/message_pages.py, web/report_pages.py): the inbox across the accounts a
person handles, the questions forwarded to them, and the figures of R-42 per
unit (response times are computed from the cases' states by
web.messages_api.response_times, the same code as the JSON API's).

Rows come out JSON-ready like readviews.messages.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from codec import DataKeys
from domain import message as msg
from readviews.messages import OPEN_STAGES, waiting_for_a_person
from readviews.rows import plain_row
from store.message_contents import with_contents


async def handled_accounts(pool: asyncpg.Pool, municipality_id: str, person_id: str, *,
                           units: list[str], everything: bool) -> list[dict[str, Any]]:
    """The accounts whose messages the person reads: those they administer,
    those of the units they manage (or stand in for), or, for the
    communications unit (`everything`), all of the municipality's. Active
    accounts, and others that still have open cases."""
    rows = await pool.fetch(
        f"""
        SELECT a.account_id, a.account_name, a.platform, a.unit_id, a.stage, a.handle,
               (a.state->'admins') ? $2 AS is_admin,
               (SELECT count(*) FROM message_cases mc
                 WHERE mc.account_id = a.account_id AND NOT mc.from_staff
                   AND {waiting_for_a_person(5)}
               ) AS open_cases
        FROM accounts a
        WHERE a.municipality_id = $1
          AND ($4 OR (a.state->'admins') ? $2 OR a.unit_id = ANY($3::text[]))
          AND (a.stage = 'active' OR EXISTS (
                SELECT 1 FROM message_cases mc WHERE mc.account_id = a.account_id
                  AND mc.stage = ANY($5::text[])))
        ORDER BY a.account_name, a.platform
        """,
        municipality_id, person_id, units, everything, list(OPEN_STAGES))
    return [plain_row(r) for r in rows]


_CASE_COLUMNS = """
    mc.case_id, mc.account_id, a.account_name, a.unit_id, mc.platform, mc.kind, mc.stage,
    mc.received_at, mc.next_deadline, mc.escalated, mc.officer, mc.diarium_number, mc.flags,
    mc.state->>'mood' AS mood,
    COALESCE((mc.state->>'hidden')::boolean, false) AS hidden,
    mc.state->>'pending_action' AS pending_action,
    mc.state->>'crisis_id' AS crisis_id,
    (mc.state->'crisis') IS NOT NULL AND mc.state->'crisis' <> 'null'::jsonb AS in_crisis,
    mc.state->'policy'->'office_hours' AS office_hours,
    mc.state->>'country' AS country, mc.state->>'timezone' AS timezone,
    c.content
"""


async def open_cases(pool: asyncpg.Pool, account_ids: list[str], *,
                     data_keys: DataKeys | None = None) -> list[dict[str, Any]]:
    """R-22, R-23: the citizens' cases of these accounts that wait for a
    person, soonest deadline first."""
    rows = await pool.fetch(
        f"""
        SELECT {_CASE_COLUMNS}
        FROM message_cases mc
        JOIN accounts a ON a.account_id = mc.account_id
        LEFT JOIN message_contents c ON c.case_id = mc.case_id
        WHERE mc.account_id = ANY($1::uuid[]) AND NOT mc.from_staff
          AND {waiting_for_a_person(2)}
        ORDER BY mc.next_deadline ASC NULLS LAST, mc.received_at, mc.case_id
        LIMIT 500
        """,
        account_ids, list(OPEN_STAGES))
    return await with_contents(data_keys, (plain_row(r) for r in rows))


async def account_cases(pool: asyncpg.Pool, account_id: str, *, closed: bool,
                        data_keys: DataKeys | None = None) -> list[dict[str, Any]]:
    """One account's cases: open ones, or (`closed`) every one, newest first."""
    rows = await pool.fetch(
        f"""
        SELECT {_CASE_COLUMNS}
        FROM message_cases mc
        JOIN accounts a ON a.account_id = mc.account_id
        LEFT JOIN message_contents c ON c.case_id = mc.case_id
        WHERE mc.account_id = $1::uuid
          AND ($2 OR (NOT mc.from_staff AND {waiting_for_a_person(3)}))
        ORDER BY CASE WHEN $2 THEN NULL ELSE mc.next_deadline END ASC NULLS LAST,
                 mc.received_at DESC, mc.case_id
        LIMIT 500
        """,
        account_id, closed, list(OPEN_STAGES))
    return await with_contents(data_keys, (plain_row(r) for r in rows))


async def forwarded_to(pool: asyncpg.Pool, municipality_id: str, person_id: str, *,
                       data_keys: DataKeys | None = None) -> list[dict[str, Any]]:
    """R-24: the questions forwarded to the person as case officer, awaiting their draft."""
    rows = await pool.fetch(
        f"""
        SELECT {_CASE_COLUMNS}
        FROM message_cases mc
        JOIN accounts a ON a.account_id = mc.account_id
        LEFT JOIN message_contents c ON c.case_id = mc.case_id
        WHERE mc.municipality_id = $1 AND mc.officer = $2 AND mc.stage = 'forwarded'
        ORDER BY mc.next_deadline ASC NULLS LAST, mc.received_at
        """,
        municipality_id, person_id)
    return await with_contents(data_keys, (plain_row(r) for r in rows))


async def people(pool: asyncpg.Pool, municipality_id: str) -> list[dict[str, Any]]:
    """The municipality's active people with their unit's name (a case officer's list)."""
    rows = await pool.fetch(
        """
        SELECT p.id, p.name, u.name AS unit_name
        FROM people p LEFT JOIN units u ON u.municipality_id = p.municipality_id AND u.id = p.unit
        WHERE p.municipality_id = $1 AND p.active
        ORDER BY p.name
        """,
        municipality_id)
    return [plain_row(r) for r in rows]


# --------------------------------------------------------------------------- reports


async def report_accounts(pool: asyncpg.Pool, municipality_id: str, *,
                          unit_id: str | None = None) -> list[dict[str, Any]]:
    """The accounts a report covers: the unit's, or the municipality's, that
    have been active (any with messages)."""
    rows = await pool.fetch(
        """
        SELECT a.account_id, a.account_name, a.platform, a.unit_id, a.stage, a.state
        FROM accounts a
        WHERE a.municipality_id = $1 AND ($2::text IS NULL OR a.unit_id = $2)
          AND (a.stage IN ('active', 'closing', 'closed')
               OR EXISTS (SELECT 1 FROM message_cases mc WHERE mc.account_id = a.account_id))
        ORDER BY a.account_name, a.platform
        """,
        municipality_id, unit_id)
    return [plain_row(r) for r in rows]


async def citizen_cases_of(pool: asyncpg.Pool, account_ids: list[str], *,
                           received_from: datetime | None = None,
                           received_to: datetime | None = None
                           ) -> dict[str, list[msg.MessageState]]:
    """R-42: per account, its citizens' cases received in the period, as states."""
    rows = await pool.fetch(
        """
        SELECT account_id, state FROM message_cases
        WHERE account_id = ANY($1::uuid[]) AND NOT from_staff
          AND ($2::timestamptz IS NULL OR received_at >= $2)
          AND ($3::timestamptz IS NULL OR received_at < $3)
        ORDER BY received_at
        """,
        account_ids, received_from, received_to)
    out: dict[str, list[msg.MessageState]] = {a: [] for a in account_ids}
    for r in rows:
        out[str(r["account_id"])].append(msg.MessageState.model_validate(r["state"]))
    return out


async def redactions_by_category(pool: asyncpg.Pool, account_ids: list[str], *,
                                 occurred_from: datetime | None = None,
                                 occurred_to: datetime | None = None
                                 ) -> list[dict[str, Any]]:
    """R-29, R-42: removals recorded in the period, per account and category
    (from the event log, so a later disposal does not hide them)."""
    rows = await pool.fetch(
        """
        SELECT mc.account_id, e.data->>'category' AS category, count(*) AS n
        FROM events e
        JOIN message_cases mc ON mc.case_id = e.stream_id
        WHERE e.event_type = 'MessageRedacted' AND mc.account_id = ANY($1::uuid[])
          AND ($2::timestamptz IS NULL OR e.occurred_at >= $2)
          AND ($3::timestamptz IS NULL OR e.occurred_at < $3)
        GROUP BY mc.account_id, e.data->>'category'
        ORDER BY mc.account_id, category
        """,
        account_ids, occurred_from, occurred_to)
    return [plain_row(r) for r in rows]


async def record_classes(pool: asyncpg.Pool, municipality_id: str) -> list[str]:
    """The diarium classes in use in the municipality (the search's choices)."""
    rows = await pool.fetch(
        "SELECT DISTINCT record_class FROM diarium WHERE municipality_id = $1 ORDER BY 1",
        municipality_id)
    return [r["record_class"] for r in rows]
