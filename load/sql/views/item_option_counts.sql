-- One row per survey, choice or status item and option (catalog order): how many municipalities with a
-- current accepted file chose it (in the survey year, where the item applies), and the change against
-- the previous fiscal year's survey (item matched by ID, option by code): 増 / 減, 新 when the item or
-- the option was not in the previous catalog, NULL when unchanged or without previous survey.
CREATE OR REPLACE VIEW item_option_counts AS
WITH chosen AS (
    SELECT a.survey_id, a.item_id, o.code, count(DISTINCT a.municipality_code) AS option_count
    FROM item_answer_rows(checks := false) AS a
    JOIN item_options AS o ON o.survey_id = a.survey_id AND o.item_id = a.item_id
    WHERE a.value_year = a.fiscal_year AND a.applicable AND NOT a.not_applicable
      AND list_contains(string_split(a.value_text, ','), o.code)
    GROUP BY a.survey_id, a.item_id, o.code
),
previous AS (
    -- The previous fiscal year's survey of the prefecture, if it has accepted files.
    SELECT * FROM previous_surveys()
),
joined AS (
    SELECT
        s.fiscal_year,
        s.prefecture_code,
        i.survey_id,
        i.item_id,
        i.label AS item_label,
        i.position AS item_position,
        o.code AS option_code,
        o.label AS option_label,
        o.position AS option_position,
        CAST(coalesce(c.option_count, 0) AS INTEGER) AS option_count,
        pv.previous_survey_id,
        po.code AS previous_found,
        CAST(coalesce(pc.option_count, 0) AS INTEGER) AS previous_count
    FROM items AS i
    JOIN surveys AS s ON s.survey_id = i.survey_id
    JOIN item_options AS o ON o.survey_id = i.survey_id AND o.item_id = i.item_id
    LEFT JOIN chosen AS c ON c.survey_id = i.survey_id AND c.item_id = i.item_id AND c.code = o.code
    LEFT JOIN previous AS pv ON pv.survey_id = i.survey_id
    LEFT JOIN item_options AS po
        ON po.survey_id = pv.previous_survey_id AND po.item_id = i.previous_item_id AND po.code = o.code
    LEFT JOIN chosen AS pc
        ON pc.survey_id = pv.previous_survey_id AND pc.item_id = i.previous_item_id AND pc.code = o.code
    WHERE i.item_type IN ('choice', 'status') AND survey_in_scope(i.survey_id)
)
SELECT
    fiscal_year,
    prefecture_code,
    item_id,
    item_label,
    option_code,
    option_label,
    option_position,
    option_count,
    CASE WHEN previous_found IS NOT NULL THEN previous_count END AS prev_year_count,
    CASE WHEN previous_found IS NOT NULL THEN CAST(abs(option_count - previous_count) AS INTEGER) END
        AS change_count,
    CASE
        WHEN previous_survey_id IS NULL THEN NULL
        WHEN previous_found IS NULL THEN '新'
        WHEN option_count > previous_count THEN '増'
        WHEN option_count < previous_count THEN '減'
    END AS change_marker,
    item_position,
    survey_id
FROM joined
ORDER BY fiscal_year, prefecture_code, survey_id, item_position, option_position;
