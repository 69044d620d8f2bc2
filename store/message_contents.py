"""The citizen's message at rest (issue 10, migration 0018): the text, the
author's name and platform user id of a case are one record in
`message_contents.content`, sealed under the case's data key (the same
envelope as preserved copies, codec.seal_record, with its own purpose as
associated data). Destroying the key on disposal (R-33, R-35) leaves nothing
readable of it, in the database or any backup of it.

Every read opens the records of a page of cases with one query of the key
table (codec.open_records); a record whose key is gone, or sealed when no
keys are at hand, opens as None, never as ciphertext. Without payload keys
(outside production only: codec.codec_from_settings) the record is kept
plain, as preserved copies are.

What SQL still needs of the text is a derived flag that is no personal data:
`is_question` (the crisis digest's count, R-39). The registrars' search
(R-28, R-35) matches words after opening (readviews.messages.diarium).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from typing import Any

import asyncpg
from pydantic import AwareDatetime, BaseModel

from codec import DataKeys, ScopeShredded, open_records, seal_record

PURPOSE = "content"  # the associated data's purpose: never opens as a preserved copy


def is_question(text: str) -> bool:
    """Whether the text asks something (the crisis digest, R-39): computed
    when the text is stored, so the digest never reads the text."""
    return "?" in text


async def seal_content(data_keys: DataKeys | None, case_id: str, *, text: str,
                       author_name: str | None, author_id: str | None,
                       municipality_id: str | None = None) -> dict[str, Any] | None:
    """The content as stored: sealed under the case's data key (one is
    claimed for `municipality_id` if the case has none yet), plain without
    keys, None when the case's key was destroyed (disposed of: nothing more
    is kept for it)."""
    record = {"text": text, "author_name": author_name, "author_id": author_id}
    if data_keys is None:
        return record
    try:
        return await seal_record(data_keys, case_id, record, purpose=PURPOSE,
                                 municipality_id=municipality_id)
    except ScopeShredded:
        return None


async def open_contents(data_keys: DataKeys | None, values: Sequence[Any]
                        ) -> list[dict[str, Any] | None]:
    """The stored contents opened, in order (None: none stored, disposed of,
    or not openable here). One query of the key table for all of them."""
    # a pool without the jsonb codec hands the value over as a string
    values = [json.loads(v) if isinstance(v, str) else v for v in values]
    opened = await open_records(data_keys, values, purpose=PURPOSE)
    return [v if isinstance(v, dict) else None for v in opened]


async def with_contents(data_keys: DataKeys | None, rows: Iterable[dict[str, Any]], *,
                        column: str = "content", author_id: bool = False
                        ) -> list[dict[str, Any]]:
    """Rows of a page with their `column` (the stored content) replaced by
    `text` and `author_name` (and `author_id`), null where none can be read."""
    out = list(rows)
    opened = await open_contents(data_keys, [r.pop(column, None) for r in out])
    for row, content in zip(out, opened, strict=True):
        content = content or {}
        row["text"] = content.get("text")
        row["author_name"] = content.get("author_name")
        if author_id:
            row["author_id"] = content.get("author_id")
    return out


class StoreContentInput(BaseModel):
    case_id: str
    text: str
    author_name: str | None
    stored_at: AwareDatetime
    # The citizen's platform user id (issue 10: kept here, deletable, not in
    # the event log); a default, so inputs of running workflows still decode.
    author_id: str | None = None


async def save_content(pool: asyncpg.Pool, content: StoreContentInput,
                       data_keys: DataKeys | None, *, municipality_id: str | None = None
                       ) -> None:
    """Personal content lives here, not in the event log, so a disposal can
    delete it (R-35), sealed under the case's data key (issue 10,
    store.message_contents). Once per case; nothing for a case whose
    key was destroyed (a late redelivery of a disposed one). One statement:
    the key was claimed (and cached) by whoever started the case."""
    sealed = await seal_content(data_keys, content.case_id, text=content.text,
                                author_name=content.author_name, author_id=content.author_id,
                                municipality_id=municipality_id)
    if sealed is None:
        return
    # Sealed: only while the case's key lives (a process may still hold a
    # key destroyed a moment ago in its cache; what it sealed is not kept).
    await pool.execute(
        """
        INSERT INTO message_contents (case_id, content, is_question, stored_at)
        SELECT $1, $2, $3, $4
        WHERE NOT $5 OR EXISTS (SELECT 1 FROM payload_data_keys
                                WHERE scope = $1 AND wrapped IS NOT NULL)
        ON CONFLICT (case_id) DO NOTHING
        """,
        content.case_id, sealed, is_question(content.text), content.stored_at,
        data_keys is not None,
    )
