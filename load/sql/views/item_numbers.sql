-- The numeric items' (integer, amount, percent) current values, one row per municipality with a current
-- accepted file, item and fiscal year asked: the value and the text as written, beside the value of the
-- year before (from this survey when it asks that year too, else from the previous fiscal year's survey,
-- item matched by ID) and what the previous survey said for the same year (items asked for several years).
CREATE OR REPLACE VIEW item_numbers AS
WITH numbers AS (
    SELECT a.*, i.previous_item_id
    FROM item_answer_rows(checks := false) AS a
    JOIN items AS i ON i.survey_id = a.survey_id AND i.item_id = a.item_id
    WHERE a.item_type IN ('integer', 'amount', 'percent')
),
previous AS (
    -- The previous fiscal year's survey of the prefecture, if it has accepted files.
    SELECT * FROM previous_surveys()
)
SELECT
    n.fiscal_year,
    n.prefecture_code,
    n.municipality_code,
    n.municipality_name,
    n.item_id,
    n.item_type,
    n.label,
    n.unit,
    n.value_year,
    n.year_label,
    n.raw_text,
    n.value,
    n.qualifier,
    n.not_applicable,
    n.note,
    CASE WHEN py.item_id IS NOT NULL THEN py.value ELSE pp.value END AS previous_year_value,
    CASE WHEN py.item_id IS NOT NULL THEN py.raw_text ELSE pp.raw_text END AS previous_year_raw_text,
    ps.value AS previous_survey_value,
    n.position,
    n.survey_id
FROM numbers AS n
LEFT JOIN previous AS pv ON pv.survey_id = n.survey_id
LEFT JOIN numbers AS ps
    ON ps.survey_id = pv.previous_survey_id AND ps.municipality_code = n.municipality_code
   AND ps.item_id = n.previous_item_id AND ps.value_year = n.value_year
LEFT JOIN numbers AS py
    ON py.survey_id = n.survey_id AND py.municipality_code = n.municipality_code
   AND py.item_id = n.item_id AND py.value_year = n.value_year - 1
LEFT JOIN numbers AS pp
    ON pp.survey_id = pv.previous_survey_id AND pp.municipality_code = n.municipality_code
   AND pp.item_id = n.previous_item_id AND pp.value_year = n.value_year - 1
ORDER BY n.fiscal_year, n.prefecture_code, n.survey_id, n.municipality_code, n.position, n.value_year;
