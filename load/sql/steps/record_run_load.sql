-- Load step (not an object): add one load's counts to its run (created as 'loaded' if start_run was not called).
INSERT INTO runs (run_id, started_at, finished_at, files_seen, accepted, quarantined, superseded, skipped, status)
VALUES ($run_id, $now, $now, $files_seen, $accepted, $quarantined, $superseded, $skipped, 'loaded')
ON CONFLICT (run_id) DO UPDATE SET
    files_seen = runs.files_seen + excluded.files_seen,
    accepted = runs.accepted + excluded.accepted,
    quarantined = runs.quarantined + excluded.quarantined,
    superseded = runs.superseded + excluded.superseded,
    skipped = runs.skipped + excluded.skipped;
