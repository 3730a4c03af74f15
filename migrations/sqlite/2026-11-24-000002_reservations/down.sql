DROP TABLE guest_stats;
DROP TABLE stays;
DROP TABLE reservation_revisions;
DROP TABLE reservation_rooms;
DROP TABLE reservations;
DROP TABLE inventory_overrides;
DROP TABLE rate_plans;
DROP TABLE room_types;
