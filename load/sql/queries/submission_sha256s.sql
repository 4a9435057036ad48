-- sha256 of every file in the warehouse, any status: files seen before are skipped by the next run.
SELECT sha256 FROM submissions;
