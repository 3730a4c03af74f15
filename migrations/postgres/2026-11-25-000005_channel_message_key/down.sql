DROP INDEX channel_messages_key;
CREATE INDEX channel_messages_key ON channel_messages (org_id, channel_code, channel_reservation_id, id);
