"""Issue 12: the database figures behind the web app's /metrics
(readviews/operations.py, web/observability.DatabaseFigures) on a real
PostgreSQL: the intake backlog and its oldest row, open cases by stage,
deadlines due and overdue, and the escalation
counter, which counts every escalation once however often it is read,
including one committed late below a position already seen."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from readviews.operations import escalations_after, figures
from web.observability import DatabaseFigures


async def _event(pool: asyncpg.Pool, event_type: str, *, age: timedelta = timedelta(0),
                 conn: asyncpg.Connection | None = None) -> int:
    stream = f"test:{uuid.uuid4().hex}"
    recorded = datetime.now(UTC) - age
    position: int = await (conn or pool).fetchval(
        """INSERT INTO events (stream_id, version, event_id, event_type, data,
                               idempotency_key, batch_index, occurred_at, recorded_at)
           VALUES ($1, 1, $2, $3, '{}'::jsonb, $4, 0, $5, $5) RETURNING global_position""",
        stream, uuid.uuid4(), event_type, uuid.uuid4().hex, recorded)
    return position


async def _message_case(pool: asyncpg.Pool, stage: str, deadline: datetime | None) -> None:
    await pool.execute(
        """INSERT INTO message_cases (case_id, account_id, municipality_id, platform, kind,
                                      from_staff, stage, received_at, next_deadline, version,
                                      state)
           VALUES ($1, $2, 'exempelby', 'facebook', 'comment', false, $3, now(), $4, 1,
                   '{}'::jsonb)""",
        f"message:facebook:{uuid.uuid4().hex}", uuid.uuid4(), stage, deadline)


async def test_intake_cases_and_deadlines(pool: asyncpg.Pool) -> None:
    now = datetime.now(UTC)
    for n, (age, parked) in enumerate([(timedelta(minutes=7), False),
                                       (timedelta(minutes=1), False),
                                       (timedelta(hours=2), True)]):
        await pool.execute(
            """INSERT INTO intake (platform, external_id, account_ref, message, received_at,
                                   parked_at)
               VALUES ('facebook', $1, '104', $2::jsonb, $3, $4)""",
            f"x_{n}", json.dumps({}), now - age, now if parked else None)
    await _message_case(pool, "open", now + timedelta(minutes=30))      # due
    await _message_case(pool, "open", now - timedelta(minutes=10))      # overdue
    await _message_case(pool, "forwarded", now + timedelta(days=1))     # neither
    # Answered: ended as a case, but its records reminder is a deadline.
    await _message_case(pool, "answered", now - timedelta(minutes=10))
    await _message_case(pool, "closed", None)

    f = await figures(pool)
    assert (f.intake_pending, f.intake_parked, f.intake_waiting_to_retry) == (2, 1, 0)
    assert 7 * 60 - 5 < f.intake_oldest_age_seconds < 7 * 60 + 60  # the parked one is not it
    assert f.open_cases == {("message", "open"): 2, ("message", "forwarded"): 1}
    assert f.deadlines == {("message", "due"): 1, ("message", "overdue"): 2,
                           ("account", "due"): 0, ("account", "overdue"): 0}


async def test_escalations_are_counted_once_however_often_read(pool: asyncpg.Pool) -> None:
    old = timedelta(minutes=5)
    await _event(pool, "DeadlineEscalated", age=old)
    await _event(pool, "DeadlineEscalated", age=old)
    await _event(pool, "MessageReceived", age=old)
    await _event(pool, "MessageEscalated")

    first = await escalations_after(pool, 0)
    assert first.settled == {"DeadlineEscalated": 2}
    assert first.recent == {"MessageEscalated": 1}

    gauges = DatabaseFigures(max_age=0)

    def totals() -> dict[str, float]:
        return {s.labels["type"]: s.value for m in gauges.collect()
                if m.name == "kanalvakt_escalations" for s in m.samples
                if s.name.endswith("_total")}

    await gauges.refresh(pool)
    assert totals() == {"DeadlineEscalated": 2, "MessageEscalated": 1}
    await gauges.refresh(pool)
    assert totals() == {"DeadlineEscalated": 2, "MessageEscalated": 1}

    # A transaction that took its position before a newer event but commits
    # after the counter read past it: still counted, once.
    async with pool.acquire() as conn:
        tx = conn.transaction()
        await tx.start()
        await _event(pool, "CheckInEscalated", conn=conn)
        await _event(pool, "WatchItemEscalated")
        await gauges.refresh(pool)
        assert totals() == {"DeadlineEscalated": 2, "MessageEscalated": 1,
                            "WatchItemEscalated": 1}
        await tx.commit()
    await gauges.refresh(pool)
    await gauges.refresh(pool)
    assert totals() == {"DeadlineEscalated": 2, "MessageEscalated": 1,
                        "WatchItemEscalated": 1, "CheckInEscalated": 1}


async def test_outbox_depth_ready_held_failed_and_oldest(pool: asyncpg.Pool) -> None:
    """Issue 13: a delivery that keeps failing is visible to operators as a
    metric too (kanalvakt_outbox_depth): rows ready to send now, held for a
    digest hour or a retry, failed; sent rows are not counted."""
    now = datetime.now(UTC)
    rows = [("pending", None, timedelta(minutes=12)),          # unplanned: ready
            ("pending", now - timedelta(minutes=1), timedelta(minutes=3)),  # ready
            ("pending", now + timedelta(hours=5), timedelta(minutes=30)),   # a digest's hour
            ("failed", now - timedelta(hours=1), timedelta(hours=2)),
            ("sent", now - timedelta(hours=1), timedelta(hours=3))]
    for n, (status, send_after, age) in enumerate(rows):
        await pool.execute(
            """INSERT INTO outbox (event_id, recipient, channel, kind, step, stage, created_at,
                                   status, send_after)
               VALUES ($1, $2, 'email', 'message_reminder', 'remind', 'open', $3, $4, $5)""",
            uuid.uuid4(), f"person.{n}", now - age, status, send_after)
    f = await figures(pool)
    assert (f.outbox_ready, f.outbox_held, f.outbox_failed) == (2, 1, 1)
    assert 11 * 60 < f.outbox_oldest_ready_age_seconds < 13 * 60
    gauges = DatabaseFigures(max_age=0)
    await gauges.refresh(pool)
    depth = {s.labels["state"]: s.value for m in gauges.collect()
             if m.name == "kanalvakt_outbox_depth" for s in m.samples}
    assert depth == {"ready": 2, "held": 1, "failed": 1}
