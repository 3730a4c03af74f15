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

INSERT INTO room_nights_sold (org_id, room_type_id, night, sold)
SELECT r.org_id, r.room_type_id, n.night::date, count(*)
FROM reservation_rooms r,
     generate_series(r.arrival, r.departure - 1, interval '1 day') AS n (night)
WHERE r.holds_inventory
GROUP BY r.org_id, r.room_type_id, n.night::date;

-- The per-night counter replaces the interval scan this index served.
DROP INDEX reservation_rooms_inventory;
