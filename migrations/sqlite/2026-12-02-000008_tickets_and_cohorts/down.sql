DROP INDEX guest_insights_computed;
DROP TABLE guest_stay_months;
DROP TABLE staff_notifications;
DROP TABLE ticket_comments;
DROP TABLE ticket_events;
DROP TABLE tickets;
DROP TABLE ticket_sla_targets;
