-- Load step (not an object): the issues of the batch's new files; issues of files that could not be read
-- at all (no sha256) are added once per file name, code and message.
INSERT INTO file_issues (sha256, file_name, sheet, cell, value, code, rule, message, hint, stage, run_id)
SELECT i.sha256, i.file_name, i.sheet, i.cell, i.value, i.code, i.rule, i.message, i.hint, i.stage, $run_id
FROM stg_file_issues AS i
WHERE i.sha256 IN (SELECT sha256 FROM load_files)
   OR (
       i.sha256 IS NULL
       AND NOT EXISTS (
           SELECT 1 FROM file_issues AS x
           WHERE x.sha256 IS NULL AND x.file_name = i.file_name AND x.code = i.code AND x.message = i.message
       )
   )
QUALIFY i.sha256 IS NOT NULL
     OR row_number() OVER (PARTITION BY i.file_name, i.code, i.message ORDER BY i.issue_no) = 1
ORDER BY i.issue_no;
