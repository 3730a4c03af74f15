-- Guest intelligence and segments (客户细分, 客户分析).

-- Thresholds of the RFM scores, value classes and churn grades, and the
-- organisation's main currency (spend is summed in it).
CREATE TABLE analytics_settings (
    org_id      TEXT PRIMARY KEY REFERENCES organizations (id),
    currency    TEXT NOT NULL,
    settings    TEXT NOT NULL,
    version     INTEGER NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);

-- One row per guest with what segments and reports filter and group on:
-- profile fields as they were when computed, stay figures, loyalty, and
-- the explainable insights. Recomputed by `jobs run guest-insights`
-- (changed guests; every guest with --full). Set-valued fields are kept
-- as `|a|b|` so a condition is one LIKE on the row.
CREATE TABLE guest_insights (
    guest_id                  TEXT PRIMARY KEY REFERENCES guests (id),
    org_id                    TEXT NOT NULL REFERENCES organizations (id),
    gender                    TEXT,
    nationality               TEXT,
    language                  TEXT,
    city                      TEXT,
    birthday                  DATE,
    birthday_month            INTEGER,
    resident                  BOOLEAN NOT NULL,
    blacklisted               BOOLEAN NOT NULL,
    created_on                DATE NOT NULL,
    consents                  TEXT NOT NULL,
    channels                  TEXT NOT NULL,
    properties                TEXT NOT NULL,
    tier_code                 TEXT,
    tier_rank                 INTEGER,
    points_balance            BIGINT NOT NULL,
    stays                     INTEGER NOT NULL,
    nights                    INTEGER NOT NULL,
    spend                     BIGINT NOT NULL,
    average_rate              BIGINT,
    first_stay_on             DATE,
    last_stay_on              DATE,
    first_stay_month          TEXT,
    usual_interval_days       INTEGER,
    stays_last_12_months      INTEGER NOT NULL,
    stays_previous_12_months  INTEGER NOT NULL,
    main_channel              TEXT,
    acquisition_channel       TEXT,
    -- False when the guest withdrew profiling consent: no scores for them.
    profiled                  BOOLEAN NOT NULL,
    rfm_recency               INTEGER,
    rfm_frequency             INTEGER,
    rfm_monetary              INTEGER,
    value_class               TEXT,
    rfm_reasons               TEXT,
    travel_purpose            TEXT,
    purpose_reasons           TEXT,
    churn_score               INTEGER,
    churn_grade               TEXT,
    churn_reasons             TEXT,
    spend_band                TEXT NOT NULL,
    computed_at               TIMESTAMP NOT NULL
);
CREATE INDEX guest_insights_org ON guest_insights (org_id, guest_id);

CREATE TABLE segments (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    name          TEXT NOT NULL,
    description   TEXT,
    rule          TEXT NOT NULL,
    member_count  INTEGER,
    refreshed_at  TIMESTAMP,
    version       INTEGER NOT NULL,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX segments_org ON segments (org_id, id);

-- The membership as of the segment's last refresh.
CREATE TABLE segment_members (
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    segment_id  TEXT NOT NULL REFERENCES segments (id),
    guest_id    TEXT NOT NULL REFERENCES guests (id),
    PRIMARY KEY (segment_id, guest_id)
);
CREATE INDEX segment_members_org ON segment_members (org_id, segment_id, guest_id);
