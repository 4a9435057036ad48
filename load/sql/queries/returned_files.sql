-- Query (not an object): the 差戻し list, every quarantined file with each of its problems (one row
-- per problem, a file without recorded problems once), by municipality then receipt. A file that
-- could not be read names its municipality by the code its name starts with. current_status is the
-- municipality's status on submission_status now (再提出 once a later file was accepted).
WITH returned AS (
    SELECT
        s.*,
        coalesce(
            s.municipality_code,
            s.filename_municipality_code,
            nullif(regexp_extract(s.file_name, '^([0-9]{6})', 1), '')
        ) AS code
    FROM submissions AS s
    WHERE s.status = 'quarantined'
)
SELECT
    r.fiscal_year,
    r.prefecture_code,
    r.code AS municipality_code,
    mu.name AS municipality_name,
    r.file_name,
    r.received_at,
    r.processed_at,
    i.sheet,
    i.cell,
    i.value,
    coalesce(i.message, r.reasons[1]) AS message,
    i.hint,
    coalesce(i.code, r.reason_codes[1]) AS code,
    i.rule,
    ss.status AS current_status,
    r.sha256
FROM returned AS r
LEFT JOIN file_issues AS i
    ON i.sha256 = r.sha256
    OR (i.sha256 IS NULL AND i.file_name = r.file_name AND i.run_id = r.run_id)
LEFT JOIN municipalities AS mu ON mu.code = r.code
LEFT JOIN submission_status AS ss
    ON ss.municipality_code = r.code
   AND ss.fiscal_year = r.fiscal_year
   AND ss.prefecture_code = r.prefecture_code
ORDER BY r.code NULLS LAST, r.received_at NULLS LAST, r.file_name, i.sheet NULLS FIRST, i.cell;
