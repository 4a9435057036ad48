-- Load step (not an object): record the start of a run.
INSERT INTO runs (run_id, started_at, status)
VALUES ($run_id, $now, 'running')
ON CONFLICT (run_id) DO NOTHING;
