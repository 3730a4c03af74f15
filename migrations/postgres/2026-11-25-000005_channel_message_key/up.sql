-- Every push looks up an identical earlier message by
-- (org_id, channel_code, message_hash), which the unique key answers with
-- one index probe. The natural-key index began with the same two columns,
-- so on a table not yet analysed (a new deployment, a busy first hour) the
-- planner could pick it instead and read the channel's whole history per
-- push. Leading with the channel reservation id leaves it only the lookups
-- it is for, and ending with last_modified serves "newest cancel first".
DROP INDEX channel_messages_key;
CREATE INDEX channel_messages_key
    ON channel_messages (org_id, channel_reservation_id, channel_code, last_modified);
