-- Load step (not an object): of the valid files of a municipality for a survey, the latest received is
-- 'accepted' and the others 'superseded' by it (ties broken by sha256 so the result is deterministic).
UPDATE submissions AS t
SET status = d.new_status, superseded_by = d.new_superseded_by
FROM (
    SELECT
        sha256,
        CASE WHEN recency = 1 THEN 'accepted' ELSE 'superseded' END AS new_status,
        CASE WHEN recency = 1 THEN NULL ELSE latest_sha256 END AS new_superseded_by
    FROM (
        SELECT
            sha256,
            row_number() OVER w AS recency,
            first_value(sha256) OVER w AS latest_sha256
        FROM submissions
        WHERE status <> 'quarantined'
        WINDOW w AS (
            PARTITION BY survey_id, municipality_code
            ORDER BY received_at DESC NULLS LAST, sha256 DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        )
    )
) AS d
WHERE t.sha256 = d.sha256
  AND (t.status <> d.new_status OR t.superseded_by IS DISTINCT FROM d.new_superseded_by);
