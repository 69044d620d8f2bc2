"""Files kept with the record (issue 14, migration 0024): the screenshot of a
comment deleted by hand (R-30, R-45), sealed under its message case's data
key, and a guardian's signed consent for an image of a child under 15
(R-41), sealed under a key of its own (scope `consent:<upload id>`). Both in
PostgreSQL like the snapshot screenshots (store/snapshots.py), never in a
folder. The checks of what a file may be are here, one place for the web's
forms and the JSON API."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import asyncpg

from codec import DataKeys, open_record, seal_record
from store.payload_keys import destroy_data_key

Purpose = Literal["removal_screenshot", "guardian_consent"]
SEAL_PURPOSE = "upload"  # the associated data's purpose: opens as nothing else

MiB = 1024 * 1024
# a screenshot of one comment; R-41: a scanned or photographed
# signed form. 10 MB each is a phone photo with room to spare.
MAX_BYTES: dict[str, int] = {"removal_screenshot": 10 * MiB, "guardian_consent": 10 * MiB}
_SIGNATURES = {"image/png": b"\x89PNG\r\n\x1a\n", "image/jpeg": b"\xff\xd8\xff",
               "image/webp": b"RIFF", "application/pdf": b"%PDF-"}
KINDS: dict[str, frozenset[str]] = {
    "removal_screenshot": frozenset({"image/png", "image/jpeg", "image/webp"}),
    "guardian_consent": frozenset({"application/pdf", "image/png", "image/jpeg"}),
}
SUFFIX = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp",
          "application/pdf": ".pdf"}


class BadUpload(ValueError):
    """A file refused before anything is stored: `reason` is "too_big",
    "empty" or "kind" (the page's text), `status` the HTTP status."""

    def __init__(self, reason: str, status: int, message: str) -> None:
        super().__init__(message)
        self.reason, self.status = reason, status


def kind_of(content: bytes) -> str | None:
    """The file's type from its first bytes (never the name or the browser's word)."""
    kind = next((k for k, sig in _SIGNATURES.items() if content.startswith(sig)), None)
    if kind == "image/webp" and content[8:12] != b"WEBP":
        return None
    return kind


def check_upload(purpose: Purpose, content: bytes) -> str:
    """The file's type, or BadUpload: empty, larger than the purpose allows,
    or not one of its types."""
    if not content:
        raise BadUpload("empty", 422, "the file is empty")
    if len(content) > MAX_BYTES[purpose]:
        raise BadUpload("too_big", 413,
                        f"the file may be at most {MAX_BYTES[purpose] // MiB} MB")
    kind = kind_of(content)
    if kind is None or kind not in KINDS[purpose]:
        raise BadUpload("kind", 415, "upload one of " + ", ".join(sorted(KINDS[purpose])))
    return kind


@dataclass(frozen=True)
class StoredUpload:
    upload_id: str
    sha256: str
    file_name: str
    mime_type: str
    size: int


def scope_of(purpose: Purpose, upload_id: str, case_id: str | None) -> str:
    """The data key a file is sealed under: its case's, or its own."""
    if purpose == "removal_screenshot":
        assert case_id is not None
        return case_id
    return f"consent:{upload_id}"


async def store(pool: asyncpg.Pool, data_keys: DataKeys | None, *, purpose: Purpose,
                municipality_id: str, account_id: str, case_id: str | None, file_name: str,
                content: bytes, uploaded_by: str, uploaded_at: datetime) -> StoredUpload:
    """Check and keep one file (BadUpload with nothing stored otherwise)."""
    kind = check_upload(purpose, content)
    upload_id = str(uuid.uuid4())
    record = {"b64": base64.b64encode(content).decode()}
    sealed: Any = (record if data_keys is None else await seal_record(
        data_keys, scope_of(purpose, upload_id, case_id), record, purpose=SEAL_PURPOSE,
        municipality_id=municipality_id))
    digest = hashlib.sha256(content).hexdigest()
    await pool.execute(
        """
        INSERT INTO record_uploads (upload_id, purpose, municipality_id, account_id, case_id,
            file_name, mime_type, size, sha256, sealed, uploaded_by, uploaded_at)
        VALUES ($1::uuid, $2, $3, $4::uuid, $5, $6, $7, $8, $9, $10, $11, $12)
        """,
        upload_id, purpose, municipality_id, account_id, case_id, file_name, kind,
        len(content), digest, sealed, uploaded_by, uploaded_at)
    return StoredUpload(upload_id, digest, file_name, kind, len(content))


async def forget(pool: asyncpg.Pool, upload_id: str) -> None:
    """An upload the record refused (the workflow said no): not kept."""
    await pool.execute("DELETE FROM record_uploads WHERE upload_id = $1::uuid", upload_id)


async def row(pool: asyncpg.Pool, upload_id: str) -> dict[str, Any] | None:
    """One upload's row without its bytes."""
    found = await pool.fetchrow(
        "SELECT upload_id::text, purpose, municipality_id, account_id::text, case_id, "
        "file_name, mime_type, size, sha256, uploaded_by, uploaded_at FROM record_uploads "
        "WHERE upload_id = $1::uuid", upload_id)
    return dict(found) if found is not None else None


async def of_cases(pool: asyncpg.Pool, case_ids: list[str]) -> list[dict[str, Any]]:
    """The removal screenshots of these cases, without their bytes."""
    rows = await pool.fetch(
        "SELECT upload_id::text, case_id, file_name, mime_type, size, sha256, uploaded_by, "
        "uploaded_at FROM record_uploads WHERE case_id = ANY($1::text[]) "
        "ORDER BY case_id, uploaded_at", case_ids)
    return [dict(r) for r in rows]


async def content(pool: asyncpg.Pool, data_keys: DataKeys | None,
                  upload_id: str) -> bytes | None:
    """The file's bytes, None when gone or its key destroyed (disposed of)."""
    sealed = await pool.fetchval("SELECT sealed FROM record_uploads WHERE upload_id = $1::uuid",
                                 upload_id)
    if sealed is None:
        return None
    opened = await open_record(data_keys, sealed, purpose=SEAL_PURPOSE)
    if not isinstance(opened, dict) or "b64" not in opened:
        return None
    return base64.b64decode(opened["b64"])


async def dispose_of_case(conn: asyncpg.Connection, case_id: str) -> None:
    """R-33, R-35: the case's screenshots go with its content."""
    await conn.execute("DELETE FROM record_uploads WHERE case_id = $1", case_id)


async def destroy_consent(pool: asyncpg.Pool, upload_id: str, reason: str) -> None:
    """R-41 (issue 14): a guardian's consent withdrawn or disposed of:
    crypto-shredding as for a message's disposal (its own data key
    `consent:<upload id>` destroyed, when and why recorded), and the row
    deleted, in one transaction. Again for one already gone does nothing new."""
    async with pool.acquire() as conn, conn.transaction():
        await destroy_data_key(conn, scope_of("guardian_consent", upload_id, None), reason)
        await conn.execute("DELETE FROM record_uploads WHERE upload_id = $1::uuid "
                           "AND purpose = 'guardian_consent'", upload_id)


async def consent_matches(pool: asyncpg.Pool, account_id: str, upload_id: str,
                          sha256: str) -> bool:
    """R-41: a post over the JSON API names a consent uploaded before
    (`POST /api/accounts/{id}/consent-uploads`): it is one of this account's
    consents, with this digest."""
    try:
        uuid.UUID(upload_id)
    except ValueError:
        return False
    found = await pool.fetchval(
        "SELECT sha256 FROM record_uploads WHERE upload_id = $1::uuid AND account_id = $2::uuid "
        "AND purpose = 'guardian_consent'", upload_id, account_id)
    return found == sha256


async def forget_unnamed_consents(pool: asyncpg.Pool, account_id: str, named: set[str],
                                  before: datetime) -> int:
    """R-41: consents uploaded over the JSON API before `before` that no post
    of the account names (`named`: the record's, held posts' included) are
    not kept: destroyed as a withdrawn one is. How many."""
    rows = await pool.fetch(
        "SELECT upload_id::text FROM record_uploads WHERE account_id = $1::uuid "
        "AND purpose = 'guardian_consent' AND uploaded_at < $2", account_id, before)
    stale = [r["upload_id"] for r in rows if r["upload_id"] not in named]
    for upload_id in stale:
        await destroy_consent(pool, upload_id, "consent uploaded, never named by a post")
    return len(stale)
