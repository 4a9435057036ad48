-- Load step (not an object): the answers of the batch's new valid files. Municipality and survey come from
-- the submission row. A budget line written as a dash or blank is no budget line. stg_responses holds one
-- row per (sha256, measure_id): load_batch keeps the first by file name and row, and gives it a false
-- not_applicable (該当なし) when staging has no such column.
INSERT INTO responses (sha256, municipality_code, survey_id, measure_id, implemented, answer, answer_raw,
                       budget_line, budget_line_raw, note, label_as_written, file_name, sheet, cell, row_no,
                       not_applicable)
SELECT
    r.sha256,
    sub.municipality_code,
    sub.survey_id,
    r.measure_id,
    r.implemented,
    r.answer,
    r.answer_raw,
    CASE WHEN trim(r.budget_line) IN ('', '—', '―', '－', '-', 'ー', '‐', '–') THEN NULL ELSE trim(r.budget_line) END,
    r.budget_line_raw,
    r.note,
    r.label,
    r.file_name,
    r.sheet,
    r.cell,
    r.row_no,
    r.not_applicable
FROM stg_responses AS r
JOIN load_files AS lf ON lf.sha256 = r.sha256 AND NOT lf.quarantined
JOIN submissions AS sub ON sub.sha256 = r.sha256;
