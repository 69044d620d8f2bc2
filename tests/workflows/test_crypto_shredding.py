"""Crypto-shredding on disposal (issue 10; R-33, R-35), end to end on the
time-skipping server with the production codec (per-workflow data keys in
PostgreSQL, codec.py): a citizen's message is readable while the case runs
(through the codec and the web app's codec endpoint); once the case is
disposed of under a disposal decision, the raw Temporal history, the same
history decoded by a codec of another process, the endpoint, every table of
the database and the logs hold nothing readable of it. What the records
law keeps stays: the case's row in the read model and the disposal log."""

from __future__ import annotations

import asyncio
import base64
import logging
import tarfile
import uuid
import zipfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from google.protobuf.json_format import MessageToDict
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client, WorkflowHandle
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.testing import WorkflowEnvironment

import worker as app_worker
from adapters.connectors.registry import Connectors
from cli import load_directory_file
from codec import (
    DEK,
    KEY_ID,
    SCOPE,
    PayloadDecryptionError,
    ScopedCodec,
    claim_scope,
    codec_from_settings,
    data_converter,
    is_sealed,
    new_key_spec,
    open_record,
)
from domain import message as msg
from domain.directory import Country
from domain.inbound import InboundMessage, message_workflow_id
from readviews.records import RecordsExportInput, export_records
from store.payload_keys import destroy_data_key
from tests.fakes.meta_graph import FakeGraph, serve
from tests.servers import serve_app
from tests.support import (
    COMMS,
    DEPUTY,
    EXEMPELBY,
    MANAGER,
    TEST_SERVER,
    register_search_attributes,
    tables_holding,
)
from web.app import create_app
from workflows.message import InboundMessageWorkflow, MessageWorkflowResult
from workflows.starter import start_message_case

W = InboundMessageWorkflow
PAGE, TOKEN = "104000000000001", "EAAGpage-token"
ADMIN = "sofia.wallin"
AUTHORITIES = msg.MessageAuthorities(admins=frozenset({ADMIN, "johan.berg"}), manager=MANAGER,
                                     deputy=DEPUTY, communications=frozenset({COMMS}),
                                     registrars=frozenset({"ali.karimi"}))
AUTHOR = "Karin Svensson"
TEXT = f"Hej, jag heter {AUTHOR} och bor på Storgatan 3, när öppnar Ängsbadet igen?"
AUTHOR_ID = "100077715551"  # the citizen's platform user id
SECRETS = [AUTHOR, "Storgatan", "Ängsbadet", AUTHOR_ID]


@dataclass
class Shred:
    env: WorkflowEnvironment
    client: Client  # with the codec, as worker.connect makes it
    plain: Client  # no codec: what Temporal stores
    codec: ScopedCodec
    spec: str
    database_url: str
    pool: asyncpg.Pool
    http: httpx.AsyncClient
    task_queue: str
    graph: FakeGraph


@pytest.fixture
async def shred(database_url: str, pool: asyncpg.Pool, tmp_path: Path,
                monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Shred]:
    spec = f"{new_key_spec('exempelby/e1')},{new_key_spec('fjordvik/f1')},{new_key_spec('k1')}"
    monkeypatch.setenv("KANALVAKT_PAYLOAD_KEYS", spec)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("KANALVAKT_DEV_SIGNIN", "1")
    monkeypatch.delenv("KANALVAKT_ENV", raising=False)
    await load_directory_file(database_url, EXEMPELBY)
    codec = codec_from_settings(spec, production=False, database_url=database_url)
    assert isinstance(codec, ScopedCodec)
    env = await WorkflowEnvironment.start_time_skipping(
        test_server_existing_path=TEST_SERVER,
        data_converter=data_converter(pydantic_data_converter, codec))
    graph = FakeGraph()
    graph.grant(PAGE, TOKEN)
    try:
        await register_search_attributes(env.client)
        plain = await Client.connect(env.client.service_client.config.target_host,
                                     data_converter=pydantic_data_converter)
        task_queue = f"shred-{uuid.uuid4().hex[:8]}"

        async def connect() -> tuple[asyncpg.Pool, Client]:
            from store.db import create_pool

            return await create_pool(database_url), env.client

        app = create_app(connect=connect, task_queue=task_queue)
        async with (serve(graph) as graph_url, httpx.AsyncClient(timeout=10) as graph_http):
            connectors = Connectors(graph_http, tokens={PAGE: TOKEN}, graph_url=graph_url)
            # the worker's path: preserved copies sealed under the case's data key
            activities = app_worker.build_activities(pool, tmp_path, connectors,
                                                     data_keys=codec.data_keys)
            async with (app_worker.create_worker(env.client, activities, task_queue),
                        serve_app(app) as base_url,
                        httpx.AsyncClient(base_url=base_url, timeout=30) as http):
                yield Shred(env, env.client, plain, codec, spec, database_url, pool, http,
                            task_queue, graph)
    finally:
        await env.shutdown()


async def _receive(s: Shred, text: str = TEXT) -> WorkflowHandle[Any, Any]:
    """As the intake feeder does: the scope claimed for Exempelby, then the case."""
    published = await s.env.get_current_time()
    external_id = f"{PAGE}_{uuid.uuid4().int % 10**12}"
    s.graph.add_facebook_comment(PAGE, external_id, message=text, from_id=AUTHOR_ID,
                                 from_name=AUTHOR, post_id=f"{PAGE}_777",
                                 created_time=published.strftime("%Y-%m-%dT%H:%M:%S+0000"))
    message = InboundMessage(platform="facebook", external_id=external_id, kind="comment",
                             account_ref=PAGE, parent_id=f"{PAGE}_777", author_id=AUTHOR_ID,
                             author_name=AUTHOR, text=text, published_at=published)
    command = msg.ReceiveMessage(
        actor="kanalvakt", case_id=message_workflow_id(message.platform, external_id),
        account_id=str(uuid.uuid4()), municipality_id="exempelby", country=Country.SE,
        timezone="Europe/Stockholm", message=message, policy=msg.MessagePolicy(),
        authorities=AUTHORITIES)
    await claim_scope(s.codec, command.case_id, "exempelby")
    return await start_message_case(s.client, command, task_queue=s.task_queue)


def _payloads(node: Message) -> Iterator[Payload]:
    """Every Payload anywhere in a history event (inputs, results, update
    arguments, failures, headers, memos)."""
    if isinstance(node, Payload):
        yield node
        return
    for field, value in node.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            for item in value.values():
                if isinstance(item, Message):
                    yield from _payloads(item)
        elif isinstance(value, Message):
            yield from _payloads(value)
        else:  # a repeated field of messages
            for item in value:
                yield from _payloads(item)


async def _history(s: Shred, case_id: str) -> list[Payload]:
    history = await s.plain.get_workflow_handle(case_id).fetch_history()
    raw = b"".join(e.SerializeToString() for e in history.events)
    for secret in SECRETS:
        assert secret.encode() not in raw  # never in clear, before or after
    return [p for e in history.events for p in _payloads(e)]


async def _readable(s: Shred, payloads: list[Payload]) -> tuple[str, int]:
    """What a codec of another process (a fresh key cache) can read of the
    payloads, and how many it could not decrypt."""
    other = codec_from_settings(s.spec, production=False, database_url=s.database_url)
    text, refused = "", 0
    for p in payloads:
        try:
            [plain] = await other.decode([p])  # type: ignore[union-attr]
        except PayloadDecryptionError:
            refused += 1
            continue
        text += plain.data.decode("utf-8", "replace")
    return text, refused


async def _endpoint(s: Shred, payloads: list[Payload]) -> str:
    r = await s.http.post("/api/codec/decode", headers={"X-Kanalvakt-Actor": COMMS},
                          json={"payloads": [MessageToDict(p) for p in payloads]})
    assert r.status_code == 200, r.text
    return "".join(base64.b64decode(p.get("data", "")).decode("utf-8", "replace")
                   for p in r.json()["payloads"])


def _package_text(path: Path) -> bytes:
    """Every byte of an archive package (a folder, or a zip/tar file)."""
    files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
    out = b""
    for f in files:
        if zipfile.is_zipfile(f):
            with zipfile.ZipFile(f) as z:
                out += b"".join(z.read(n) for n in z.namelist())
        elif tarfile.is_tarfile(f):
            with tarfile.open(f) as t:
                out += b"".join(t.extractfile(m).read() for m in t.getmembers()  # type: ignore[union-attr]
                                if m.isfile())
        else:
            out += f.read_bytes()
    return out


async def _records_export(s: Shred, folder: Path) -> bytes:
    """The registrar's records export (R-38) of the whole period."""
    now = await s.env.get_current_time()
    ref = await export_records(s.pool, folder, RecordsExportInput(
        municipality_id="exempelby", start=date(2000, 1, 1), end=now.date() + timedelta(days=1),
        requested_by="ali.karimi", now=now), s.codec.data_keys)
    return _package_text(Path(ref.path))


def _envelopes(value: Any) -> Iterator[dict[str, Any]]:
    if is_sealed(value):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _envelopes(v)
    elif isinstance(value, list):
        for v in value:
            yield from _envelopes(v)


async def _sealed_in_tables(s: Shred, scope: str) -> list[Any]:
    """Every envelope sealed under `scope` in any jsonb column of the
    database, opened by a codec of another process (None: unreadable)."""
    other = codec_from_settings(s.spec, production=False, database_url=s.database_url)
    assert isinstance(other, ScopedCodec)
    columns = await s.pool.fetch(
        """SELECT table_name, column_name FROM information_schema.columns
           WHERE table_schema = 'public' AND data_type = 'jsonb'""")
    opened = []
    for c in columns:
        values = await s.pool.fetch(
            f'SELECT "{c["column_name"]}" AS v FROM "{c["table_name"]}" '
            f'WHERE position($1 in "{c["column_name"]}"::text) > 0', scope)
        for row in values:
            for envelope in _envelopes(row["v"]):
                if envelope["scope"] == scope:
                    for purpose in ("record", "content"):
                        opened.append(await open_record(other.data_keys, envelope,
                                                        purpose=purpose))
    return opened


async def _case_content(s: Shred, case_id: str) -> Any:
    """The case's content as the API shows it to the communications unit."""
    for _ in range(100):  # the read model catches up with the case
        r = await s.http.get(f"/api/messages/{case_id}", headers={"X-Kanalvakt-Actor": COMMS})
        if r.status_code == 200:
            return r.json()["content"]
        await asyncio.sleep(0.05)
    raise AssertionError(r.text)


async def test_r33_r35_disposal_leaves_nothing_readable_of_the_message(
        shred: Shred, caplog: pytest.LogCaptureFixture,
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    s = shred
    caplog.set_level(logging.DEBUG)
    handle = await _receive(s)
    scheduled = await handle.execute_update(W.dispose, msg.Dispose(actor=ADMIN,
                                                                   decision_id="SM-1"))
    assert scheduled.state.stage is msg.Stage.DISPOSAL_PENDING

    # While the case runs: under the case's own data key, readable by the
    # codec of another process and by the endpoint for the communications unit.
    before = await _history(s, handle.id)
    sealed = [p for p in before if p.metadata.get(KEY_ID) == DEK.encode()]
    assert sealed and all(p.metadata[SCOPE] == handle.id.encode() for p in sealed)
    text, refused = await _readable(s, before)
    assert TEXT in text and refused == 0
    assert TEXT in await _endpoint(s, before)
    # Sealed at rest under the case's key (issue 10, migration 0018): the
    # text, the name and the platform user id are in no table in clear, not
    # even the content row; yet the case's readers see them.
    for secret in SECRETS:
        assert await tables_holding(s.pool, secret) == [], secret
    content = await s.pool.fetchval("SELECT content FROM message_contents WHERE case_id = $1",
                                    handle.id)
    assert content["sealed"] == "dek-v1" and content["scope"] == handle.id
    shown = await _case_content(s, handle.id)
    assert shown is not None and shown["text"] == TEXT and shown["author_name"] == AUTHOR
    assert {"text": TEXT, "author_name": AUTHOR, "author_id": AUTHOR_ID} in \
        await _sealed_in_tables(s, handle.id)
    assert AUTHOR.encode() in await _records_export(s, tmp_path / "before")

    result = await handle.result()
    done = MessageWorkflowResult.model_validate(result) if isinstance(result, dict) else result
    assert done.stage is msg.Stage.DISPOSED

    # After: the key is destroyed; every payload of the case is ciphertext
    # to everyone, everywhere.
    key = await s.pool.fetchrow("SELECT * FROM payload_data_keys WHERE scope = $1", handle.id)
    assert key["wrapped"] is None and key["kek_id"] is None
    assert key["destroyed_at"] is not None and "R-35" in key["destroyed_reason"]
    after = await _history(s, handle.id)
    assert len(after) > len(before)
    text, refused = await _readable(s, after)
    assert refused == len([p for p in after if p.metadata.get(KEY_ID) == DEK.encode()]) > 0
    for secret in SECRETS:
        assert secret not in text
        assert secret not in await _endpoint(s, after)
        assert await tables_holding(s.pool, secret) == [], secret
        assert secret not in caplog.text
        out = capsys.readouterr()
        assert secret not in out.out and secret not in out.err

    # nor sealed: no envelope of the case in any table opens any more
    assert not [o for o in await _sealed_in_tables(s, handle.id) if o is not None]
    assert await _case_content(s, handle.id) is None

    exported = await _records_export(s, tmp_path / "after")
    for secret in SECRETS:
        assert secret.encode() not in exported, secret

    # What the records law keeps stays: the case (its stage) and the disposal log.
    assert await s.pool.fetchval("SELECT stage FROM message_cases WHERE case_id = $1",
                                 handle.id) == "disposed"
    log = await s.pool.fetchrow("SELECT * FROM disposal_log WHERE case_id = $1", handle.id)
    assert log["decision_id"] == "SM-1" and log["decided_by"] == ADMIN
    assert handle.id.encode() in exported and b"SM-1" in exported  # in the export too


async def test_r30_r31_a_preserved_copy_is_sealed_under_the_case_key(shred: Shred) -> None:
    """Issue 10, envelope encryption at rest: the copy kept of a comment with
    an identity number (hidden at once, R-31) is stored sealed under the
    case's data key: nothing of it in any table, yet the case's readers see
    it through the API; once the key is destroyed (as disposal does) it
    opens for nobody, in the database or any backup of it."""
    s = shred
    number = "19121212-1212"
    handle = await _receive(s, f"Min son {number} fick inte plats, skriver {AUTHOR}")
    for _ in range(300):  # captured and hidden, in real time
        if await s.pool.fetchval("SELECT count(*) FROM preserved_copies WHERE case_id = $1",
                                 handle.id):
            break
        await asyncio.sleep(0.05)
    stored = await s.pool.fetchval("SELECT capture FROM preserved_copies WHERE case_id = $1",
                                   handle.id)
    assert stored["sealed"] == "dek-v1" and stored["scope"] == handle.id
    # in no table in clear: the message's own content row is sealed too
    assert await tables_holding(s.pool, "19121212") == []

    async def shown() -> Any:
        for _ in range(100):  # the read model catches up with the case
            r = await s.http.get(f"/api/messages/{handle.id}",
                                 headers={"X-Kanalvakt-Actor": COMMS})
            if r.status_code == 200:
                return r.json()["preserved_copy"]
            await asyncio.sleep(0.05)
        raise AssertionError(r.text)

    copy = await shown()
    assert copy is not None and number in copy["capture"]["text"]
    async with s.pool.acquire() as conn:
        await destroy_data_key(conn, handle.id, "disposed of (R-33, R-35)")
    assert await shown() is None
    assert await open_record(s.codec.data_keys, stored) is None
