-- numeric_targets pivoted like seed 004's 収納率 table: one row per municipality with an accepted file
-- and target of its survey, one column group per year from the survey's fiscal year (y0) to three
-- years later (y3). For each year k: yk_label (R6 …), yk (the text as written) and yk_value (parsed
-- percent). note joins the distinct remarks in year order. Only those four years: years_beyond counts
-- the targets of other years (past years, or later than y3), which only numeric_targets (long) shows.
CREATE OR REPLACE VIEW numeric_targets_wide AS
WITH cells AS (
    SELECT t.survey_id, t.municipality_code, t.target_id, t.target_year - s.fiscal_year AS year_offset,
           t.raw_text, t.value, t.note, t.target_year
    FROM numeric_target_responses AS t
    JOIN current_submissions AS sub ON sub.sha256 = t.sha256
    JOIN surveys AS s ON s.survey_id = t.survey_id
),
notes AS (
    SELECT survey_id, municipality_code, target_id, string_agg(note, ' ' ORDER BY first_year) AS note
    FROM (
        SELECT survey_id, municipality_code, target_id, note, min(target_year) AS first_year
        FROM cells
        WHERE note IS NOT NULL
        GROUP BY survey_id, municipality_code, target_id, note
    ) AS distinct_notes
    GROUP BY survey_id, municipality_code, target_id
),
pivoted AS (
    SELECT
        survey_id,
        municipality_code,
        target_id,
        max(raw_text) FILTER (WHERE year_offset = 0) AS y0,
        max(value) FILTER (WHERE year_offset = 0) AS y0_value,
        max(raw_text) FILTER (WHERE year_offset = 1) AS y1,
        max(value) FILTER (WHERE year_offset = 1) AS y1_value,
        max(raw_text) FILTER (WHERE year_offset = 2) AS y2,
        max(value) FILTER (WHERE year_offset = 2) AS y2_value,
        max(raw_text) FILTER (WHERE year_offset = 3) AS y3,
        max(value) FILTER (WHERE year_offset = 3) AS y3_value,
        count(*) FILTER (WHERE year_offset NOT BETWEEN 0 AND 3) AS years_beyond
    FROM cells
    GROUP BY survey_id, municipality_code, target_id
)
SELECT
    s.fiscal_year,
    s.prefecture_code,
    c.municipality_code,
    mu.name AS municipality_name,
    i.target_id,
    i.label,
    i.unit,
    CASE WHEN s.fiscal_year >= 2019 THEN 'R' || (s.fiscal_year - 2018) ELSE 'H' || (s.fiscal_year - 1988) END
        AS y0_label,
    p.y0,
    p.y0_value,
    CASE WHEN s.fiscal_year + 1 >= 2019 THEN 'R' || (s.fiscal_year + 1 - 2018) ELSE 'H' || (s.fiscal_year + 1 - 1988) END
        AS y1_label,
    p.y1,
    p.y1_value,
    CASE WHEN s.fiscal_year + 2 >= 2019 THEN 'R' || (s.fiscal_year + 2 - 2018) ELSE 'H' || (s.fiscal_year + 2 - 1988) END
        AS y2_label,
    p.y2,
    p.y2_value,
    CASE WHEN s.fiscal_year + 3 >= 2019 THEN 'R' || (s.fiscal_year + 3 - 2018) ELSE 'H' || (s.fiscal_year + 3 - 1988) END
        AS y3_label,
    p.y3,
    p.y3_value,
    n.note,
    CAST(coalesce(p.years_beyond, 0) AS INTEGER) AS years_beyond,
    i.position AS target_position,
    s.survey_id
FROM current_submissions AS c
JOIN surveys AS s ON s.survey_id = c.survey_id
JOIN numeric_target_items AS i ON i.survey_id = c.survey_id
LEFT JOIN pivoted AS p
    ON p.survey_id = c.survey_id AND p.municipality_code = c.municipality_code AND p.target_id = i.target_id
LEFT JOIN notes AS n
    ON n.survey_id = c.survey_id AND n.municipality_code = c.municipality_code AND n.target_id = i.target_id
LEFT JOIN municipalities AS mu ON mu.code = c.municipality_code
ORDER BY s.fiscal_year, s.prefecture_code, s.survey_id, c.municipality_code, i.position;
