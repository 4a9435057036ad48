-- Template (kokuho export --view --format parquet): the rows of view_rows.sql (<select>, filled from
-- that template) written to $path.
COPY ({select}) TO $path (FORMAT parquet);
