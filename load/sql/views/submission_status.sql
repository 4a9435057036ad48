-- Every municipality of the prefecture for each survey, with its status:
--   未提出 (missing)     no file received;
--   差戻し (returned)    the latest file was quarantined (reasons given; an earlier accepted file,
--                        if any, still counts in the other views);
--   再提出 (resubmitted) the latest file is accepted and an earlier file was superseded or quarantined;
--   受理   (accepted)    one file, accepted.
-- status_order sorts 未提出 first, then 差戻し, 再提出, 受理.
CREATE OR REPLACE VIEW submission_status AS
WITH copies AS (
    -- The same bytes under a name that starts with another municipality's code (two
    -- municipalities' empty files, one's workbook sent again as another's): processed once, but
    -- a file of that municipality too, returned with the reason, at its own received time.
    SELECT
        sub.* REPLACE (
            e.file_name AS file_name,
            e.received_at AS received_at,
            'quarantined' AS status,
            list_concat(
                [e.reason_code], CASE WHEN sub.status = 'quarantined' THEN sub.reason_codes ELSE [] END
            ) AS reason_codes,
            list_concat([e.reason], CASE WHEN sub.status = 'quarantined' THEN sub.reasons ELSE [] END)
                AS reasons,
            NULL AS municipality_code,
            e.name_municipality_code AS filename_municipality_code
        ),
        e.name_municipality_code AS copy_municipality_code
    FROM inbox_entries AS e
    JOIN submissions AS sub ON sub.sha256 = e.sha256
    WHERE e.state = 'skipped'
      AND e.reason_code IN ('DUPLICATE_CONTENT', 'ALREADY_PROCESSED')
      AND e.name_municipality_code IS NOT NULL
      AND e.name_municipality_code <> coalesce(sub.municipality_code, sub.filename_municipality_code, '')
    QUALIFY row_number() OVER (
        PARTITION BY e.sha256, e.name_municipality_code ORDER BY e.received_at, e.run_id, e.entry_no
    ) = 1
),
all_files AS (
    SELECT *, CAST(NULL AS VARCHAR) AS copy_municipality_code FROM submissions
    UNION ALL BY NAME
    SELECT * FROM copies
),
attributed AS (
    -- A quarantined file may name no known survey (an old draft of the template) or carry no valid
    -- code on its cover: it still counts for the survey of its prefecture and year, and for the
    -- municipality its file name names.
    SELECT
        sub.*,
        coalesce(sub.municipality_code, sub.filename_municipality_code) AS status_municipality_code,
        coalesce(known.survey_id, fallback.survey_id) AS status_survey_id
    FROM all_files AS sub
    LEFT JOIN surveys AS known ON known.survey_id = sub.survey_id
    LEFT JOIN surveys AS fallback
        ON known.survey_id IS NULL
       AND fallback.prefecture_code = sub.prefecture_code
       AND fallback.fiscal_year = sub.fiscal_year
    QUALIFY row_number() OVER (
        PARTITION BY sub.sha256, sub.copy_municipality_code ORDER BY fallback.catalog_version DESC NULLS LAST
    ) = 1
),
files AS (
    -- The latest file, as steps/resolve_resubmissions.sql decides: first seen in a later run first; within
    -- a run by modification time (one more than 10 minutes past the run's start counts as the start),
    -- then file name, then sha256.
    SELECT
        a.*,
        row_number() OVER (
            PARTITION BY a.status_survey_id, a.status_municipality_code
            ORDER BY
                coalesce(r.started_at, a.processed_at) DESC,
                CASE
                    WHEN a.received_at > coalesce(r.started_at, a.processed_at) + INTERVAL 600 SECOND
                        THEN coalesce(r.started_at, a.processed_at)
                    ELSE a.received_at
                END DESC NULLS LAST,
                a.file_name DESC,
                a.sha256 DESC
        ) AS recency,
        count(*) OVER (PARTITION BY a.status_survey_id, a.status_municipality_code) AS file_count
    FROM attributed AS a
    LEFT JOIN runs AS r ON r.run_id = a.run_id
    WHERE a.status_survey_id IS NOT NULL AND a.status_municipality_code IS NOT NULL
),
latest AS (
    SELECT * FROM files WHERE recency = 1
),
classified AS (
    SELECT
        s.fiscal_year,
        s.prefecture_code,
        s.survey_id,
        mu.code AS municipality_code,
        mu.name AS municipality_name,
        CASE
            WHEN l.sha256 IS NULL THEN 'missing'
            WHEN l.status = 'quarantined' THEN 'returned'
            WHEN l.file_count > 1 THEN 'resubmitted'
            ELSE 'accepted'
        END AS status_code,
        l.file_name AS latest_file_name,
        l.received_at AS latest_received_at,
        l.status AS latest_file_status,
        CASE WHEN l.status = 'quarantined' THEN l.reason_codes END AS reason_codes,
        CASE WHEN l.status = 'quarantined' THEN l.reasons END AS reasons,
        CAST(coalesce(l.file_count, 0) AS INTEGER) AS file_count,
        c.file_name AS accepted_file_name,
        c.received_at AS accepted_received_at
    FROM surveys AS s
    JOIN municipalities AS mu ON in_survey_area(mu.prefecture_code, s.prefecture_code)
    LEFT JOIN latest AS l ON l.status_survey_id = s.survey_id AND l.status_municipality_code = mu.code
    LEFT JOIN current_submissions AS c ON c.survey_id = s.survey_id AND c.municipality_code = mu.code
)
SELECT
    fiscal_year,
    prefecture_code,
    municipality_code,
    municipality_name,
    CASE status_code
        WHEN 'missing' THEN '未提出'
        WHEN 'returned' THEN '差戻し'
        WHEN 'resubmitted' THEN '再提出'
        ELSE '受理'
    END AS status,
    status_code,
    CASE status_code WHEN 'missing' THEN 1 WHEN 'returned' THEN 2 WHEN 'resubmitted' THEN 3 ELSE 4 END
        AS status_order,
    latest_file_name,
    latest_received_at,
    latest_file_status,
    reason_codes,
    reasons,
    file_count,
    accepted_file_name,
    accepted_received_at,
    survey_id
FROM classified
ORDER BY fiscal_year, prefecture_code, survey_id, status_order, municipality_code;
