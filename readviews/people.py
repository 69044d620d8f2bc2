"""Reads for the intranet's pages (web/): who signs in, what waits for whom.

Rows come out JSON-ready (times as ISO strings, ids as strings), like
readviews/accounts.py.
"""

from __future__ import annotations

from typing import Any

import asyncpg

from codec import DataKeys
from readviews.accounts import AccountRecord, account_record_of
from readviews.rows import plain_row
from store.message_contents import with_contents


async def people_matching(pool: asyncpg.Pool, who: str, *,
                          municipality_id: str | None = None) -> list[tuple[str, str]]:
    """(municipality, person) of the active people whose e-mail address is
    `who` (case-insensitive), or else whose person id is `who`: how an
    OpenID Connect claim names a person of the directory."""
    rows = await pool.fetch(
        """SELECT municipality_id, id FROM people
           WHERE active AND lower(email) = lower($1)
             AND ($2::text IS NULL OR municipality_id = $2)
           ORDER BY municipality_id, id""",
        who, municipality_id)
    if not rows:
        rows = await pool.fetch(
            """SELECT municipality_id, id FROM people
               WHERE active AND id = lower($1) AND ($2::text IS NULL OR municipality_id = $2)
               ORDER BY municipality_id, id""",
            who, municipality_id)
    return [(r["municipality_id"], r["id"]) for r in rows]


async def people_for_signin(pool: asyncpg.Pool) -> list[dict[str, Any]]:
    """Every active person with municipality and unit names, for the
    development sign-in's list."""
    rows = await pool.fetch(
        """SELECT p.municipality_id, m.name AS municipality, p.id, p.name,
                  p.unit, u.name AS unit_name
           FROM people p
           JOIN municipalities m ON m.id = p.municipality_id
           LEFT JOIN units u ON u.municipality_id = p.municipality_id AND u.id = p.unit
           WHERE p.active
           ORDER BY m.name, u.name NULLS LAST, p.name""")
    return [plain_row(r) for r in rows]


TERMINAL_ACCOUNT_STAGES = ("closed", "rejected", "lapsed")
OPEN_MESSAGE_STAGES = ("open", "acknowledged", "forwarded", "drafted", "awaiting_approval")


async def live_accounts(pool: asyncpg.Pool, municipality_id: str) -> list[AccountRecord]:
    """The municipality's accounts that are not closed, rejected or lapsed,
    with their folded state (for "my tasks"), soonest deadline first."""
    rows = await pool.fetch(
        """SELECT account_id, account_name, platform, unit_id, stage, next_deadline,
                  escalated, state
           FROM accounts
           WHERE municipality_id = $1 AND NOT (stage = ANY($2::text[]))
           ORDER BY next_deadline ASC NULLS LAST, requested_at""",
        municipality_id, list(TERMINAL_ACCOUNT_STAGES))
    return [account_record_of(plain_row(r)) for r in rows]


async def message_tasks(pool: asyncpg.Pool, municipality_id: str, person_id: str, *,
                        data_keys: DataKeys | None = None) -> list[dict[str, Any]]:
    """Message cases waiting for the person: questions forwarded to them as
    case officer; open cases, manual platform actions and disposals due on
    accounts they administer. `why` says which. Each with its `text` and
    `author_name` (as the inbox shows them to the same people; null where
    none can be read), so a task names the message, not its internal id."""
    rows = await pool.fetch(
        """SELECT mc.case_id, mc.account_id, a.account_name, mc.platform, mc.kind, mc.stage,
                  mc.received_at, mc.next_deadline, mc.escalated, mc.officer,
                  mc.state->>'pending_action' AS pending_action,
                  CASE WHEN mc.officer = $2 AND mc.stage = 'forwarded' THEN 'forwarded'
                       WHEN mc.stage = 'disposal_pending' THEN 'disposal'
                       WHEN mc.state->>'pending_action' IS NOT NULL THEN 'manual_action'
                       ELSE 'open' END AS why,
                  c.content
           FROM message_cases mc
           JOIN accounts a ON a.account_id = mc.account_id
           LEFT JOIN message_contents c ON c.case_id = mc.case_id
           WHERE mc.municipality_id = $1
             AND ((mc.officer = $2 AND mc.stage = 'forwarded')
                  OR ((a.state->'admins') ? $2
                      AND (mc.stage = ANY($3::text[]) OR mc.stage = 'disposal_pending'
                           OR mc.state->>'pending_action' IS NOT NULL)
                      AND NOT mc.from_staff))
           ORDER BY mc.next_deadline ASC NULLS LAST, mc.received_at
           LIMIT 200""",
        municipality_id, person_id, list(OPEN_MESSAGE_STAGES))
    return await with_contents(data_keys, (plain_row(r) for r in rows))


async def person_names(pool: asyncpg.Pool, municipality_id: str) -> dict[str, str]:
    """Person id -> name, inactive people included (old events name them)."""
    rows = await pool.fetch("SELECT id, name FROM people WHERE municipality_id = $1",
                            municipality_id)
    return {r["id"]: r["name"] for r in rows}


async def snapshot_tasks(pool: asyncpg.Pool, municipality_id: str, person_id: str
                         ) -> list[dict[str, Any]]:
    """R-37, R-38: snapshots waiting for screenshots that wait for the person,
    soonest deadline first. `why` says which:

    - ``upload``: they administer the account (its admins as they are now):
      upload screenshots and say done;
    - ``escalated_communications``: they are in the communications unit and
      the wait has been escalated to it (or an escalation told them): say
      done, or package the record only with a reason;
    - ``escalated_manager``: they are the unit's manager or deputy and the
      wait has been escalated to them (or an escalation told them).

    An admin who is also a manager sees the admin's task; someone told of an
    escalation and since gone from the unit's authorities is not shown it
    unless still an admin."""
    rows = await pool.fetch(
        """SELECT r.snapshot_id, r.account_id, a.account_name, a.platform, r.reason,
                  r.requested_at, r.next_deadline, r.reminded_at, r.escalated_at,
                  r.escalated_to,
                  CASE WHEN (a.state->'admins') ? $2 THEN 'upload'
                       WHEN (a.state->'authorities'->'communications') ? $2
                            AND (r.escalated_to = 'screenshots_communications' OR told.any)
                            THEN 'escalated_communications'
                       ELSE 'escalated_manager' END AS why
           FROM snapshot_screenshot_requests r
           JOIN accounts a ON a.account_id = r.account_id
           CROSS JOIN LATERAL (SELECT EXISTS (
               SELECT 1 FROM notifications n
               WHERE n.case_id = r.snapshot_id AND n.recipient = $2
                 AND n.kind = 'escalation') AS any) told
           WHERE r.municipality_id = $1 AND r.outcome IS NULL
             AND ((a.state->'admins') ? $2
                  OR ((a.state->'authorities'->'communications') ? $2
                      AND (r.escalated_to = 'screenshots_communications' OR told.any))
                  OR ((a.state->'authorities'->>'manager' = $2
                       OR a.state->'authorities'->>'deputy' = $2)
                      AND r.escalated_to IS NOT NULL))
           ORDER BY r.next_deadline ASC NULLS LAST, r.requested_at
           LIMIT 200""",
        municipality_id, person_id)
    return [plain_row(r) for r in rows]
