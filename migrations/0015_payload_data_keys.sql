-- Issue 10: one data key (DEK) per scope of Temporal payloads (a workflow
-- id: message:<platform>:<id>, account:<m>:<slug>, crisis:<m>, ...), wrapped
-- (AES-GCM) under its municipality's key-encryption key from
-- KANALVAKT_PAYLOAD_KEYS (codec.py). Destroying a case's row on disposal
-- (R-33, R-35) makes every payload of its history unreadable: the wrapped
-- key is removed, the row stays as the record that it was destroyed.
-- Holds no personal data: scopes are workflow ids, which carry none.
CREATE TABLE payload_data_keys (
    scope            text PRIMARY KEY,
    municipality_id  text,              -- NULL: wrapped under the system key
    kek_id           text,              -- the key-encryption key that wraps it
    wrapped          bytea,             -- nonce + AES-GCM(KEK, DEK, aad=scope)
    created_at       timestamptz NOT NULL DEFAULT now(),
    destroyed_at     timestamptz,
    destroyed_reason text,
    CHECK ((destroyed_at IS NULL) = (wrapped IS NOT NULL AND kek_id IS NOT NULL))
);
CREATE INDEX payload_data_keys_kek ON payload_data_keys (kek_id) WHERE wrapped IS NOT NULL;
