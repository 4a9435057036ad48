-- Load step (not an object): the その他（独自の取組） rows of the batch's new valid files.
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
JOIN submissions AS sub ON sub.sha256 = o.sha256
QUALIFY row_number() OVER (PARTITION BY o.sha256, o.table_id, o.position ORDER BY o.file_name, o.row_no) = 1;
