"""A message's receipt on the record before its case starts (the feeder,
R-21): its sealed content and the receipt events, decided by the same pure
rules the workflow applies."""

from __future__ import annotations

import uuid
from datetime import datetime

import asyncpg

from codec import DataKeys
from domain import message as msg
from store.eventstore import ConcurrencyConflict, EventStore, NewEvent
from store.message_contents import StoreContentInput, save_content

# Receipt event ids are derived from the case id, so recording a receipt
# twice (a feeder retry) yields the same events, written once.
_RECEIPT_IDS = uuid.UUID("5d0c8f3e-6a53-4c1e-9d3b-2b6f1f0a7c11")


async def record_receipt(pool: asyncpg.Pool, store: EventStore, command: msg.ReceiveMessage,
                         *, stored_at: datetime, data_keys: DataKeys | None = None) -> bool:
    """Put a message's receipt on the record before its case starts: the
    content, and the receipt events decided by the same pure rules the
    workflow applies (R-21: received when published). Returns False when the
    case's stream was already begun another way (its workflow recorded it)."""
    m = command.message
    await save_content(pool, StoreContentInput(case_id=command.case_id, text=m.text,
                                               author_name=m.author_name, author_id=m.author_id,
                                               stored_at=stored_at),
                       data_keys, municipality_id=command.municipality_id)
    events = msg.decide(None, command, now=m.published_at)
    try:
        await store.append(command.case_id, 0, [
            NewEvent(event_id=uuid.uuid5(_RECEIPT_IDS, f"{command.case_id}/{i}"),
                     event_type=e.type, data=msg.for_the_record(e).model_dump(mode="json"),
                     occurred_at=e.at, actor=e.actor, correlation_id=command.case_id)
            for i, e in enumerate(events)
        ], idempotency_key=f"{command.case_id}:received")
    except ConcurrencyConflict:
        return False
    return True
