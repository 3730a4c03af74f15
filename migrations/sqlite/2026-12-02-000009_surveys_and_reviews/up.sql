-- Satisfaction surveys (满意度调查) and online reviews (口碑).

-- What a survey asks; one active template per organisation is sent after
-- check-out. Each change is a new version; invitations keep the one sent.
CREATE TABLE survey_templates (
    id          TEXT PRIMARY KEY,
    org_id      TEXT NOT NULL REFERENCES organizations (id),
    name        TEXT NOT NULL,
    -- JSON: {intro, dimensions, nps, free_text, low_score_at_most, low_nps_at_most, valid_days}
    definition  TEXT NOT NULL,
    active      BOOLEAN NOT NULL,
    version     INTEGER NOT NULL,
    created_at  TIMESTAMP NOT NULL,
    updated_at  TIMESTAMP NOT NULL
);
CREATE INDEX survey_templates_org ON survey_templates (org_id, id);
CREATE UNIQUE INDEX survey_templates_active ON survey_templates (org_id) WHERE active;

-- One per stay; the link is signed over the id and the expiry, never stored.
CREATE TABLE survey_invitations (
    id                TEXT PRIMARY KEY,
    org_id            TEXT NOT NULL REFERENCES organizations (id),
    template_id       TEXT NOT NULL REFERENCES survey_templates (id),
    template_version  INTEGER NOT NULL,
    definition        TEXT NOT NULL,
    guest_id          TEXT NOT NULL REFERENCES guests (id),
    stay_id           TEXT NOT NULL UNIQUE REFERENCES stays (id),
    property_id       TEXT NOT NULL REFERENCES properties (id),
    expires_at        TIMESTAMP NOT NULL,
    answered_at       TIMESTAMP,
    created_at        TIMESTAMP NOT NULL
);
CREATE INDEX survey_invitations_guest ON survey_invitations (org_id, guest_id, id);

CREATE TABLE survey_responses (
    id              TEXT PRIMARY KEY,
    org_id          TEXT NOT NULL REFERENCES organizations (id),
    invitation_id   TEXT NOT NULL UNIQUE REFERENCES survey_invitations (id),
    guest_id        TEXT NOT NULL REFERENCES guests (id),
    stay_id         TEXT NOT NULL REFERENCES stays (id),
    property_id     TEXT NOT NULL REFERENCES properties (id),
    room_hygiene    INTEGER,
    food_beverage   INTEGER,
    front_desk      INTEGER,
    staff_attitude  INTEGER,
    value           INTEGER,
    location        INTEGER,
    nps             INTEGER,
    comment         TEXT,
    ticket_id       TEXT REFERENCES tickets (id),
    answered_on     DATE NOT NULL,
    answered_at     TIMESTAMP NOT NULL
);
CREATE INDEX survey_responses_org ON survey_responses (org_id, id);
CREATE INDEX survey_responses_property ON survey_responses (org_id, property_id, answered_on);
CREATE INDEX survey_responses_guest ON survey_responses (org_id, guest_id);

CREATE TABLE reviews (
    id             TEXT PRIMARY KEY,
    org_id         TEXT NOT NULL REFERENCES organizations (id),
    property_id    TEXT NOT NULL REFERENCES properties (id),
    source         TEXT NOT NULL,
    -- The site's own id, when known: the same review is not entered twice.
    external_id    TEXT,
    -- On the site's scale (5 or 10), in tenths; score is 0–100.
    rating_tenths  INTEGER NOT NULL,
    scale          INTEGER NOT NULL,
    score          INTEGER NOT NULL,
    title          TEXT,
    body           TEXT,
    language       TEXT,
    author_name    TEXT,
    reviewed_on    DATE NOT NULL,
    guest_id       TEXT REFERENCES guests (id),
    stay_id        TEXT REFERENCES stays (id),
    reply_text     TEXT,
    reply_status   TEXT NOT NULL,
    replied_at     TIMESTAMP,
    replied_by     TEXT,
    version        INTEGER NOT NULL,
    created_by     TEXT NOT NULL,
    created_at     TIMESTAMP NOT NULL,
    updated_at     TIMESTAMP NOT NULL
);
CREATE INDEX reviews_org ON reviews (org_id, id);
CREATE INDEX reviews_property ON reviews (org_id, property_id, reviewed_on);
CREATE UNIQUE INDEX reviews_external ON reviews (org_id, source, external_id) WHERE external_id IS NOT NULL;
