-- Load step (not an object): make numeric_target_items of the surveys in catalog_surveys equal catalog_targets.
DELETE FROM numeric_target_items
WHERE survey_id IN (SELECT survey_id FROM catalog_surveys)
  AND (survey_id, target_id) NOT IN (SELECT (survey_id, target_id) FROM catalog_targets);
INSERT OR REPLACE INTO numeric_target_items (survey_id, target_id, position, label, unit, year_offsets, minimum,
                                             maximum, year_label)
SELECT survey_id, target_id, position, label, unit, CASE WHEN year_offsets = '' THEN CAST([] AS INTEGER[])
            ELSE CAST(string_split(year_offsets, ',') AS INTEGER[]) END, minimum,
       maximum, year_label
FROM catalog_targets;
