-- Query (exports): the columns of every table and view of the database, in their declared order.
SELECT table_name, column_name
FROM information_schema.columns
WHERE table_catalog = current_database()
ORDER BY table_name, ordinal_position;
