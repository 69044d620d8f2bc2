"""The personal-data inventory (docs/data-protection.md, issue 10) covers
every column of the migrated database: each is either listed as holding
personal data (with why, key, how long, what ends it) or as holding none.
A new table or column (message text, say) fails here until it has an entry."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest

INVENTORY = Path(__file__).resolve().parents[2] / "docs" / "data-protection.md"
_QUALIFIED = re.compile(r"`([a-z_0-9]+)\.([a-z_0-9]+)`")
_NAME = re.compile(r"`([a-z_0-9]+)`")


def _section(text: str, title: str) -> str:
    start = text.index(f"## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start:end if end >= 0 else None]


def inventory(text: str) -> tuple[set[tuple[str, str]], set[tuple[str, str]]]:
    """(columns holding personal data, columns holding none), as listed."""
    personal = set()
    for line in _section(text, "Inventory of columns").splitlines():
        if line.startswith("| `"):
            first_cell = line.split("|")[1]
            personal |= set(_QUALIFIED.findall(first_cell))
    none = set()
    for line in _section(text, "Columns that hold no personal data").splitlines():
        if line.startswith("- `"):
            table, _, columns = line[2:].partition(":")
            [table_name] = _NAME.findall(table)
            none |= {(table_name, c) for c in _NAME.findall(columns)}
    return personal, none


async def _columns(pool: asyncpg.Pool) -> set[tuple[str, str]]:
    rows = await pool.fetch("""SELECT table_name, column_name FROM information_schema.columns
                               WHERE table_schema = 'public'""")
    return {(r["table_name"], r["column_name"]) for r in rows}


async def test_every_column_is_in_the_inventory_once(pool: asyncpg.Pool) -> None:
    personal, none = inventory(INVENTORY.read_text(encoding="utf-8"))
    columns = await _columns(pool)
    assert len(columns) > 250 and len(personal) > 50 and len(none) > 150  # parsed
    unlisted = sorted(f"{t}.{c}" for t, c in columns - personal - none)
    assert not unlisted, ("columns missing from docs/data-protection.md: say whether they "
                          f"hold personal data, and if so why, under which key, until when: "
                          f"{unlisted}")
    both = sorted(f"{t}.{c}" for t, c in personal & none)
    assert not both, f"listed as personal data and as none: {both}"
    stale = sorted(f"{t}.{c}" for t, c in (personal | none) - columns)
    assert not stale, f"listed in docs/data-protection.md but not in the database: {stale}"


async def test_a_new_column_with_message_text_fails_the_inventory(pool: asyncpg.Pool) -> None:
    """The check above can fail: a column added as a migration would add it."""
    await pool.execute("ALTER TABLE message_cases ADD COLUMN citizen_text text")
    personal, none = inventory(INVENTORY.read_text(encoding="utf-8"))
    assert ("message_cases", "citizen_text") in await _columns(pool) - personal - none


def test_the_message_text_and_its_end_are_listed() -> None:
    text = INVENTORY.read_text(encoding="utf-8")
    personal, _ = inventory(text)
    for column in [("message_contents", "content"), ("preserved_copies", "capture"),
                   ("intake", "message"), ("events", "data")]:
        assert column in personal, column
    # issue 10: the message and the copy are sealed under the case key
    for line in _section(text, "Inventory of columns").splitlines():
        if line.startswith(("| `message_contents.content`", "| `preserved_copies.capture`")):
            assert "sealed under the case" in line.split("|")[5], line
    for place in ("Temporal histories", "Logs", "Archive packages", "backups"):
        assert place in _section(text, "Other places"), place


async def test_migration_0016_takes_the_citizen_id_out_of_old_events(
        empty_database_url: str) -> None:
    """Issue 10: events written before keep no platform user id once migrated;
    the id moves beside the text (deleted by disposal); the log refuses
    edits again afterwards; running it twice changes nothing more. (On the
    schema of its time: migration 0018 seals those columns.)"""
    from store.db import create_pool, migrate

    await migrate(empty_database_url, before="0018")
    pool = await create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        await _migration_0016(pool)
    finally:
        await pool.close()


async def _migration_0016(pool: asyncpg.Pool) -> None:
    import uuid

    case = "message:facebook:104_42"
    data = {"type": "MessageReceived", "case_id": case,
            "message": {"text": "", "author_name": None, "author_id": "100077715551",
                        "external_id": "104_42"}}
    await pool.execute(
        """INSERT INTO events (stream_id, version, event_id, event_type, data, actor,
                               idempotency_key, batch_index, occurred_at)
           VALUES ($1, 1, $2, 'MessageReceived', $3::jsonb, 'kanalvakt', $4, 0, now())""",
        case, uuid.uuid4(), data, str(uuid.uuid4()))
    await pool.execute("INSERT INTO message_contents (case_id, text, author_name, stored_at) "
                       "VALUES ($1, 'Hej', 'Kim', now())", case)
    sql = (INVENTORY.parents[1] / "migrations" / "0016_citizen_id_out_of_the_log.sql").read_text()
    for _ in range(2):
        async with pool.acquire() as conn, conn.transaction():
            await conn.execute(sql)
        stored = await pool.fetchval("SELECT data FROM events WHERE stream_id = $1", case)
        assert stored["message"]["author_id"] is None
        assert stored["message"]["external_id"] == "104_42"  # nothing else changed
        assert await pool.fetchval("SELECT author_id FROM message_contents WHERE case_id = $1",
                                   case) == "100077715551"
    with pytest.raises(asyncpg.RestrictViolationError, match="append-only"):
        await pool.execute("UPDATE events SET actor = 'x' WHERE stream_id = $1", case)
