-- Loyalty programme (会员, 积分): one programme per organisation, its
-- tiers and rewards, members, and the points ledger. The ledger is
-- append-only; a member's balance is the sum of its entries and is kept on
-- the member row so a conditional UPDATE of it serialises every spend.

CREATE TABLE loyalty_programs (
    org_id                      TEXT PRIMARY KEY REFERENCES organizations (id),
    name                        TEXT NOT NULL,
    currency                    TEXT NOT NULL,
    expiry_months               INTEGER,
    earn_rates                  TEXT NOT NULL,
    rounding                    TEXT NOT NULL,
    qualification_window_months INTEGER NOT NULL,
    review_period_months        INTEGER NOT NULL,
    version                     INTEGER NOT NULL,
    created_at                  TIMESTAMP NOT NULL,
    updated_at                  TIMESTAMP NOT NULL
);

CREATE TABLE loyalty_tiers (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES organizations (id),
    code               TEXT NOT NULL,
    name               TEXT NOT NULL,
    rank               INTEGER NOT NULL,
    qualification      TEXT NOT NULL,
    retention          TEXT,
    multiplier_percent INTEGER NOT NULL,
    benefits           TEXT NOT NULL,
    version            INTEGER NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (org_id, code),
    UNIQUE (org_id, rank)
);

CREATE TABLE loyalty_rewards (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    code         TEXT NOT NULL,
    name         TEXT NOT NULL,
    kind         TEXT NOT NULL,
    points_price BIGINT NOT NULL,
    stock        INTEGER,
    valid_from   DATE,
    valid_until  DATE,
    active       BOOLEAN NOT NULL,
    version      INTEGER NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL,
    UNIQUE (org_id, code)
);

CREATE TABLE loyalty_members (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    guest_id       TEXT NOT NULL REFERENCES guests (id),
    member_number  TEXT NOT NULL,
    tier_id        TEXT NOT NULL REFERENCES loyalty_tiers (id),
    source         TEXT NOT NULL,
    joined_on      DATE NOT NULL,
    tier_since     DATE NOT NULL,
    next_review_on DATE NOT NULL,
    points_balance BIGINT NOT NULL CHECK (points_balance >= 0),
    version        INTEGER NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL,
    UNIQUE (org_id, guest_id),
    UNIQUE (org_id, member_number)
) WITH (fillfactor = 90);
-- Room on each page lets balance updates stay HOT (no index writes).
CREATE INDEX loyalty_members_review ON loyalty_members (org_id, next_review_on);

CREATE TABLE loyalty_tier_changes (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    member_id    TEXT NOT NULL REFERENCES loyalty_members (id),
    from_tier_id TEXT REFERENCES loyalty_tiers (id),
    to_tier_id   TEXT NOT NULL REFERENCES loyalty_tiers (id),
    reason       TEXT NOT NULL,
    note         TEXT,
    actor_id     TEXT,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX loyalty_tier_changes_member ON loyalty_tier_changes (org_id, member_id, id);

-- `dedupe_key` makes an earning or bonus for one source happen once.
CREATE TABLE points_entries (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    member_id   TEXT NOT NULL REFERENCES loyalty_members (id),
    entry_type  TEXT NOT NULL,
    points      BIGINT NOT NULL,
    source_type TEXT NOT NULL,
    source_id   TEXT,
    reason      TEXT,
    dedupe_key  TEXT,
    created_by  TEXT,
    created_at  TIMESTAMP NOT NULL,
    UNIQUE (org_id, dedupe_key)
);
CREATE INDEX points_entries_member ON points_entries (org_id, member_id, id);

-- What is left of each positive entry, with its own expiry.
-- `expired_entry_id` names the expire entry that took what was left (set
-- in the same UPDATE that zeroes the lot; no key check, for the same
-- reason as points_lot_uses).
CREATE TABLE points_lots (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    member_id        TEXT NOT NULL REFERENCES loyalty_members (id),
    entry_id         TEXT NOT NULL REFERENCES points_entries (id),
    points           BIGINT NOT NULL,
    remaining        BIGINT NOT NULL CHECK (remaining >= 0),
    expires_on       DATE,
    expired_entry_id TEXT,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX points_lots_member ON points_lots (org_id, member_id, expires_on) WHERE remaining > 0;
CREATE INDEX points_lots_due ON points_lots (org_id, expires_on) WHERE remaining > 0;

-- Which lots a redemption, reversal or negative adjustment drew on, so a
-- cancelled redemption gives the same points back with the same expiry. Written only in the same
-- transaction as the entry and the lots' new remainders, never updated or
-- deleted; without foreign keys, because the expiry job writes a row per
-- lot (a million in a large run) and each key check is a lookup per row.
CREATE TABLE points_lot_uses (
    org_id   TEXT NOT NULL,
    entry_id TEXT NOT NULL,
    lot_id   TEXT NOT NULL,
    points   BIGINT NOT NULL,
    PRIMARY KEY (entry_id, lot_id)
);

CREATE TABLE points_redemptions (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    member_id       TEXT NOT NULL REFERENCES loyalty_members (id),
    reward_id       TEXT REFERENCES loyalty_rewards (id),
    quantity        INTEGER NOT NULL,
    points          BIGINT NOT NULL,
    description     TEXT NOT NULL,
    status          TEXT NOT NULL,
    entry_id        TEXT NOT NULL REFERENCES points_entries (id),
    cancel_entry_id TEXT REFERENCES points_entries (id),
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    cancelled_at    TIMESTAMP
);
CREATE INDEX points_redemptions_member ON points_redemptions (org_id, member_id, id);
