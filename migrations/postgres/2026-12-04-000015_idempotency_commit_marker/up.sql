-- Set in the same transaction as the request's own writes: a claim with
-- no response and no commit marker, older than the lease, belonged to a
-- node that died before writing anything, and may be run again; one with
-- the marker was applied, and is never run twice.
ALTER TABLE idempotency_keys ADD COLUMN committed_at TIMESTAMP;
