-- Load step (not an object): make measures of the surveys in catalog_surveys equal catalog_measures.
DELETE FROM measures
WHERE survey_id IN (SELECT survey_id FROM catalog_surveys)
  AND (survey_id, measure_id) NOT IN (SELECT (survey_id, measure_id) FROM catalog_measures);
INSERT OR REPLACE INTO measures (survey_id, measure_id, position, section_no, section, subsection_no, subsection,
                                 group_code, group_title, subgroup_no, subgroup_title, item_no, table_id, label,
                                 previous_measure_id)
SELECT survey_id, measure_id, position, section_no, section, subsection_no, subsection, group_code, group_title,
       subgroup_no, subgroup_title, item_no, table_id, label, previous_measure_id
FROM catalog_measures;
