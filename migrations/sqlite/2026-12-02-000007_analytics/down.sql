DROP TABLE segment_members;
DROP TABLE segments;
DROP TABLE guest_insights;
DROP TABLE analytics_settings;
