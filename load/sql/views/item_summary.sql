-- One row per survey and published item (check, choice, status): n, the municipalities with a current
-- accepted file answering ○ (check; 該当なし is not ○) or answering at all (choice, status), out of N,
-- the municipalities the item applies to (all of the prefecture, the named group's members, or those
-- whose answer satisfies the condition), the change against the previous fiscal year's survey matched
-- by ID as in measure_summary, and the published strings: status_text (macro status_text),
-- breakdown_text on a parent whose children are shown inline, line_text on a child shown as a line.
CREATE OR REPLACE VIEW item_summary AS
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
catalog AS (
    -- Every item; check items also from measures (a survey synced before items were kept).
    SELECT survey_id, item_id, position, table_id, section_no, subsection_no, item_no, label, item_type,
           applies_group, applies_item, applies_answers, parent_id, published_form, breakdown, previous_item_id
    FROM items
    UNION ALL BY NAME
    SELECT m.survey_id, m.measure_id AS item_id, m.position, m.table_id, m.section_no, m.subsection_no, m.item_no,
           m.label, 'check' AS item_type, NULL AS applies_group, NULL AS applies_item,
           CAST(NULL AS VARCHAR[]) AS applies_answers, NULL AS parent_id, 'ratio' AS published_form,
           'lines' AS breakdown, m.previous_measure_id AS previous_item_id
    FROM measures AS m
    WHERE NOT EXISTS (SELECT 1 FROM items AS i WHERE i.survey_id = m.survey_id AND i.item_id = m.measure_id)
),
answered AS MATERIALIZED (
    -- The survey-year answers, in the columns counted only, kept in memory once for the two reads
    -- below (the macro's every column of every year's answers would be gigabytes for a nation).
    SELECT
        a.survey_id,
        a.item_id,
        a.municipality_code,
        a.applicable AND NOT a.not_applicable
            AND (a.value_text = '○' OR (a.item_type <> 'check' AND a.value_text IS NOT NULL)) AS answered,
        a.value_text
    FROM item_answer_rows() AS a
    WHERE a.value_year = a.fiscal_year
),
counts AS (
    SELECT a.survey_id, a.item_id, count(DISTINCT a.municipality_code) FILTER (WHERE a.answered) AS answer_count
    FROM answered AS a
    GROUP BY a.survey_id, a.item_id
),
totals AS (
    SELECT
        c.survey_id,
        c.item_id,
        CASE
            WHEN c.applies_group IS NOT NULL THEN (
                SELECT count(DISTINCT g.municipality_code)
                FROM municipality_groups AS g
                JOIN municipalities AS mu ON mu.code = g.municipality_code
                WHERE g.survey_id = c.survey_id AND g.group_name = c.applies_group
                  AND in_survey_area(mu.prefecture_code, s.prefecture_code)
            )
            WHEN c.applies_item IS NOT NULL THEN (
                SELECT count(DISTINCT a.municipality_code)
                FROM answered AS a
                WHERE a.survey_id = c.survey_id AND a.item_id = c.applies_item
                  AND list_has_any(string_split(a.value_text, ','), c.applies_answers)
            )
            ELSE s.municipality_total
        END AS applicable_total
    FROM catalog AS c
    JOIN survey AS s ON s.survey_id = c.survey_id
),
previous AS (
    -- The previous fiscal year's survey of the prefecture, if it has accepted files.
    SELECT * FROM previous_surveys()
),
joined AS (
    SELECT
        s.fiscal_year,
        s.prefecture_code,
        c.*,
        CAST(t.applicable_total AS INTEGER) AS applicable_total,
        CAST(coalesce(n.answer_count, 0) AS INTEGER) AS answer_count,
        pv.previous_survey_id,
        EXISTS (
            SELECT 1 FROM catalog AS pc WHERE pc.survey_id = pv.previous_survey_id AND pc.item_id = c.previous_item_id
        ) AS previous_found,
        CAST(coalesce(pn.answer_count, 0) AS INTEGER) AS previous_count
    FROM catalog AS c
    JOIN survey AS s ON s.survey_id = c.survey_id
    JOIN totals AS t ON t.survey_id = c.survey_id AND t.item_id = c.item_id
    LEFT JOIN counts AS n ON n.survey_id = c.survey_id AND n.item_id = c.item_id
    LEFT JOIN previous AS pv ON pv.survey_id = c.survey_id
    LEFT JOIN counts AS pn ON pn.survey_id = pv.previous_survey_id AND pn.item_id = c.previous_item_id
    WHERE c.item_type IN ('check', 'choice', 'status')
),
marked AS (
    SELECT
        *,
        CASE WHEN previous_found THEN previous_count END AS prev_year_count,
        CASE
            WHEN previous_survey_id IS NULL THEN NULL
            WHEN NOT previous_found THEN '新'
            WHEN answer_count > previous_count THEN '増'
            WHEN answer_count < previous_count THEN '減'
        END AS change_marker
    FROM joined
)
SELECT
    m.fiscal_year,
    m.prefecture_code,
    m.item_id,
    m.item_type,
    m.label,
    m.parent_id,
    m.published_form,
    m.breakdown,
    m.applies_group,
    m.applies_item,
    m.answer_count,
    m.applicable_total,
    CASE WHEN m.applicable_total > 0
        THEN CAST((200 * m.answer_count + m.applicable_total) // (2 * m.applicable_total) AS INTEGER)
    END AS answer_pct,
    m.prev_year_count,
    CAST(abs(m.answer_count - m.prev_year_count) AS INTEGER) AS change_count,
    m.change_marker,
    status_text(m.published_form, m.answer_count, m.applicable_total, m.change_marker,
                abs(m.answer_count - m.prev_year_count)) AS status_text,
    (
        SELECT '（' || string_agg(ch.label || '：' || CAST(ch.answer_count AS VARCHAR) || '市町村', '　'
                                  ORDER BY ch.position) || '）'
        FROM marked AS ch
        WHERE ch.survey_id = m.survey_id AND ch.parent_id = m.item_id AND m.breakdown = 'inline'
    ) AS breakdown_text,
    CASE WHEN p.breakdown = 'lines'
        THEN '・' || m.label || coalesce('（' || m.change_marker || '）', '')
    END AS line_text,
    m.position,
    m.table_id,
    m.survey_id
FROM marked AS m
LEFT JOIN marked AS p ON p.survey_id = m.survey_id AND p.item_id = m.parent_id
ORDER BY m.fiscal_year, m.prefecture_code, m.survey_id, m.position;
