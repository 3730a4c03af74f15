-- The durable outbox of guest messages: written in the transaction of the
-- event that triggers it (booking, check-out), sent by a worker on every
-- node with retries; a message that is not sent says why.
CREATE TABLE message_outbox (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    guest_id         TEXT NOT NULL REFERENCES guests (id),
    property_id      TEXT REFERENCES properties (id),
    template_id      TEXT REFERENCES message_templates (id),
    trigger_kind     TEXT NOT NULL,
    channel          TEXT,
    recipient        TEXT,
    subject          TEXT,
    body             TEXT,
    -- queued, sent, failed, suppressed
    status           TEXT NOT NULL,
    reason           TEXT,
    -- One message per trigger and occasion (the reservation, the stay).
    dedupe_key       TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    sent_at          TIMESTAMP,
    last_error       TEXT,
    created_at       TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX message_outbox_dedupe ON message_outbox (org_id, dedupe_key);
CREATE INDEX message_outbox_due ON message_outbox (next_attempt_at) WHERE status = 'queued';
CREATE INDEX message_outbox_guest ON message_outbox (org_id, guest_id, id);
