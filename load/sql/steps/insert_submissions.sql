-- Load step (not an object): a submission row for every new file of the batch (registered frames
-- load_files, stg_submissions, stg_file_issues), including files that could not be opened (known only
-- from their issues). New valid files start as 'accepted'; resolve_resubmissions.sql then decides.
-- The scan's facts (stg_inbox_entries) fill what a file that could not be read cannot say: its
-- received time, size, the municipality code its name starts with, and the run's survey
-- ($prefecture_code, $fiscal_year), so that a broken file still counts on submission_status.
INSERT INTO submissions
WITH opened AS (
    SELECT *
    FROM stg_submissions
    QUALIFY row_number() OVER (PARTITION BY sha256 ORDER BY received_at, file_name) = 1
),
unopened AS (
    SELECT sha256, first(file_name ORDER BY issue_no) AS file_name
    FROM stg_file_issues
    WHERE sha256 IS NOT NULL AND sha256 NOT IN (SELECT sha256 FROM opened)
    GROUP BY sha256
),
issue_codes AS (
    SELECT sha256, list(code ORDER BY first_no) AS reason_codes
    FROM (SELECT sha256, code, min(issue_no) AS first_no FROM stg_file_issues GROUP BY sha256, code)
    GROUP BY sha256
),
issue_messages AS (
    SELECT sha256, list(message ORDER BY first_no) AS reasons
    FROM (SELECT sha256, message, min(issue_no) AS first_no FROM stg_file_issues GROUP BY sha256, message)
    GROUP BY sha256
),
scanned AS (
    SELECT *
    FROM stg_inbox_entries
    WHERE sha256 IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY sha256 ORDER BY entry_no) = 1
),
files AS (
    SELECT sha256, file_name, file_path, file_size, file_kind, has_macros, received_at, prefecture_code,
           fiscal_year, catalog_version, survey_id, municipality_code, municipality_name,
           filename_municipality_code, contact_department, contact_person, contact_phone, contact_email,
           sheet, cell
    FROM opened
    UNION ALL
    SELECT sha256, file_name, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL,
           NULL, NULL, NULL, NULL, NULL
    FROM unopened
)
SELECT
    f.sha256, f.file_name, coalesce(f.file_path, e.file_path), coalesce(f.file_size, e.file_size),
    f.file_kind, f.has_macros, coalesce(f.received_at, e.received_at),
    $processed_at,
    CASE WHEN f.prefecture_code IS NULL AND f.fiscal_year IS NULL THEN $prefecture_code ELSE f.prefecture_code END,
    CASE WHEN f.prefecture_code IS NULL AND f.fiscal_year IS NULL THEN $fiscal_year ELSE f.fiscal_year END,
    f.catalog_version, f.survey_id, f.municipality_code,
    f.municipality_name, coalesce(f.filename_municipality_code, e.name_municipality_code),
    f.contact_department, f.contact_person,
    f.contact_phone, f.contact_email, f.sheet, f.cell,
    CASE WHEN lf.quarantined THEN 'quarantined' ELSE 'accepted' END,
    coalesce(c.reason_codes, CAST([] AS VARCHAR[])),
    coalesce(m.reasons, CAST([] AS VARCHAR[])),
    NULL,
    $run_id
FROM files AS f
JOIN load_files AS lf ON lf.sha256 = f.sha256
LEFT JOIN scanned AS e ON e.sha256 = f.sha256
LEFT JOIN issue_codes AS c ON c.sha256 = f.sha256
LEFT JOIN issue_messages AS m ON m.sha256 = f.sha256;
