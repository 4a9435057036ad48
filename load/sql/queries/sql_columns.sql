-- Query (not an object): the columns `kokuho sql` shows for .schema (every object, or the one named).
SELECT c.table_name AS object, c.column_name AS "column", c.data_type AS type
FROM information_schema.columns AS c
JOIN information_schema.tables AS t
  ON t.table_catalog = c.table_catalog AND t.table_schema = c.table_schema AND t.table_name = c.table_name
WHERE c.table_catalog = current_database() AND c.table_schema = 'main'
  AND ($name IS NULL OR lower(c.table_name) = lower($name))
ORDER BY t.table_type DESC, c.table_name, c.ordinal_position;
