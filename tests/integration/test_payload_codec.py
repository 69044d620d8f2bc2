"""The payload codec (codec.py, DESIGN "Data protection"): AES-256-GCM,
key id in the metadata, rotation, clear errors for bad keys."""

from __future__ import annotations

import base64
import os
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DefaultFailureConverterWithEncodedAttributes

from codec import (
    ENCODING,
    KEY_ID,
    EncryptionCodec,
    PayloadDecryptionError,
    PayloadKeyError,
    codec_from_settings,
    data_converter,
    new_key_spec,
    parse_keys,
)

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
