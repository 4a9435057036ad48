-- Load step (not an object): make item_options of the surveys in catalog_surveys equal catalog_item_options.
DELETE FROM item_options
WHERE survey_id IN (SELECT survey_id FROM catalog_surveys)
  AND (survey_id, item_id, code) NOT IN (SELECT (survey_id, item_id, code) FROM catalog_item_options);
INSERT OR REPLACE INTO item_options (survey_id, item_id, code, label, position)
SELECT survey_id, item_id, code, label, position
FROM catalog_item_options;
