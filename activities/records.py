"""Recording a workflow's domain events in the event store, with the read
models projected in the same transaction. One activity for every workflow."""

from __future__ import annotations

from uuid import UUID

from pydantic import BaseModel
from temporalio import activity
from temporalio.exceptions import ApplicationError

from domain.records import StoredEvent
from store.eventstore import ConcurrencyConflict, EventStore, NewEvent, UnrecordableEvent


class RecordEventsInput(BaseModel):
    stream_id: str
    expected_version: int
    events: list[StoredEvent]
    correlation_id: str | None = None


class RecordEventsResult(BaseModel):
    last_version: int
    duplicate: bool


class RecordActivities:
    def __init__(self, store: EventStore) -> None:
        self._store = store

    @activity.defn(name="record_events")
    async def record_events(self, inp: RecordEventsInput) -> RecordEventsResult:
        events = [
            NewEvent(event_id=UUID(e.event_id), event_type=e.event_type, data=e.data,
                     occurred_at=e.occurred_at, actor=e.actor,
                     correlation_id=inp.correlation_id)
            for e in inp.events
        ]
        try:
            # The first event id is stable across retries (the workflow made it
            # with workflow.uuid4()), so it keys the batch: a retry writes once.
            result = await self._store.append(
                inp.stream_id, inp.expected_version, events,
                idempotency_key=inp.events[0].event_id,
            )
        except ConcurrencyConflict as conflict:
            # Only the case's own workflow writes its stream: a conflict means a
            # second writer, which retrying cannot mend.
            raise ApplicationError(str(conflict), type="ConcurrencyConflict",
                                   non_retryable=True) from conflict
        except UnrecordableEvent as refused:
            # Issue 9: bad data never mends on a retry; the update (or the
            # workflow) fails with this message instead of retrying for ever.
            raise ApplicationError(str(refused), type="UnrecordableEvent",
                                   non_retryable=True) from refused
        activity.logger.info(
            "appended %d events to %s", len(events), inp.stream_id,
            extra={"stream_id": inp.stream_id, "correlation_id": inp.correlation_id})
        return RecordEventsResult(last_version=result.last_version, duplicate=result.duplicate)
