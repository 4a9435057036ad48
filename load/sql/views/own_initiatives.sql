-- The その他（独自の取組） rows of each municipality's current accepted file, per table of the survey.
CREATE OR REPLACE VIEW own_initiatives AS
SELECT
    s.fiscal_year,
    s.prefecture_code,
    o.table_id,
    t.section_no,
    t.section,
    t.subsection_no,
    t.subsection,
    t.group_code,
    t.group_title,
    t.subgroup_no,
    t.subgroup_title,
    t.heading,
    o.municipality_code,
    mu.name AS municipality_name,
    o.position,
    o.text,
    o.budget_line,
    o.note,
    o.file_name,
    o.sheet,
    o.cell,
    o.survey_id
FROM own_initiative_responses AS o
JOIN current_submissions AS sub ON sub.sha256 = o.sha256
JOIN surveys AS s ON s.survey_id = o.survey_id
LEFT JOIN survey_tables AS t ON t.survey_id = o.survey_id AND t.table_id = o.table_id
LEFT JOIN municipalities AS mu ON mu.code = o.municipality_code
ORDER BY s.fiscal_year, s.prefecture_code, o.survey_id, t.table_no, o.municipality_code, o.position;
