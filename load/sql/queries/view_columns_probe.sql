-- Template (kokuho export --view): no rows, only the columns of one view (<view>: a quoted schema.name).
SELECT * FROM {view} LIMIT 0;
