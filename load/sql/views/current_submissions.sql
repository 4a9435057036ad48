-- One row per survey and municipality that has a valid file: its current (accepted) file, the one
-- the other views count. A re-submission supersedes it (steps/resolve_resubmissions.sql); a
-- quarantined file is never current.
CREATE OR REPLACE VIEW current_submissions AS
SELECT sha256, survey_id, municipality_code, file_name, received_at, processed_at, run_id
FROM submissions
WHERE status = 'accepted';
