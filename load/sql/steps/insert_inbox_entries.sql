-- Load step (not an object): the run's inbox entries (registered frame stg_inbox_entries, states
-- already resolved against submissions).
INSERT INTO inbox_entries
SELECT
    $run_id, entry_no, path, file_name, name_hex, sha256, file_size, received_at, state, reason_code,
    reason, duplicate_of, processed_run_id, name_municipality_code, municipality_code
FROM stg_inbox_entries
ORDER BY entry_no;
