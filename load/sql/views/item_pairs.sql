-- Seed 004's 主な指標 R５ → R６ table: per survey and item, the number of municipalities in the
-- previous and in the survey's fiscal year (24市町村 → 25市町村). Check items (kind 'measure')
-- give their implementing counts (measure_summary: this survey's against the previous year's
-- survey, matched by ID); indicators (kind 'indicator') the municipalities that achieved their
-- target in the survey year and the year before (indicator_rollup). ― when a year has no count.
CREATE OR REPLACE VIEW item_pairs AS
WITH pairs AS (
    SELECT fiscal_year, prefecture_code, survey_id, 'measure' AS kind, 1 AS kind_order, measure_id AS item_id,
           position, label, prev_year_count AS previous_count, implementing_count AS current_count,
           change_marker
    FROM measure_summary
    UNION ALL
    SELECT fiscal_year, prefecture_code, survey_id, 'indicator', 2, indicator_id, position, label,
           prev_achieved_count, achieved_count, change_marker
    FROM indicator_rollup
    WHERE value_year = fiscal_year
)
SELECT
    fiscal_year,
    prefecture_code,
    kind,
    item_id,
    label,
    CAST(fiscal_year - 1 AS INTEGER) AS previous_year,
    'R' || (fiscal_year - 2019) AS previous_year_label,
    'R' || (fiscal_year - 2018) AS year_label,
    CAST(previous_count AS INTEGER) AS previous_count,
    CAST(current_count AS INTEGER) AS current_count,
    coalesce(previous_count || '市町村', '―') || ' → ' || coalesce(current_count || '市町村', '―') AS pair_text,
    change_marker,
    CAST(row_number() OVER (PARTITION BY survey_id ORDER BY kind_order, position) AS INTEGER) AS position,
    survey_id
FROM pairs
ORDER BY fiscal_year, prefecture_code, survey_id, position;
