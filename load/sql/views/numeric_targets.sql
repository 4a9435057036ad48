-- Numeric targets (収納率目標 …) of each municipality's current accepted file, one row per target
-- and target year: the parsed value (percent), its qualifier (以上 / 前年度以上 / 未設定), the text as
-- written and the remark (備考). year_offset is target_year minus the survey's fiscal year; year_label
-- labels the year as the catalog does (R3 or 令和3年度), the column names of a pivot over the years.
CREATE OR REPLACE VIEW numeric_targets AS
SELECT
    s.fiscal_year,
    s.prefecture_code,
    t.municipality_code,
    mu.name AS municipality_name,
    t.target_id,
    i.label,
    i.unit,
    t.target_year,
    CAST(t.target_year - s.fiscal_year AS INTEGER) AS year_offset,
    year_label(t.target_year, coalesce(i.year_label, 'short')) AS year_label,
    t.value,
    t.qualifier,
    t.raw_text,
    t.note,
    t.file_name,
    t.sheet,
    t.cell,
    t.survey_id
FROM numeric_target_responses AS t
JOIN current_submissions AS sub ON sub.sha256 = t.sha256
JOIN surveys AS s ON s.survey_id = t.survey_id
LEFT JOIN numeric_target_items AS i ON i.survey_id = t.survey_id AND i.target_id = t.target_id
LEFT JOIN municipalities AS mu ON mu.code = t.municipality_code
ORDER BY s.fiscal_year, s.prefecture_code, t.survey_id, t.municipality_code, i.position, t.target_year;
