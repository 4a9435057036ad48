-- Load step (not an object): make survey_tables of the surveys in catalog_surveys equal catalog_tables.
DELETE FROM survey_tables
WHERE survey_id IN (SELECT survey_id FROM catalog_surveys)
  AND (survey_id, table_id) NOT IN (SELECT (survey_id, table_id) FROM catalog_tables);
INSERT OR REPLACE INTO survey_tables (survey_id, table_id, table_no, section_no, section, subsection_no, subsection,
                                      group_code, group_title, subgroup_no, subgroup_title, heading)
SELECT survey_id, table_id, table_no, section_no, section, subsection_no, subsection, group_code, group_title,
       subgroup_no, subgroup_title, heading
FROM catalog_tables;
