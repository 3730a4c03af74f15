DROP TABLE reviews;
DROP TABLE survey_responses;
DROP TABLE survey_invitations;
DROP TABLE survey_templates;
