-- The numeric items (integer, amount, percent) summed up per survey, item and fiscal year asked: how
-- many municipalities with a current accepted file gave a number (a qualifier such as 以上 keeps its
-- number; 該当なし and blanks do not count), their sum, minimum, maximum and mean, and the sum and count
-- of the year before (from this survey when it asks that year too, else from the previous fiscal
-- year's survey, item matched by ID).
CREATE OR REPLACE VIEW item_number_totals AS
WITH totals AS (
    SELECT
        fiscal_year,
        prefecture_code,
        survey_id,
        item_id,
        any_value(item_type) AS item_type,
        any_value(label) AS label,
        any_value(unit) AS unit,
        any_value(position) AS position,
        value_year,
        any_value(year_label) AS year_label,
        CAST(count(value) AS INTEGER) AS answered_count,
        sum(value) AS value_sum,
        min(value) AS value_min,
        max(value) AS value_max,
        avg(value) AS value_avg
    FROM item_numbers
    WHERE NOT not_applicable
    GROUP BY fiscal_year, prefecture_code, survey_id, item_id, value_year
),
previous AS (
    -- The previous fiscal year's survey of the prefecture, if it has accepted files.
    SELECT * FROM previous_surveys()
)
SELECT
    t.fiscal_year,
    t.prefecture_code,
    t.item_id,
    t.item_type,
    t.label,
    t.unit,
    t.value_year,
    t.year_label,
    t.answered_count,
    t.value_sum,
    t.value_min,
    t.value_max,
    t.value_avg,
    CASE WHEN py.item_id IS NOT NULL THEN py.value_sum ELSE pp.value_sum END AS previous_year_sum,
    CASE WHEN py.item_id IS NOT NULL THEN py.answered_count ELSE pp.answered_count END AS previous_year_count,
    t.position,
    t.survey_id
FROM totals AS t
LEFT JOIN previous AS pv ON pv.survey_id = t.survey_id
LEFT JOIN items AS i ON i.survey_id = t.survey_id AND i.item_id = t.item_id
LEFT JOIN totals AS py ON py.survey_id = t.survey_id AND py.item_id = t.item_id AND py.value_year = t.value_year - 1
LEFT JOIN totals AS pp
    ON pp.survey_id = pv.previous_survey_id AND pp.item_id = i.previous_item_id AND pp.value_year = t.value_year - 1
ORDER BY t.fiscal_year, t.prefecture_code, t.survey_id, t.position, t.value_year;
