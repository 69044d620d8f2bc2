"""The form in which a workflow hands its domain events to the event store."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from pydantic import AwareDatetime, BaseModel


class DomainEvent(Protocol):
    @property
    def type(self) -> str: ...

    @property
    def at(self) -> datetime: ...

    @property
    def actor(self) -> str | None: ...

    def model_dump(self, *, mode: str) -> dict[str, Any]: ...


class StoredEvent(BaseModel):
    """An event with the id its workflow gave it (workflow.uuid4())."""

    event_id: str
    event_type: str
    data: dict[str, Any]
    occurred_at: AwareDatetime
    actor: str | None = None

    @classmethod
    def of(cls, event_id: str, event: DomainEvent) -> StoredEvent:
        return cls(event_id=event_id, event_type=event.type, data=event.model_dump(mode="json"),
                   occurred_at=event.at, actor=event.actor)
