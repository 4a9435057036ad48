-- Amounts (千円) and other numbers per survey, item and fiscal year, summed across the
-- municipalities whose current file gives one (seed 003's 事業コスト, by year), with the item's
-- table (the section of the survey it belongs to) and the sum as budget tables print it
-- (△ for a negative, thousands separators: △148,507, 16,906,057).
CREATE OR REPLACE VIEW item_amounts AS
WITH sums AS (
    SELECT
        r.survey_id,
        r.item_id,
        r.value_year,
        sum(r.value) AS total,
        CAST(count(DISTINCT r.municipality_code) AS INTEGER) AS municipality_count
    FROM item_responses AS r
    JOIN current_submissions AS sub ON sub.sha256 = r.sha256
    WHERE r.item_type = 'amount' AND r.value IS NOT NULL
    GROUP BY ALL
)
SELECT
    s.fiscal_year,
    s.prefecture_code,
    i.table_id,
    t.heading AS table_heading,
    x.item_id,
    i.position,
    i.label,
    i.unit,
    CAST(x.value_year AS INTEGER) AS value_year,
    CASE WHEN x.value_year >= 2019 THEN 'R' || (x.value_year - 2018) ELSE 'H' || (x.value_year - 1988) END
        AS year_label,
    x.total,
    amount_text(x.total) AS total_text,
    x.municipality_count,
    x.survey_id
FROM sums AS x
JOIN surveys AS s ON s.survey_id = x.survey_id
LEFT JOIN items AS i ON i.survey_id = x.survey_id AND i.item_id = x.item_id
LEFT JOIN survey_tables AS t ON t.survey_id = x.survey_id AND t.table_id = i.table_id
ORDER BY s.fiscal_year, s.prefecture_code, x.survey_id, i.position, x.value_year;
