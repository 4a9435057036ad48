-- Whether a municipality of prefecture `municipality_prefecture` is covered by a survey of
-- `survey_prefecture`: its own prefecture's, or every one for the nationwide pseudo-prefecture 00.
-- The Python twin is kokuho.municipalities.in_survey_area.
CREATE OR REPLACE MACRO in_survey_area(municipality_prefecture, survey_prefecture) AS
    municipality_prefecture = survey_prefecture OR survey_prefecture = '00';
