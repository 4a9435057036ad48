-- Load step (not an object): the その他（独自の取組） rows of the batch's new valid files. stg_own_initiatives
-- holds one row per (sha256, table_id, position): load_batch keeps the first by file name and row.
INSERT INTO own_initiative_responses
SELECT
    o.sha256,
    sub.municipality_code,
    sub.survey_id,
    o.table_id,
    o.position,
    o.text,
    CASE WHEN trim(o.budget_line) IN ('', '—', '―', '－', '-', 'ー', '‐', '–') THEN NULL ELSE trim(o.budget_line) END,
    o.note,
    o.file_name,
    o.sheet,
    o.cell,
    o.row_no
FROM stg_own_initiatives AS o
JOIN load_files AS lf ON lf.sha256 = o.sha256 AND NOT lf.quarantined
JOIN submissions AS sub ON sub.sha256 = o.sha256;
