-- Every entry of the inbox at every run, and what became of it: each ends in exactly one state,
-- accepted, superseded, quarantined (as of that run) or skipped with a reason (reason_code:
-- kokuho.codelists.INBOX_SKIP_REASONS; a quarantined file carries its first issue code). Names
-- are shown in a safe display form (cp932 decoded where it decodes, else escaped); the raw bytes
-- of the name are in name_hex.
CREATE TABLE IF NOT EXISTS inbox_entries (
    run_id                 VARCHAR NOT NULL,
    entry_no               INTEGER NOT NULL,  -- order of the scan (by name)
    path                   VARCHAR NOT NULL,  -- display form, relative to the inbox
    file_name              VARCHAR NOT NULL,  -- display form
    name_hex               VARCHAR NOT NULL,  -- raw bytes of the name, hex
    sha256                 VARCHAR,           -- NULL when the file could not be read
    file_size              BIGINT,
    received_at            TIMESTAMPTZ,       -- file modification time
    state                  VARCHAR NOT NULL CHECK (state IN ('accepted', 'superseded', 'quarantined', 'skipped')),
    reason_code            VARCHAR,
    reason                 VARCHAR,           -- Japanese
    duplicate_of           VARCHAR,           -- the file whose bytes these are (skipped duplicates)
    processed_run_id       VARCHAR,           -- the run that processed these bytes
    name_municipality_code VARCHAR,           -- the valid 6-digit code that starts the name
    municipality_code      VARCHAR,           -- that, else the code on the cover
    PRIMARY KEY (run_id, entry_no)
);
