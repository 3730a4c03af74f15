-- Inventory, reservations, their revisions, stays and guest stay statistics.

CREATE TABLE room_types (
    id                   TEXT PRIMARY KEY,
    org_id               TEXT NOT NULL REFERENCES organizations (id),
    property_id          TEXT NOT NULL REFERENCES properties (id),
    code                 TEXT NOT NULL,
    name                 TEXT NOT NULL,
    room_count           INTEGER NOT NULL,
    max_occupancy        INTEGER NOT NULL,
    overbooking_percent  INTEGER NOT NULL,
    version              INTEGER NOT NULL,
    created_at           TIMESTAMP NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    UNIQUE (property_id, code)
);
CREATE INDEX room_types_org_property ON room_types (org_id, property_id, id);

CREATE TABLE rate_plans (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id),
    property_id         TEXT NOT NULL REFERENCES properties (id),
    code                TEXT NOT NULL,
    name                TEXT NOT NULL,
    meal_plan           TEXT NOT NULL,
    cancellation_policy TEXT NOT NULL,
    version             INTEGER NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL,
    UNIQUE (property_id, code)
);
CREATE INDEX rate_plans_org_property ON rate_plans (org_id, property_id, id);

-- A date's room count for a room type, replacing its room_count, or closed.
CREATE TABLE inventory_overrides (
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    room_type_id TEXT NOT NULL REFERENCES room_types (id),
    stay_date    DATE NOT NULL,
    rooms        INTEGER,
    closed       BOOLEAN NOT NULL,
    PRIMARY KEY (room_type_id, stay_date)
);
CREATE INDEX inventory_overrides_org ON inventory_overrides (org_id, room_type_id, stay_date);

CREATE TABLE reservations (
    id                      TEXT PRIMARY KEY,
    org_id                  TEXT NOT NULL REFERENCES organizations (id),
    property_id             TEXT NOT NULL REFERENCES properties (id),
    guest_id                TEXT NOT NULL REFERENCES guests (id),
    channel                 TEXT NOT NULL,
    -- Who sent it: the channel (`phone`, `ota`…) for direct bookings, the
    -- pushing channel manager's code (`ctrip`, `booking`…) otherwise.
    channel_code            TEXT NOT NULL,
    channel_reservation_id  TEXT,
    -- The channel's last-modified time of the message applied last.
    channel_last_modified   TIMESTAMP,
    confirmation_number     TEXT NOT NULL,
    status                  TEXT NOT NULL,
    special_requests        TEXT,
    guest_comments          TEXT,
    currency                TEXT NOT NULL,
    total_amount            BIGINT NOT NULL,
    cancellation_fee        BIGINT,
    compensation            TEXT,
    status_changed_at       TIMESTAMP,
    version                 INTEGER NOT NULL,
    created_by              TEXT NOT NULL,
    created_at              TIMESTAMP NOT NULL,
    updated_at              TIMESTAMP NOT NULL,
    UNIQUE (org_id, channel_code, channel_reservation_id),
    UNIQUE (org_id, confirmation_number)
);
CREATE INDEX reservations_org ON reservations (org_id, id);
CREATE INDEX reservations_guest ON reservations (org_id, guest_id, id);

-- One row per room of a reservation, with the policy in force snapshotted.
CREATE TABLE reservation_rooms (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id),
    reservation_id      TEXT NOT NULL REFERENCES reservations (id),
    property_id         TEXT NOT NULL REFERENCES properties (id),
    room_type_id        TEXT NOT NULL REFERENCES room_types (id),
    rate_plan_id        TEXT NOT NULL REFERENCES rate_plans (id),
    arrival             DATE NOT NULL,
    departure           DATE NOT NULL,
    adults              INTEGER NOT NULL,
    children_ages       TEXT NOT NULL,
    amount              BIGINT NOT NULL,
    cancellation_policy TEXT NOT NULL,
    holds_inventory     BOOLEAN NOT NULL
);
CREATE INDEX reservation_rooms_reservation ON reservation_rooms (org_id, reservation_id);
CREATE INDEX reservation_rooms_inventory ON reservation_rooms (org_id, room_type_id, arrival, departure);

CREATE TABLE reservation_revisions (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    reservation_id TEXT NOT NULL REFERENCES reservations (id),
    version        INTEGER NOT NULL,
    action         TEXT NOT NULL,
    actor_kind     TEXT NOT NULL,
    actor_id       TEXT,
    changed_fields TEXT NOT NULL,
    raw_message    TEXT,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX reservation_revisions_reservation ON reservation_revisions (org_id, reservation_id, id);

-- Every channel push, kept (card data removed) so an identical repeat
-- answers like the first and a cancel that arrives before its booking is
-- remembered.
CREATE TABLE channel_messages (
    id                     TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL REFERENCES organizations (id),
    channel_code           TEXT NOT NULL,
    channel_reservation_id TEXT NOT NULL,
    action                 TEXT NOT NULL,
    last_modified          TIMESTAMP NOT NULL,
    message_hash           TEXT NOT NULL,
    outcome                TEXT NOT NULL,
    reservation_id         TEXT,
    created_at             TIMESTAMP NOT NULL,
    UNIQUE (org_id, channel_code, message_hash)
);
CREATE INDEX channel_messages_key ON channel_messages (org_id, channel_code, channel_reservation_id, id);

CREATE TABLE stays (
    id                     TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL REFERENCES organizations (id),
    guest_id               TEXT NOT NULL REFERENCES guests (id),
    reservation_id         TEXT NOT NULL REFERENCES reservations (id),
    property_id            TEXT NOT NULL REFERENCES properties (id),
    channel                TEXT NOT NULL,
    arrival                DATE NOT NULL,
    departure              DATE NOT NULL,
    nights                 INTEGER NOT NULL,
    currency               TEXT NOT NULL,
    room_revenue           BIGINT NOT NULL,
    food_and_beverage_revenue BIGINT NOT NULL,
    other_revenue          BIGINT NOT NULL,
    total_revenue          BIGINT NOT NULL,
    checked_out_at         TIMESTAMP NOT NULL
);
CREATE INDEX stays_guest ON stays (org_id, guest_id, id);

-- Lifetime figures of a guest, updated in the check-out transaction.
CREATE TABLE guest_stats (
    guest_id       TEXT PRIMARY KEY REFERENCES guests (id),
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    stays          INTEGER NOT NULL,
    nights         INTEGER NOT NULL,
    spend          TEXT NOT NULL,
    channel_mix    TEXT NOT NULL,
    first_stay_on  DATE NOT NULL,
    last_stay_on   DATE NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);

-- Webhooks: subscriptions, the outbox of events (written in the same
-- transaction as the change) and one delivery row per subscriber, retried
-- with backoff until delivered.
CREATE TABLE webhook_subscriptions (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    url              TEXT NOT NULL,
    secret_encrypted TEXT NOT NULL,
    event_types      TEXT NOT NULL,
    active           BOOLEAN NOT NULL,
    version          INTEGER NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    updated_at       TIMESTAMP NOT NULL
);
CREATE INDEX webhook_subscriptions_org ON webhook_subscriptions (org_id, id);

CREATE TABLE webhook_events (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    event_type  TEXT NOT NULL,
    entity_id   TEXT NOT NULL,
    payload     TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL
);

CREATE TABLE webhook_deliveries (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    subscription_id  TEXT NOT NULL REFERENCES webhook_subscriptions (id),
    event_id         TEXT NOT NULL REFERENCES webhook_events (id),
    status           TEXT NOT NULL,
    attempts         INTEGER NOT NULL,
    next_attempt_at  TIMESTAMP NOT NULL,
    last_status_code INTEGER,
    last_error       TEXT,
    delivered_at     TIMESTAMP,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (status, next_attempt_at);
CREATE INDEX webhook_deliveries_subscription ON webhook_deliveries (org_id, subscription_id, id);
