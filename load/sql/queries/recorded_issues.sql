-- Query (not an object): issues recorded on files of a run without setting them aside
-- (kokuho.codelists.RECORDED_ONLY_ISSUES), for the run summary. Parameters: $run_id, $codes.
SELECT file_name, code, message
FROM file_issues
WHERE run_id = $run_id AND list_contains($codes, code)
ORDER BY file_name, code;
