CREATE INDEX reservation_rooms_inventory ON reservation_rooms (org_id, room_type_id, arrival, departure);
DROP TABLE room_nights_sold;
