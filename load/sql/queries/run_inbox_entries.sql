-- Query (not an object): a run's inbox entries and their states, for the run summary.
SELECT path, state, reason_code, reason, duplicate_of
FROM inbox_entries
WHERE run_id = $run_id
ORDER BY entry_no;
