-- One row per survey and measure: how many municipalities implement it (current accepted file of each
-- municipality), out of all municipalities of the prefecture, the budget lines (most frequent first, see
-- budget_lines.rank) and the change against the previous fiscal year's survey of the same prefecture:
-- 増 / 減 when the count rose / fell, 新 when the measure was not in the previous year's catalog, NULL
-- when unchanged or when there is no previous survey with accepted files. Measures are matched across
-- years by ID (measures.previous_measure_id), never by label.
CREATE OR REPLACE VIEW measure_summary AS
WITH survey AS (
    SELECT
        s.survey_id,
        s.prefecture_code,
        s.fiscal_year,
        (SELECT count(*) FROM municipalities AS mu WHERE in_survey_area(mu.prefecture_code, s.prefecture_code))
            AS municipality_total
    FROM surveys AS s
    WHERE survey_in_scope(s.survey_id)
),
counts AS (
    SELECT
        r.survey_id,
        r.measure_id,
        count(DISTINCT r.municipality_code) FILTER (WHERE r.implemented) AS implementing_count
    FROM responses AS r
    JOIN current_submissions AS sub ON sub.sha256 = r.sha256
    WHERE survey_in_scope(r.survey_id)
    GROUP BY r.survey_id, r.measure_id
),
lines AS (
    SELECT survey_id, measure_id, list(budget_line ORDER BY rank) AS budget_lines
    FROM budget_lines
    GROUP BY survey_id, measure_id
),
previous AS (
    -- The previous fiscal year's survey of the prefecture, if it has accepted files.
    SELECT * FROM previous_surveys()
),
joined AS (
    SELECT
        s.fiscal_year,
        s.prefecture_code,
        m.*,
        CAST(coalesce(c.implementing_count, 0) AS INTEGER) AS implementing_count,
        CAST(s.municipality_total AS INTEGER) AS municipality_total,
        coalesce(l.budget_lines, CAST([] AS VARCHAR[])) AS budget_lines,
        pv.previous_survey_id,
        pm.measure_id AS previous_measure_found,
        CAST(coalesce(pc.implementing_count, 0) AS INTEGER) AS previous_count
    FROM measures AS m
    JOIN survey AS s ON s.survey_id = m.survey_id
    LEFT JOIN counts AS c ON c.survey_id = m.survey_id AND c.measure_id = m.measure_id
    LEFT JOIN lines AS l ON l.survey_id = m.survey_id AND l.measure_id = m.measure_id
    LEFT JOIN previous AS pv ON pv.survey_id = m.survey_id
    LEFT JOIN measures AS pm ON pm.survey_id = pv.previous_survey_id AND pm.measure_id = m.previous_measure_id
    LEFT JOIN counts AS pc ON pc.survey_id = pv.previous_survey_id AND pc.measure_id = m.previous_measure_id
)
SELECT
    fiscal_year,
    prefecture_code,
    measure_id,
    section_no,
    section,
    subsection_no,
    subsection,
    group_code,
    group_title,
    subgroup_no,
    subgroup_title,
    item_no,
    label,
    implementing_count,
    municipality_total,
    -- whole percent, half rounded up (25/27 -> 93), in integers to avoid float error
    CASE WHEN municipality_total > 0
        THEN CAST((200 * implementing_count + municipality_total) // (2 * municipality_total) AS INTEGER)
    END AS implementing_pct,
    budget_lines,
    CASE WHEN previous_measure_found IS NOT NULL THEN previous_count END AS prev_year_count,
    CASE
        WHEN previous_survey_id IS NULL THEN NULL
        WHEN previous_measure_found IS NULL THEN '新'
        WHEN implementing_count > previous_count THEN '増'
        WHEN implementing_count < previous_count THEN '減'
    END AS change_marker,
    position,
    table_id,
    survey_id
FROM joined
ORDER BY fiscal_year, prefecture_code, survey_id, position;
