-- Per survey and measure, each budget line (予算事業名) given by municipalities that implement the
-- measure (current accepted file only), with the municipalities that gave it. One answer cell is one
-- budget line name (never split). rank orders the lines of a measure: most municipalities first,
-- then the line given by the lowest municipality code, then by name.
CREATE OR REPLACE VIEW budget_lines AS
WITH given AS (
    SELECT r.survey_id, r.measure_id, r.budget_line, r.municipality_code
    FROM responses AS r
    JOIN current_submissions AS sub ON sub.sha256 = r.sha256
    WHERE r.implemented AND r.budget_line IS NOT NULL AND survey_in_scope(r.survey_id)
),
grouped AS (
    SELECT
        g.survey_id,
        g.measure_id,
        g.budget_line,
        count(DISTINCT g.municipality_code) AS municipality_count,
        list(g.municipality_code ORDER BY g.municipality_code) AS municipality_codes,
        list(coalesce(mu.name, g.municipality_code) ORDER BY g.municipality_code) AS municipality_names,
        min(g.municipality_code) AS first_code
    FROM given AS g
    LEFT JOIN municipalities AS mu ON mu.code = g.municipality_code
    GROUP BY g.survey_id, g.measure_id, g.budget_line
)
SELECT
    s.fiscal_year,
    s.prefecture_code,
    gr.measure_id,
    m.position,
    m.label,
    gr.budget_line,
    CAST(row_number() OVER (
        PARTITION BY gr.survey_id, gr.measure_id
        ORDER BY gr.municipality_count DESC, gr.first_code, gr.budget_line
    ) AS INTEGER) AS rank,
    CAST(gr.municipality_count AS INTEGER) AS municipality_count,
    gr.municipality_codes,
    gr.municipality_names,
    gr.survey_id
FROM grouped AS gr
JOIN surveys AS s ON s.survey_id = gr.survey_id
JOIN measures AS m ON m.survey_id = gr.survey_id AND m.measure_id = gr.measure_id
ORDER BY s.fiscal_year, s.prefecture_code, gr.survey_id, m.position, rank;
