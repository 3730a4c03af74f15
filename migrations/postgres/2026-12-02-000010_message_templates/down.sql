DROP TABLE property_message_triggers;
DROP TABLE message_templates;
