"""The crisis read models (R-39, R-40): crisis_modes, crisis_storms,
crisis_digests, storm_counts and the crisis tag of message cases."""

from __future__ import annotations

import json
import uuid

import asyncpg

from domain import crisis as cr
from store.eventstore import RecordedEvent


def _digest_event_id(digest_id: str, recipient: str) -> uuid.UUID:
    return uuid.uuid5(uuid.NAMESPACE_URL, f"kanalvakt:crisis-digest:{digest_id}:{recipient}")


class CrisisProjection:
    """crisis_modes, crisis_storms and crisis_digests from the crisis streams;
    the crisis tag of message cases (message_cases.crisis_id); notifications
    for storm flags (the communications unit) and digests (crisis
    management). Runs after MessageCasesProjection, whose row it tags."""

    tables = ("crisis_modes", "crisis_storms", "crisis_digests", "storm_counts")

    async def apply(self, conn: asyncpg.Connection, event: RecordedEvent) -> None:
        if event.event_type == "MessageReceived":
            # The crisis tag, and the storm's count of the minute, in one
            # statement whatever the storm's size.
            await conn.execute(
                """WITH tagged AS (
                       UPDATE message_cases SET crisis_id = state->>'crisis_id'
                       WHERE case_id = $1 AND state->>'crisis_id' IS NOT NULL)
                   INSERT INTO storm_counts (account_id, minute, messages, critical)
                   SELECT account_id, date_trunc('minute', received_at), 1,
                          (state->>'mood' = 'critical')::int
                   FROM message_cases WHERE case_id = $1 AND NOT from_staff
                   ON CONFLICT (account_id, minute) DO UPDATE SET
                       messages = storm_counts.messages + 1,
                       critical = storm_counts.critical + EXCLUDED.critical""",
                event.stream_id)
            return
        if event.event_type == "CrisisRulesApplied":
            await conn.execute(
                """UPDATE message_cases SET crisis_id = state->>'crisis_id'
                   WHERE case_id = $1 AND state->>'crisis_id' IS NOT NULL""", event.stream_id)
            return
        if not event.stream_id.startswith(cr.STREAM_PREFIX):
            return
        typed = cr.parse_event(event.data)
        match typed:
            case cr.CrisisDeclared():
                m = typed.crisis
                await conn.execute(
                    """INSERT INTO crisis_modes (crisis_id, municipality_id, units, mode, reason,
                           declared_by, declared_at) VALUES ($1, $2, $3, $4, $5, $6, $7)
                       ON CONFLICT (crisis_id) DO NOTHING""",
                    m.crisis_id, m.municipality_id, sorted(m.units), m.model_dump(mode="json"),
                    typed.reason, typed.actor, typed.at)
            case cr.CrisisApproversChanged():
                await conn.execute("UPDATE crisis_modes SET mode = $2 WHERE crisis_id = $1",
                                   typed.crisis.crisis_id, typed.crisis.model_dump(mode="json"))
            case cr.CrisisEnded():
                await conn.execute(
                    """UPDATE crisis_modes SET ended_by = $2, ended_at = $3, end_reason = $4
                       WHERE crisis_id = $1""", typed.crisis_id, typed.actor, typed.at,
                    typed.reason)
            case cr.StormFlagged():
                municipality = event.stream_id.removeprefix(cr.STREAM_PREFIX)
                await conn.execute(
                    """INSERT INTO crisis_storms (event_id, municipality_id, account_id, unit_id,
                           flagged_at, cooldown_until, window_start, window_end, messages,
                           critical)
                       VALUES ($1, $2, $3::uuid, $4, $5, $6, $7, $8, $9, $10)
                       ON CONFLICT DO NOTHING""",
                    event.event_id, municipality, typed.account_id, typed.unit_id,
                    typed.flag.flagged_at, typed.flag.until, typed.window_start,
                    typed.window_end, typed.flag.messages, typed.flag.critical)
                await conn.executemany(
                    """INSERT INTO notifications (event_id, recipient, account_id, kind, step,
                           stage, due, created_at)
                       VALUES ($1, $2, $3::uuid, 'storm', $4, 'active', $5, $6)
                       ON CONFLICT DO NOTHING""",
                    [(event.event_id, who, typed.account_id, f"storm@{typed.at.isoformat()}",
                      typed.flag.until, event.occurred_at) for who in typed.recipients])
            case cr.StormCooledDown():
                await conn.execute(
                    """UPDATE crisis_storms SET cooled_down_at = $2
                       WHERE account_id = $1::uuid AND cooled_down_at IS NULL""",
                    typed.account_id, typed.at)
            case cr.CrisisDigestCompiled():
                d = typed.digest
                await conn.execute(
                    """INSERT INTO crisis_digests (digest_id, crisis_id, municipality_id,
                           period_start, period_end, compiled_at, messages, questions, critical,
                           open, flagged, digest)
                       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
                       ON CONFLICT DO NOTHING""",
                    d.digest_id, d.crisis_id, d.municipality_id, d.period_start, d.period_end,
                    typed.at, d.messages, d.questions, d.critical, d.open, d.flagged,
                    json.loads(d.model_dump_json()))
                await conn.executemany(
                    """INSERT INTO notifications (event_id, recipient, account_id, kind, step,
                           stage, due, created_at)
                       VALUES ($1, $2, NULL, 'crisis_digest', $3, 'crisis', $4, $5)
                       ON CONFLICT DO NOTHING""",
                    [(_digest_event_id(d.digest_id, who), who, d.digest_id, d.period_end,
                      event.occurred_at) for who in d.recipients])
            case _:
                return
