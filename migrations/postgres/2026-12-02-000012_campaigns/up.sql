-- Campaigns: a segment, message templates, a schedule, a budget and an
-- offer. The send runs in chunks that record where they got to
-- (send_cursor), under a lease, so a node that dies mid-send is taken
-- over without sending anyone twice (the outbox's dedupe key).
CREATE TABLE campaigns (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    name              TEXT NOT NULL,
    description       TEXT,
    segment_id        TEXT NOT NULL REFERENCES segments (id),
    -- JSON array of message template ids (channels and languages).
    template_ids      TEXT NOT NULL,
    property_id       TEXT REFERENCES properties (id),
    -- draft, scheduled, sending, completed, cancelled
    status            TEXT NOT NULL,
    scheduled_at      TIMESTAMP,
    started_at        TIMESTAMP,
    completed_at      TIMESTAMP,
    cancelled_at      TIMESTAMP,
    lease_until       TIMESTAMP,
    send_cursor       TEXT,
    audience_count    INTEGER NOT NULL,
    currency          TEXT NOT NULL,
    budget_amount     BIGINT,
    cost_amount       BIGINT NOT NULL,
    -- JSON: the coupon or package, as written.
    offer             TEXT,
    -- A coupon without placeholders: the one code everyone types.
    shared_code       TEXT,
    total_limit       INTEGER,
    redeemed_count    INTEGER NOT NULL,
    attribution_days  INTEGER NOT NULL,
    version           INTEGER NOT NULL,
    created_by        TEXT NOT NULL,
    created_at        TIMESTAMP NOT NULL,
    updated_at        TIMESTAMP NOT NULL
);
CREATE INDEX campaigns_org ON campaigns (org_id, id);
CREATE INDEX campaigns_segment ON campaigns (org_id, segment_id);
CREATE INDEX campaigns_due ON campaigns (status, scheduled_at)
    WHERE status IN ('scheduled', 'sending');
CREATE UNIQUE INDEX campaigns_shared_code ON campaigns (org_id, shared_code)
    WHERE shared_code IS NOT NULL;

-- One row per booking that used a campaign's code; released when the
-- booking is cancelled (the code may be used again).
CREATE TABLE coupon_redemptions (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    campaign_id      TEXT NOT NULL REFERENCES campaigns (id),
    guest_id         TEXT NOT NULL REFERENCES guests (id),
    reservation_id   TEXT NOT NULL REFERENCES reservations (id),
    code             TEXT NOT NULL,
    discount_amount  BIGINT NOT NULL,
    currency         TEXT NOT NULL,
    -- active, released
    status           TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    released_at      TIMESTAMP
);
CREATE INDEX coupon_redemptions_campaign ON coupon_redemptions (org_id, campaign_id, guest_id);
CREATE UNIQUE INDEX coupon_redemptions_reservation ON coupon_redemptions (org_id, reservation_id)
    WHERE status = 'active';

-- The outbox is an append-heavy log (a campaign writes 100,000 rows at
-- once) and on PostgreSQL a foreign key is a trigger per row that takes a
-- KEY SHARE lock on the parent: with the guest's and organisation's keys
-- a 100,000-guest campaign enqueued at 7,700-10,200 messages/s, without
-- them at 14,300-15,400. Every id written was read in the same
-- transaction; organisations, properties and templates are never deleted,
-- guests are erased in place (their messages scrubbed) and merged by
-- re-pointing. SQLite, one writer, keeps its keys.
ALTER TABLE message_outbox DROP CONSTRAINT message_outbox_template_id_fkey;
ALTER TABLE message_outbox DROP CONSTRAINT message_outbox_property_id_fkey;
ALTER TABLE message_outbox DROP CONSTRAINT message_outbox_guest_id_fkey;
ALTER TABLE message_outbox DROP CONSTRAINT message_outbox_org_id_fkey;
ALTER TABLE message_outbox ADD COLUMN campaign_id TEXT;
-- The recipient's own code, when the campaign's coupon is personal.
ALTER TABLE message_outbox ADD COLUMN coupon_code TEXT;
-- Confirmed by the provider (a delivery receipt; the log provider at once).
ALTER TABLE message_outbox ADD COLUMN delivered_at TIMESTAMP;
CREATE INDEX message_outbox_campaign ON message_outbox (org_id, campaign_id, guest_id)
    WHERE campaign_id IS NOT NULL;
CREATE UNIQUE INDEX message_outbox_coupon ON message_outbox (org_id, coupon_code)
    WHERE coupon_code IS NOT NULL;

-- A segment's materialised membership is a cache rebuilt from
-- guest_insights (which keeps its keys) by one INSERT … SELECT; a
-- campaign's send freezes its audience there. Three foreign keys made that
-- three trigger calls per member: 100,000 members took 4 s instead of 0.3.
-- Deleting a segment deletes its members in the same transaction.
ALTER TABLE segment_members DROP CONSTRAINT segment_members_org_id_fkey;
ALTER TABLE segment_members DROP CONSTRAINT segment_members_segment_id_fkey;
ALTER TABLE segment_members DROP CONSTRAINT segment_members_guest_id_fkey;

ALTER TABLE reservations ADD COLUMN discount_amount BIGINT NOT NULL DEFAULT 0;
ALTER TABLE reservations ADD COLUMN coupon_code TEXT;
