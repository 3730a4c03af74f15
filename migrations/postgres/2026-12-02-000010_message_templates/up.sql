-- Message templates (全周期沟通) per trigger, channel and language, and
-- which triggers each property sends.
CREATE TABLE message_templates (
    id            TEXT PRIMARY KEY,
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    name          TEXT NOT NULL,
    trigger_kind  TEXT NOT NULL,
    channel       TEXT NOT NULL,
    language      TEXT NOT NULL,
    subject       TEXT,
    body          TEXT NOT NULL,
    active        BOOLEAN NOT NULL,
    version       INTEGER NOT NULL,
    created_at    TIMESTAMP NOT NULL,
    updated_at    TIMESTAMP NOT NULL
);
CREATE INDEX message_templates_org ON message_templates (org_id, id);
CREATE UNIQUE INDEX message_templates_key ON message_templates (org_id, trigger_kind, channel, language);

CREATE TABLE property_message_triggers (
    org_id        TEXT NOT NULL REFERENCES organizations (id),
    property_id   TEXT NOT NULL REFERENCES properties (id),
    trigger_kind  TEXT NOT NULL,
    enabled       BOOLEAN NOT NULL,
    days_before   INTEGER,
    updated_at    TIMESTAMP NOT NULL,
    PRIMARY KEY (property_id, trigger_kind)
);
CREATE INDEX property_message_triggers_org ON property_message_triggers (org_id, property_id);
