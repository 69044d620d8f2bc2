"""Issue 9: an event PostgreSQL cannot hold fails at once and for good, in
the store and in the record_events activity, instead of retrying for ever."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import asyncpg
import pytest
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment

from activities.records import RecordActivities, RecordEventsInput
from domain.records import StoredEvent
from store.eventstore import MAX_EVENT_BYTES, EventStore, UnrecordableEvent
from tests.integration.test_eventstore import count_events, event

T0 = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize("text", ["a\x00b", "\ud800", "x" * (MAX_EVENT_BYTES + 1)],
                         ids=["nul", "lone-surrogate", "oversize"])
async def test_issue9_an_unrecordable_event_is_refused_and_nothing_written(
        pool: asyncpg.Pool, text: str) -> None:
    store = EventStore(pool)
    with pytest.raises(UnrecordableEvent):
        await store.append("message:x:1", 0, [event("AcknowledgementSent", text="ok"),
                                              event("MessageAnswered", text=text)],
                           idempotency_key=str(uuid4()))
    assert await count_events(pool) == 0
    # The stream is not harmed: the next, good append is version 1.
    done = await store.append("message:x:1", 0, [event("MessageAnswered", text="ok")],
                              idempotency_key=str(uuid4()))
    assert done.last_version == 1


async def test_issue9_record_events_fails_non_retryably_on_a_nul(pool: asyncpg.Pool) -> None:
    """The activity's error is non-retryable with a clear type, so the update
    that recorded it fails with a message and the workflow goes on."""
    activities = RecordActivities(EventStore(pool))
    inp = RecordEventsInput(stream_id="message:x:2", expected_version=0, events=[
        StoredEvent(event_id=str(uuid4()), event_type="MessageAnswered",
                    data={"type": "MessageAnswered", "text": "a\x00b"}, occurred_at=T0,
                    actor="sofia.wallin")])
    with pytest.raises(ApplicationError) as failed:
        await ActivityEnvironment().run(activities.record_events, inp)
    assert failed.value.non_retryable and failed.value.type == "UnrecordableEvent"
    assert "cannot be recorded" in str(failed.value)
    assert await count_events(pool) == 0
