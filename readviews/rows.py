"""A read-model row as plain JSON-ready values, the shape web/ and the CLI
take: datetimes as ISO strings, UUIDs as strings, a `state` column given as
JSON text decoded."""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import asyncpg


def plain_row(record: asyncpg.Record) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in record.items():
        if isinstance(value, datetime):
            value = value.isoformat()
        elif isinstance(value, uuid.UUID):
            value = str(value)
        elif isinstance(value, str) and key == "state":
            value = json.loads(value)
        out[key] = value
    return out
