-- Load step (not an object): make municipality_groups of the surveys in catalog_surveys equal catalog_groups.
DELETE FROM municipality_groups
WHERE survey_id IN (SELECT survey_id FROM catalog_surveys)
  AND (survey_id, group_name, municipality_code)
      NOT IN (SELECT (survey_id, group_name, municipality_code) FROM catalog_groups);
INSERT OR REPLACE INTO municipality_groups (survey_id, group_name, label, municipality_code)
SELECT survey_id, group_name, label, municipality_code
FROM catalog_groups;
