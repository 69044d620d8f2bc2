"""Payload encryption for Temporal (DESIGN "Data protection"): an AES-256-GCM
PayloadCodec, used by every client worker.connect makes (worker, web, cli,
feeder) and by the web app's codec endpoint (web/codec_api.py) that lets
signed-in staff read payloads in the Temporal UI.

Each encrypted payload carries `encoding: binary/encrypted` and
`encryption-key-id` in its metadata; its data is a 12-byte nonce followed by
the AES-GCM ciphertext of the whole original Payload (so its own metadata,
e.g. `json/plain`, is encrypted too). Keys come from KANALVAKT_PAYLOAD_KEYS,
"id1:base64key,id0:base64key": the first encrypts, all decrypt (rotation:
put the new key first, keep the old ones until no history needs them).

Kept out of workflows/ and domain/: importing `cryptography` from a workflow
module breaks sandbox validation (TEMPORAL-NOTES "Encryption"). pyproject's
import-linter contracts forbid it there.
"""

from __future__ import annotations

import base64
import binascii
import dataclasses
import os
from collections.abc import Mapping, Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
)

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
NONCE_BYTES = 12


class PayloadKeyError(ValueError):
    """KANALVAKT_PAYLOAD_KEYS is malformed (raised at start-up)."""


class PayloadDecryptionError(ValueError):
    """An encrypted payload could not be decrypted: unknown key id, or the
    key does not match (wrong key, or the data was altered)."""


def parse_keys(spec: str) -> dict[str, bytes]:
    """"id1:base64key,id0:base64key" -> {id: 32-byte key}, in order (the
    first encrypts). Raises PayloadKeyError naming what is wrong, never the key."""
    keys: dict[str, bytes] = {}
    for n, part in enumerate((p.strip() for p in spec.split(",")), start=1):
        if not part:
            continue
        key_id, sep, encoded = part.partition(":")
        key_id = key_id.strip()
        if not sep or not key_id or not encoded.strip():
            raise PayloadKeyError(f"KANALVAKT_PAYLOAD_KEYS entry {n} is not 'id:base64key'")
        if key_id in keys:
            raise PayloadKeyError(f"KANALVAKT_PAYLOAD_KEYS names key id {key_id!r} twice")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except (binascii.Error, ValueError) as e:
            raise PayloadKeyError(
                f"KANALVAKT_PAYLOAD_KEYS key {key_id!r} is not valid base64") from e
        if len(key) != 32:
            raise PayloadKeyError(f"KANALVAKT_PAYLOAD_KEYS key {key_id!r} is {len(key)} bytes; "
                                  "AES-256 needs 32 (base64 of 32 random bytes)")
        keys[key_id] = key
    return keys


def new_key_spec(key_id: str) -> str:
    """A fresh "id:base64key" entry (the local stack keeps one in .state/)."""
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


class EncryptionCodec(PayloadCodec):
    """AES-256-GCM; the first key encrypts, every key decrypts."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        if not keys:
            raise PayloadKeyError("no payload keys")
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.key_id = next(iter(keys))

    @classmethod
    def from_spec(cls, spec: str) -> EncryptionCodec:
        return cls(parse_keys(spec))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        cipher = self._ciphers[self.key_id]
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_BYTES)
            data = nonce + cipher.encrypt(nonce, p.SerializeToString(), None)
            out.append(Payload(metadata={"encoding": ENCODING, KEY_ID: self.key_id.encode()},
                               data=data))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING:
                out.append(p)  # not ours (written before encryption was on): as is
                continue
            key_id = p.metadata.get(KEY_ID, b"").decode()
            cipher = self._ciphers.get(key_id)
            if cipher is None:
                raise PayloadDecryptionError(
                    f"payload encrypted with key id {key_id!r}, which is not among "
                    f"KANALVAKT_PAYLOAD_KEYS ({', '.join(self._ciphers)})")
            try:
                plain = cipher.decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], None)
            except InvalidTag as e:
                raise PayloadDecryptionError(
                    f"payload does not decrypt with key {key_id!r} (wrong key or altered "
                    "data)") from e
            out.append(Payload.FromString(plain))
        return out


def data_converter(base: DataConverter, codec: PayloadCodec | None) -> DataConverter:
    """`base` with the codec, and failure messages/stack traces encoded too
    (they are payloads only with DefaultFailureConverterWithEncodedAttributes)."""
    if codec is None:
        return base
    return dataclasses.replace(base, payload_codec=codec,
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


def codec_from_settings(spec: str, production: bool) -> EncryptionCodec | None:
    """The codec for the configured keys; None when none are set outside
    production; in production a missing key is an error at start."""
    keys = parse_keys(spec)
    if not keys:
        if production:
            raise PayloadKeyError("KANALVAKT_ENV=production, but KANALVAKT_PAYLOAD_KEYS is not "
                                  "set: payloads (message texts) would reach Temporal in clear")
        return None
    return EncryptionCodec(keys)
