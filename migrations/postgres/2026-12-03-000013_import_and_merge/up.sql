-- Guest import, duplicate detection, merge and unmerge, retention.

-- A merged-away guest stays as a tombstone naming the survivor, so its id
-- keeps resolving.
ALTER TABLE guests ADD COLUMN merged_into TEXT;
ALTER TABLE guests ADD COLUMN merged_at TIMESTAMP;

-- Saved column mappings (header -> field), per organisation.
CREATE TABLE import_presets (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    -- JSON array of {"header", "field"}.
    mapping     TEXT NOT NULL,
    version     INTEGER NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE UNIQUE INDEX import_presets_name ON import_presets (org_id, name);

-- One upload (API) or file (CLI) and what became of it.
CREATE TABLE import_jobs (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    -- queued, running, completed, failed
    status          TEXT NOT NULL,
    dry_run         BOOLEAN NOT NULL,
    file_name       TEXT NOT NULL,
    -- csv, xlsx
    format          TEXT NOT NULL,
    encoding        TEXT,
    -- JSON array of {"header", "field"}: the mapping used.
    mapping         TEXT,
    preset_id       TEXT,
    source          TEXT NOT NULL,
    total_bytes     BIGINT NOT NULL,
    processed_bytes BIGINT NOT NULL,
    rows_read       INTEGER NOT NULL,
    created_count   INTEGER NOT NULL,
    skipped_count   INTEGER NOT NULL,
    failed_count    INTEGER NOT NULL,
    error           TEXT,
    created_by      TEXT NOT NULL,
    created_at      TIMESTAMP NOT NULL,
    started_at      TIMESTAMP,
    finished_at     TIMESTAMP,
    heartbeat_at    TIMESTAMP
);
CREATE INDEX import_jobs_org ON import_jobs (org_id, id);

-- What was wrong with a row (no values: the report holds no personal data).
CREATE TABLE import_problems (
    org_id      TEXT NOT NULL,
    job_id      TEXT NOT NULL REFERENCES import_jobs (id),
    row_number  INTEGER NOT NULL,
    position    INTEGER NOT NULL,
    field       TEXT NOT NULL,
    code        TEXT NOT NULL,
    message     TEXT NOT NULL,
    PRIMARY KEY (job_id, row_number, position)
);

-- Which guest a source row became: a re-run of the same file creates
-- nothing twice.
CREATE TABLE guest_source_keys (
    org_id      TEXT NOT NULL,
    source_key  TEXT NOT NULL,
    guest_id    TEXT NOT NULL,
    job_id      TEXT NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, source_key)
);
CREATE INDEX guest_source_keys_guest ON guest_source_keys (org_id, guest_id);

-- Pairs that look like one person. guest_a < guest_b.
CREATE TABLE duplicate_candidates (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    guest_a     TEXT NOT NULL,
    guest_b     TEXT NOT NULL,
    score       INTEGER NOT NULL,
    -- JSON array of reasons.
    reasons     TEXT NOT NULL,
    -- open, dismissed, merged
    status      TEXT NOT NULL,
    found_at    TIMESTAMP NOT NULL,
    decided_by  TEXT,
    decided_at  TIMESTAMP
);
CREATE UNIQUE INDEX duplicate_candidates_pair ON duplicate_candidates (org_id, guest_a, guest_b);
CREATE INDEX duplicate_candidates_open ON duplicate_candidates (org_id, status, score, id);
CREATE INDEX duplicate_candidates_b ON duplicate_candidates (org_id, guest_b);

-- Where the duplicate scan got to (guests changed after it are new work).
CREATE TABLE duplicate_scans (
    org_id        TEXT PRIMARY KEY REFERENCES organizations (id),
    last_scan_at  TIMESTAMP NOT NULL,
    guests        INTEGER NOT NULL,
    pairs         INTEGER NOT NULL
);

-- A merge and what it moved, so it can be undone.
CREATE TABLE guest_merges (
    id                     TEXT PRIMARY KEY,
    org_id                 TEXT NOT NULL REFERENCES organizations (id),
    survivor_id            TEXT NOT NULL REFERENCES guests (id),
    loser_id               TEXT NOT NULL REFERENCES guests (id),
    -- merged, unmerged
    status                 TEXT NOT NULL,
    -- JSON: both guest rows as they were before the merge (cleared on erasure).
    survivor_before        TEXT NOT NULL,
    loser_before           TEXT NOT NULL,
    survivor_version_after INTEGER NOT NULL,
    -- JSON: ids of every row moved from the loser, per table.
    moved                  TEXT NOT NULL,
    merged_by              TEXT NOT NULL,
    merged_at              TIMESTAMP NOT NULL,
    unmerged_by            TEXT,
    unmerged_at            TIMESTAMP
);
CREATE INDEX guest_merges_survivor ON guest_merges (org_id, survivor_id, id);
CREATE INDEX guest_merges_loser ON guest_merges (org_id, loser_id, id);

-- Anonymise guests with no stay for N years.
CREATE TABLE retention_policies (
    org_id                 TEXT PRIMARY KEY REFERENCES organizations (id),
    enabled                BOOLEAN NOT NULL,
    anonymise_after_years  INTEGER NOT NULL,
    version                INTEGER NOT NULL,
    updated_by             TEXT NOT NULL,
    updated_at             TIMESTAMP NOT NULL,
    last_run_at            TIMESTAMP,
    last_run_count         INTEGER
);
