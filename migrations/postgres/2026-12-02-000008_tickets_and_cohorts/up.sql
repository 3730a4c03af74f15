-- Guest service (客户服务): complaints and service requests with their
-- service-level deadlines, history and comments; per-category SLA
-- targets; notifications to staff (escalations).

CREATE TABLE ticket_sla_targets (
    org_id               TEXT NOT NULL REFERENCES organizations (id),
    category             TEXT NOT NULL,
    acknowledge_minutes  INTEGER NOT NULL,
    resolve_minutes      INTEGER NOT NULL,
    hard_limit_minutes   INTEGER NOT NULL,
    updated_at           TIMESTAMP NOT NULL,
    PRIMARY KEY (org_id, category)
);

CREATE TABLE tickets (
    id                 TEXT PRIMARY KEY,
    org_id             TEXT NOT NULL REFERENCES organizations (id),
    property_id        TEXT NOT NULL REFERENCES properties (id),
    kind               TEXT NOT NULL,
    category           TEXT NOT NULL,
    severity           TEXT NOT NULL,
    -- 1 first; from the severity and whether the guest is a VIP
    priority           INTEGER NOT NULL,
    vip                BOOLEAN NOT NULL,
    status             TEXT NOT NULL,
    subject            TEXT NOT NULL,
    description        TEXT,
    channel            TEXT NOT NULL,
    guest_id           TEXT REFERENCES guests (id),
    reservation_id     TEXT REFERENCES reservations (id),
    stay_id            TEXT REFERENCES stays (id),
    room               TEXT,
    assignee_id        TEXT REFERENCES users (id),
    acknowledge_due    TIMESTAMP NOT NULL,
    resolve_due        TIMESTAMP NOT NULL,
    hard_due           TIMESTAMP NOT NULL,
    -- The next deadline still to watch; NULL once nothing is (the SLA
    -- scan reads only the index over this column).
    next_due           TIMESTAMP,
    -- Comma-separated deadlines missed: acknowledge, resolve, hard_limit
    breaches           TEXT NOT NULL,
    escalation_level   INTEGER NOT NULL,
    escalated_at       TIMESTAMP,
    acknowledged_at    TIMESTAMP,
    first_resolved_at  TIMESTAMP,
    resolved_at        TIMESTAMP,
    closed_at          TIMESTAMP,
    reopen_count       INTEGER NOT NULL,
    resolution         TEXT,
    -- JSON: {points, points_entry_id, voucher, refund}
    compensation       TEXT,
    malicious          BOOLEAN NOT NULL,
    malicious_note     TEXT,
    version            INTEGER NOT NULL,
    created_by         TEXT NOT NULL,
    created_at         TIMESTAMP NOT NULL,
    updated_at         TIMESTAMP NOT NULL
);
CREATE INDEX tickets_org ON tickets (org_id, id);
CREATE INDEX tickets_sla ON tickets (org_id, next_due) WHERE next_due IS NOT NULL;
CREATE INDEX tickets_guest ON tickets (org_id, guest_id) WHERE guest_id IS NOT NULL;
CREATE INDEX tickets_property ON tickets (org_id, property_id, created_at);

-- Every transition, assignment, escalation and judgement, with who and when.
CREATE TABLE ticket_events (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    ticket_id    TEXT NOT NULL REFERENCES tickets (id),
    action       TEXT NOT NULL,
    from_status  TEXT,
    to_status    TEXT,
    actor_kind   TEXT NOT NULL,
    actor_id     TEXT NOT NULL,
    note         TEXT,
    created_at   TIMESTAMP NOT NULL
);
CREATE INDEX ticket_events_ticket ON ticket_events (org_id, ticket_id, id);

CREATE TABLE ticket_comments (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    ticket_id   TEXT NOT NULL REFERENCES tickets (id),
    author_id   TEXT NOT NULL,
    body        TEXT NOT NULL,
    -- Staff only; never shown to the guest.
    internal    BOOLEAN NOT NULL,
    created_at  TIMESTAMP NOT NULL
);
CREATE INDEX ticket_comments_ticket ON ticket_comments (org_id, ticket_id, id);

CREATE TABLE staff_notifications (
    id           TEXT PRIMARY KEY,
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    user_id      TEXT NOT NULL REFERENCES users (id),
    kind         TEXT NOT NULL,
    entity_type  TEXT NOT NULL,
    entity_id    TEXT NOT NULL,
    message      TEXT NOT NULL,
    created_at   TIMESTAMP NOT NULL,
    read_at      TIMESTAMP
);
CREATE INDEX staff_notifications_user ON staff_notifications (org_id, user_id, id);

-- Retention cohorts, kept with each guest's insights: one row per month
-- (counted from the month of the first stay) in which the guest stayed.
-- The report counts rows of one narrow index instead of joining every
-- stay with its guest.
CREATE TABLE guest_stay_months (
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    guest_id      TEXT NOT NULL REFERENCES guests (id),
    months_after  INTEGER NOT NULL,
    cohort_month  TEXT NOT NULL,
    PRIMARY KEY (guest_id, months_after)
);
CREATE INDEX guest_stay_months_cohort ON guest_stay_months (org_id, cohort_month, months_after);
INSERT INTO guest_stay_months (org_id, guest_id, months_after, cohort_month)
SELECT DISTINCT s.org_id, s.guest_id, (EXTRACT(YEAR FROM s.arrival) * 12 + EXTRACT(MONTH FROM s.arrival))::INTEGER - (EXTRACT(YEAR FROM gi.first_stay_on) * 12 + EXTRACT(MONTH FROM gi.first_stay_on))::INTEGER, gi.first_stay_month
FROM stays s JOIN guest_insights gi ON gi.guest_id = s.guest_id AND gi.org_id = s.org_id
WHERE gi.first_stay_on IS NOT NULL AND gi.first_stay_month IS NOT NULL AND s.arrival >= gi.first_stay_on;

-- "Insights as of": the latest computation, one index probe.
CREATE INDEX guest_insights_computed ON guest_insights (org_id, computed_at);

-- Reports group by month in parallel plans only if ym() may run in workers.
ALTER FUNCTION ym(DATE) PARALLEL SAFE;
