"""Issue 10: the citizen's message sealed at rest under the case's data key.

`message_contents.text`, `author_name` and `author_id` become one record in
`content` (jsonb), sealed with store.message_contents.seal_content (the
envelope of preserved copies, codec.seal_record): the case's DEK, wrapped
under its municipality's key in payload_data_keys. `is_question` (whether
the text asks something, for the crisis digest, R-39) is derived before the
text goes. Existing rows are converted in place, in this migration's
transaction, with the keys of the process migrating (KANALVAKT_PAYLOAD_KEYS):

- a case whose key was destroyed is shredded: its content row goes;
- a case with no key yet gets one under its municipality's key;
- without any payload keys (outside production only) the record is kept
  plain, as the app then keeps it (codec.codec_from_settings).

A Python migration because SQL has no key: the keys never reach the database.
"""

from __future__ import annotations

import json
import os

import asyncpg

from codec import DataKeys, KeyRing, PayloadKeyError, parse_keys
from store.message_contents import seal_content
from store.payload_keys import PayloadKeyTable

BATCH = 500


async def apply(conn: asyncpg.Connection, payload_keys: str) -> None:
    await conn.execute(
        """
        ALTER TABLE message_contents
            ADD COLUMN content jsonb,
            ADD COLUMN is_question boolean NOT NULL DEFAULT false;
        UPDATE message_contents SET is_question = position('?' in text) > 0;
        -- shredded: the key of the case was destroyed, so is what it kept
        DELETE FROM message_contents c USING payload_data_keys k
        WHERE k.scope = c.case_id AND k.wrapped IS NULL;
        """)
    keys = parse_keys(payload_keys)
    data_keys = DataKeys(KeyRing(keys), PayloadKeyTable(conn)) if keys else None
    if data_keys is None and os.environ.get("KANALVAKT_ENV", "").strip().lower() in {
            "production", "prod"} and await conn.fetchval(
                "SELECT count(*) FROM message_contents"):
        raise PayloadKeyError("migration 0018 seals message contents: KANALVAKT_ENV=production "
                              "needs KANALVAKT_PAYLOAD_KEYS")
    after = ""
    while True:
        rows = await conn.fetch(
            """SELECT c.case_id, c.text, c.author_name, c.author_id, mc.municipality_id
               FROM message_contents c LEFT JOIN message_cases mc ON mc.case_id = c.case_id
               WHERE c.case_id > $1 ORDER BY c.case_id LIMIT $2""", after, BATCH)
        if not rows:
            break
        after = rows[-1]["case_id"]
        if data_keys is not None:  # the page's keys in one query (then from the cache)
            await data_keys.for_decoding([r["case_id"] for r in rows])
        updates, shredded = [], []
        for r in rows:
            sealed = await seal_content(data_keys, r["case_id"], text=r["text"],
                                        author_name=r["author_name"], author_id=r["author_id"],
                                        municipality_id=r["municipality_id"])
            if sealed is None:
                shredded.append(r["case_id"])
            else:
                updates.append((r["case_id"], json.dumps(sealed)))
        await conn.executemany(
            "UPDATE message_contents SET content = $2::jsonb WHERE case_id = $1", updates)
        await conn.execute("DELETE FROM message_contents WHERE case_id = ANY($1::text[])",
                           shredded)
    await conn.execute(
        """
        ALTER TABLE message_contents
            ALTER COLUMN content SET NOT NULL,
            DROP COLUMN text,
            DROP COLUMN author_name,
            DROP COLUMN author_id;
        """)
