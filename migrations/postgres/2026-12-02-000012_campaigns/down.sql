ALTER TABLE reservations DROP COLUMN coupon_code;
ALTER TABLE reservations DROP COLUMN discount_amount;
DROP INDEX message_outbox_coupon;
DROP INDEX message_outbox_campaign;
ALTER TABLE message_outbox DROP COLUMN delivered_at;
ALTER TABLE message_outbox DROP COLUMN coupon_code;
ALTER TABLE message_outbox DROP COLUMN campaign_id;
DROP TABLE coupon_redemptions;
DROP TABLE campaigns;
