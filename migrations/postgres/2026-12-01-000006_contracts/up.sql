-- Contracts (合同管理): counterparties, versioned clause templates,
-- contracts with versioned terms (amendments), signatures, the archived
-- signed documents, allotment counters and alerts.

CREATE TABLE accounts (
    id                  TEXT PRIMARY KEY,
    org_id              TEXT NOT NULL REFERENCES organizations (id),
    kind                TEXT NOT NULL,
    legal_name          TEXT NOT NULL,
    tax_id              TEXT,
    address             TEXT,
    -- JSON: [{name, role, phone, email}]
    contacts            TEXT NOT NULL,
    account_manager_id  TEXT REFERENCES users (id),
    notes               TEXT,
    version             INTEGER NOT NULL,
    created_at          TIMESTAMP NOT NULL,
    updated_at          TIMESTAMP NOT NULL
);
CREATE INDEX accounts_org ON accounts (org_id, id);
CREATE UNIQUE INDEX accounts_tax_id ON accounts (org_id, tax_id) WHERE tax_id IS NOT NULL;

-- Guests who book for an account (employees of a corporate client).
CREATE TABLE account_guests (
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    account_id  TEXT NOT NULL REFERENCES accounts (id),
    guest_id    TEXT NOT NULL REFERENCES guests (id),
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (account_id, guest_id)
);
CREATE INDEX account_guests_guest ON account_guests (org_id, guest_id);
CREATE INDEX account_guests_account ON account_guests (org_id, account_id, guest_id);

CREATE TABLE contract_templates (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    name         TEXT NOT NULL,
    description  TEXT,
    version      INTEGER NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    updated_at   TIMESTAMP NOT NULL
);
CREATE INDEX contract_templates_org ON contract_templates (org_id, id);

-- A published version is never changed again.
CREATE TABLE contract_template_versions (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    template_id   TEXT NOT NULL REFERENCES contract_templates (id),
    number        INTEGER NOT NULL,
    status        TEXT NOT NULL,
    -- JSON: [{kind, title, body}] in order
    clauses       TEXT NOT NULL,
    published_at  TIMESTAMP,
    version       INTEGER NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL,
    UNIQUE (template_id, number)
);
CREATE INDEX contract_template_versions_org ON contract_template_versions (org_id, template_id, number);

CREATE TABLE contracts (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES organizations (id),
    code               TEXT NOT NULL,
    account_id         TEXT NOT NULL REFERENCES accounts (id),
    status             TEXT NOT NULL,
    -- The version whose terms are in force (amendments count up).
    current_version    INTEGER NOT NULL,
    terminated_reason  TEXT,
    status_changed_at  TIMESTAMP,
    version            INTEGER NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL,
    UNIQUE (org_id, code)
);
CREATE INDEX contracts_org ON contracts (org_id, id);
CREATE INDEX contracts_account ON contracts (org_id, account_id, id);

-- The terms, one row per version: version 1 is the contract as first
-- signed, each amendment adds one. Frozen once submitted for signature.
CREATE TABLE contract_versions (
    id                     TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL REFERENCES organizations (id),
    contract_id            TEXT NOT NULL REFERENCES contracts (id),
    number                 INTEGER NOT NULL,
    -- draft, pending_signature, signed, withdrawn
    status                 TEXT NOT NULL,
    template_version_id    TEXT NOT NULL REFERENCES contract_template_versions (id),
    title                  TEXT NOT NULL,
    -- JSON list of property ids
    property_ids           TEXT NOT NULL,
    valid_from             DATE NOT NULL,
    valid_to               DATE NOT NULL,
    currency               TEXT NOT NULL,
    -- JSON list of negotiated rates
    rates                  TEXT NOT NULL,
    room_night_commitment  INTEGER NOT NULL,
    allotment_per_night    INTEGER,
    enforcement            TEXT NOT NULL,
    payment_terms          TEXT,
    cancellation_terms     TEXT,
    breach_penalty         TEXT,
    pace_alert_percent     INTEGER NOT NULL,
    amendment_reason       TEXT,
    submitted_at           TIMESTAMP,
    signed_at              TIMESTAMP,
    created_by             TEXT NOT NULL,
    created_at             TIMESTAMP NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    UNIQUE (contract_id, number)
);
CREATE INDEX contract_versions_org ON contract_versions (org_id, contract_id, number);

-- Electronic signatures (电子签约): who, when, from where, what they
-- agreed to, and the SHA-256 of the canonical document they saw.
CREATE TABLE contract_signatures (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    contract_id      TEXT NOT NULL REFERENCES contracts (id),
    version_number   INTEGER NOT NULL,
    party            TEXT NOT NULL,
    signer_name      TEXT NOT NULL,
    signer_title     TEXT,
    signed_at        TIMESTAMP NOT NULL,
    ip               TEXT,
    user_agent       TEXT,
    consent_text     TEXT NOT NULL,
    document_sha256  TEXT NOT NULL,
    recorded_by      TEXT NOT NULL,
    -- A version withdrawn and changed is signed again: a signature counts
    -- for the document it hashed.
    UNIQUE (contract_id, version_number, party, document_sha256)
);
CREATE INDEX contract_signatures_org ON contract_signatures (org_id, contract_id, version_number);

-- The signed PDF of each version (归档), written once.
CREATE TABLE contract_documents (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    contract_id      TEXT NOT NULL REFERENCES contracts (id),
    version_number   INTEGER NOT NULL,
    document_sha256  TEXT NOT NULL,
    pdf_sha256       TEXT NOT NULL,
    pdf              BYTEA NOT NULL,
    created_at       TIMESTAMP NOT NULL,
    UNIQUE (contract_id, version_number)
);
CREATE INDEX contract_documents_org ON contract_documents (org_id, contract_id, version_number);

-- Rooms booked under a contract per night, kept with the room stays (like
-- room_nights_sold): the allotment check reads only these.
CREATE TABLE contract_nights (
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    contract_id  TEXT NOT NULL REFERENCES contracts (id),
    night        DATE NOT NULL,
    rooms        INTEGER NOT NULL,
    PRIMARY KEY (org_id, contract_id, night)
);

CREATE TABLE contract_alerts (
    id               TEXT PRIMARY KEY,
    org_id           TEXT NOT NULL REFERENCES organizations (id),
    contract_id      TEXT NOT NULL REFERENCES contracts (id),
    kind             TEXT NOT NULL,
    -- What makes it one alert: the window (90/60/30), the month, the night.
    period_key       TEXT NOT NULL,
    message          TEXT NOT NULL,
    details          TEXT NOT NULL,
    status           TEXT NOT NULL,
    raised_at        TIMESTAMP NOT NULL,
    acknowledged_at  TIMESTAMP,
    acknowledged_by  TEXT,
    UNIQUE (org_id, contract_id, kind, period_key)
);
CREATE INDEX contract_alerts_org ON contract_alerts (org_id, id);

ALTER TABLE reservations ADD COLUMN account_id TEXT REFERENCES accounts (id);
ALTER TABLE reservations ADD COLUMN contract_id TEXT REFERENCES contracts (id);
-- What the contract's negotiated rate prices the room stay at, when the
-- reservation quotes a contract: `amount` differing from it is off-rate.
ALTER TABLE reservation_rooms ADD COLUMN negotiated_amount BIGINT;
-- The reservation's contract again, so a contract's performance reads two
-- index ranges instead of visiting each reservation's rooms.
ALTER TABLE reservation_rooms ADD COLUMN contract_id TEXT;
-- Covering indexes for contract performance: every column it reads, so
-- it is an index-only scan of one range each, not thousands of heap
-- pages. Partial: bookings without a contract pay nothing for them.
CREATE INDEX reservations_contract ON reservations (org_id, contract_id, id, status)
    WHERE contract_id IS NOT NULL;
CREATE INDEX reservation_rooms_contract
    ON reservation_rooms (org_id, contract_id, reservation_id, arrival, departure, amount, negotiated_amount)
    WHERE contract_id IS NOT NULL;

-- Signatures and archived documents are evidence: the database refuses to
-- change or delete them, whatever the application does.
CREATE FUNCTION refuse_contract_evidence_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'contract signatures and signed documents are immutable';
END
$$;
CREATE TRIGGER contract_signatures_immutable BEFORE UPDATE OR DELETE ON contract_signatures
    FOR EACH ROW EXECUTE FUNCTION refuse_contract_evidence_change();
CREATE TRIGGER contract_documents_immutable BEFORE UPDATE OR DELETE ON contract_documents
    FOR EACH ROW EXECUTE FUNCTION refuse_contract_evidence_change();
