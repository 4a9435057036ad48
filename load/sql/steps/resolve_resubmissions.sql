-- Load step (not an object): which valid file of a municipality for a survey is the latest.
-- Recency, the same here, in submission_status and in transform/resubmission.py:
--   1. a file first seen in a later run is newer than every file seen before (the start of the run
--      that first saw it, runs.started_at; processed_at when that run is not recorded);
--   2. within one run, the file's modification time (received_at); a time more than 10 minutes
--      (kokuho.codelists.FUTURE_TOLERANCE_SECONDS) past the run's start counts as the run's start,
--      and the file gets a RECORDED issue RECEIVED_IN_FUTURE (it is not quarantined for it);
--   3. then the file name, then sha256, so the result is deterministic.
-- First statement: record the future-dated files (once per file); message and hint as in
-- kokuho.codelists.ISSUES['RECEIVED_IN_FUTURE'].
INSERT INTO file_issues (sha256, file_name, sheet, cell, value, code, rule, message, hint, stage, run_id)
SELECT
    sha256, file_name, NULL, NULL, received_text, 'RECEIVED_IN_FUTURE', 'received_order',
    'ファイル「' || file_name || '」の更新日時（' || received_text || '）が取込の開始時刻（' || seen_text
        || '）より未来です。再提出の新旧は、取込の開始時刻に受け取ったものとして判定しました。',
    'この指摘だけでは差戻しになりません。送信元のパソコンやファイルサーバーの時計（日付）を確認してください。',
    'load', run_id
FROM (
    SELECT
        s.sha256, s.file_name, s.run_id,
        strftime(timezone('Asia/Tokyo', s.received_at), '%Y-%m-%d %H:%M:%S') AS received_text,
        strftime(timezone('Asia/Tokyo', coalesce(r.started_at, s.processed_at)), '%Y-%m-%d %H:%M:%S') AS seen_text
    FROM submissions AS s
    LEFT JOIN runs AS r ON r.run_id = s.run_id
    WHERE s.received_at > coalesce(r.started_at, s.processed_at) + INTERVAL 600 SECOND
      AND NOT EXISTS (
          SELECT 1 FROM file_issues AS f WHERE f.sha256 = s.sha256 AND f.code = 'RECEIVED_IN_FUTURE'
      )
)
ORDER BY file_name, sha256;

-- Second statement: the latest is 'accepted', the others 'superseded' by it.
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
        FROM (
            SELECT
                s.sha256, s.survey_id, s.municipality_code, s.file_name,
                coalesce(r.started_at, s.processed_at) AS seen_at,
                CASE
                    WHEN s.received_at > coalesce(r.started_at, s.processed_at) + INTERVAL 600 SECOND
                        THEN coalesce(r.started_at, s.processed_at)
                    ELSE s.received_at
                END AS received_order
            FROM submissions AS s
            LEFT JOIN runs AS r ON r.run_id = s.run_id
            WHERE s.status <> 'quarantined'
        )
        WINDOW w AS (
            PARTITION BY survey_id, municipality_code
            ORDER BY seen_at DESC, received_order DESC NULLS LAST, file_name DESC, sha256 DESC
            ROWS BETWEEN UNBOUNDED PRECEDING AND UNBOUNDED FOLLOWING
        )
    )
) AS d
WHERE t.sha256 = d.sha256
  AND (t.status <> d.new_status OR t.superseded_by IS DISTINCT FROM d.new_superseded_by);
