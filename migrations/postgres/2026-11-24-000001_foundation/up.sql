-- Foundation: tenancy, staff, integration clients, guests, audit, idempotency.
-- Ids are UUIDv7 strings; every table but organizations carries org_id and
-- the lookup indexes lead with it. Distributing by organisation (Citus)
-- will also need org_id in the primary keys and global unique constraints.

CREATE TABLE organizations (
    id              TEXT PRIMARY KEY,
    name            TEXT NOT NULL,
    default_country TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    updated_at      TIMESTAMP NOT NULL
);

CREATE TABLE properties (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    code        TEXT NOT NULL,
    name        TEXT NOT NULL,
    time_zone   TEXT NOT NULL,
    currency    TEXT NOT NULL,
    country     TEXT NOT NULL,
    address     TEXT,
    version     INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL,
    UNIQUE (org_id, code)
);

CREATE TABLE users (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id),
    email               TEXT NOT NULL UNIQUE,
    display_name        TEXT NOT NULL,
    role                TEXT NOT NULL,
    password_hash       TEXT NOT NULL,
    must_change_password BOOLEAN NOT NULL,
    disabled_at         TIMESTAMP,
    version             INTEGER NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX users_org ON users (org_id, id);

CREATE TABLE api_clients (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    secret_hash TEXT NOT NULL,
    role        TEXT NOT NULL,
    -- JSON: {"channels": ["ctrip"], "property_ids": null | ["…"]}; what the
    -- client may push reservations for.
    grants      TEXT NOT NULL,
    disabled_at TIMESTAMP,
    version     INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX api_clients_org ON api_clients (org_id, id);

CREATE TABLE refresh_tokens (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    user_id     TEXT NOT NULL REFERENCES users (id),
    family_id   TEXT NOT NULL,
    token_hash  TEXT NOT NULL UNIQUE,
    expires_at  TIMESTAMP NOT NULL,
    used_at     TIMESTAMP,
    revoked_at  TIMESTAMP,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (org_id, family_id);

CREATE TABLE guests (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id),
    family_name         TEXT,
    given_name          TEXT,
    family_name_latin   TEXT,
    given_name_latin    TEXT,
    gender              TEXT,
    birthday            DATE,
    nationality         TEXT,
    language            TEXT,
    phones              TEXT NOT NULL,
    emails              TEXT NOT NULL,
    company             TEXT,
    address             TEXT,
    notes               TEXT,
    preferences         TEXT NOT NULL,
    tags                TEXT NOT NULL,
    resident            BOOLEAN NOT NULL,
    blacklisted         BOOLEAN NOT NULL,
    blacklist_category  TEXT,
    blacklist_reason    TEXT,
    blacklisted_by      TEXT,
    blacklisted_at      TIMESTAMP,
    erased_at           TIMESTAMP,
    version             INTEGER NOT NULL,
    created_by          TEXT NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX guests_org_id ON guests (org_id, id);
CREATE INDEX guests_org_created ON guests (org_id, created_at);

CREATE TABLE guest_tags (
    org_id   TEXT NOT NULL REFERENCES organizations (id),
    guest_id TEXT NOT NULL REFERENCES guests (id),
    tag      TEXT NOT NULL,
    PRIMARY KEY (guest_id, tag)
);
CREATE INDEX guest_tags_org_tag ON guest_tags (org_id, tag, guest_id);

-- Byte-wise collation so `term >= prefix AND term < prefix || U+10FFFF`
-- is a prefix range the index answers, the same as SQLite's BINARY.
CREATE TABLE guest_search_terms (
    org_id   TEXT NOT NULL REFERENCES organizations (id),
    guest_id TEXT NOT NULL REFERENCES guests (id),
    term     TEXT COLLATE "C" NOT NULL,
    PRIMARY KEY (guest_id, term)
);
CREATE INDEX guest_search_terms_org_term ON guest_search_terms (org_id, term, guest_id);

CREATE TABLE guest_identity_documents (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    guest_id         TEXT NOT NULL REFERENCES guests (id),
    doc_type         TEXT NOT NULL,
    number_encrypted TEXT NOT NULL,
    number_hash      TEXT NOT NULL,
    number_masked    TEXT NOT NULL,
    issuing_country  TEXT,
    expires_on       DATE,
    created_by       TEXT NOT NULL,
    created_at       TIMESTAMP NOT NULL
);
CREATE INDEX guest_identity_documents_guest ON guest_identity_documents (org_id, guest_id);
CREATE INDEX guest_identity_documents_hash ON guest_identity_documents (org_id, number_hash);

CREATE TABLE guest_consents (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    guest_id    TEXT NOT NULL REFERENCES guests (id),
    purpose     TEXT NOT NULL,
    channel     TEXT,
    status      TEXT NOT NULL,
    source      TEXT NOT NULL,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMP NOT NULL
);
CREATE INDEX guest_consents_guest ON guest_consents (org_id, guest_id, id);

CREATE TABLE audit_events (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    actor_kind     TEXT NOT NULL,
    actor_id       TEXT,
    action         TEXT NOT NULL,
    entity_type    TEXT NOT NULL,
    entity_id      TEXT,
    request_id     TEXT,
    changed_fields TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL
);
CREATE INDEX audit_events_org ON audit_events (org_id, id);
CREATE INDEX audit_events_entity ON audit_events (org_id, entity_id, id);

CREATE TABLE idempotency_keys (
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    principal_id   TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    request_hash   TEXT NOT NULL,
    status_code    INTEGER,
    response_headers TEXT,
    response_body  TEXT,
    created_at     TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, principal_id, idempotency_key)
);
