"""A municipality's snapshot settings (R-43, from its directory YAML) and the
screenshots admins upload for an account's next snapshot (R-37)."""

from __future__ import annotations

import asyncio
import hashlib
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from domain import snapshot as snap


async def save_policy(pool: asyncpg.Pool, municipality_id: str,
                      policy: snap.SnapshotPolicy) -> None:
    """R-43: the municipality's snapshot settings, from its directory YAML."""
    await pool.execute(
        """
        INSERT INTO municipality_snapshot_policies (municipality_id, policy, loaded_at)
        VALUES ($1, $2, now())
        ON CONFLICT (municipality_id) DO UPDATE SET policy = excluded.policy,
            loaded_at = excluded.loaded_at
        """,
        municipality_id, policy.model_dump(mode="json", exclude_defaults=True))


async def load_policy(pool: asyncpg.Pool, municipality_id: str) -> snap.SnapshotPolicy:
    raw = await pool.fetchval(
        "SELECT policy FROM municipality_snapshot_policies WHERE municipality_id = $1",
        municipality_id)
    return snap.SnapshotPolicy.model_validate(raw or {})


async def policies(pool: asyncpg.Pool) -> dict[str, tuple[snap.SnapshotPolicy, str]]:
    """Every municipality's policy and time zone (for the schedules)."""
    rows = await pool.fetch(
        """
        SELECT m.id, m.timezone, p.policy FROM municipalities m
        LEFT JOIN municipality_snapshot_policies p ON p.municipality_id = m.id ORDER BY m.id
        """)
    return {r["id"]: (snap.SnapshotPolicy.model_validate(r["policy"] or {}), r["timezone"])
            for r in rows}


async def store_upload(pool: asyncpg.Pool, *, account_id: str, file_name: str, mime_type: str,
                       content: bytes, caption: str | None, uploaded_by: str,
                       uploaded_at: datetime) -> dict[str, Any]:
    """Keep an uploaded screenshot for the account's next snapshot, in the
    row itself (issue 12: no folder shared by web and worker; the worker's
    capture reads it by the account and the upload id)."""
    upload_id = uuid.uuid4()
    digest = hashlib.sha256(content).hexdigest()
    await pool.execute(
        """
        INSERT INTO snapshot_uploads (upload_id, account_id, file_name, mime_type, size, sha256,
            content, caption, uploaded_by, uploaded_at)
        VALUES ($1, $2::uuid, $3, $4, $5, $6, $7, $8, $9, $10)
        """,
        upload_id, account_id, file_name, mime_type, len(content), digest, content, caption,
        uploaded_by, uploaded_at)
    return {"upload_id": str(upload_id), "account_id": account_id, "file_name": file_name,
            "mime_type": mime_type, "size": len(content), "sha256": digest,
            "uploaded_by": uploaded_by, "uploaded_at": uploaded_at.isoformat()}


UPLOAD_SUFFIX = {"image/png": ".png", "image/jpeg": ".jpg", "image/webp": ".webp"}


async def upload_content(row: asyncpg.Record) -> bytes:
    """An upload's bytes: from the row, or (an upload kept before migration
    0022, when web and worker shared a folder) from its `path`."""
    if row["content"] is not None:
        return bytes(row["content"])
    if row["path"] is None:
        raise FileNotFoundError(f"upload {row['upload_id']} has neither content nor path")
    return await asyncio.to_thread(Path(row["path"]).read_bytes)
