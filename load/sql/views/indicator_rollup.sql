-- Per survey, indicator and fiscal year evaluated: how many municipalities achieved their target
-- out of those evaluated (achievement 達成 or 未達成 in indicator_results; ― is not counted), as
-- seed 004 prints it (n/N市町村（p%）, n市町村), and 増 / 減 against the previous fiscal year's
-- count: the same indicator ID's year before, from this survey when it evaluates that year, else
-- from the most recent earlier survey of the prefecture that does.
CREATE OR REPLACE VIEW indicator_rollup AS
WITH counts AS (
    SELECT
        fiscal_year, prefecture_code, survey_id, indicator_id, position, label, unit, direction, value_year,
        year_label,
        CAST(count(*) FILTER (WHERE achieved) AS INTEGER) AS achieved_count,
        CAST(count(achieved) AS INTEGER) AS evaluated_count,
        CAST(count(*) AS INTEGER) AS municipality_count
    FROM indicator_results
    GROUP BY ALL
),
with_previous AS (
    SELECT c.*, p.achieved_count AS prev_achieved_count
    FROM counts AS c
    LEFT JOIN counts AS p ON p.prefecture_code = c.prefecture_code AND p.indicator_id = c.indicator_id
        AND p.value_year = c.value_year - 1 AND p.fiscal_year <= c.fiscal_year AND p.evaluated_count > 0
    QUALIFY row_number() OVER (
        PARTITION BY c.survey_id, c.indicator_id, c.value_year
        ORDER BY (p.survey_id = c.survey_id) DESC NULLS LAST, p.fiscal_year DESC NULLS LAST, p.survey_id DESC
    ) = 1
),
shaped AS (
    SELECT
        *,
        -- whole percent, half rounded up, in integers (as measure_summary)
        CASE WHEN evaluated_count > 0
            THEN CAST((200 * achieved_count + evaluated_count) // (2 * evaluated_count) AS INTEGER)
        END AS achieved_pct
    FROM with_previous
)
SELECT
    fiscal_year,
    prefecture_code,
    indicator_id,
    position,
    label,
    unit,
    direction,
    CAST(value_year AS INTEGER) AS value_year,
    year_label,
    achieved_count,
    evaluated_count,
    municipality_count,
    achieved_pct,
    CASE WHEN evaluated_count > 0
        THEN achieved_count || '/' || evaluated_count || '市町村（' || achieved_pct || '%）'
    END AS achieved_text,
    achieved_count || '市町村' AS achieved_count_text,
    prev_achieved_count,
    CASE
        WHEN evaluated_count = 0 OR prev_achieved_count IS NULL THEN NULL
        WHEN achieved_count > prev_achieved_count THEN '増'
        WHEN achieved_count < prev_achieved_count THEN '減'
    END AS change_marker,
    survey_id
FROM shaped
ORDER BY fiscal_year, prefecture_code, survey_id, position, value_year;
