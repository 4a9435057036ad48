-- The rows of the view item_answers, unordered: the views that count answers (item_summary,
-- item_option_counts, item_numbers) read them without the view's sort. A macro is created before
-- the views, so it reads the current files from submissions as current_submissions does. Only the
-- answers of the surveys in scope are read (macro survey_in_scope: every survey unless narrowed).
-- With checks := false, the check items' answers are left out but for those a condition reads: what
-- the views of typed items (item_option_counts, item_numbers) read, at a fraction of the rows.
CREATE OR REPLACE MACRO item_answer_rows(checks := true) AS TABLE
-- NOT MATERIALIZED: read twice (the rows, and the conditions' few items), it would otherwise be kept
-- in memory whole, every column of every year's answers.
WITH answers AS NOT MATERIALIZED (
    SELECT
        r.survey_id,
        r.municipality_code,
        r.measure_id AS item_id,
        s.fiscal_year AS value_year,
        r.answer_raw AS raw_text,
        CAST(NULL AS DOUBLE) AS value,
        CAST(NULL AS VARCHAR) AS qualifier,
        CASE WHEN r.implemented THEN '○' END AS value_text,
        CAST(NULL AS INTEGER) AS period_start,
        CAST(NULL AS INTEGER) AS period_end,
        coalesce(r.not_applicable, false) AS not_applicable,
        r.note,
        r.file_name,
        r.sheet,
        r.cell
    FROM responses AS r
    JOIN submissions AS sub ON sub.sha256 = r.sha256 AND sub.status = 'accepted'
    JOIN surveys AS s ON s.survey_id = r.survey_id
    WHERE survey_in_scope(r.survey_id)
      AND (checks OR r.measure_id IN (SELECT applies_item FROM items WHERE applies_item IS NOT NULL))
    UNION ALL BY NAME
    SELECT
        v.survey_id,
        v.municipality_code,
        v.item_id,
        v.value_year,
        v.raw_text,
        v.value,
        v.qualifier,
        v.value_text,
        v.period_start,
        v.period_end,
        v.not_applicable,
        v.note,
        v.file_name,
        v.sheet,
        v.cell
    FROM item_responses AS v
    JOIN submissions AS sub ON sub.sha256 = v.sha256 AND sub.status = 'accepted'
    WHERE survey_in_scope(v.survey_id)
),
catalog AS (
    -- Every item; check items also from measures (a survey synced before items were kept).
    SELECT survey_id, item_id, label, item_type, unit, position, year_label, applies_group, applies_item,
           applies_answers
    FROM items
    UNION ALL BY NAME
    SELECT m.survey_id, m.measure_id AS item_id, m.label, 'check' AS item_type, NULL AS unit, m.position,
           'short' AS year_label, NULL AS applies_group, NULL AS applies_item, CAST(NULL AS VARCHAR[]) AS applies_answers
    FROM measures AS m
    WHERE NOT EXISTS (SELECT 1 FROM items AS i WHERE i.survey_id = m.survey_id AND i.item_id = m.measure_id)
),
labels AS (
    -- The labels of each distinct choice answer (option codes joined by ','), in catalog order.
    SELECT v.survey_id, v.item_id, v.value_text, string_agg(o.label, '、' ORDER BY o.position) AS option_labels
    FROM (
        SELECT DISTINCT survey_id, item_id, value_text
        FROM item_responses
        WHERE value_text IS NOT NULL AND survey_in_scope(survey_id)
    ) AS v
    JOIN item_options AS o
        ON o.survey_id = v.survey_id AND o.item_id = v.item_id AND list_contains(string_split(v.value_text, ','), o.code)
    GROUP BY v.survey_id, v.item_id, v.value_text
),
conditions AS (
    -- The survey-year answers the conditions of applies_to read.
    SELECT a.survey_id, a.item_id, a.municipality_code, string_split(a.value_text, ',') AS answered
    FROM answers AS a
    JOIN surveys AS s ON s.survey_id = a.survey_id AND a.value_year = s.fiscal_year
    WHERE a.value_text IS NOT NULL
      AND a.item_id IN (SELECT applies_item FROM items WHERE applies_item IS NOT NULL)
)
SELECT
    s.fiscal_year,
    s.prefecture_code,
    a.municipality_code,
    mu.name AS municipality_name,
    a.item_id,
    c.item_type,
    c.label,
    c.unit,
    CAST(a.value_year AS INTEGER) AS value_year,
    year_label(a.value_year, c.year_label) AS year_label,
    a.raw_text,
    a.value,
    a.qualifier,
    a.value_text,
    l.option_labels,
    CAST(a.period_start AS INTEGER) AS period_start,
    CAST(a.period_end AS INTEGER) AS period_end,
    a.not_applicable,
    a.note,
    CASE
        WHEN c.applies_group IS NOT NULL THEN g.municipality_code IS NOT NULL
        WHEN c.applies_item IS NOT NULL THEN coalesce(list_has_any(x.answered, c.applies_answers), false)
        ELSE true
    END AS applicable,
    c.position,
    a.file_name,
    a.sheet,
    a.cell,
    a.survey_id
FROM answers AS a
JOIN surveys AS s ON s.survey_id = a.survey_id
JOIN catalog AS c ON c.survey_id = a.survey_id AND c.item_id = a.item_id
LEFT JOIN labels AS l ON l.survey_id = a.survey_id AND l.item_id = a.item_id AND l.value_text = a.value_text
LEFT JOIN municipality_groups AS g
    ON g.survey_id = a.survey_id AND g.group_name = c.applies_group AND g.municipality_code = a.municipality_code
LEFT JOIN conditions AS x
    ON x.survey_id = a.survey_id AND x.item_id = c.applies_item AND x.municipality_code = a.municipality_code
LEFT JOIN municipalities AS mu ON mu.code = a.municipality_code;
