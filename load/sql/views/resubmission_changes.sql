-- What a re-submission changed: for each superseded file, the answers that differ in the file that
-- replaced it (implemented, budget line or note), with both files named, so an analyst can see what a
-- municipality corrected. A measure present in only one of the two files is listed as added/removed.
CREATE OR REPLACE VIEW resubmission_changes AS
WITH pairs AS (
    SELECT
        old.survey_id,
        old.municipality_code,
        old.sha256 AS old_sha256,
        old.file_name AS old_file_name,
        old.received_at AS old_received_at,
        new.sha256 AS new_sha256,
        new.file_name AS new_file_name,
        new.received_at AS new_received_at
    FROM submissions AS old
    JOIN submissions AS new ON new.sha256 = old.superseded_by
    WHERE old.status = 'superseded'
),
old_rows AS (
    SELECT p.old_sha256 AS pair, r.measure_id, r.implemented, r.answer, r.budget_line, r.note
    FROM pairs AS p JOIN responses AS r ON r.sha256 = p.old_sha256
),
new_rows AS (
    SELECT p.old_sha256 AS pair, r.measure_id, r.implemented, r.answer, r.budget_line, r.note
    FROM pairs AS p JOIN responses AS r ON r.sha256 = p.new_sha256
),
compared AS (
    SELECT
        coalesce(o.pair, n.pair) AS pair,
        coalesce(o.measure_id, n.measure_id) AS measure_id,
        o.measure_id IS NULL AS added,
        n.measure_id IS NULL AS removed,
        o.implemented AS old_implemented,
        n.implemented AS new_implemented,
        o.answer AS old_answer,
        n.answer AS new_answer,
        o.budget_line AS old_budget_line,
        n.budget_line AS new_budget_line,
        o.note AS old_note,
        n.note AS new_note
    FROM old_rows AS o
    FULL OUTER JOIN new_rows AS n ON n.pair = o.pair AND n.measure_id = o.measure_id
)
SELECT
    s.fiscal_year,
    s.prefecture_code,
    p.municipality_code,
    mu.name AS municipality_name,
    c.measure_id,
    m.position,
    m.label,
    c.old_answer,
    c.new_answer,
    c.old_budget_line,
    c.new_budget_line,
    c.old_note,
    c.new_note,
    CASE WHEN c.added THEN 'added' WHEN c.removed THEN 'removed' ELSE 'changed' END AS change,
    p.old_file_name,
    p.old_received_at,
    p.new_file_name,
    p.new_received_at,
    p.old_sha256,
    p.new_sha256,
    p.survey_id
FROM compared AS c
JOIN pairs AS p ON p.old_sha256 = c.pair
JOIN surveys AS s ON s.survey_id = p.survey_id
LEFT JOIN municipalities AS mu ON mu.code = p.municipality_code
LEFT JOIN measures AS m ON m.survey_id = p.survey_id AND m.measure_id = c.measure_id
WHERE c.added OR c.removed
   OR c.old_implemented IS DISTINCT FROM c.new_implemented
   OR c.old_budget_line IS DISTINCT FROM c.new_budget_line
   OR c.old_note IS DISTINCT FROM c.new_note
ORDER BY s.fiscal_year, p.municipality_code, p.new_received_at, m.position;
