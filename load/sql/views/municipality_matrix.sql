-- Municipality × measure for each survey, long form: every municipality of the prefecture and every
-- measure. mark is ○ when the municipality's current accepted file implements the measure, '' when
-- it does not, NULL when the municipality has no accepted file (submitted = false).
CREATE OR REPLACE VIEW municipality_matrix AS
SELECT
    s.fiscal_year,
    s.prefecture_code,
    mu.code AS municipality_code,
    mu.name AS municipality_name,
    m.measure_id,
    m.position,
    m.table_id,
    m.label,
    CASE WHEN c.sha256 IS NULL THEN NULL WHEN r.implemented THEN '○' ELSE '' END AS mark,
    CASE WHEN c.sha256 IS NOT NULL THEN coalesce(r.implemented, false) END AS implemented,
    r.budget_line,
    c.sha256 IS NOT NULL AS submitted,
    s.survey_id
FROM surveys AS s
JOIN municipalities AS mu ON in_survey_area(mu.prefecture_code, s.prefecture_code)
JOIN measures AS m ON m.survey_id = s.survey_id
LEFT JOIN current_submissions AS c ON c.survey_id = s.survey_id AND c.municipality_code = mu.code
LEFT JOIN (SELECT * FROM responses WHERE survey_in_scope(survey_id)) AS r
    ON r.sha256 = c.sha256 AND r.measure_id = m.measure_id
WHERE survey_in_scope(s.survey_id)
ORDER BY s.fiscal_year, s.prefecture_code, s.survey_id, mu.code, m.position;
