-- The current answers of every item (check items from responses, typed items from item_responses), one
-- row per municipality with a current accepted file, item and fiscal year asked: the text as written,
-- the parsed value and qualifier, the normalised answer and its option labels (choice, status: joined
-- by '、' in catalog order), the period, 該当なし, the note, and whether the item applies to the
-- municipality (its named group, or its answer to the item the condition names, in the survey year).
CREATE OR REPLACE VIEW item_answers AS
WITH answers AS (
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
    JOIN current_submissions AS sub ON sub.sha256 = r.sha256
    JOIN surveys AS s ON s.survey_id = r.survey_id
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
    JOIN current_submissions AS sub ON sub.sha256 = v.sha256
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
    (
        SELECT string_agg(o.label, '、' ORDER BY o.position)
        FROM item_options AS o
        WHERE o.survey_id = a.survey_id AND o.item_id = a.item_id
          AND list_contains(string_split(a.value_text, ','), o.code)
    ) AS option_labels,
    CAST(a.period_start AS INTEGER) AS period_start,
    CAST(a.period_end AS INTEGER) AS period_end,
    a.not_applicable,
    a.note,
    CASE
        WHEN c.applies_group IS NOT NULL THEN EXISTS (
            SELECT 1 FROM municipality_groups AS g
            WHERE g.survey_id = a.survey_id AND g.group_name = c.applies_group
              AND g.municipality_code = a.municipality_code
        )
        WHEN c.applies_item IS NOT NULL THEN EXISTS (
            SELECT 1 FROM answers AS x
            WHERE x.survey_id = a.survey_id AND x.item_id = c.applies_item
              AND x.municipality_code = a.municipality_code AND x.value_year = s.fiscal_year
              AND list_has_any(string_split(x.value_text, ','), c.applies_answers)
        )
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
LEFT JOIN municipalities AS mu ON mu.code = a.municipality_code
ORDER BY s.fiscal_year, s.prefecture_code, a.survey_id, a.municipality_code, c.position, a.value_year;
