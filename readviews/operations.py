"""Operational figures for the metrics (issue 12): what an operator watches,
read from the tables the app keeps anyway. Each query is one cheap scan or
an index range; web/observability.py asks at scrape time and reuses the
answer for KANALVAKT_METRICS_CACHE_SECONDS, so no request of a person or of
Meta ever waits for them."""

from __future__ import annotations

from dataclasses import dataclass, field

import asyncpg

from domain.account import Stage as AccountStage
from domain.message.values import Stage as MessageStage

# A deadline is "due" within this many seconds, "overdue" once it is this
# far past without the case having moved (its timer should have fired: the
# workers are behind or away).
DUE_WITHIN_SECONDS = 3600
OVERDUE_AFTER_SECONDS = 300

# Every event type that records an escalation (R-08 and the chases).
ESCALATION_EVENTS = ("DeadlineEscalated", "CheckInEscalated", "WatchItemEscalated",
                     "MessageEscalated")


@dataclass
class Figures:
    intake_pending: int = 0
    intake_waiting_to_retry: int = 0
    intake_parked: int = 0
    intake_oldest_age_seconds: float = 0.0
    # (kind, stage) -> count of cases not ended
    open_cases: dict[tuple[str, str], int] = field(default_factory=dict)
    # (kind, "due" | "overdue") -> count of cases whose next deadline (the
    # read model's: None when no timer is pending) is so; an answered
    # message's records reminder counts though the case has ended
    # in the domain's sense
    deadlines: dict[tuple[str, str], int] = field(default_factory=dict)
    # The outbox (issue 13): rows to deliver now, held for a digest hour or a
    # retry, failed (an operator's turn), and the oldest deliverable row's age.
    outbox_ready: int = 0
    outbox_held: int = 0
    outbox_failed: int = 0
    outbox_oldest_ready_age_seconds: float = 0.0


async def figures(pool: asyncpg.Pool) -> Figures:
    out = Figures()
    async with pool.acquire() as conn:
        row = await conn.fetchrow(
            """
            SELECT count(*) FILTER (WHERE parked_at IS NULL) AS pending,
                   count(*) FILTER (WHERE parked_at IS NULL
                                    AND next_attempt_at > clock_timestamp()) AS waiting,
                   count(*) FILTER (WHERE parked_at IS NOT NULL) AS parked,
                   coalesce(extract(epoch FROM clock_timestamp()
                       - min(received_at) FILTER (WHERE parked_at IS NULL)), 0) AS oldest
            FROM intake WHERE started_at IS NULL
            """)
        assert row is not None
        out.intake_pending = int(row["pending"])
        out.intake_waiting_to_retry = int(row["waiting"])
        out.intake_parked = int(row["parked"])
        out.intake_oldest_age_seconds = max(0.0, float(row["oldest"]))
        ended_accounts = [s.value for s in AccountStage if s.terminal]
        ended_messages = [s.value for s in MessageStage if s.terminal]
        for kind, table, ended in (("account", "accounts", ended_accounts),
                                   ("message", "message_cases", ended_messages)):
            for r in await conn.fetch(
                    f"SELECT stage, count(*) AS n FROM {table} "
                    f"WHERE stage <> ALL($1::text[]) GROUP BY stage", ended):
                out.open_cases[(kind, r["stage"])] = int(r["n"])
            d = await conn.fetchrow(
                f"""
                SELECT count(*) FILTER (WHERE next_deadline > clock_timestamp()
                         AND next_deadline <= clock_timestamp() + make_interval(secs => $1))
                         AS due,
                       count(*) FILTER (WHERE next_deadline
                         <= clock_timestamp() - make_interval(secs => $2)) AS overdue
                FROM {table} WHERE next_deadline IS NOT NULL
                """, DUE_WITHIN_SECONDS, OVERDUE_AFTER_SECONDS)
            assert d is not None
            out.deadlines[(kind, "due")] = int(d["due"])
            out.deadlines[(kind, "overdue")] = int(d["overdue"])
        o = await conn.fetchrow(
            """
            SELECT count(*) FILTER (WHERE status = 'pending'
                                    AND coalesce(send_after, created_at) <= clock_timestamp())
                     AS ready,
                   count(*) FILTER (WHERE status = 'pending'
                                    AND send_after > clock_timestamp()) AS held,
                   count(*) FILTER (WHERE status = 'failed') AS failed,
                   coalesce(extract(epoch FROM clock_timestamp() - min(created_at) FILTER (
                       WHERE status = 'pending'
                         AND coalesce(send_after, created_at) <= clock_timestamp())), 0)
                     AS oldest
            FROM outbox WHERE status IN ('pending', 'failed')
            """)
        assert o is not None
        out.outbox_ready = int(o["ready"])
        out.outbox_held = int(o["held"])
        out.outbox_failed = int(o["failed"])
        out.outbox_oldest_ready_age_seconds = max(0.0, float(o["oldest"]))
    return out


@dataclass
class EscalationCount:
    """Escalations recorded, by event type: `settled` up to `position`
    (written more than SETTLE_SECONDS ago, so no transaction still open can
    add one below it), `recent` after it (counted again on every call)."""

    settled: dict[str, int]
    position: int
    recent: dict[str, int]


SETTLE_SECONDS = 60


async def escalations_after(pool: asyncpg.Pool, position: int) -> EscalationCount:
    """A counter kept by asking only for what is new: the events after
    `position` (the event store's global position, its unique index), all
    of history on the first call. An event's position is taken when it is
    written and becomes visible when its transaction commits, so a count
    only moves its position past events written SETTLE_SECONDS ago."""
    async with pool.acquire() as conn, conn.transaction(isolation="repeatable_read",
                                                         readonly=True):
        cutoff = await conn.fetchval(
            """
            SELECT coalesce(max(global_position), $1) FROM events
            WHERE global_position > $1
              AND recorded_at < clock_timestamp() - make_interval(secs => $2)
            """, position, SETTLE_SECONDS)
        rows = await conn.fetch(
            """
            SELECT event_type, global_position <= $2 AS settled, count(*) AS n
            FROM events WHERE global_position > $1 AND event_type = ANY($3::text[])
            GROUP BY 1, 2
            """, position, cutoff, list(ESCALATION_EVENTS))
    settled = {r["event_type"]: int(r["n"]) for r in rows if r["settled"]}
    recent = {r["event_type"]: int(r["n"]) for r in rows if not r["settled"]}
    return EscalationCount(settled=settled, position=int(cutoff), recent=recent)
