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

Per-scope data keys (issue 10, docs/decisions.md "Payload keys per case"):
`ScopedCodec` implements WithSerializationContext. Bound to a workflow (the
workflow id of a WorkflowSerializationContext or ActivitySerializationContext)
it encrypts with that scope's data key (DEK, 32 random bytes, one per
workflow id), kept wrapped in PostgreSQL (payload_data_keys) under its
municipality's key-encryption key (KEK). KANALVAKT_PAYLOAD_KEYS then also
holds `<municipality>/<id>:<base64>` entries: the first of a municipality
wraps its new DEKs, all unwrap (rotation per municipality: put a new one
first, then `kanalvakt keys rewrap`). Entries without a municipality are the
system keys: the first encrypts payloads with no workflow (and wraps the DEKs
of municipalities without a KEK of their own); all still decrypt what the
single-key scheme wrote. A DEK payload's metadata names the key `dek`, its
scope (a workflow id: no personal data) and municipality; the scope is the
AES-GCM associated data, so metadata cannot be swapped to borrow another
scope's rights. Destroying a scope's DEK (disposal, R-33, R-35) leaves its
payloads unreadable everywhere.
"""

from __future__ import annotations

import base64
import binascii
import copy
import dataclasses
import json
import os
import re
import time
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from temporalio.api.common.v1 import Payload
from temporalio.converter import (
    ActivitySerializationContext,
    DataConverter,
    DefaultFailureConverterWithEncodedAttributes,
    PayloadCodec,
    SerializationContext,
    WithSerializationContext,
    WorkflowSerializationContext,
)

from store.payload_keys import PayloadKeyTable

ENCODING = b"binary/encrypted"
KEY_ID = "encryption-key-id"
SCOPE = "kanalvakt-scope"
MUNICIPALITY = "kanalvakt-municipality"
DEK = "dek"  # KEY_ID of a payload under its scope's data key
SYSTEM = "system"  # SCOPE of a payload under the system key (no workflow)
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
        # the first system key (no "<municipality>/"), else the first
        self.key_id = next((k for k in keys if "/" not in k), next(iter(keys)))

    @classmethod
    def from_spec(cls, spec: str) -> EncryptionCodec:
        return cls(parse_keys(spec))

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._seal(p) for p in payloads]

    def _seal(self, p: Payload, *, system: bool = False) -> Payload:
        """Under the first system key; `system` marks (and binds, as associated
        data) a payload of no workflow, which the codec endpoint tells apart
        from what the single-key scheme wrote."""
        nonce = os.urandom(NONCE_BYTES)
        aad = SYSTEM.encode() if system else None
        data = nonce + self._ciphers[self.key_id].encrypt(nonce, p.SerializeToString(), aad)
        metadata = {"encoding": ENCODING, KEY_ID: self.key_id.encode()}
        if system:
            metadata[SCOPE] = SYSTEM.encode()
        return Payload(metadata=metadata, data=data)

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        return [self._open(p) for p in payloads]

    def _open(self, p: Payload) -> Payload:
        if p.metadata.get("encoding") != ENCODING:
            return p  # not ours (written before encryption was on): as is
        key_id = p.metadata.get(KEY_ID, b"").decode()
        if key_id == DEK:
            raise PayloadDecryptionError(
                f"payload under the data key of {scope_of(p)!r}: this codec has no key table")
        cipher = self._ciphers.get(key_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"payload encrypted with key id {key_id!r}, which is not among "
                f"KANALVAKT_PAYLOAD_KEYS ({', '.join(self._ciphers)})")
        aad = SYSTEM.encode() if p.metadata.get(SCOPE) == SYSTEM.encode() else None
        try:
            plain = cipher.decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:], aad)
        except InvalidTag as e:
            raise PayloadDecryptionError(
                f"payload does not decrypt with key {key_id!r} (wrong key or altered "
                "data)") from e
        return Payload.FromString(plain)


# --------------------------------------------------------------------------- per-scope keys


def scope_of(p: Payload) -> str | None:
    """The scope a payload was sealed for: a workflow id, SYSTEM, or None
    (not encrypted, or written by the single-key scheme)."""
    if p.metadata.get("encoding") != ENCODING:
        return None
    raw = p.metadata.get(SCOPE)
    return raw.decode() if raw else None


_SCHEDULED = re.compile(r"-\d{4}-\d{2}-\d{2}T[0-9:.]+Z$")


def municipality_of_scope(scope: str) -> str | None:
    """The municipality a workflow id names (account:<m>:<slug>,
    snapshot:<m>:..., snapshots:<m> and its scheduled runs, crisis:<m>); None
    for message cases, whose ids name a platform (whoever starts one claims
    its scope with the municipality first) and for anything else."""
    kind, _, rest = scope.partition(":")
    if kind not in ("account", "snapshot", "snapshots", "crisis") or not rest:
        return None
    first = rest.split(":", 1)[0] if kind in ("account", "snapshot") else _SCHEDULED.sub("", rest)
    return first or None


class KeyRing:
    """The key-encryption keys of KANALVAKT_PAYLOAD_KEYS, per municipality,
    and the system keys. Wraps a DEK with the scope as associated data."""

    def __init__(self, keys: Mapping[str, bytes]) -> None:
        self._ciphers = {key_id: AESGCM(key) for key_id, key in keys.items()}
        self.system_ids = [k for k in keys if "/" not in k]
        if not self.system_ids:
            raise PayloadKeyError("KANALVAKT_PAYLOAD_KEYS needs a system key (an entry "
                                  "without '<municipality>/'): it seals payloads of no workflow")
        self.by_municipality: dict[str, list[str]] = {}
        for key_id in keys:
            if "/" in key_id:
                self.by_municipality.setdefault(key_id.split("/", 1)[0], []).append(key_id)

    def kek_id_for(self, municipality_id: str | None) -> str:
        own = self.by_municipality.get(municipality_id or "")
        return own[0] if own else self.system_ids[0]

    def wrap(self, municipality_id: str | None, scope: str, dek: bytes) -> tuple[str, bytes]:
        kek_id = self.kek_id_for(municipality_id)
        nonce = os.urandom(NONCE_BYTES)
        return kek_id, nonce + self._ciphers[kek_id].encrypt(nonce, dek, scope.encode())

    def unwrap(self, kek_id: str, scope: str, wrapped: bytes) -> bytes:
        cipher = self._ciphers.get(kek_id)
        if cipher is None:
            raise PayloadDecryptionError(
                f"the data key of {scope!r} is wrapped under key id {kek_id!r}, which is not "
                "among KANALVAKT_PAYLOAD_KEYS")
        try:
            return cipher.decrypt(wrapped[:NONCE_BYTES], wrapped[NONCE_BYTES:], scope.encode())
        except InvalidTag as e:
            raise PayloadDecryptionError(
                f"the data key of {scope!r} does not unwrap with key {kek_id!r}") from e


class StoredKeyRow(Protocol):
    @property
    def scope(self) -> str: ...
    @property
    def municipality_id(self) -> str | None: ...
    @property
    def kek_id(self) -> str | None: ...
    @property
    def wrapped(self) -> bytes | None: ...


class KeyTable(Protocol):
    """Where wrapped DEKs live (store/payload_keys.PayloadKeyTable)."""

    async def get(self, scopes: Sequence[str]) -> Mapping[str, StoredKeyRow]: ...
    async def insert(self, scope: str, municipality_id: str | None, kek_id: str,
                     wrapped: bytes) -> StoredKeyRow: ...
    async def destroy(self, scope: str, reason: str) -> None: ...
    async def rewrap(self, scope: str, old_kek_id: str, kek_id: str, wrapped: bytes) -> bool: ...
    async def live(self) -> Sequence[StoredKeyRow]: ...


@dataclasses.dataclass(frozen=True)
class DataKey:
    scope: str
    municipality_id: str | None
    key: bytes | None  # None: destroyed


class DataKeys:
    """Per-scope DEKs: the table, the key ring, and a bounded in-memory cache
    of unwrapped keys (`cache_size` scopes for `ttl` seconds: a destroyed key
    stays in the memory of a process that held it for at most `ttl`, so a
    disposed case's last workflow tasks still complete)."""

    def __init__(self, ring: KeyRing, table: KeyTable, *, cache_size: int = 10_000,
                 ttl: float = 600.0) -> None:
        self.ring = ring
        self.table = table
        self._cache: OrderedDict[str, tuple[float, DataKey]] = OrderedDict()
        self._size = cache_size
        self._ttl = ttl

    def _cached(self, scope: str) -> DataKey | None:
        hit = self._cache.get(scope)
        if hit is None:
            return None
        if hit[0] < time.monotonic():
            del self._cache[scope]
            return None
        self._cache.move_to_end(scope)
        return hit[1]

    def _remember(self, key: DataKey) -> DataKey:
        if key.key is None:  # destroyed: forgotten here too, and looked up every time
            self._cache.pop(key.scope, None)
        else:
            self._cache[key.scope] = (time.monotonic() + self._ttl, key)
            self._cache.move_to_end(key.scope)
            while len(self._cache) > self._size:
                self._cache.popitem(last=False)
        return key

    def _unwrapped(self, row: StoredKeyRow) -> DataKey:
        if row.wrapped is None or row.kek_id is None:
            return DataKey(row.scope, row.municipality_id, None)
        return DataKey(row.scope, row.municipality_id,
                       self.ring.unwrap(row.kek_id, row.scope, row.wrapped))

    async def claim(self, scope: str, municipality_id: str | None) -> DataKey:
        """The scope's key, made now for `municipality_id` if it has none
        (one INSERT ... ON CONFLICT DO NOTHING; the row already there wins,
        a destroyed one too)."""
        dek = os.urandom(32)
        kek_id, wrapped = self.ring.wrap(municipality_id, scope, dek)
        row = await self.table.insert(scope, municipality_id, kek_id, wrapped)
        return self._remember(self._unwrapped(row))

    async def for_encoding(self, scope: str, municipality_id: str | None = None) -> DataKey:
        """The scope's key; one is claimed for `municipality_id` (or the
        municipality its id names) when it has none."""
        hit = self._cached(scope)
        if hit is not None:
            return hit
        rows = await self.table.get([scope])  # claimed by the case's starter, usually
        if scope in rows:
            return self._remember(self._unwrapped(rows[scope]))
        return await self.claim(scope, municipality_id or municipality_of_scope(scope))

    async def for_decoding(self, scopes: Sequence[str], *, fresh: bool = False
                           ) -> dict[str, DataKey]:
        """The keys of `scopes` that exist (destroyed ones with key None);
        `fresh` reads the table even for cached keys (the codec endpoint)."""
        out: dict[str, DataKey] = {}
        missing = []
        for scope in dict.fromkeys(scopes):
            hit = None if fresh else self._cached(scope)
            if hit is None:
                missing.append(scope)
            else:
                out[scope] = hit
        if missing:
            rows = await self.table.get(missing)
            for scope in missing:
                if scope in rows:
                    out[scope] = self._remember(self._unwrapped(rows[scope]))
                else:
                    self._cache.pop(scope, None)
        return out

    async def destroy(self, scope: str, reason: str) -> None:
        """Crypto-shredding: the wrapped key goes from the table (and from
        this process's cache; other processes forget it within `ttl`)."""
        await self.table.destroy(scope, reason)
        self._cache.pop(scope, None)

    async def rewrap(self) -> int:
        """Every live DEK not under its municipality's first KEK is wrapped
        under it (after a rotation). Returns how many were rewrapped."""
        done = 0
        for row in await self.table.live():
            want = self.ring.kek_id_for(row.municipality_id)
            if row.kek_id == want or row.kek_id is None or row.wrapped is None:
                continue
            dek = self.ring.unwrap(row.kek_id, row.scope, row.wrapped)
            _, wrapped = self.ring.wrap(row.municipality_id, row.scope, dek)
            done += await self.table.rewrap(row.scope, row.kek_id, want, wrapped)
        return done


def workflow_scope(context: SerializationContext) -> str | None:
    """The workflow id a payload belongs to, if any."""
    if isinstance(context, WorkflowSerializationContext | ActivitySerializationContext):
        return context.workflow_id or None
    return None


class ScopedCodec(EncryptionCodec, WithSerializationContext):
    """Per-scope data keys (see the module docstring). Unbound (no workflow):
    the first system key, marked as such. Decoding follows each payload's
    metadata, whatever the context: a schedule seals its action's input under
    the id prefix, the scheduled run decodes it under its own id."""

    def __init__(self, keys: Mapping[str, bytes], data_keys: DataKeys,
                 scope: str | None = None) -> None:
        super().__init__(keys)
        self.data_keys = data_keys
        self.scope = scope

    def with_context(self, context: SerializationContext) -> ScopedCodec:
        # called for every payload operation: a shallow copy shares the
        # ciphers and the key cache
        bound = copy.copy(self)
        bound.scope = workflow_scope(context)
        return bound

    async def encode(self, payloads: Sequence[Payload]) -> list[Payload]:
        if self.scope is None:
            return [self._seal(p, system=True) for p in payloads]
        data_key = await self.data_keys.for_encoding(self.scope)
        # A scope whose key was destroyed (a disposed case writing its last
        # events from another process): sealed under a key nobody keeps.
        cipher = AESGCM(data_key.key if data_key.key is not None else os.urandom(32))
        aad = self.scope.encode()
        metadata = {"encoding": ENCODING, KEY_ID: DEK.encode(), SCOPE: aad,
                    MUNICIPALITY: (data_key.municipality_id or "").encode()}
        out = []
        for p in payloads:
            nonce = os.urandom(NONCE_BYTES)
            out.append(Payload(metadata=metadata,
                               data=nonce + cipher.encrypt(nonce, p.SerializeToString(), aad)))
        return out

    async def decode(self, payloads: Sequence[Payload]) -> list[Payload]:
        scopes = [scope_of(p) for p in payloads
                  if p.metadata.get(KEY_ID) == DEK.encode() and p.metadata.get(SCOPE)]
        keys = await self.data_keys.for_decoding([s for s in scopes if s]) if scopes else {}
        out = []
        for p in payloads:
            if p.metadata.get("encoding") != ENCODING or p.metadata.get(KEY_ID) != DEK.encode():
                out.append(self._open(p))
                continue
            scope = scope_of(p) or ""
            data_key = keys.get(scope)
            if data_key is None or data_key.key is None:
                raise PayloadDecryptionError(
                    f"the data key of {scope!r} was destroyed (disposed of)" if data_key
                    else f"no data key for {scope!r}")
            try:
                plain = AESGCM(data_key.key).decrypt(p.data[:NONCE_BYTES], p.data[NONCE_BYTES:],
                                                      scope.encode())
            except InvalidTag as e:
                raise PayloadDecryptionError(
                    f"payload does not decrypt with the data key of {scope!r}") from e
            out.append(Payload.FromString(plain))
        return out


SEALED = "dek-v1"  # the marker of a record sealed under its case's data key
RECORD = "record"  # the purpose of a preserved copy; "content": message_contents


class ScopeShredded(PayloadDecryptionError):
    """The scope's data key was destroyed (disposed of): nothing more is kept
    for it."""


async def seal_record(data_keys: DataKeys, scope: str, record: Any, *, purpose: str = RECORD,
                      municipality_id: str | None = None) -> dict[str, str]:
    """A JSON value kept in PostgreSQL under its case's data key (envelope
    encryption at rest, issue 10): {"sealed", "scope", "data"}; the scope and
    the record's purpose are the associated data, so it opens nowhere else
    (not as another case's, nor as another kind of record of the same case).
    A scope with no key yet gets one under `municipality_id`'s KEK."""
    data_key = await data_keys.for_encoding(scope, municipality_id)
    if data_key.key is None:
        raise ScopeShredded(f"the data key of {scope!r} was destroyed: nothing "
                            "more is kept for it")
    nonce = os.urandom(NONCE_BYTES)
    sealed = AESGCM(data_key.key).encrypt(nonce, json.dumps(record).encode(),
                                           f"{scope}|{purpose}".encode())
    return {"sealed": SEALED, "scope": scope,
            "data": base64.b64encode(nonce + sealed).decode()}


def is_sealed(value: Any) -> bool:
    return isinstance(value, dict) and value.get("sealed") == SEALED


async def open_records(data_keys: DataKeys | None, values: Sequence[Any], *,
                       purpose: str = RECORD) -> list[Any]:
    """Each value opened: a sealed record as its JSON (None when its key is
    destroyed or unknown, or no keys are at hand: never the envelope),
    anything else as it is (written before sealing, or without keys). The
    keys of all of them in one query of the key table, read fresh (a key
    destroyed a moment ago is gone)."""
    scopes = [str(v["scope"]) for v in values if is_sealed(v)]
    if not scopes:
        return list(values)
    keys = {} if data_keys is None else await data_keys.for_decoding(scopes, fresh=True)
    out = []
    for value in values:
        if not is_sealed(value):
            out.append(value)
            continue
        scope = str(value["scope"])
        data_key = keys.get(scope)
        if data_key is None or data_key.key is None:
            out.append(None)
            continue
        raw = base64.b64decode(value["data"])
        try:
            plain = AESGCM(data_key.key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:],
                                                 f"{scope}|{purpose}".encode())
        except InvalidTag:
            out.append(None)
            continue
        out.append(json.loads(plain))
    return out


async def open_record(data_keys: DataKeys | None, value: Any, *, purpose: str = RECORD) -> Any:
    """One value, as open_records."""
    return (await open_records(data_keys, [value], purpose=purpose))[0]


def data_keys_of(codec: PayloadCodec | None) -> DataKeys | None:
    """The per-workflow key store behind a client's codec, if it has one."""
    return codec.data_keys if isinstance(codec, ScopedCodec) else None


async def claim_scope(codec: PayloadCodec | None, scope: str, municipality_id: str) -> None:
    """Give a workflow id that names no municipality (a message case) its
    data key under the municipality's KEK, before the workflow starts."""
    if isinstance(codec, ScopedCodec):
        await codec.data_keys.claim(scope, municipality_id)


def data_converter(base: DataConverter, codec: PayloadCodec | None) -> DataConverter:
    """`base` with the codec, and failure messages/stack traces encoded too
    (they are payloads only with DefaultFailureConverterWithEncodedAttributes)."""
    if codec is None:
        return base
    return dataclasses.replace(base, payload_codec=codec,
                               failure_converter_class=DefaultFailureConverterWithEncodedAttributes)


def codec_from_settings(spec: str, production: bool, database_url: str | None = None
                        ) -> EncryptionCodec | None:
    """The codec for the configured keys; None when none are set outside
    production; in production a missing key is an error at start. With a
    database, per-scope data keys (ScopedCodec); without, the single key."""
    keys = parse_keys(spec)
    if not keys:
        if production:
            raise PayloadKeyError("KANALVAKT_ENV=production, but KANALVAKT_PAYLOAD_KEYS is not "
                                  "set: payloads (message texts) would reach Temporal in clear")
        return None
    if database_url:
        return ScopedCodec(keys, DataKeys(KeyRing(keys), PayloadKeyTable(dsn=database_url)))
    return EncryptionCodec(keys)
