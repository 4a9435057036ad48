-- Load step (not an object): make indicators of the surveys in catalog_surveys equal catalog_indicators.
DELETE FROM indicators WHERE survey_id IN (SELECT survey_id FROM catalog_surveys);
INSERT INTO indicators (survey_id, indicator_id, position, label, unit, direction, result_id, target_id, years)
SELECT survey_id, indicator_id, position, label, unit, direction, result_id, target_id,
       CASE WHEN years = '' THEN CAST([] AS INTEGER[]) ELSE CAST(string_split(years, ',') AS INTEGER[]) END
FROM catalog_indicators;
