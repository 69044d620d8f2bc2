"""The payload codec (codec.py, DESIGN "Data protection"): AES-256-GCM,
key id in the metadata, rotation, clear errors for bad keys."""

from __future__ import annotations

import asyncio
import base64
import os
from pathlib import Path
from typing import Any

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import (
    ActivitySerializationContext,
    DefaultFailureConverterWithEncodedAttributes,
    WorkflowSerializationContext,
)

import cli
from codec import (
    DEK,
    ENCODING,
    KEY_ID,
    MUNICIPALITY,
    SCOPE,
    EncryptionCodec,
    KeyRing,
    PayloadDecryptionError,
    PayloadKeyError,
    ScopedCodec,
    claim_scope,
    codec_from_settings,
    data_converter,
    municipality_of_scope,
    new_key_spec,
    parse_keys,
)
from store.payload_keys import PayloadKeyTable

NONCE = 12
TEXT = b'"Hej, jag heter Karin Svensson och bor p\\u00e5 Storgatan 3"'


def _key() -> str:
    return base64.b64encode(os.urandom(32)).decode()


def _payload() -> Payload:
    return Payload(metadata={"encoding": b"json/plain"}, data=TEXT)


async def test_round_trip_encrypts_and_names_the_key() -> None:
    codec = EncryptionCodec.from_spec(f"k1:{_key()}")
    [sealed] = await codec.encode([_payload()])
    assert sealed.metadata["encoding"] == ENCODING
    assert sealed.metadata[KEY_ID] == b"k1"
    assert b"Karin" not in sealed.data and b"json/plain" not in sealed.SerializeToString()
    [opened] = await codec.decode([sealed])
    assert opened == _payload()  # metadata (json/plain) comes back too


async def test_same_payload_twice_gives_different_ciphertexts() -> None:
    codec = EncryptionCodec.from_spec(f"k1:{_key()}")
    a, b = await codec.encode([_payload(), _payload()])
    assert a.data != b.data  # a fresh nonce each time


async def test_rotation_new_key_encrypts_old_key_still_decrypts() -> None:
    old, new = _key(), _key()
    before = EncryptionCodec.from_spec(f"k1:{old}")
    [sealed_old] = await before.encode([_payload()])
    after = EncryptionCodec.from_spec(f"k2:{new},k1:{old}")
    [sealed_new] = await after.encode([_payload()])
    assert sealed_new.metadata[KEY_ID] == b"k2"
    assert await after.decode([sealed_old, sealed_new]) == [_payload(), _payload()]
    # the old-only codec cannot read what the new key wrote
    with pytest.raises(PayloadDecryptionError, match="key id 'k2'.*not among"):
        await before.decode([sealed_new])


async def test_wrong_key_under_the_same_id_is_a_clear_error() -> None:
    [sealed] = await EncryptionCodec.from_spec(f"k1:{_key()}").encode([_payload()])
    with pytest.raises(PayloadDecryptionError, match="does not decrypt with key 'k1'"):
        await EncryptionCodec.from_spec(f"k1:{_key()}").decode([sealed])


async def test_altered_ciphertext_is_refused() -> None:
    codec = EncryptionCodec.from_spec(f"k1:{_key()}")
    [sealed] = await codec.encode([_payload()])
    data = bytearray(sealed.data)
    data[-1] ^= 1
    sealed.data = bytes(data)
    with pytest.raises(PayloadDecryptionError):
        await codec.decode([sealed])


async def test_unencrypted_payloads_pass_through_decode() -> None:
    codec = EncryptionCodec.from_spec(f"k1:{_key()}")
    assert await codec.decode([_payload()]) == [_payload()]


@pytest.mark.parametrize(("spec", "reason"), [
    ("k1", "not 'id:base64key'"),
    (":abc", "not 'id:base64key'"),
    ("k1:not base64!", "not valid base64"),
    (f"k1:{base64.b64encode(os.urandom(16)).decode()}", "is 16 bytes"),
    ("k1:{0},k1:{0}".format(base64.b64encode(os.urandom(32)).decode()), "twice"),
])
def test_malformed_keys_fail_with_a_clear_error(spec: str, reason: str) -> None:
    with pytest.raises(PayloadKeyError, match=reason) as e:
        parse_keys(spec)
    assert "=" not in str(e.value)  # names the entry, never shows the key (base64 ends in =)


def test_keys_keep_their_order_first_encrypts() -> None:
    a, b = new_key_spec("new"), new_key_spec("old")
    assert list(parse_keys(f"{a}, {b}")) == ["new", "old"]
    codec = codec_from_settings(f"{a},{b}", production=False)
    assert codec is not None and codec.key_id == "new"


def test_no_keys_is_off_outside_production_and_an_error_in_production() -> None:
    assert codec_from_settings("", production=False) is None
    with pytest.raises(PayloadKeyError, match="KANALVAKT_ENV=production.*KANALVAKT_PAYLOAD_KEYS"):
        codec_from_settings("", production=True)


def test_data_converter_encrypts_failures_too() -> None:
    codec = EncryptionCodec.from_spec(new_key_spec("k1"))
    converter = data_converter(pydantic_data_converter, codec)
    assert converter.payload_codec is codec
    assert converter.failure_converter_class is DefaultFailureConverterWithEncodedAttributes
    assert converter.payload_converter_class is pydantic_data_converter.payload_converter_class
    assert data_converter(pydantic_data_converter, None) is pydantic_data_converter


def test_local_stack_makes_one_key_and_keeps_it(tmp_path: Path) -> None:
    from deploy.stack import payload_keys

    state = tmp_path / "state"
    spec = payload_keys(state)
    assert list(parse_keys(spec)) == ["local-1"]
    assert (state / "payload-keys").stat().st_mode & 0o777 == 0o600
    assert payload_keys(state) == spec  # kept: earlier histories still decrypt
    (state / "payload-keys").write_text("local-1:broken", encoding="utf-8")
    with pytest.raises(PayloadKeyError, match="not valid base64"):
        payload_keys(state)


# --------------------------------------------------------------------------- per-scope data keys
# (issue 10: keys per municipality, a data key per workflow, crypto-shredding)

CASE = "message:facebook:1234567890_42"


def _scoped(spec: str, database_url: str) -> ScopedCodec:
    codec = codec_from_settings(spec, production=False, database_url=database_url)
    assert isinstance(codec, ScopedCodec)
    return codec


def _in_workflow(codec: ScopedCodec, workflow_id: str) -> ScopedCodec:
    return codec.with_context(WorkflowSerializationContext(namespace="default",
                                                           workflow_id=workflow_id))


@pytest.mark.parametrize(("scope", "municipality"), [
    ("account:exempelby:kulturhuset-angen-instagram", "exempelby"),
    ("snapshot:fjordvik:biblioteket-facebook:2026-12-01", "fjordvik"),
    ("snapshots:exempelby", "exempelby"),
    ("snapshots:exempelby-2026-12-06T05:00:00Z", "exempelby"),  # a scheduled run
    ("crisis:fjordvik", "fjordvik"),
    (CASE, None),
    ("something-else", None),
])
def test_municipality_is_read_from_the_workflow_ids_that_name_it(
        scope: str, municipality: str | None) -> None:
    assert municipality_of_scope(scope) == municipality


async def test_each_workflow_has_its_own_data_key_wrapped_under_its_municipality(
        database_url: str, pool: Any) -> None:
    spec = f"{new_key_spec('exempelby/e1')},{new_key_spec('fjordvik/f1')},{new_key_spec('s1')}"
    codec = _scoped(spec, database_url)
    await claim_scope(codec, CASE, "exempelby")
    [case_payload] = await _in_workflow(codec, CASE).encode([_payload()])
    account = "account:fjordvik:biblioteket-facebook"
    [account_payload] = await codec.with_context(ActivitySerializationContext(
        namespace="default", activity_id="1", activity_type="x", activity_task_queue="q",
        workflow_id=account, workflow_type="W", is_local=False)).encode([_payload()])
    [system_payload] = await codec.encode([_payload()])  # no workflow: the system key

    assert case_payload.metadata[KEY_ID] == DEK.encode()
    assert case_payload.metadata[SCOPE] == CASE.encode()
    assert case_payload.metadata[MUNICIPALITY] == b"exempelby"
    assert account_payload.metadata[MUNICIPALITY] == b"fjordvik"
    assert system_payload.metadata[KEY_ID] == b"s1" and system_payload.metadata[SCOPE] == b"system"
    for sealed in (case_payload, account_payload, system_payload):
        assert b"Karin" not in sealed.SerializeToString()
    rows = {r["scope"]: r for r in await pool.fetch("SELECT * FROM payload_data_keys")}
    assert rows[CASE]["kek_id"] == "exempelby/e1" and rows[account]["kek_id"] == "fjordvik/f1"
    assert rows[CASE]["municipality_id"] == "exempelby"
    assert len(bytes(rows[CASE]["wrapped"])) == NONCE + 32 + 16

    # Another process (a fresh codec, no cache) decodes all of them, whatever its context.
    other = _scoped(spec, database_url)
    assert await other.decode([case_payload, account_payload, system_payload]) == [_payload()] * 3

    # The scope is bound to the ciphertext: relabelled metadata does not decrypt.
    forged = Payload()
    forged.CopyFrom(case_payload)
    forged.metadata[SCOPE] = account.encode()
    with pytest.raises(PayloadDecryptionError):
        await other.decode([forged])
    stripped = Payload()
    stripped.CopyFrom(system_payload)
    del stripped.metadata[SCOPE]  # posing as a single-key payload
    with pytest.raises(PayloadDecryptionError):
        await other.decode([stripped])


async def test_single_key_payloads_still_decode(database_url: str) -> None:
    old = new_key_spec("local-1")
    [sealed] = await EncryptionCodec.from_spec(old).encode([_payload()])
    codec = _scoped(f"{new_key_spec('exempelby/e1')},{old}", database_url)
    assert await codec.decode([sealed]) == [_payload()]
    assert await _in_workflow(codec, CASE).decode([sealed]) == [_payload()]


async def test_destroying_a_data_key_leaves_its_payloads_unreadable(
        database_url: str, pool: Any) -> None:
    """R-33, R-35 (crypto-shredding): the wrapped key is gone from the table;
    every payload of the scope stays ciphertext, others still decode."""
    spec = f"{new_key_spec('exempelby/e1')},{new_key_spec('s1')}"
    codec = _scoped(spec, database_url)
    await claim_scope(codec, CASE, "exempelby")
    sealed = await _in_workflow(codec, CASE).encode([_payload(), _payload()])
    [kept] = await _in_workflow(codec, "message:facebook:other").encode([_payload()])

    await codec.data_keys.destroy(CASE, "disposed of (R-35)")
    row = await pool.fetchrow("SELECT * FROM payload_data_keys WHERE scope = $1", CASE)
    assert row["wrapped"] is None and row["kek_id"] is None and row["destroyed_at"] is not None
    assert row["destroyed_reason"] == "disposed of (R-35)"
    for reader in (codec, _scoped(spec, database_url)):
        with pytest.raises(PayloadDecryptionError, match="destroyed"):
            await reader.decode(sealed[:1])
        assert await reader.decode([kept]) == [_payload()]
    # Claiming again makes no new key for a destroyed scope.
    await claim_scope(codec, CASE, "exempelby")
    assert (await pool.fetchval(
        "SELECT wrapped FROM payload_data_keys WHERE scope = $1", CASE)) is None
    # A payload written into the destroyed scope afterwards is unreadable too.
    [late] = await _in_workflow(_scoped(spec, database_url), CASE).encode([_payload()])
    assert b"Karin" not in late.data
    with pytest.raises(PayloadDecryptionError):
        await codec.decode([late])


async def test_rotation_per_municipality_and_rewrap(database_url: str, pool: Any,
                                                    monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    e1, f1, s1 = new_key_spec("exempelby/e1"), new_key_spec("fjordvik/f1"), new_key_spec("s1")
    before = _scoped(f"{e1},{f1},{s1}", database_url)
    await claim_scope(before, CASE, "exempelby")
    [old] = await _in_workflow(before, CASE).encode([_payload()])
    [fj] = await _in_workflow(before, "crisis:fjordvik").encode([_payload()])

    e2 = new_key_spec("exempelby/e2")
    after = _scoped(f"{e2},{e1},{f1},{s1}", database_url)  # Exempelby's new KEK first
    [new] = await _in_workflow(after, "crisis:exempelby").encode([_payload()])
    kek = dict(await pool.fetch("SELECT scope, kek_id FROM payload_data_keys"))
    assert kek == {CASE: "exempelby/e1", "crisis:fjordvik": "fjordvik/f1",
                   "crisis:exempelby": "exempelby/e2"}
    assert await after.decode([old, new, fj]) == [_payload()] * 3

    # `kanalvakt keys rewrap`: Exempelby's old DEK under e2 now; a second run has nothing to do
    monkeypatch.setenv("KANALVAKT_PAYLOAD_KEYS", f"{e2},{e1},{f1},{s1}")
    for expected in ("rewrapped 1 data key(s)", "rewrapped 0 data key(s)"):
        code = await asyncio.to_thread(cli.main, ["--database-url", database_url,
                                                  "keys", "rewrap"])
        assert code == 0 and expected in capsys.readouterr().out
    assert (await pool.fetchval("SELECT kek_id FROM payload_data_keys WHERE scope = $1",
                                CASE)) == "exempelby/e2"
    # e1 can go: everything still decodes without it; Fjordvik untouched.
    dropped = _scoped(f"{e2},{f1},{s1}", database_url)
    assert await dropped.decode([old, new, fj]) == [_payload()] * 3


def test_a_system_key_is_required_beside_municipality_keys() -> None:
    with pytest.raises(PayloadKeyError, match="system key"):
        KeyRing(parse_keys(new_key_spec("exempelby/e1")))


def test_key_table_needs_a_pool_or_url() -> None:
    with pytest.raises(ValueError):
        PayloadKeyTable()
