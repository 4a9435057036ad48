-- Query (kokuho export --view): (schema, name) of every view of the database.
SELECT table_schema, table_name
FROM information_schema.tables
WHERE table_type = 'VIEW' AND table_catalog = current_database()
ORDER BY table_schema, table_name;
