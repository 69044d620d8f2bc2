"""The citizen's message sealed at rest (issue 10; R-28, R-31, R-35, R-39):
`message_contents.content` under the case's data key (migration 0018,
store/message_contents.py). Stored messages leave no plaintext in any
table; every read opens a page's contents with one query of the key table;
the registrars' search finds a registered case by a word of its text and
not a disposed one (its key destroyed); migration 0018 converts rows of the
schema before it in place, shredding a case whose key is gone."""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from activities.messages import DisposeContentInput, MessageActivities, StoreContentInput
from adapters.connectors.registry import Connectors
from codec import DataKeys, KeyRing, new_key_spec, parse_keys
from domain import message as msg
from domain.directory import Country
from domain.inbound import InboundMessage, message_workflow_id
from readviews.crisis import digests
from store.db import create_pool, migrate
from store.eventstore import EventStore
from store.message_contents import open_contents, save_content
from store.payload_keys import PayloadKeyTable, StoredKey
from store.projections import all_projections
from store.receipts import record_receipt
from tests.support import tables_holding

AUTHOR = "Karin Svensson"
AUTHOR_ID = "100077715551"
ACCOUNT = str(uuid.uuid4())
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)


class CountingKeyTable(PayloadKeyTable):
    """The key table, counting its reads (one per page, not one per row)."""

    reads = 0

    async def get(self, scopes: Sequence[str]) -> dict[str, StoredKey]:
        self.reads += 1
        return await super().get(scopes)


def _spec() -> str:
    return f"{new_key_spec('exempelby/e1')},{new_key_spec('fjordvik/f1')},{new_key_spec('k1')}"


def _keys(pool: asyncpg.Pool, spec: str) -> tuple[DataKeys, CountingKeyTable]:
    table = CountingKeyTable(pool)
    return DataKeys(KeyRing(parse_keys(spec)), table), table


async def _receive(pool: asyncpg.Pool, data_keys: DataKeys | None, text: str, n: int,
                   *, register: bool = False, confidential: bool = False) -> str:
    """A citizen's comment on the record as the intake feeder puts it there
    (the scope claimed for Exempelby, then the receipt); `register` files it
    in the diarium as the registration's projection does."""
    message = InboundMessage(platform="facebook", external_id=f"104_{n}", kind="comment",
                             account_ref="104", parent_id="104_777", author_id=AUTHOR_ID,
                             author_name=AUTHOR, text=text, published_at=T0)
    command = msg.ReceiveMessage(
        actor="kanalvakt", case_id=message_workflow_id(message.platform, f"104_{n}"),
        account_id=ACCOUNT, municipality_id="exempelby", country=Country.SE,
        timezone="Europe/Stockholm", message=message, policy=msg.MessagePolicy(),
        authorities=msg.MessageAuthorities(admins=frozenset({"sofia.wallin"}),
                                           manager="eva.lind"))
    if data_keys is not None:
        await data_keys.claim(command.case_id, "exempelby")
    assert await record_receipt(pool, EventStore(pool, all_projections()), command,
                                stored_at=T0, data_keys=data_keys)
    if register:
        await pool.execute(
            """INSERT INTO diarium (diarium_number, case_id, municipality_id, account_id,
                                    record_class, confidential, registered_by, registered_at)
               VALUES ($1, $2, 'exempelby', $3::uuid, 'synpunkt', $4, 'ali.karimi', $5)""",
            f"KS 2026/{n:05d}", command.case_id, ACCOUNT, confidential,
            T0 + timedelta(minutes=n))
    return command.case_id


async def test_r35_a_stored_message_leaves_no_plaintext_in_any_table(pool: asyncpg.Pool) -> None:
    """Issue 10: after a message is stored, no table holds its text, its
    author's name or platform user id; its content row is the sealed
    envelope; the case's readers still see it."""
    data_keys, _ = _keys(pool, _spec())
    text = "När öppnar Ängsbadet igen? Jag bor på Storgatan 3."
    case_id = await _receive(pool, data_keys, text, 1)
    stored = await pool.fetchval("SELECT content FROM message_contents WHERE case_id = $1",
                                 case_id)
    assert stored["sealed"] == "dek-v1" and stored["scope"] == case_id
    for secret in (AUTHOR, AUTHOR_ID, "Ängsbadet", "Storgatan"):
        assert await tables_holding(pool, secret) == [], secret
    assert await pool.fetchval("SELECT is_question FROM message_contents WHERE case_id = $1",
                               case_id) is True
    [opened] = await open_contents(data_keys, [stored])
    assert opened == {"text": text, "author_name": AUTHOR, "author_id": AUTHOR_ID}
    # not as anything else: no keys, or another case's envelope, open as nothing
    assert await open_contents(None, [stored]) == [None]
    other = await _receive(pool, data_keys, "Tack!", 2)
    swapped = dict(stored, scope=other)
    assert await open_contents(data_keys, [swapped]) == [None]


async def test_r28_r31_r35_diarium_search_opens_a_page_and_forgets_the_disposed(
        pool: asyncpg.Pool) -> None:
    """R-28: the search finds a registered case by a word of its text (case
    aside), with its text and author; not a disposed one (R-35: content
    deleted, key destroyed), nor a confidential one by its text (R-31); the
    contents of the whole result come from one read of the key table."""
    from readviews import messages as mq

    data_keys, table = _keys(pool, _spec())
    kept = await _receive(pool, data_keys, "Varför är Ängsbadet stängt?", 1, register=True)
    disposed = await _receive(pool, data_keys, "Ängsbadet har smutsigt vatten", 2,
                              register=True)
    secret = await _receive(pool, data_keys, "Ängsbadet, min son 19121212-1212", 3,
                            register=True, confidential=True)
    for n in range(4, 14):
        await _receive(pool, data_keys, f"Fråga nummer {n} om bussen", n, register=True)

    found = await mq.diarium(pool, "exempelby", q="ängsbadet", data_keys=data_keys)
    assert [r["case_id"] for r in found] == [disposed, kept]
    assert found[1]["text"] == "Varför är Ängsbadet stängt?" and found[1]["author_name"] == AUTHOR

    activities = MessageActivities(pool, Connectors(), data_keys)
    await activities.dispose_content(DisposeContentInput(case_id=disposed))
    table.reads = 0
    found = await mq.diarium(pool, "exempelby", q="ängsbadet", data_keys=data_keys)
    assert [r["case_id"] for r in found] == [kept]
    assert table.reads == 1  # the page's keys in one query
    everything = await mq.diarium(pool, "exempelby", data_keys=data_keys)
    assert len(everything) == 13
    by_case = {r["case_id"]: r for r in everything}
    assert by_case[disposed]["text"] is None  # still registered, nothing of it readable
    assert by_case[secret]["text"] is None and by_case[secret]["author_name"] is None
    # a late redelivery of the disposed comment keeps nothing of it again
    await save_content(pool, StoreContentInput(case_id=disposed, text="Ängsbadet igen",
                                               author_name=AUTHOR, stored_at=T0), data_keys)
    assert await pool.fetchval("SELECT count(*) FROM message_contents WHERE case_id = $1",
                               disposed) == 0
    assert [r["case_id"] for r in await mq.diarium(pool, "exempelby", q="KS 2026/00003",
                                                   data_keys=data_keys)] == [secret]
    assert await mq.diarium(pool, "exempelby", q="19121212", data_keys=data_keys) == []
    # without the keys the text is not there to show or to match: never ciphertext
    plain = await mq.diarium(pool, "exempelby", data_keys=None)
    assert all(r["text"] is None for r in plain)
    assert await mq.diarium(pool, "exempelby", q="ängsbadet", data_keys=None) == []


async def test_r22_r39_inbox_and_digest_texts_open_with_one_key_read(pool: asyncpg.Pool) -> None:
    """The inbox (R-22) and crisis management's question texts (R-39) show
    the texts, opened with one read of the key table for the page."""
    from readviews import messages as mq

    data_keys, table = _keys(pool, _spec())
    ids = [await _receive(pool, data_keys, f"Fråga {n}?", n) for n in range(1, 6)]
    table.reads = 0
    inbox = await mq.inbox(pool, ACCOUNT, include_closed=True, data_keys=data_keys)
    assert sorted(r["text"] for r in inbox) == [f"Fråga {n}?" for n in range(1, 6)]
    assert table.reads == 1
    await pool.execute(
        """INSERT INTO crisis_digests (digest_id, crisis_id, municipality_id, period_start,
               period_end, compiled_at, messages, questions, critical, open, flagged, digest)
           VALUES ('d1', 'c1', 'exempelby', now(), now(), now(), 5, 5, 0, 5, 0, $1)""",
        {"question_case_ids": ids[:2]})
    [digest] = await digests(pool, "exempelby", texts=True, data_keys=data_keys)
    assert [q["text"] for q in digest["questions_text"]] == ["Fråga 1?", "Fråga 2?"]


async def _old_rows(url: str, spec: str) -> dict[str, str]:
    """Rows of the schema before migration 0018: a live case (its key
    claimed), one with no key yet, one whose key was destroyed (disposed)."""
    await migrate(url, before="0018")
    pool = await create_pool(url, min_size=1, max_size=2)
    try:
        data_keys, _ = _keys(pool, spec)
        cases = {"live": "message:facebook:104_1", "keyless": "message:facebook:104_2",
                 "shredded": "message:facebook:104_3"}
        await data_keys.claim(cases["live"], "exempelby")
        await data_keys.claim(cases["shredded"], "exempelby")
        await data_keys.destroy(cases["shredded"], "disposed of (R-33, R-35)")
        for n, (name, case_id) in enumerate(cases.items(), start=1):
            await pool.execute(
                """INSERT INTO message_cases (case_id, account_id, municipality_id, platform,
                       kind, from_staff, stage, received_at, version, state)
                   VALUES ($1, $2::uuid, 'exempelby', 'facebook', 'comment', false, 'open',
                           $3, 1, '{}')""", case_id, ACCOUNT, T0)
            await pool.execute(
                """INSERT INTO message_contents (case_id, text, author_name, author_id, stored_at)
                   VALUES ($1, $2, $3, $4, $5)""",
                case_id, f"Ängsbadet {name}?" if name == "live" else f"Ängsbadet {name}",
                AUTHOR, AUTHOR_ID, T0 + timedelta(minutes=n))
        return cases
    finally:
        await pool.close()


async def test_r35_migration_0018_seals_existing_rows_in_place(
        empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Issue 10: the migration seals what the schema before it kept in clear
    (a case with no key gets one under its municipality's key), deletes the
    content of a case whose key is gone (shredded), derives `is_question`,
    and drops the plaintext columns; afterwards nothing of the texts, names
    or user ids is in any table, and each opens with the case's key."""
    monkeypatch.delenv("KANALVAKT_PAYLOAD_KEYS", raising=False)
    spec = _spec()
    cases = await _old_rows(empty_database_url, spec)
    assert await migrate(empty_database_url, payload_keys=spec, before="0019") == [
        "0018_message_contents_sealed.py"]
    pool = await create_pool(empty_database_url, min_size=1, max_size=2)
    try:
        columns = {r["column_name"] for r in await pool.fetch(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_name = 'message_contents'")}
        assert columns == {"case_id", "content", "is_question", "stored_at"}
        rows = {r["case_id"]: r for r in await pool.fetch("SELECT * FROM message_contents")}
        assert sorted(rows) == sorted([cases["live"], cases["keyless"]])
        for secret in (AUTHOR, AUTHOR_ID, "Ängsbadet"):
            assert await tables_holding(pool, secret) == [], secret
        key = await pool.fetchrow("SELECT * FROM payload_data_keys WHERE scope = $1",
                                  cases["keyless"])
        assert key["municipality_id"] == "exempelby" and key["kek_id"] == "exempelby/e1"
        data_keys, _ = _keys(pool, spec)
        live, keyless = await open_contents(
            data_keys, [rows[cases["live"]]["content"], rows[cases["keyless"]]["content"]])
        assert live == {"text": "Ängsbadet live?", "author_name": AUTHOR,
                        "author_id": AUTHOR_ID}
        assert keyless is not None and keyless["text"] == "Ängsbadet keyless"
        assert rows[cases["live"]]["is_question"] and not rows[cases["keyless"]]["is_question"]
        assert rows[cases["live"]]["stored_at"] == T0 + timedelta(minutes=1)  # kept
        assert await migrate(empty_database_url, payload_keys=spec, before="0019") == []  # once
    finally:
        await pool.close()


async def test_migration_0018_without_keys_keeps_the_record_plain(
        empty_database_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside production without payload keys (as the app then keeps it):
    the record is moved as it is; in production the migration refuses."""
    monkeypatch.delenv("KANALVAKT_PAYLOAD_KEYS", raising=False)
    cases = await _old_rows(empty_database_url, _spec())
    monkeypatch.setenv("KANALVAKT_ENV", "production")
    with pytest.raises(ValueError, match="KANALVAKT_PAYLOAD_KEYS"):
        await migrate(empty_database_url, payload_keys="", before="0019")
    monkeypatch.delenv("KANALVAKT_ENV")
    assert await migrate(empty_database_url, payload_keys="", before="0019") == [
        "0018_message_contents_sealed.py"]
    conn = await asyncpg.connect(empty_database_url)
    try:
        content = json.loads(await conn.fetchval(
            "SELECT content FROM message_contents WHERE case_id = $1", cases["live"]))
        assert content == {"text": "Ängsbadet live?", "author_name": AUTHOR,
                           "author_id": AUTHOR_ID}
        assert await conn.fetchval("SELECT count(*) FROM message_contents") == 2  # shredded
    finally:
        await conn.close()
