-- Load step (not an object): record the end of a run; files skipped before loading (already known) are added.
INSERT INTO runs (run_id, started_at, finished_at, files_seen, skipped, status)
VALUES ($run_id, $now, $now, $skipped, $skipped, $status)
ON CONFLICT (run_id) DO UPDATE SET
    finished_at = excluded.finished_at,
    files_seen = runs.files_seen + excluded.files_seen,
    skipped = runs.skipped + excluded.skipped,
    status = excluded.status;
