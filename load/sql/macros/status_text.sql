-- The one published string of a count (seed 004), the only place it is built: form 'ratio'
-- 25/27市町村（93%） (whole percent, half up, — when N is 0), form 'count' 7市町村; then against the
-- previous year ' 1市町村（増）' / ' 2市町村（減）' (ratio: change_count = |n - previous n|),
-- '（増）' / '（減）' (count), '（新）' (both) or nothing.
CREATE OR REPLACE MACRO status_text(form, n, total, marker, change_count) AS
    CASE
        WHEN form = 'count' THEN CAST(n AS VARCHAR) || '市町村'
        ELSE CAST(n AS VARCHAR) || '/' || CAST(total AS VARCHAR) || '市町村（'
            || CASE WHEN total > 0 THEN CAST((200 * n + total) // (2 * total) AS VARCHAR) ELSE '—' END || '%）'
    END
    || CASE
        WHEN marker = '新' THEN '（新）'
        WHEN marker IN ('増', '減') AND form = 'count' THEN '（' || marker || '）'
        WHEN marker IN ('増', '減') THEN ' ' || CAST(change_count AS VARCHAR) || '市町村（' || marker || '）'
        ELSE ''
    END;
