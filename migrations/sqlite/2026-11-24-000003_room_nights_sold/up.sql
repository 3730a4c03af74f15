-- Rooms sold per room type and night. The storage layer keeps it in step
-- with reservation_rooms in the same transaction (see
-- crm_domain::reservation::room_night_deltas), so availability reads the
-- nights asked for instead of every stay that might overlap them.
CREATE TABLE room_nights_sold (
    org_id       TEXT NOT NULL REFERENCES organizations (id),
    room_type_id TEXT NOT NULL REFERENCES room_types (id),
    night        DATE NOT NULL,
    sold         INTEGER NOT NULL,
    PRIMARY KEY (org_id, room_type_id, night)
);

WITH RECURSIVE nights (org_id, room_type_id, night, departure) AS (
    SELECT org_id, room_type_id, arrival, departure
    FROM reservation_rooms WHERE holds_inventory AND arrival < departure
    UNION ALL
    SELECT org_id, room_type_id, date(night, '+1 day'), departure
    FROM nights WHERE date(night, '+1 day') < departure
)
INSERT INTO room_nights_sold (org_id, room_type_id, night, sold)
SELECT org_id, room_type_id, night, count(*) FROM nights
GROUP BY org_id, room_type_id, night;

-- The per-night counter replaces the interval scan this index served.
DROP INDEX reservation_rooms_inventory;
