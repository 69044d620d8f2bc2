"""Files kept with the record (issue 14, migration 0024): a deletion's
screenshot (R-30, R-45) sealed under its case's data key and gone with the
case's disposal (R-33, R-35); a guardian's signed consent (R-41) sealed
under a key of its own; a bad file refused before anything is stored."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from activities.messages import DisposeContentInput, MessageActivities
from adapters.connectors.registry import Connectors
from codec import DataKeys, KeyRing, new_key_spec, open_record, parse_keys
from store import record_uploads
from store.payload_keys import PayloadKeyTable

PNG = b"\x89PNG\r\n\x1a\n" + b"comment by Karin Svensson" * 8
PDF = b"%PDF-1.4\nguardian: Lena Ek, child: Sara Ek\n%%EOF\n"
CASE = "message:tiktok:7301122334455"
ACCOUNT = "0b6b7c1e-6a52-4a8a-9d39-2d0d5e0b3f11"
NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


def _keys(pool: asyncpg.Pool) -> DataKeys:
    spec = f"{new_key_spec('exempelby/e1')},{new_key_spec('k1')}"
    return DataKeys(KeyRing(parse_keys(spec)), PayloadKeyTable(pool))


async def _store(pool: asyncpg.Pool, keys: DataKeys | None, purpose: record_uploads.Purpose,
                 content: bytes, case_id: str | None = CASE) -> record_uploads.StoredUpload:
    return await record_uploads.store(
        pool, keys, purpose=purpose, municipality_id="exempelby", account_id=ACCOUNT,
        case_id=case_id, file_name="fil", content=content, uploaded_by="elin.strand",
        uploaded_at=NOW)


async def test_r30_r35_a_deletions_screenshot_is_sealed_and_goes_with_the_case(
        pool: asyncpg.Pool) -> None:
    keys = _keys(pool)
    stored = await _store(pool, keys, "removal_screenshot", PNG)
    raw = await pool.fetchval("SELECT sealed::text FROM record_uploads WHERE upload_id = $1",
                              stored.upload_id)
    assert base64.b64encode(PNG).decode()[:40] not in raw and "Karin" not in raw
    assert json.loads(raw)["scope"] == CASE  # under the case's data key
    assert await record_uploads.content(pool, keys, stored.upload_id) == PNG
    assert await record_uploads.content(pool, None, stored.upload_id) is None  # no keys

    await MessageActivities(pool, Connectors(), keys).dispose_content(
        DisposeContentInput(case_id=CASE))
    assert await record_uploads.row(pool, stored.upload_id) is None
    assert await record_uploads.of_cases(pool, [CASE]) == []


async def test_r41_a_guardians_consent_is_sealed_under_a_key_of_its_own(
        pool: asyncpg.Pool) -> None:
    keys = _keys(pool)
    stored = await _store(pool, keys, "guardian_consent", PDF, case_id=None)
    raw = json.loads(await pool.fetchval(
        "SELECT sealed::text FROM record_uploads WHERE upload_id = $1", stored.upload_id))
    assert raw["scope"] == f"consent:{stored.upload_id}"
    assert await record_uploads.content(pool, keys, stored.upload_id) == PDF
    row = await record_uploads.row(pool, stored.upload_id)
    assert row is not None and row["mime_type"] == "application/pdf"


@pytest.mark.parametrize(("purpose", "content", "reason"), [
    ("removal_screenshot", b"", "empty"),
    ("removal_screenshot", PDF, "kind"),  # a screenshot is an image
    ("guardian_consent", b"GIF89a", "kind"),
    ("guardian_consent", b"%PDF-" + b"0" * (10 * 1024 * 1024), "too_big"),
])
async def test_r30_r41_a_bad_file_is_refused_and_nothing_is_kept(
        pool: asyncpg.Pool, purpose: record_uploads.Purpose, content: bytes,
        reason: str) -> None:
    with pytest.raises(record_uploads.BadUpload) as refused:
        await _store(pool, None, purpose, content)
    assert refused.value.reason == reason
    assert await pool.fetchval("SELECT count(*) FROM record_uploads") == 0


async def test_r41_a_withdrawn_consent_is_destroyed_its_key_gone_and_its_row_deleted(
        pool: asyncpg.Pool) -> None:
    """R-41 (issue 14): crypto-shredding as for a message's disposal: the
    consent's own key is destroyed (when and why recorded), so a copy of its
    ciphertext (a backup) can no longer be opened, and its row is gone; the
    other consents stay readable."""
    keys = _keys(pool)
    stored = await _store(pool, keys, "guardian_consent", PDF, case_id=None)
    other = await _store(pool, keys, "guardian_consent", PDF + b" ", case_id=None)
    sealed = await pool.fetchval("SELECT sealed FROM record_uploads WHERE upload_id = $1",
                                 stored.upload_id)
    assert await open_record(keys, sealed, purpose=record_uploads.SEAL_PURPOSE) is not None

    await record_uploads.destroy_consent(pool, stored.upload_id, "consent withdrawn")

    assert await record_uploads.row(pool, stored.upload_id) is None
    key = await pool.fetchrow("SELECT wrapped, destroyed_at, destroyed_reason "
                              "FROM payload_data_keys WHERE scope = $1",
                              f"consent:{stored.upload_id}")
    assert key["wrapped"] is None and key["destroyed_at"] is not None
    assert key["destroyed_reason"] == "consent withdrawn"
    # The same keys (their KEK at hand), the key table read afresh: gone.
    assert await open_record(keys, sealed, purpose=record_uploads.SEAL_PURPOSE) is None
    assert await record_uploads.content(pool, keys, other.upload_id) == PDF + b" "
    # Again (a retry) changes nothing.
    await record_uploads.destroy_consent(pool, stored.upload_id, "again")
    assert await pool.fetchval("SELECT destroyed_reason FROM payload_data_keys WHERE scope = $1",
                               f"consent:{stored.upload_id}") == "consent withdrawn"


async def test_r41_a_consent_uploaded_and_never_named_by_a_post_is_not_kept(
        pool: asyncpg.Pool) -> None:
    """R-41: an API upload no post names is destroyed after a day (the
    account's next upload sweeps); a named one and a fresh one stay."""
    keys = _keys(pool)
    named = await _store(pool, keys, "guardian_consent", PDF, case_id=None)
    unnamed = await _store(pool, keys, "guardian_consent", PDF + b"1", case_id=None)
    fresh = await record_uploads.store(
        pool, keys, purpose="guardian_consent", municipality_id="exempelby",
        account_id=ACCOUNT, case_id=None, file_name="ny", content=PDF + b"2",
        uploaded_by="elin.strand", uploaded_at=NOW + timedelta(days=2))
    gone = await record_uploads.forget_unnamed_consents(
        pool, ACCOUNT, {named.upload_id}, NOW + timedelta(days=1))
    assert gone == 1
    assert await record_uploads.row(pool, unnamed.upload_id) is None
    assert await pool.fetchval("SELECT wrapped FROM payload_data_keys WHERE scope = $1",
                               f"consent:{unnamed.upload_id}") is None
    assert await record_uploads.row(pool, named.upload_id) is not None
    assert await record_uploads.row(pool, fresh.upload_id) is not None
