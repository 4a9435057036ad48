-- sha256 of the files that have one status ($status: accepted, superseded or quarantined).
SELECT sha256 FROM submissions WHERE status = $status;
