-- Load step (not an object): make sum_rules of the surveys in catalog_surveys equal catalog_rules.
DELETE FROM sum_rules WHERE survey_id IN (SELECT survey_id FROM catalog_surveys);
INSERT INTO sum_rules (survey_id, rule_id, label, role, position, item_id)
SELECT survey_id, rule_id, label, role, position, item_id
FROM catalog_rules;
